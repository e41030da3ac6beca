-- wrk script: bench/get_child.lua's requests, each connection pausing
-- between them (bench/run.sh: scenario A "at half of peak", where p99 is
-- read at a load the server can carry rather than at saturation; wrk has no
-- fixed request rate, so a pause per connection sets it).
--
-- Arguments (after wrk's "--"): <ids file> <bearer token> <pause in ms>.
-- Run from the repository's root.

dofile("bench/get_child.lua")

local pause = 0
local load_ids = init

function init(args)
   load_ids(args)
   pause = tonumber(args[3]) or error("usage: wrk ... -s get_child_paced.lua URL -- IDS_FILE TOKEN PAUSE_MS")
end

function delay()
   return pause
end
