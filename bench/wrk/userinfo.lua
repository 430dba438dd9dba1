-- userinfo: GET the userinfo endpoint (BENCH_PATH) with a Bearer access token, rotating over the
-- tokens of BENCH_TOKENS_FILE (one a line); 200 counts.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local bench = require("common")
local path = bench.env("BENCH_PATH")
local tokens, next_token = nil, 0

function bench.init()
  tokens = bench.read_lines(bench.env("BENCH_TOKENS_FILE"))
end

function request()
  next_token = next_token % #tokens + 1
  return wrk.format("GET", path, { Authorization = "Bearer " .. tokens[next_token] })
end

function response(status)
  bench.count(status == 200, status)
end
