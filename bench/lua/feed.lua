-- feed.lua — wrk script: GET /v1/feed?limit=20 as a random user per request.
--
-- Usage: wrk ... -s feed.lua URL -- TOKENS_FILE [SEED] [LIMIT]
-- TOKENS_FILE has lines "<user_id> <token>" (chirp-gen's tokens.txt).
-- One request per token is formatted up front; request() only picks one.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local reqs = {}

setup = common.setup
done = common.done

function init(args)
   common.seed(args[2], thread_index)
   local path = "/v1/feed?limit=" .. (args[3] or "20")
   for _, token in ipairs(common.read_field(args[1], 2)) do
      reqs[#reqs + 1] = wrk.format("GET", path, { Authorization = "Bearer " .. token })
   end
end

function request()
   return reqs[math.random(#reqs)]
end
