-- wrk script for a proxy that takes absolute-form request targets (Smokescreen): only the request line's target
-- changes (BENCH_PATH, e.g. "http://127.0.0.1:8080/anything/bench"); wrk still builds the request once, so this
-- costs nothing per request (no request() or response() function).
wrk.path = os.getenv("BENCH_PATH")
