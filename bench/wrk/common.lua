-- Shared by the workload scripts of bench/run.py (wrk 4, LuaJIT). Each wrk thread and wrk's
-- main state load their own copy. A script counts each response with bench.count(ok, status);
-- done() prints one line, "BENCH_RESULT {json}", that bench/run.py reads:
--   ok          successful operations (only these make the rate)
--   errors      unexpected answers (counted in response()) plus socket errors and timeouts
--   statuses    the unexpected statuses and how often, e.g. {"401": 3}
--   requests    responses wrk read, whatever they were
--   duration_s  wall time: wrk's, or up to the moment a thread ran out of input and stopped
--   p50_ms, p99_ms, max_ms   latency of all responses read (wrk's histogram)
-- Settings come from the environment (os.getenv), set by bench/run.py.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]])

local bench = {}
local CLOCK_MONOTONIC = 1
local now = ffi.new("bench_timespec")

function bench.now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
  return tonumber(now.tv_sec) * 1e6 + tonumber(now.tv_nsec) / 1e3
end

function bench.env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    if default ~= nil then
      return default
    end
    error("bench: the environment variable " .. name .. " is not set")
  end
  return value
end

function bench.read_lines(path)
  local lines = {}
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    if line ~= "" then
      lines[#lines + 1] = line
    end
  end
  file:close()
  return lines
end

-- Case-insensitive header lookup (gunicorn sends "Location", node "location").
function bench.header(headers, name)
  local wanted = string.lower(name)
  for key, value in pairs(headers) do
    if string.lower(key) == wanted then
      return value
    end
  end
  return nil
end

-- Per-thread counters: globals, so that done() can read them with thread:get().
ok = 0
bad = 0
statuses = {}
started_us = 0
stopped_us = 0
stopping = false

function bench.count(success, status)
  if stopping then
    return -- answers to the filler requests sent while a thread stops
  end
  if success then
    ok = ok + 1
  else
    bad = bad + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

-- A thread that ran out of input (codes, refresh tokens) stops; its rate is counted up to here.
-- wrk still wants a request from request(): the caller returns bench.filler.
function bench.stop()
  if not stopping then
    stopping = true
    stopped_us = bench.now_us()
    wrk.thread:stop()
  end
end

function bench.filler()
  return wrk.format("GET", bench.env("BENCH_FILLER_PATH", "/"))
end

function init(args)
  started_us = bench.now_us()
  if bench.init then
    bench.init(args)
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

local function encode(value)
  local kind = type(value)
  if kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then
      return "null"
    end
    if value == math.floor(value) and math.abs(value) < 2 ^ 53 then
      return string.format("%d", value)
    end
    return string.format("%.6f", value)
  elseif kind == "boolean" then
    return tostring(value)
  elseif kind == "string" then
    return '"' .. value:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
    end) .. '"'
  elseif kind == "table" then
    local parts = {}
    for key, item in pairs(value) do
      parts[#parts + 1] = encode(tostring(key)) .. ":" .. encode(item)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end

function done(summary, latency, _requests)
  local total_ok, total_bad, all_statuses = 0, 0, {}
  local duration_us = summary.duration
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_bad = total_bad + thread:get("bad")
    for status, n in pairs(thread:get("statuses")) do
      all_statuses[status] = (all_statuses[status] or 0) + n
    end
    local stopped = thread:get("stopped_us")
    if stopped > 0 then
      duration_us = math.min(duration_us, stopped - thread:get("started_us"))
    end
  end
  local e = summary.errors
  local result = {
    ok = total_ok,
    errors = total_bad + e.connect + e.read + e.write + e.timeout,
    socket_errors = { connect = e.connect, read = e.read, write = e.write, timeout = e.timeout },
    statuses = all_statuses,
    requests = summary.requests,
    duration_s = duration_us / 1e6,
    stopped_early = duration_us < summary.duration,
    p50_ms = latency:percentile(50) / 1000,
    p99_ms = latency:percentile(99) / 1000,
    max_ms = latency.max / 1000,
  }
  if bench.done then
    bench.done(threads, result)
  end
  io.write("BENCH_RESULT " .. encode(result) .. "\n")
end

return bench
