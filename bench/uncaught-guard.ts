// Preloaded into Airlock by the benchmark only (`node --import bench/uncaught-guard.ts gateway/node/bin.ts start`),
// so that one uncaught exception does not end a measurement: each is reported on stderr as one
// "AIRLOCK_BENCH_UNCAUGHT" line (UNCAUGHT_MARKER in configs.ts), counted by the harness and printed with the
// results. Set BENCH_NO_GUARD=1 to run Airlock exactly as operators do (it then dies on the first one).
//
// Why it exists: an earlier gateway crashed with ERR_INVALID_STATE "Controller is already closed" (Readable.toWeb)
// whenever a client disconnected while Airlock streamed the upstream's answer, which wrk does with every in-flight
// request when it stops (fixed by gateway/node/web-stream.ts). A count above zero in the results is a regression.
process.on('uncaughtException', (err: Error) => {
  process.stderr.write(`AIRLOCK_BENCH_UNCAUGHT ${err?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(err)}\n`)
})
