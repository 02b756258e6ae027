"""Run untrusted Python in a separate, locked-down process and say how it ended.

Why this shape:
- The code never runs in the calling process. It runs under bubblewrap (`bwrap`) with every
  namespace unshared: no network (an empty network namespace, so `connect` fails at once),
  its own PID namespace (it cannot see or signal host processes; when the sandbox's init
  dies the kernel kills everything inside), its own mount namespace holding only the Python
  runtime, its shared libraries and a NumPy copy, all read-only, plus a small size-capped
  tmpfs at /tmp as the working directory. Nothing of the app, its database, /root or /home
  is mounted, so there is nothing to read.
- When the app runs as root, bwrap is started as `nobody` (uid 65534) and makes its own
  unprivileged user namespace. We checked the alternative, root running
  `bwrap --unshare-user --uid 65534`: inside it looks like nobody but the kernel still maps it
  to host root, so it can read root-only files that get mounted. Dropping to nobody first
  gives a process the kernel treats as nobody everywhere.
- Limits are set by `prlimit` before bwrap starts (so they cannot be raised from inside): CPU
  seconds, address space, processes, file size, open files. A wall-clock timeout kills the
  process group of the outer bwrap; `--die-with-parent` makes the sandbox's init die with it,
  which takes down the whole PID namespace, including children that called `setsid()`.
- The whole tree, not each process, is held to `memory_mb` and `processes`: each run gets its
  own cgroup (graders/cgroups.py: v2 memory.max + pids.max, or v1 memory.limit_in_bytes +
  memsw + pids.max), entered before anything of the sandbox runs (the host moves the process
  in while it waits at a tiny `sh` gate), removed after the run. The kernel charges tmpfs
  pages to it too, so files in /tmp and /dev/shm count as memory. An OOM kill inside the
  group is reported as `memory_limit`; `Result.details` has the peak memory and processes.
- Where no cgroup can be made (an unprivileged laptop, controllers not delegated) the bound
  is "no forking": the program starts under RLIMIT_NPROC = 2 + `forks` set *inside* bwrap's
  user namespace, where the kernel counts only this sandbox's processes (bwrap's init, the
  program, and the few processes a trusted harness says it needs); a harness lowers it again
  to what exists before running learner code. Then the per-process RLIMIT_AS bounds the
  learner's part of the tree. `Result.details["bounded_by"]` says which mechanism applied:
  "cgroup-v2", "cgroup-v1", "rlimit-nproc", or "rlimit-per-process" (plain backend only).
- Disk: one budget `tmp_mb` shared by a size-capped /tmp and a small size-capped /dev/shm;
  the rest of /dev (bwrap's minimal device set) and / are read-only.
- stdout/stderr are read incrementally and the run is killed as soon as either passes the
  cap, so "print gigabytes" costs at most the cap.

Without bwrap, `run` refuses (status `blocked`) unless `INTERVIEW_UNSAFE_LOCAL_CODE=1`, which
runs a plain subprocess with the same rlimits and nothing else: only for a single user
running their own code on their own machine.

Note: RLIMIT_NPROC is counted per host uid, so concurrent sandboxes share one budget of uid
65534, and the tasks of finished sandboxes are released a little after they exit (we
measured ~60 such tasks at 4 concurrent runs). With a cgroup, each run is held to
`processes` by pids.max and the per-uid limit is only a wide backstop (16 runs' worth);
without one, a fork bomb in one run can make another's start fail for the moment it takes to
kill it: `run` retries a failed bwrap start once and the code harness retries a failed fork.
"""
from __future__ import annotations

import os
import resource
import secrets
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from graders import cgroups

Status = Literal["ok", "passed", "wrong_answer", "runtime_error", "timeout", "memory_limit", "output_limit", "blocked"]
STATUSES: tuple[str, ...] = ("ok", "passed", "wrong_answer", "runtime_error", "timeout", "memory_limit",
                             "output_limit", "blocked")

BWRAP = "/usr/bin/bwrap"
PRLIMIT = "/usr/bin/prlimit"
SANDBOX_PYTHON = "/usr/bin/python3"
NOBODY = 65534
UNSAFE_ENV = "INTERVIEW_UNSAFE_LOCAL_CODE"
SITE_IN_SANDBOX = "/opt/interview-site"
MAX_SOURCE_BYTES = 120_000  # one argv string may not exceed 128 KiB (MAX_ARG_STRLEN)
REPORT_CAP = 8 << 20
UID_BACKSTOP = 16  # with a cgroup: RLIMIT_NPROC of uid nobody = this many runs' `processes`
BOUND_ENV = "INTERVIEW_SANDBOX_BOUND"  # tells a harness inside how the tree is bounded
CGROUPS_ENV = "INTERVIEW_SANDBOX_CGROUPS"  # "0" turns the cgroup off (tests of the fallback)


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run; NumPy needs `memory_mb` >= 256."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 512
    processes: int = 256
    file_size_mb: int = 8
    open_files: int = 64
    output_bytes: int = 256 * 1024
    tmp_mb: int = 32


@dataclass
class Result:
    """How a run ended. `report` is what the program wrote to its report fd (if asked for)."""

    status: Status
    exit_code: int | None
    stdout: str
    stderr: str
    wall_time: float
    message: str = ""
    report: bytes = b""
    signal: int | None = None
    backend: str = "bwrap"
    details: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class SandboxUnavailable(RuntimeError):
    pass


def available() -> bool:
    """Whether real isolation (bubblewrap) is installed here."""
    return os.access(BWRAP, os.X_OK)


def _cgroups_on() -> bool:
    return os.environ.get(CGROUPS_ENV, "1") != "0"


def unsafe_allowed() -> bool:
    return os.environ.get(UNSAFE_ENV, "") == "1"


# --- the Python runtime and NumPy as seen from inside -------------------------------------

_site_lock = threading.Lock()
_site_dir: Path | None = None


def _world_readable(path: Path) -> bool:
    """True when uid nobody could read `path`: every ancestor traversable by others."""
    try:
        p = path.resolve()
        if not p.stat().st_mode & stat.S_IROTH:
            return False
        for parent in [p, *p.parents]:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return False
    except OSError:
        return False
    return True


def numpy_site() -> Path | None:
    """A world-readable directory holding `numpy` (and `numpy.libs`) to mount in the sandbox.

    NumPy is copied (once per version) out of the host's site-packages when that lies under a
    directory nobody cannot read (e.g. pyenv under /root); installing at run time is not done.
    """
    global _site_dir
    with _site_lock:
        if _site_dir is not None and (_site_dir / "numpy").is_dir():
            return _site_dir
        try:
            import numpy
        except ImportError:
            return None
        src_pkg = Path(numpy.__file__).resolve().parent
        site = src_pkg.parent
        # Always a copy of numpy alone (not a bind of the whole site-packages): the rest of
        # the app's environment need not be visible inside.
        key = f"numpy-{numpy.__version__}-py{sys.version_info.major}{sys.version_info.minor}"
        for base in (Path("/var/cache/interview-sandbox"), Path(tempfile.gettempdir()) / f"interview-sandbox-{os.getuid()}"):
            target = base / key
            if (target / "numpy" / "__init__.py").is_file():
                _site_dir = target
                return target
            try:
                base.mkdir(parents=True, exist_ok=True)
                os.chmod(base, 0o755)
                tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=base))
                shutil.copytree(src_pkg, tmp / "numpy", ignore=shutil.ignore_patterns("__pycache__", "tests"))
                if (site / "numpy.libs").is_dir():
                    shutil.copytree(site / "numpy.libs", tmp / "numpy.libs")
                for root, dirs, files in os.walk(tmp):
                    os.chmod(root, 0o755)
                    for f in files:
                        fp = os.path.join(root, f)
                        os.chmod(fp, 0o755 if os.access(fp, os.X_OK) else 0o644)
                try:
                    os.rename(tmp, target)
                except OSError:  # another process won the race: use its copy
                    shutil.rmtree(tmp, ignore_errors=True)
                if _world_readable(target / "numpy"):
                    _site_dir = target
                    return target
            except OSError:
                continue
        return None


def _python_binds() -> list[str]:
    """Read-only mounts for /usr/bin/python3: its stdlib, the shared libraries, the loader."""
    real = os.path.realpath(SANDBOX_PYTHON)
    ver = Path(real).name  # python3.11
    args = ["--ro-bind", real, "/usr/bin/python3"]
    for d in (f"/usr/lib/{ver}", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64"):
        if os.path.isdir(d):
            args += ["--ro-bind", d, d]
    if os.path.exists("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    args += ["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin"]
    return args


def disk_split(limits: Limits) -> tuple[int, int]:
    """(MiB for /tmp, MiB for /dev/shm): one disk budget `tmp_mb` shared by both tmpfs."""
    shm = max(1, limits.tmp_mb // 8)
    return max(1, limits.tmp_mb - shm), shm


def _bwrap_argv(limits: Limits, site: Path | None) -> list[str]:
    tmp_mb, shm_mb = disk_split(limits)
    argv = [
        BWRAP, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--clearenv",
        "--hostname", "sandbox",
        *_python_binds(),
        "--proc", "/proc",
        # a minimal /dev (null, zero, urandom, ...) made read-only, with its own small /dev/shm:
        # bwrap's /dev is a tmpfs without a size, so a writable one is unbounded disk (RAM)
        "--dev", "/dev", "--size", str(shm_mb << 20), "--perms", "1777", "--tmpfs", "/dev/shm",
        "--remount-ro", "/dev",
        "--size", str(tmp_mb << 20), "--perms", "1777", "--tmpfs", "/tmp",
        "--chdir", "/tmp",
    ]
    if site is not None:
        argv += ["--ro-bind", str(site), SITE_IN_SANDBOX]
    argv += ["--disable-userns", "--cap-drop", "ALL"] if _bwrap_supports("--disable-userns") else ["--cap-drop", "ALL"]
    return argv


_supports_cache: dict[str, bool] = {}


def _bwrap_supports(flag: str) -> bool:
    if flag not in _supports_cache:
        try:
            out = subprocess.run([BWRAP, "--help"], capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        _supports_cache[flag] = flag in out
    return _supports_cache[flag]


def _env(site: str | None) -> dict[str, str]:
    env = {"PATH": "/usr/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if site:
        env["PYTHONPATH"] = site
    return env


def _prlimit_args(limits: Limits, nproc: int | None = None) -> list[str]:
    mem = limits.memory_mb << 20
    fsize = limits.file_size_mb << 20
    cpu = max(1, int(limits.cpu_seconds))
    nproc = nproc or limits.processes
    return [PRLIMIT, f"--cpu={cpu}:{cpu + 1}", f"--as={mem}:{mem}", f"--nproc={nproc}:{nproc}",
            f"--fsize={fsize}:{fsize}", f"--nofile={limits.open_files}:{limits.open_files}", "--core=0:0", "--"]


def _set_rlimits(limits: Limits) -> None:  # fallback when prlimit(1) is missing
    mem = limits.memory_mb << 20
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_mb << 20, limits.file_size_mb << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# --- running ---------------------------------------------------------------------------------

def run(source: str, *, stdin: bytes = b"", limits: Limits | None = None, args: list[str] | None = None,
        report: bool = False, ro_binds: dict[str, str] | None = None, unsafe_plain: bool = False,
        forks: int = 0) -> Result:
    """Run Python `source` (as `python3 -c source args...`) in the sandbox; never raises on bad code.

    With `report=True` the program gets a pipe whose fd number is in `argv[1]`; what it writes
    there comes back as `Result.report` (the code and SQL harnesses use it as a channel that
    the graded code does not share). `unsafe_plain=True` skips bwrap (benchmarks and the
    INTERVIEW_UNSAFE_LOCAL_CODE=1 fallback only). `ro_binds` maps host paths to paths inside,
    mounted read-only (data files a program may read; ignored by the plain backend).
    `forks`: how many processes a trusted program (a harness) runs at once besides itself;
    it matters only where no cgroup can be made (the no-fork bound, see the module docstring).
    `Result.details["bounded_by"]` says which mechanism bounded the whole tree.
    """
    limits = limits or Limits()
    if len(source.encode()) > MAX_SOURCE_BYTES:
        return Result("blocked", None, "", "", 0.0, f"The program is too long ({len(source):,} characters).")
    backend = "plain" if unsafe_plain else "bwrap"
    if not unsafe_plain and not available():
        if not unsafe_allowed():
            return Result("blocked", None, "", "", 0.0,
                          "Code answers cannot be run here: bubblewrap (/usr/bin/bwrap) is not installed. "
                          "Install it (apt-get install -y bubblewrap), or set INTERVIEW_UNSAFE_LOCAL_CODE=1 "
                          "to run code unsandboxed (single user, own code only).", backend="none")
        backend = "plain"
    binds = dict(ro_binds or {})
    result = _run_once(source, stdin, limits, args or [], report, backend, binds, forks)
    delay = 0.1
    while backend == "bwrap" and _start_failed(result) and delay < 2:
        # another sandbox's killed tasks still count against the shared per-uid NPROC budget
        time.sleep(delay)
        delay *= 2
        result = _run_once(source, stdin, limits, args or [], report, backend, binds, forks)
    return result


def _run_once(source: str, stdin: bytes, limits: Limits, args: list[str], report: bool, backend: str,
              binds: dict[str, str], forks: int = 0) -> Result:
    site = numpy_site()
    group = cgroups.create(limits.memory_mb << 20, limits.processes) if backend == "bwrap" and _cgroups_on() else None
    report_r = report_w = -1
    if report:
        report_r, report_w = os.pipe()
    extra = [str(report_w)] if report else []
    popen_kw: dict[str, object] = {"start_new_session": True, "close_fds": True,
                                   "pass_fds": (report_w,) if report else ()}
    workdir: tempfile.TemporaryDirectory[str] | None = None
    bound = "rlimit-per-process"
    if backend == "bwrap":
        python = ["/usr/bin/python3"]
        argv = _bwrap_argv(limits, site)
        for host_path, inside in binds.items():
            argv += ["--ro-bind", host_path, inside]
        if group is None and os.path.exists(PRLIMIT):
            # No cgroup: the program may not fork beyond what the trusted program needs, so the
            # per-process RLIMIT_AS bounds the tree. Set inside bwrap's user namespace, where
            # RLIMIT_NPROC counts this sandbox's processes only (init, the program, `forks`).
            nproc = 2 + forks
            argv += ["--ro-bind", os.path.realpath(PRLIMIT), PRLIMIT]
            python = [PRLIMIT, f"--nproc={nproc}:{nproc}", "--", "/usr/bin/python3"]
            bound = "rlimit-nproc"
        elif group is not None:
            bound = group.kind
        argv += ["--remount-ro", "/"]  # the sandbox's own root tmpfs: only /tmp and /dev/shm are writable
        for name, value in (_env(SITE_IN_SANDBOX if site else None) | {BOUND_ENV: bound}).items():
            argv += ["--setenv", name, value]
        argv += [*python, "-c", source, *extra, *args]
        if os.getuid() == 0:
            popen_kw.update(user=NOBODY, group=NOBODY, extra_groups=[])
        popen_kw["cwd"] = "/"
        popen_kw["env"] = {}
    else:
        python_bin = SANDBOX_PYTHON if os.path.exists(SANDBOX_PYTHON) and site else sys.executable
        argv = [python_bin, "-c", source, *extra, *args]
        workdir = tempfile.TemporaryDirectory(prefix="interview-run-")
        popen_kw["cwd"] = workdir.name
        popen_kw["env"] = _env(str(site) if site and python_bin == SANDBOX_PYTHON else None) | {
            "HOME": workdir.name, BOUND_ENV: bound}
    if os.path.exists(PRLIMIT):
        # with a cgroup, pids.max bounds each run; the per-uid RLIMIT_NPROC (shared by every
        # sandbox) is then only a host-wide backstop, wide enough that one run's fork bomb
        # does not starve the others
        argv = _prlimit_args(limits, limits.processes * UID_BACKSTOP if group is not None else None) + argv
    else:
        popen_kw["preexec_fn"] = lambda: _set_rlimits(limits)
    if group is not None:
        # wait at a gate until the host has moved this process into the run's cgroup: nothing
        # of the sandbox runs before it is inside. sh's `read` takes exactly the first line of
        # stdin (byte by byte), which the host writes once the process is in the group.
        argv = ["/bin/sh", "-c", 'read _ && exec "$@"', "sh", *argv]
    start = time.perf_counter()

    def close_fds() -> None:
        for fd in (report_r, report_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass

    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                **popen_kw)  # type: ignore[call-overload]
    except OSError as exc:
        close_fds()
        if workdir:
            workdir.cleanup()
        if group:
            group.remove()
        return Result("blocked", None, "", "", 0.0, f"The sandbox could not start: {exc}", backend=backend)
    if report:
        os.close(report_w)
        report_w = -1
    if group is not None:
        try:
            group.add(proc.pid)
            os.write(proc.stdin.fileno(), b"\n")  # type: ignore[union-attr]
        except OSError as exc:
            _kill(proc)
            proc.wait()
            close_fds()
            group.remove()
            return Result("blocked", None, "", "", 0.0, f"The sandbox could not enter its cgroup: {exc}",
                          backend=backend)
    try:
        res = _collect(proc, stdin, limits, report_r if report else None, start, backend)
    finally:
        close_fds()
        if workdir:
            workdir.cleanup()
        if group is not None:
            usage = group.usage()
            group.remove()
    res.details["bounded_by"] = bound
    if group is not None:
        res.details.update(usage, cgroup=next(iter(group.dirs.values())).name)
        if usage.get("oom_kills", 0) > 0 and res.status in ("ok", "runtime_error", "memory_limit"):
            res.status = "memory_limit"
            res.message = (f"Ran out of memory: the whole run (every process, /tmp and /dev/shm) is "
                           f"limited to {limits.memory_mb} MiB.")
    return res


def _start_failed(result: Result) -> bool:
    """bwrap itself could not set up (not the program failing): worth a retry."""
    return (result.status == "runtime_error" and result.stderr.startswith("bwrap:")
            and any(w in result.stderr for w in ("fork", "clone", "Resource temporarily", "namespace")))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the sandbox: its PID-namespace init first, so the whole namespace dies and the outer
    bwrap reaps it (killing the outer bwrap first would orphan the init to the host's PID 1,
    whose zombie keeps counting against the per-uid process budget until PID 1 reaps it);
    then the outer bwrap's process group."""
    try:
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    except OSError:
        kids = []
    for kid in kids:
        try:
            os.kill(int(kid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, ValueError):
            pass
    if kids:
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def _collect(proc: subprocess.Popen[bytes], stdin: bytes, limits: Limits, report_fd: int | None,
             start: float, backend: str) -> Result:
    assert proc.stdin and proc.stdout and proc.stderr
    sel = selectors.DefaultSelector()
    bufs: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray(), "report": bytearray()}
    caps = {"stdout": limits.output_bytes, "stderr": limits.output_bytes, "report": REPORT_CAP}
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
    if report_fd is not None:
        os.set_blocking(report_fd, False)
        sel.register(report_fd, selectors.EVENT_READ, "report")
    pending = memoryview(stdin)
    if pending:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE, "stdin")
    else:
        proc.stdin.close()
    deadline = start + limits.wall_seconds
    why: Status | None = None
    over = ""
    while sel.get_map():
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            why = "timeout"
            break
        for key, _ in sel.select(timeout=min(remaining, 0.5)):
            name = key.data
            if name == "stdin":
                try:
                    n = os.write(key.fd, pending[:65536])
                    pending = pending[n:]
                except (BrokenPipeError, BlockingIOError, OSError) as exc:
                    if isinstance(exc, BlockingIOError):
                        continue
                    pending = pending[:0]
                if not pending:
                    sel.unregister(key.fileobj)
                    proc.stdin.close()
                continue
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            bufs[name] += chunk
            if len(bufs[name]) > caps[name]:
                del bufs[name][caps[name]:]
                why, over = "output_limit", name
                break
        if why:
            break
    if why:
        _kill(proc)
    try:
        code = proc.wait(timeout=max(0.5, deadline - time.perf_counter()) if not why else 5)
    except subprocess.TimeoutExpired:
        why = why or "timeout"
        _kill(proc)
        code = proc.wait()
    sel.close()
    for f in (proc.stdout, proc.stderr):
        f.close()
    if not proc.stdin.closed:
        try:
            proc.stdin.close()
        except OSError:
            pass
    wall = time.perf_counter() - start
    out = bufs["stdout"].decode("utf-8", "replace")
    err = bufs["stderr"].decode("utf-8", "replace")
    res = Result("ok", code, out, err, wall, report=bytes(bufs["report"]), backend=backend)
    sig = -code if code < 0 else (code - 128 if backend == "bwrap" and code > 128 else None)
    res.signal = sig
    if why == "timeout":
        res.status, res.message = "timeout", f"Stopped after {limits.wall_seconds:g} s of wall time."
    elif why == "output_limit":
        res.status, res.message = "output_limit", f"Stopped: {over} passed {caps[over]:,} bytes."
    elif sig == signal.SIGXCPU:
        res.status, res.message = "timeout", f"Stopped after {limits.cpu_seconds} s of CPU time."
    elif sig == signal.SIGXFSZ:
        res.status, res.message = "output_limit", f"Stopped: a file passed {limits.file_size_mb} MiB."
    elif code != 0 and _memory_error(err):
        res.status, res.message = "memory_limit", f"Ran out of memory (limit {limits.memory_mb} MiB)."
    elif code != 0:
        res.status = "runtime_error"
        res.message = f"Killed by signal {sig} ({_signame(sig)})." if sig else f"Exited with code {code}."
    return res


def _memory_error(stderr: str) -> bool:
    tail = stderr.strip().splitlines()[-1:] if stderr.strip() else []
    return bool(tail) and (tail[0].startswith("MemoryError") or "Cannot allocate memory" in tail[0]
                           or "cannot allocate" in tail[0].lower())


def _signame(sig: int | None) -> str:
    try:
        return signal.Signals(sig).name if sig else "?"
    except ValueError:
        return "?"


def new_nonce() -> str:
    """A per-run random token that frames a harness's report."""
    return secrets.token_hex(16)
