-- refresh chain: POST grant_type=refresh_token to the token endpoint (BENCH_PATH), Basic client
-- credentials (BENCH_BASIC_AUTH). A queue of refresh tokens, seeded from BENCH_TOKENS_FILE (at
-- least one per connection): request() takes the oldest, response() puts back the new one of a
-- 200 answer (rotation). No token is sent twice (a provider revokes a chain whose token comes
-- back); if the queue runs dry the thread stops. 200 with a new refresh token counts.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local bench = require("common")
local path = bench.env("BENCH_PATH")
local headers = {
  Authorization = bench.env("BENCH_BASIC_AUTH"),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
local queue, first, last = {}, 1, 0

function bench.init()
  for _, token in ipairs(bench.read_lines(bench.env("BENCH_TOKENS_FILE"))) do
    last = last + 1
    queue[last] = token
  end
end

function request()
  if first > last then
    bench.stop()
    return bench.filler()
  end
  local token = queue[first]
  queue[first] = nil
  first = first + 1
  return wrk.format("POST", path, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, _headers, body)
  local token = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"') or nil
  if token then
    last = last + 1
    queue[last] = token
  end
  bench.count(token ~= nil, status)
end
