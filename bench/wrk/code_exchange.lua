-- code exchange: POST grant_type=authorization_code to the token endpoint (BENCH_PATH), Basic
-- client credentials (BENCH_BASIC_AUTH), PKCE verifier BENCH_CODE_VERIFIER (all codes were asked
-- with its challenge), redirect_uri BENCH_REDIRECT_URI (form-encoded). The codes were made
-- beforehand, untimed, one a line in BENCH_CODES_FILE; each is sent once (a code sent twice makes
-- a provider revoke what it issued), and when they run out the thread stops: the rate is counted
-- up to then. 200 with an access token counts.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local bench = require("common")
local path = bench.env("BENCH_PATH")
local headers = {
  Authorization = bench.env("BENCH_BASIC_AUTH"),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
local tail = "&redirect_uri=" .. bench.env("BENCH_REDIRECT_URI")
  .. "&code_verifier=" .. bench.env("BENCH_CODE_VERIFIER")
local codes, next_code = nil, 0

function bench.init()
  codes = bench.read_lines(bench.env("BENCH_CODES_FILE"))
end

function request()
  next_code = next_code + 1
  local code = codes[next_code]
  if code == nil then
    bench.stop()
    return bench.filler()
  end
  return wrk.format("POST", path, headers, "grant_type=authorization_code&code=" .. code .. tail)
end

function response(status, _headers, body)
  bench.count(status == 200 and body:find('"access_token"') ~= nil, status)
end
