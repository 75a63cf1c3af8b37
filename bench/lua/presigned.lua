-- Each request carries the next of a file of pre-signed Authorization values, never the same one twice: an
-- OAuth 1.0a nonce is taken once, so wrk's one fixed request would be a replay (401) from the second on.
-- BENCH_PRESIGNED_FILE holds one value per line, signed by the harness just before the run. The harness runs wrk
-- with one thread (-t1): every thread would read the whole file, so a second one would send the same values.
-- Method, fixed headers and the summary line come from request.lua (BENCH_LUA_DIR).
dofile(os.getenv("BENCH_LUA_DIR") .. "/request.lua")

local threads = {}
local prepared = {}
available = 0 -- globals, so done() can read them from the thread with thread:get()
taken = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for value in io.lines(os.getenv("BENCH_PRESIGNED_FILE")) do
    local headers = {}
    for name, fixed in pairs(wrk.headers) do headers[name] = fixed end
    headers["Authorization"] = value
    prepared[#prepared + 1] = wrk.format(nil, nil, headers)
  end
  available = #prepared
end

function request()
  taken = taken + 1
  -- Past the end the last one goes again: a replay, refused and counted, and reported below as running out.
  return prepared[math.min(taken, available)]
end

local summary = done
function done(result, latency, requests)
  local sum_available, sum_taken = 0, 0
  for _, thread in ipairs(threads) do
    sum_available = sum_available + thread:get("available")
    sum_taken = sum_taken + thread:get("taken")
  end
  io.write(string.format('BENCH_PRESIGNED {"available":%d,"taken":%d}\n', sum_available, sum_taken))
  summary(result, latency, requests)
end
