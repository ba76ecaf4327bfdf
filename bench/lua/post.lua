-- post.lua — wrk script: POST /v1/tweets as a random user, unique text each.
--
-- Usage: wrk ... -s post.lua URL -- TOKENS_FILE [SEED]
-- Every text carries a per-run nonce, the thread index and a counter, so no
-- two requests (in this run or an earlier one) post the same text. A 201
-- means the tweet is durable (chirp commits before it answers).

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local auth = {}
local prefix
local counter = 0

setup = common.setup
done = common.done

function init(args)
   common.seed(args[2], thread_index)
   for _, token in ipairs(common.read_field(args[1], 2)) do
      auth[#auth + 1] = "Bearer " .. token
   end
   prefix = string.format('{"text":"bench %d.%d post ', os.time(), thread_index or 0)
end

function request()
   counter = counter + 1
   local body = prefix .. counter .. '"}'
   return wrk.format("POST", "/v1/tweets", {
      ["Authorization"] = auth[math.random(#auth)],
      ["Content-Type"] = "application/json",
   }, body)
end
