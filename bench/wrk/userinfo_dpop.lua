-- userinfo-dpop: GET the userinfo endpoint (BENCH_PATH) with a DPoP-bound access token
-- (RFC 9449 7.1: "Authorization: DPoP <token>" and a proof in the "DPoP" header). wrk's LuaJIT
-- has no ECDSA, so the proofs were signed beforehand, untimed, by bench/run.py: one a line in
-- BENCH_PROOFS_FILE, "<access token>\t<proof>", each with its own jti and the ath of its token.
-- Each proof is sent once (a provider refuses a replayed jti), and when they run out the thread
-- stops: the rate is counted up to then. 200 counts.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local bench = require("common")
local path = bench.env("BENCH_PATH")
local pairs_, next_pair = nil, 0

function bench.init()
  pairs_ = {}
  for _, line in ipairs(bench.read_lines(bench.env("BENCH_PROOFS_FILE"))) do
    local tab = line:find("\t", 1, true)
    pairs_[#pairs_ + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
  end
end

function request()
  next_pair = next_pair + 1
  local pair = pairs_[next_pair]
  if pair == nil then
    bench.stop()
    return bench.filler()
  end
  return wrk.format("GET", path, { Authorization = "DPoP " .. pair[1], DPoP = pair[2] })
end

function response(status)
  bench.count(status == 200, status)
end
