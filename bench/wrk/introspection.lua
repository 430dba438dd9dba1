-- introspection: POST token=<access token> to the introspection endpoint (BENCH_PATH) with the
-- client's Basic credentials (BENCH_BASIC_AUTH, the header value), rotating over the tokens of
-- BENCH_TOKENS_FILE; 200 with "active": true counts.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local bench = require("common")
local path = bench.env("BENCH_PATH")
local headers = {
  Authorization = bench.env("BENCH_BASIC_AUTH"),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
local tokens, next_token = nil, 0

function bench.init()
  tokens = bench.read_lines(bench.env("BENCH_TOKENS_FILE"))
end

function request()
  next_token = next_token % #tokens + 1
  local body = "token=" .. tokens[next_token] .. "&token_type_hint=access_token"
  return wrk.format("POST", path, headers, body)
end

function response(status, _headers, body)
  bench.count(status == 200 and body:find('"active"%s*:%s*true') ~= nil, status)
end
