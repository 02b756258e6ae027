-- wrk script for bench/web.py: one wrk thread per client, one keep-alive connection each,
-- its own session cookie, and its own clock (LuaJIT FFI) so that only the request a
-- scenario times is counted: the practice page, or the POST of an answer after fetching
-- its form, or the page right after that answer.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = {}
local counter = 0
local cookies = {}
for c in string.gmatch(os.getenv("BENCH_COOKIES") or "", "[^ ]+") do cookies[#cookies + 1] = c end

function setup(thread)
  counter = counter + 1
  thread:set("cookie", "session=" .. cookies[(counter - 1) % #cookies + 1])
  table.insert(threads, thread)
end

local function urlencode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(ch) return string.format("%%%02X", string.byte(ch)) end))
end

function init(args)
  scenario = os.getenv("BENCH_SCENARIO")
  question = os.getenv("BENCH_QUESTION")
  latencies, errors, step, started, body = {}, 0, "form", 0, nil
end

local function get(path)
  return wrk.format("GET", path, { ["Cookie"] = cookie })
end

function request()
  if scenario == "trivial" or scenario == "practice" then
    started = now()
    return get(scenario == "trivial" and "/healthz" or "/practice/")
  end
  if step == "form" then
    return get("/practice/q/" .. question)
  elseif step == "answer" then
    if scenario == "submit" then started = now() end
    return wrk.format("POST", "/practice/answer",
                      { ["Cookie"] = cookie, ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
  end
  started = now()
  return get("/practice/")
end

function response(status, headers, text)
  local took = now() - started
  local set = headers["Set-Cookie"]
  if set then cookie = string.match(set, "^(session=[^;]*)") or cookie end
  if status ~= 200 then
    errors = errors + 1
    step = "form"
    return
  end
  if scenario == "trivial" or scenario == "practice" then
    latencies[#latencies + 1] = took
  elseif step == "form" then
    local token = string.match(text, 'name="token" value="([^"]+)"')
    local csrf = string.match(text, 'name="csrf_token" value="([^"]+)"')
    if not token or not csrf then errors = errors + 1; return end
    body = "csrf_token=" .. urlencode(csrf) .. "&token=" .. urlencode(token)
           .. "&kind=numeric&answer=0.5&hint_used=0"
    step = "answer"
  elseif step == "answer" then
    if scenario == "submit" then latencies[#latencies + 1] = took; step = "form" else step = "next" end
  else
    latencies[#latencies + 1] = took
    step = "form"
  end
end

function done(summary, latency, requests)
  local parts, errs = {}, 0
  for _, thread in ipairs(threads) do
    for _, value in ipairs(thread:get("latencies")) do parts[#parts + 1] = string.format("%.6f", value) end
    errs = errs + thread:get("errors")
  end
  io.write(string.format('BENCH {"duration_s": %.6f, "errors": %d, "socket_errors": %d, "latencies": [%s]}\n',
                         summary.duration / 1e6, errs,
                         summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
                         table.concat(parts, ",")))
end
