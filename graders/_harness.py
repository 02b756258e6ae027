"""In-sandbox harness for `code` answers. Its text is run as `python3 -c` inside the sandbox.

Why results cannot be forged by the learner's code:
- This process (the harness parent) never executes learner code. It reads the job from
  stdin, makes itself non-dumpable (so a same-uid process can neither ptrace it nor open
  /proc/<pid>/fd/N to reach its pipes), and then forks one child per test.
- Each child closes the report fd before it executes the learner's module, so the only
  thing the learner can write to is its own per-test pipe, which the parent reads as "the
  value this function returned for this test". A child can lie only about its own return
  value, which is the same as returning it.
- Only the parent writes the report, once, framed with the per-run nonce from stdin. The
  worst a child can do is kill the parent (same uid): the host then gets no report and
  grades the run as an error, never as a pass.
- Expected values never enter the sandbox: the child only serialises the returned value as
  JSON and the host compares.
The per-test fork also gives clean per-test time limits (the parent kills a late child) and
keeps one test's crash, memory blow-up or timeout from hiding the others.
"""
import gc
import json
import os
import select
import signal
import sys
import time
import traceback

FILENAME = "solution.py"
OUTPUT_CAP = 4096
OUTPUT_KILL = 1 << 20  # a child printing more than this is stopped
MAX_TIMEOUTS = 2  # after this many timed-out tests the rest are skipped (bounds hostile runs)
_clock = time.perf_counter
# Complexity timings count this thread's CPU time: on a busy machine wall time also counts the
# time spent waiting for a core, which is what made correct solutions look quadratic.
_cpu_clock = time.thread_time


def _jsonable(x, depth=0):
    """The returned value as JSON data: tuples/arrays -> lists; anything else is tagged."""
    if depth > 50:
        raise ValueError("nested too deeply")
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return x if abs(x) < (1 << 63) else float(x)
    if isinstance(x, float):
        return x
    mod = type(x).__module__ or ""
    if mod.startswith("numpy") and hasattr(x, "tolist"):
        return _jsonable(x.tolist(), depth + 1)
    if isinstance(x, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in x]
    if isinstance(x, (set, frozenset)):
        items = [_jsonable(v, depth + 1) for v in x]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(x, dict):
        return {"__dict__": [[_jsonable(k, depth + 1), _jsonable(v, depth + 1)] for k, v in x.items()]}
    return {"__object__": type(x).__name__, "repr": repr(x)[:200]}


def _learner_line(tb, lines):
    """The last traceback frame inside the learner's file: (line number, source text)."""
    found = None
    for frame in traceback.extract_tb(tb):
        if frame.filename == FILENAME:
            found = frame.lineno
    if found is None:
        return None, ""
    text = lines[found - 1].strip() if 0 < found <= len(lines) else ""
    return found, text


def _to_arrays(x):
    import numpy as np
    if isinstance(x, list):
        try:
            arr = np.asarray(x)
            if arr.dtype != object:
                return arr
        except ValueError:
            pass
        return [_to_arrays(v) for v in x]
    return x


def _child(job, code, lines, task):
    """Runs in the forked child: execute the learner module, call the function, report."""
    sys.setrecursionlimit(job.get("recursion_limit", 3000))
    ns = {"__name__": "solution", "__builtins__": __builtins__}
    try:
        exec(code, ns)
        fn = ns.get(job["function"])
        if not callable(fn):
            return {"status": "missing", "message": job["function"]}
        if task["kind"] == "test":
            args = task["args"]
            if job.get("array_args"):
                args = [_to_arrays(a) for a in args]
            value = fn(*args)
            return {"status": "ok", "value": _jsonable(value)}
        # complexity timing: build the input with the author's make_input, time the calls
        helper = {"__name__": "make_input"}
        exec(compile(job["make_input"], "make_input.py", "exec"), helper)
        args = helper["make_input"](task["n"])
        if job.get("array_args"):
            args = [_to_arrays(a) for a in args]
        best, total, reps = float("inf"), 0.0, 0
        gc.collect()
        gc.disable()  # as timeit does: a collection pass over the big input is O(n) noise per call
        try:
            while reps < 7 and total < task["budget"]:
                t0 = _cpu_clock()
                fn(*args)
                dt = _cpu_clock() - t0
                best, total, reps = min(best, dt), total + dt, reps + 1
        finally:
            gc.enable()
        return {"status": "ok", "seconds": best, "reps": reps}
    except MemoryError:
        return {"status": "memory"}
    except RecursionError:
        line, text = _learner_line(sys.exc_info()[2], lines)
        return {"status": "error", "type": "RecursionError", "message": "maximum recursion depth exceeded",
                "line": line, "text": text}
    except BaseException as exc:  # noqa: BLE001 - everything the learner raises is reported
        line, text = _learner_line(exc.__traceback__, lines)
        return {"status": "error", "type": type(exc).__name__, "message": str(exc)[:300], "line": line, "text": text}


def _run_task(job, code, lines, task, limit, show_output):
    res_r, res_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = None
    for attempt in range(4):  # the process budget is shared per uid: wait out a brief shortage
        try:
            pid = os.fork()
            break
        except OSError as exc:  # e.g. the learner's leftover processes used up the process limit
            error = exc
            time.sleep(0.05 * (attempt + 1))
    if pid is None:
        for fd in (res_r, res_w, out_r, out_w):
            os.close(fd)
        return {"status": "crash", "message": f"could not start the test ({error.strerror})", "output": ""}
    if pid == 0:  # child
        try:
            os.close(res_r)
            os.close(out_r)
            os.close(job["_report_fd"])
            os.setpgid(0, 0)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(out_w, 1)  # hidden tests' output is read (to cap it) but never shown
            os.dup2(out_w, 2)
            os.close(out_w)
            os.close(devnull)
            sys.stdout = open(1, "w", closefd=False, buffering=1)
            sys.stderr = open(2, "w", closefd=False, buffering=1)
            result = _child(job, code, lines, task)
            try:
                data = json.dumps(result, allow_nan=True).encode()
            except (ValueError, TypeError, RecursionError) as exc:
                data = json.dumps({"status": "error", "type": "UnserialisableResult", "message": str(exc)[:200],
                                   "line": None, "text": ""}).encode()
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001
                pass
            view = memoryview(data)
            while view:
                view = view[os.write(res_w, view):]
        except MemoryError:
            os._exit(3)
        finally:
            os._exit(0)
    os.close(res_w)
    os.close(out_w)
    start = _clock()
    deadline = start + limit
    res, out = bytearray(), bytearray()
    open_fds = {res_r: res, out_r: out}
    timed_out = False
    printed = 0
    while res_r in open_fds:
        left = deadline - _clock()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(list(open_fds), [], [], left)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                del open_fds[fd]
                continue
            buf = open_fds[fd]
            if fd == res_r and len(buf) + len(chunk) > job["_result_cap"]:
                timed_out = None  # too big
                del open_fds[fd]
                break
            if fd == out_r:
                printed += len(chunk)
                if printed > OUTPUT_KILL:
                    timed_out = None
                    del open_fds[fd]
                    break
                if len(buf) < OUTPUT_CAP:
                    buf += chunk[: OUTPUT_CAP - len(buf)]
            else:
                buf += chunk
        if timed_out is None:
            break
    elapsed = _clock() - start
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _, wstatus = os.waitpid(pid, 0)
    # what is left of the output without blocking on grandchildren that hold the pipe
    os.set_blocking(out_r, False)
    try:
        while len(out) < OUTPUT_CAP:
            chunk = os.read(out_r, 65536)
            if not chunk:
                break
            out += chunk[: OUTPUT_CAP - len(out)]
    except BlockingIOError:
        pass
    os.close(res_r)
    os.close(out_r)
    output = out.decode("utf-8", "replace") if show_output else ""
    if timed_out:
        return {"status": "timeout", "seconds": elapsed, "output": output}
    if timed_out is None and printed > OUTPUT_KILL:
        return {"status": "output", "seconds": elapsed, "output": output}
    if timed_out is None:
        return {"status": "error", "type": "ResultTooLarge", "message": "the returned value is too large",
                "line": None, "text": "", "output": output}
    if res:
        try:
            result = json.loads(res.decode("utf-8", "replace"))
            if not isinstance(result, dict):
                raise ValueError
        except ValueError:
            result = {"status": "crash", "message": "unreadable result"}
    elif os.WIFSIGNALED(wstatus):
        sig = os.WTERMSIG(wstatus)
        result = {"status": "timeout" if sig == signal.SIGXCPU else "crash", "signal": sig,
                  "message": signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)}
    elif os.WEXITSTATUS(wstatus) == 3:
        result = {"status": "memory"}
    else:
        result = {"status": "crash", "message": f"exited with code {os.WEXITSTATUS(wstatus)} before returning"}
    result["output"] = output
    result.setdefault("seconds", elapsed)
    return result


def main():
    report_fd = int(sys.argv[1])
    job = json.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    try:  # non-dumpable: same-uid processes cannot ptrace us or open /proc/<pid>/fd/*
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except Exception:  # noqa: BLE001
        pass
    nonce = job.pop("nonce")
    job["_report_fd"] = report_fd
    job["_result_cap"] = job.get("result_cap", 1 << 20)
    if job.get("array_args"):
        import numpy  # noqa: F401  - imported once here, shared by every forked child
    report = {"nonce": nonce}
    source = job["source"]
    lines = source.splitlines()
    try:
        code = compile(source, FILENAME, "exec")
    except SyntaxError as exc:
        report["syntax_error"] = {"line": exc.lineno, "offset": exc.offset, "message": exc.msg,
                                  "text": (exc.text or "").rstrip("\n")}
        code = None
    except (ValueError, MemoryError, RecursionError) as exc:
        report["syntax_error"] = {"line": None, "offset": None, "message": str(exc)[:200], "text": ""}
        code = None
    if code is not None:
        results = []
        for i, args in enumerate(job["tests"]):
            if sum(r["status"] == "timeout" for r in results) >= MAX_TIMEOUTS:
                results.append({"status": "skipped"})
                continue
            task = {"kind": "test", "args": args}
            results.append(_run_task(job, code, lines, task, job["test_time_limit"], job["show_output"][i]))
            if results[-1]["status"] == "missing":
                break
        report["results"] = results
        if job.get("make_input") and all(r["status"] == "ok" for r in results):
            timings = []
            for n in job["sizes"]:
                task = {"kind": "time", "n": n, "budget": job.get("time_budget", 0.05)}
                r = _run_task(job, code, lines, task, job["timing_limit"], False)
                timings.append({"n": n, "status": r["status"], "seconds": r.get("seconds")})
                if r["status"] != "ok":
                    break
            report["timings"] = timings
    data = json.dumps(report, allow_nan=True).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(report_fd, view):]
    os.close(report_fd)


main()
