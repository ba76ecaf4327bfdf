-- paths.lua — wrk script: GET a random path from a file, one per line.
--
-- Usage: wrk ... -s paths.lua URL -- PATHS_FILE [SEED]
-- Used by bench/search.sh for search queries (public: no Authorization).

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local reqs = {}

setup = common.setup
done = common.done

function init(args)
   common.seed(args[2], thread_index)
   for _, path in ipairs(common.read_field(args[1], 1)) do
      reqs[#reqs + 1] = wrk.format("GET", path, {})
   end
end

function request()
   return reqs[math.random(#reqs)]
end
