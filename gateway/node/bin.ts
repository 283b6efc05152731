#!/usr/bin/env node
// The `airlock` command. Each sub-command is a small function; errors print one clear message with its code and exit
// non-zero (2 for a command line Airlock does not understand, 1 otherwise).
import { isAirlockError } from '../core/errors.ts'
import { parseCommandLine } from './cli-args.ts'

// A reader that stops early (`airlock report | head`) closes the pipe: that is not an error, and no stack is printed.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw err
  })
}

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(isAirlockError(err) ? `airlock: [${err.code}] ${message}\n` : `airlock: ${message}\n`)
  // Exit now rather than when the event loop drains: a failed start may have left a watcher or a socket behind.
  process.exit(isAirlockError(err) && err.code === 'AIRLOCK_USAGE' ? 2 : 1)
}

try {
  const line = parseCommandLine(process.argv.slice(2))
  if ('help' in line) {
    process.stdout.write(`${line.help}\n`)
  } else {
    const { cli } = await import('./cli.ts') // after parsing: `--help` and usage errors load nothing else
    process.exitCode = await cli(line.command, line.args, line.flags)
  }
} catch (err) {
  fail(err)
}
