-- common.lua — helpers shared by the wrk scripts in this folder.
--
-- wrk runs each script in LuaJIT (Lua 5.1): one Lua state per wrk thread for
-- init/request, and one more for setup/done. Scripts load this file with
-- dofile (see the top of each), read their data files once in init, and
-- pick a pre-formatted request at random per request, so the Lua side costs
-- almost nothing next to the server under test.
--
-- done() prints one machine-readable line that bench/run.sh parses:
--   BENCH_RESULT requests=N duration_us=N rps=F p50_us=N p99_us=N ...
-- Latencies are wrk's (microseconds, coordinated-omission not corrected).

local M = {}

-- Returns the lines of `path` as a list, the first `field` (1-based,
-- whitespace-separated) of each non-empty line, or all fields if field is nil.
-- Stops with an error naming the file if it is missing or empty.
function M.read_field(path, field)
   local f = io.open(path, "r")
   if not f then
      error("cannot open " .. tostring(path))
   end
   local out = {}
   for line in f:lines() do
      local i = 0
      for word in line:gmatch("%S+") do
         i = i + 1
         if i == field then
            out[#out + 1] = word
            break
         end
      end
   end
   f:close()
   if #out == 0 then
      error("no usable lines in " .. path)
   end
   return out
end

-- Seeds the generator from the script argument `seed` (default 1) so two runs
-- send the same request sequence; a thread index keeps threads apart.
function M.seed(seed, thread_index)
   math.randomseed((tonumber(seed) or 1) * 1000 + (thread_index or 0))
   -- LuaJIT's first values after seeding are poorly mixed; discard a few.
   for _ = 1, 10 do math.random() end
end

-- Gives each wrk thread a distinct index (used for seeds and unique text).
local thread_count = 0
function M.setup(thread)
   thread:set("thread_index", thread_count)
   thread_count = thread_count + 1
end

function M.done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
      "bytes=%d connect_err=%d read_err=%d write_err=%d status_err=%d timeout_err=%d\n",
      summary.requests, summary.duration, summary.requests / secs,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
end

return M
