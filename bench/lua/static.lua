-- static.lua — wrk script for the nginx baseline: the plain GET of the URL
-- given to wrk, reported in the same BENCH_RESULT format as the chirp runs.
--
-- Usage: wrk ... -s static.lua http://127.0.0.1:PORT/feed.json

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
done = common.done
