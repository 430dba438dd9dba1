-- jwks: GET the jwks_uri of the discovery document (BENCH_PATH), 200 counts.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local bench = require("common")
local path = bench.env("BENCH_PATH")

function request()
  return wrk.format("GET", path)
end

function response(status)
  bench.count(status == 200, status)
end
