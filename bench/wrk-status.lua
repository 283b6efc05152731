-- wrk script for the soak and the smoke run: sends the requests in BENCH_REQUESTS round-robin and counts every
-- response status, printed as one JSON line ("statuses": {"200": n, ...}) after wrk's own summary.
-- BENCH_REQUESTS: requests separated by "|", each "METHOD PATH" or "METHOD PATH BODY" (BODY is JSON, no "|").
-- BENCH_HEADERS: headers separated by "|", each "Name: value".
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function split(s, sep)
  local out = {}
  for part in string.gmatch(s, "([^" .. sep .. "]+)") do
    table.insert(out, part)
  end
  return out
end

function init(args)
  statuses = {}
  local headers = {}
  for _, h in ipairs(split(os.getenv("BENCH_HEADERS") or "", "|")) do
    local name, value = string.match(h, "^([^:]+):%s*(.*)$")
    if name then headers[name] = value end
  end
  reqs = {}
  for _, r in ipairs(split(os.getenv("BENCH_REQUESTS") or "GET /", "|")) do
    local method, path, body = string.match(r, "^(%S+)%s+(%S+)%s*(.*)$")
    local h = {}
    for k, v in pairs(headers) do h[k] = v end
    if body == "" then
      body = nil
    else
      h["Content-Type"] = "application/json"
    end
    table.insert(reqs, wrk.format(method, path, h, body))
  end
  counter = 0
end

function request()
  counter = counter + 1
  return reqs[(counter % #reqs) + 1]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  io.write(string.format('BENCH_STATUSES {"statuses": {%s}}\n', table.concat(parts, ", ")))
end
