-- wrk script of bench/run.py. Everything comes from the environment:
--   BENCH_METHOD   GET (default) or POST
--   BENCH_BODY     form body for POST ("{token}" is replaced by a pool entry when BENCH_POOL is set)
--   BENCH_AUTH     value of the Authorization header ("Bearer {token}" with a pool)
--   BENCH_HEADER   one extra header, "Name: value" (e.g. If-None-Match for the conditional JWKS)
--   BENCH_POOL     file with one token per line: each request takes the next one, round robin
--   BENCH_EXPECT_STATUS   the status every response must have (default 200)
--   BENCH_EXPECT_PATTERN  a Lua pattern the body must match (optional)
-- done() prints one line: RESULT {"rps":…,"p50_ms":…,"p99_ms":…,"requests":…,"bad":…,"socket_errors":…}
-- "bad" counts every response whose status or body was not the expected one (wrk's own
-- non-2xx/3xx count would miss a 200 where a 304 was expected).
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local auth = os.getenv("BENCH_AUTH")
local extra = os.getenv("BENCH_HEADER")
local pool_file = os.getenv("BENCH_POOL")
local expect_status = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "200")
local expect_pattern = os.getenv("BENCH_EXPECT_PATTERN")
if expect_pattern == "" then expect_pattern = nil end

wrk.method = method
wrk.headers["Accept"] = "application/json"
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
if extra and extra ~= "" then
  local name, value = extra:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

bad = 0

if pool_file and pool_file ~= "" then
  local pool, n, i = {}, 0, 0
  function init(args)
    for line in io.lines(pool_file) do
      if line ~= "" then n = n + 1; pool[n] = line end
    end
    i = (id or 0) * 7919
  end
  function request()
    i = i + 1
    local token = pool[(i % n) + 1]
    local headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
    if auth and auth ~= "" then headers["Authorization"] = auth:gsub("{token}", token) end
    local b = nil
    if body and body ~= "" then b = body:gsub("{token}", token) end
    return wrk.format(method, nil, headers, b)
  end
end

function response(status, headers, resp_body)
  if status ~= expect_status then
    bad = bad + 1
  elseif expect_pattern and not string.find(resp_body or "", expect_pattern) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do total_bad = total_bad + (t:get("bad") or 0) end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'RESULT {"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"requests":%d,"bad":%d,"socket_errors":%d,"seconds":%.3f}\n',
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, total_bad, e.connect + e.read + e.write + e.timeout, secs))
end
