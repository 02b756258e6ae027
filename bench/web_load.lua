-- wrk script for bench/web.py: one wrk thread per browser (one keep-alive connection, its own
-- session cookie and its own answer forms) and its own clock (LuaJIT FFI), so that only the
-- request a scenario times is counted:
--   trivial   GET /healthz
--   practice  GET /practice/ (the page reloaded)
--   submit    POST /practice/answer (a numeric answer, from a form minted by bench/web.py)
--   next      POST an answer (not timed), then GET /practice/ (timed: the page after an answer)
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
local browsers = {}
for line in io.lines(os.getenv("BENCH_BROWSERS")) do
  local cookie, forms = string.match(line, "^(%S+) (%S+)$")
  browsers[#browsers + 1] = { cookie = cookie, forms = forms }
end

function setup(thread)
  local b = browsers[#threads % #browsers + 1]
  thread:set("cookie", "session=" .. b.cookie)
  thread:set("forms_path", b.forms)
  table.insert(threads, thread)
end

function init(args)
  scenario = os.getenv("BENCH_SCENARIO")
  latencies, errors, reused, started, step = {}, 0, 0, 0, "answer"
  forms, next_form = {}, 1
  if scenario == "submit" or scenario == "next" then
    for line in io.lines(forms_path) do forms[#forms + 1] = line end
  end
end

local function answer()
  if next_form > #forms then next_form, reused = 1, reused + 1 end
  local body = forms[next_form]
  next_form = next_form + 1
  return wrk.format("POST", "/practice/answer",
                    { ["Cookie"] = cookie, ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

function request()
  if scenario == "submit" then
    started = now()
    return answer()
  elseif scenario == "next" and step == "answer" then
    return answer()
  end
  started = now()
  return wrk.format("GET", scenario == "trivial" and "/healthz" or "/practice/", { ["Cookie"] = cookie })
end

function response(status, headers, body)
  local took = now() - started
  if status ~= 200 then errors = errors + 1 end
  if scenario == "next" and step == "answer" then
    step = "page"
    return
  end
  step = "answer"
  if status == 200 then latencies[#latencies + 1] = took end
end

function done(summary, latency, requests)
  local parts, errs, reuses = {}, 0, 0
  for _, thread in ipairs(threads) do
    for _, value in ipairs(thread:get("latencies")) do parts[#parts + 1] = string.format("%.6f", value) end
    errs = errs + thread:get("errors")
    reuses = reuses + thread:get("reused")
  end
  io.write(string.format('BENCH {"duration_s": %.6f, "errors": %d, "forms_reused": %d, "socket_errors": %d, '
                         .. '"latencies": [%s]}\n', summary.duration / 1e6, errs, reuses,
                         summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
                         table.concat(parts, ",")))
end
