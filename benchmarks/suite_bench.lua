-- wrk script of `make bench` (benchmarks/suite_bench.py sets the environment), after the shared
-- peer harness's bench.lua so that figures compare with the peers'.
--   BENCH_MODE     static | register | refresh
--   BENCH_METHOD, BENCH_PATH, BENCH_BODY (register: {email} template; refresh: {refresh})
--   BENCH_HEADERS  "Name: value" lines sent on every request
--   BENCH_RUN_ID   register: prefix of the generated addresses (…@example.com)
--   BENCH_SEEDS_FILE  refresh: one refresh token per line, at least one per connection
--   BENCH_DELAY_MS    wait this long before each request (the soak's paced logins)
-- static:   the same request every time, no Lua callbacks (wrk at full speed).
-- register: a new address per request.
-- refresh:  a queue of unspent tokens; a request spends the head, the rotated token from its
--           answer joins the tail, so no token is presented twice (no false reuse detection).
--           A non-200 answer loses that token: counted as "lost".
-- done() prints one line "WRKJSON {...}".

local env = os.getenv
local mode = env("BENCH_MODE") or "static"
local method = env("BENCH_METHOD") or "GET"
local path = env("BENCH_PATH") or "/"
local body = env("BENCH_BODY")
if body == "" then body = nil end
local run_id = env("BENCH_RUN_ID") or tostring(os.time())
local pause_ms = tonumber(env("BENCH_DELAY_MS") or "")
if pause_ms and pause_ms > 0 then
  function delay() return pause_ms end
end

local headers = {}
for line in (env("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local k, v = line:match("^%s*([^:]+):%s*(.-)%s*$")
  if k then headers[k] = v end
end

local function subst(s, key, value)
  return (s:gsub("{" .. key .. "}", function() return value end))
end

local threads = {}
local seeds_text = ""
if mode == "refresh" then
  local f = io.open(env("BENCH_SEEDS_FILE") or "", "r")
  if f then seeds_text = f:read("*a"); f:close() end
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
  if mode == "refresh" then thread:set("seeds", seeds_text) end
end

if mode == "static" then
  wrk.method = method
  wrk.path = path
  wrk.body = body
  for k, v in pairs(headers) do wrk.headers[k] = v end
elseif mode == "register" then
  local n = 0
  function request()
    n = n + 1
    local email = string.format("%s-t%d-%d@example.com", run_id, tid or 0, n)
    return wrk.format(method, path, headers, subst(body or "", "email", email))
  end
elseif mode == "refresh" then
  local queue, head, tail = {}, 1, 0
  rotated, lost, starved = 0, 0, 0 -- globals: read by done() through thread:get

  function init(args)
    for tok in (seeds or ""):gmatch("[^\n]+") do
      tail = tail + 1
      queue[tail] = tok
    end
  end

  function request()
    local tok
    if head <= tail then
      tok = queue[head]
      queue[head] = nil
      head = head + 1
    else
      -- never re-send a spent token: that would revoke its family
      tok = "bench-starved-no-such-token"
      starved = starved + 1
    end
    return wrk.format(method, path, headers, subst(body or "", "refresh", tok))
  end

  function response(status, _, rbody)
    local tok
    if status == 200 and rbody then tok = rbody:match('"refreshToken"%s*:%s*"([^"]+)"') end
    if tok then
      tail = tail + 1
      queue[tail] = tok
      rotated = rotated + 1
    else
      lost = lost + 1
    end
  end
end

function done(summary, latency, requests)
  local rot, lst, stv = 0, 0, 0
  if mode == "refresh" then
    for _, t in ipairs(threads) do
      rot = rot + (t:get("rotated") or 0)
      lst = lst + (t:get("lost") or 0)
      stv = stv + (t:get("starved") or 0)
    end
  end
  local e = summary.errors
  local dur = summary.duration / 1e6
  local function ms(us) return (us or 0) / 1000 end
  io.write("WRKJSON " .. string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.2f,'
      .. '"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,'
      .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
      .. '"rotated":%d,"lost":%d,"starved":%d}',
    summary.requests, dur, summary.requests / dur,
    ms(latency:percentile(50)), ms(latency:percentile(99)), ms(latency.max),
    e.connect, e.read, e.write, e.status, e.timeout, rot, lst, stv) .. "\n")
end
