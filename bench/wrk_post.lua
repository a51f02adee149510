-- wrk script for the benchmark's HTTP load (bench/load_wrk.ts): POSTs the JSON body in $WRK_BODY,
-- and at the end prints one JSON line with the counts, latency percentiles in µs and wrk's own CPU
-- time (utime + stime of the whole process from /proc/self/stat, in clock ticks).
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or '{"name":"World"}'
wrk.headers["Content-Type"] = "application/json"

local function cpu_ticks()
  local f = io.open("/proc/self/stat", "r")
  if f == nil then return -1 end
  local stat = f:read("*a")
  f:close()
  -- the command name (field 2) may hold spaces: count fields after its closing parenthesis
  local rest = stat:match("^.*%) (.*)$")
  local fields = {}
  for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
  -- fields[1] is field 3 (state): utime is field 14, stime field 15
  return tonumber(fields[12]) + tonumber(fields[13])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"wrk":{"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
      '"p50Us":%d,"p99Us":%d,"cpuTicks":%d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), cpu_ticks()))
end
