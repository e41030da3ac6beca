-- wrk script: authenticated GET /v1/children/{id} over random ids of the
-- demo registry (bench/run.sh, scenario A).
--
-- Arguments (after wrk's "--"): <ids file> <bearer token>.  The ids file
-- holds the ids of demo children 1..N, one a line (bench/run.sh exports them
-- with psql: admin/demo.c derives them from md5(), which Lua lacks); each
-- thread loads the file once in init() and picks an id uniformly per
-- request, as pgbench's random(1, N) does in bench/get_child.sql.

local ids = {}
local count = 0
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_number", threads)
end

function init(args)
   local path, token = args[1], args[2]
   if path == nil or token == nil then
      error("usage: wrk ... -s get_child.lua URL -- IDS_FILE TOKEN")
   end
   local file = assert(io.open(path, "r"))
   for line in file:lines() do
      if #line > 0 then
         count = count + 1
         ids[count] = line
      end
   end
   file:close()
   if count == 0 then
      error("no ids in " .. path)
   end
   math.randomseed(os.time() * 1000 + (thread_number or 0))
   wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
   return wrk.format("GET", "/v1/children/" .. ids[math.random(count)])
end
