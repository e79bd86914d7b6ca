-- wrk -s bench/paths.lua: walk the distinct URLs of a file instead of repeating one URL.
--
--   BENCH_PATHS=/tmp/api_detail.txt wrk -t2 -c16 -d8s -s bench/paths.lua -H 'Authorization: ...' http://127.0.0.1:8000
--
-- Each line of $BENCH_PATHS is "GET <path>" or "T <request id>" (bench/targets.py). Every thread
-- walks the GET lines from its own starting point. When there are T lines, every
-- $BENCH_WRITE_EVERY-th call (10: 10 % of the calls) is a transition through the API instead:
-- POST /api/v1/requests/<id>/events, "hold" then, the next time that request comes round,
-- "resume". Each thread takes its own share of the T ids, so no two threads move one request.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file = os.getenv("BENCH_PATHS")
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  every = tonumber(os.getenv("BENCH_WRITE_EVERY") or "10")
  reads, ids, held = {}, {}, {}
  local t = 0
  for line in io.lines(file) do
    local kind, rest = line:match("^(%S+)%s+(.+)$")
    if kind == "T" then
      if t % nthreads == tid then table.insert(ids, tonumber(rest)) end
      t = t + 1
    elseif kind then
      table.insert(reads, wrk.format(kind, rest))
    end
  end
  pos = math.floor(#reads * tid / nthreads)
  calls, next_id = 0, 0
end

function request()
  calls = calls + 1
  if #ids > 0 and calls % every == 0 then
    next_id = next_id % #ids + 1
    local rid = ids[next_id]
    local trigger = held[rid] and "resume" or "hold"
    held[rid] = not held[rid]
    return wrk.format("POST", "/api/v1/requests/" .. rid .. "/events",
                      {["Content-Type"] = "application/json"},
                      '{"trigger": "' .. trigger .. '", "comment": "benchmark"}')
  end
  pos = pos % #reads + 1
  return reads[pos]
end
