-- tweet.lua — wrk script: GET /v1/tweets/{id} for a random id per request.
--
-- Usage: wrk ... -s tweet.lua URL -- TWEET_IDS_FILE [SEED]
-- TWEET_IDS_FILE has one tweet id per line (chirp-gen's tweet_ids.txt).
-- No Authorization header: reading a tweet is public.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local reqs = {}

setup = common.setup
done = common.done

function init(args)
   common.seed(args[2], thread_index)
   for _, id in ipairs(common.read_field(args[1], 1)) do
      reqs[#reqs + 1] = wrk.format("GET", "/v1/tweets/" .. id, {})
   end
end

function request()
   return reqs[math.random(#reqs)]
end
