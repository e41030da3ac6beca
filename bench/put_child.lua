-- wrk script: authenticated PUT /v1/children/{id} creating a new child under
-- a fresh random UUID per request (bench/run.sh, scenario B).
--
-- Arguments (after wrk's "--"): <bearer token> <JSON body>.  The body is the
-- one bench/put_child.sql passes to the INSERT; bench/run.sh hands the same
-- text to both.  The server validates dates against the real "today", so
-- the body's dates are in the past.

local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_number", threads)
end

local body

function init(args)
   local token
   token, body = args[1], args[2]
   if token == nil or body == nil then
      error("usage: wrk ... -s put_child.lua URL -- TOKEN BODY")
   end
   -- Seeded per thread and per run: ids must never repeat (a PUT on an
   -- existing child without If-Match is a 428, which would fail the run).
   math.randomseed(os.time() * 1000 + (thread_number or 0) * 7919 + os.clock() * 1e6)
   wrk.headers["Authorization"] = "Bearer " .. token
   wrk.headers["Content-Type"] = "application/json"
end

-- A version 4 UUID from math.random (16-bit pieces stay well inside the
-- range LuaJIT's math.random handles exactly).
local function uuid4()
   local r = math.random
   return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
                        r(0, 0xffff), r(0, 0xffff), r(0, 0xffff), r(0, 0xfff),
                        0x8000 + r(0, 0x3fff), r(0, 0xffff), r(0, 0xffff), r(0, 0xffff))
end

function request()
   return wrk.format("PUT", "/v1/children/" .. uuid4(), nil, body)
end
