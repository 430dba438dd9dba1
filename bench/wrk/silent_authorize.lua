-- silent authorize: GET the authorization endpoint (BENCH_PATH) with the query BENCH_QUERY
-- (client, redirect URI, scope, PKCE challenge, nonce; prompt=none for the workload) plus a new
-- state per request, and the SSO cookie of a logged-in browser (BENCH_COOKIE). A 302 or 303 whose
-- Location carries code= counts.
-- With BENCH_CODES_OUT set (the untimed preparation of the code exchange), the codes are written
-- to that file, one a line, at the end.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local bench = require("common")
local prefix = bench.env("BENCH_PATH") .. "?" .. bench.env("BENCH_QUERY") .. "&state="
local headers = { Cookie = bench.env("BENCH_COOKIE") }
local harvest = os.getenv("BENCH_CODES_OUT")
local counter = 0
codes = {}

function request()
  counter = counter + 1
  return wrk.format("GET", prefix .. "bench" .. counter, headers)
end

function response(status, response_headers)
  local code = nil
  if status == 302 or status == 303 then
    local location = bench.header(response_headers, "Location") or ""
    code = location:match("[?&]code=([^&#]+)")
  end
  if code and harvest then
    codes[#codes + 1] = code
  end
  bench.count(code ~= nil, status)
end

function bench.done(threads, result)
  if not harvest or harvest == "" then
    return
  end
  local file = assert(io.open(harvest, "w"))
  local written = 0
  for _, thread in ipairs(threads) do
    for _, code in ipairs(thread:get("codes")) do
      file:write(code, "\n")
      written = written + 1
    end
  end
  file:close()
  result.codes_written = written
end
