"""The sandbox: hostile programs end with a clear status, quickly, and the host is unharmed.

Under CI=true these tests must run (bubblewrap is installed by .ci/run); elsewhere they skip
when bwrap is missing.
"""
from __future__ import annotations

import os
import socket
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest

from graders import sandbox

FAST = sandbox.Limits(wall_seconds=3, cpu_seconds=2)
SHORT = sandbox.Limits(wall_seconds=1.5, cpu_seconds=1)

pytestmark = pytest.mark.sandbox



def run(source: str, limits: sandbox.Limits = FAST, **kw: object) -> sandbox.Result:
    start = time.perf_counter()
    result = sandbox.run(source, limits=limits, **kw)  # type: ignore[arg-type]
    assert time.perf_counter() - start < limits.wall_seconds + 3, "the run was not bounded"
    return result


def assert_host_fine(last: sandbox.Result | None = None, source: str | None = None) -> None:
    """A fresh run works, and nothing of the last one is left running as nobody (zombies
    waiting for the host's PID 1 to reap them are dead and do not count). Given the last run and
    its source, only that run's processes count (its program's command line, or its cgroup):
    another sandbox running on the machine at the same time is not a survivor of this one."""
    r = sandbox.run("print('fine')")
    assert (r.status, r.stdout) == ("ok", "fine\n")
    group = (last.details.get("cgroup") if last is not None else None) or None
    deadline = time.time() + 3
    while time.time() < deadline:
        left = [p for p in os.listdir("/proc") if p.isdigit() and _uid_of(p) == sandbox.NOBODY
                and (source is None or _belongs_to_run(p, source, group))]
        if not left:
            return
        time.sleep(0.05)
    pytest.fail(f"processes of uid nobody survived the run: {left}")


def _belongs_to_run(pid: str, source: str, group: str | None) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
        cgroups = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False
    return source in cmdline or (group is not None and group in cgroups)


def _uid_of(pid: str) -> int | None:
    """The uid of a live (non-zombie) process."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    if any(line.startswith("State:") and "Z" in line.split()[1] for line in lines):
        return None
    for line in lines:
        if line.startswith("Uid:"):
            return int(line.split()[1])
    return None


# --- ordinary runs -----------------------------------------------------------------------

def test_runs_python_as_nobody_in_an_empty_tmp() -> None:
    r = run("import os\nprint(os.getuid(), os.getcwd(), sorted(os.listdir('.')))")
    assert r.status == "ok"
    expected_uid = sandbox.NOBODY if os.getuid() == 0 else os.getuid()
    assert r.stdout.split()[0] == str(expected_uid)
    assert r.stdout.split()[1] == "/tmp"
    assert r.stdout.strip().endswith("[]")
    assert r.backend == "bwrap"


def test_numpy_is_importable_inside() -> None:
    r = run("import numpy as np\nprint(int(np.arange(10).sum()))")
    assert (r.status, r.stdout) == ("ok", "45\n"), r.stderr


def test_stdin_and_report_channel() -> None:
    src = "import os, sys\ndata = sys.stdin.read()\nos.write(int(sys.argv[1]), data.upper().encode())\nprint('done')"
    r = run(src, stdin=b"hello", report=True)
    assert r.status == "ok" and r.report == b"HELLO" and r.stdout == "done\n"


def test_runtime_error_keeps_the_traceback() -> None:
    r = run("raise ValueError('boom')")
    assert r.status == "runtime_error" and r.exit_code == 1
    assert "ValueError: boom" in r.stderr


def test_refuses_without_bwrap_unless_unsafe_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "BWRAP", "/nonexistent/bwrap")
    monkeypatch.delenv(sandbox.UNSAFE_ENV, raising=False)
    r = sandbox.run("print(1)")
    assert r.status == "blocked" and "bubblewrap" in r.message
    monkeypatch.setenv(sandbox.UNSAFE_ENV, "1")
    r = sandbox.run("print(1)")
    assert (r.status, r.stdout, r.backend) == ("ok", "1\n", "plain")


def test_plain_backend_still_has_limits() -> None:
    r = sandbox.run("x = bytearray(2 * 1024**3)", limits=FAST, unsafe_plain=True)
    assert r.status == "memory_limit"


# --- hostile programs ----------------------------------------------------------------------

def test_fork_bomb() -> None:
    src = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    r = run(src, SHORT)
    assert r.status == "timeout"
    assert_host_fine(r, src)


def test_fork_bomb_with_setsid() -> None:
    src = ("import os\nwhile True:\n    try:\n        if os.fork() == 0:\n            os.setsid()\n"
           "    except OSError:\n        pass")
    r = run(src, SHORT)
    assert r.status == "timeout"
    assert_host_fine(r, src)


def test_memory_bomb() -> None:
    r = run("blocks = []\nwhile True:\n    blocks.append(b'x' * 10**7)")
    assert r.status == "memory_limit"
    r = run("x = bytearray(3 * 1024**3)")
    assert r.status == "memory_limit"


def test_busy_loop_hits_the_cpu_limit() -> None:
    r = run("while True:\n    pass", limits=sandbox.Limits(wall_seconds=4, cpu_seconds=1))
    assert r.status == "timeout" and "CPU" in r.message
    assert r.wall_time < 3


def test_long_sleep_hits_the_wall_clock() -> None:
    src = "import time\ntime.sleep(100)"
    r = run(src, limits=sandbox.Limits(wall_seconds=1, cpu_seconds=5))
    assert r.status == "timeout" and "wall" in r.message
    assert r.wall_time < 2
    assert_host_fine(r, src)


def test_gigabytes_to_stdout_stop_at_the_cap() -> None:
    r = run("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)")
    assert r.status == "output_limit"
    assert len(r.stdout) <= FAST.output_bytes
    r = run("import sys\nwhile True:\n    sys.stderr.write('y' * 65536)")
    assert r.status == "output_limit" and len(r.stderr) <= FAST.output_bytes


def test_huge_file_and_filling_tmp() -> None:
    r = run("open('big', 'wb').write(b'x' * (100 << 20))")
    assert r.status in ("output_limit", "runtime_error")
    assert "File too large" in r.stderr or r.status == "output_limit"
    r = run("i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * (4 << 20))\n    i += 1")
    assert r.status == "runtime_error" and "No space left" in r.stderr


def test_cannot_see_host_passwd_or_secrets(tmp_path: Path) -> None:
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    secret = secret_dir / "key.txt"
    secret.write_text("TOP-SECRET-VALUE")
    secret.chmod(0o600)
    db_path = Path(os.environ["INTERVIEW_DATA_DIR"]) / "interview.db"
    con = sqlite3.connect(db_path)
    con.execute("CREATE TABLE t (x TEXT)")
    con.execute("INSERT INTO t VALUES ('DB-SECRET-ROW')")
    con.commit()
    con.close()
    src = (
        "import os\n"
        "for p in ['/etc/passwd', '/etc/shadow', %r, %r, '/root', '/home', %r]:\n"
        "    try:\n"
        "        print(open(p, 'rb').read()[:200] if os.path.isfile(p) else os.listdir(p))\n"
        "    except OSError as e:\n"
        "        print('denied', p, type(e).__name__)\n"
    ) % (str(secret), str(db_path), str(Path.cwd()))
    r = run(src)
    assert r.status == "ok", r.stderr
    assert "root:x:0:0" not in r.stdout
    assert "TOP-SECRET-VALUE" not in r.stdout and "DB-SECRET-ROW" not in r.stdout
    assert r.stdout.count("denied") == 7


@pytest.mark.skipif(os.getuid() != 0, reason="the uid drop to nobody happens only when the app runs as root")
def test_a_root_only_file_mounted_inside_stays_unreadable() -> None:
    """The kernel must see nobody, not root mapped to nobody (the trap of `bwrap --uid` as root)."""
    with tempfile.TemporaryDirectory() as d:  # pytest's tmp_path is not traversable by nobody
        os.chmod(d, 0o755)
        secret = Path(d) / "root-only"
        secret.write_text("ROOT-ONLY")
        secret.chmod(0o600)
        r = run("try:\n    print(open('/data/secret').read())\nexcept PermissionError:\n    print('denied')",
                ro_binds={str(secret): "/data/secret"})
    assert (r.status, r.stdout) == ("ok", "denied\n"), r.stderr


def test_no_network_to_localhost_or_outside() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    src = (
        "import socket, time\n"
        "for addr in [('127.0.0.1', %d), ('1.1.1.1', 80)]:\n"
        "    s = socket.socket(); s.settimeout(5); t = time.perf_counter()\n"
        "    try:\n"
        "        s.connect(addr); print('connected', addr)\n"
        "    except OSError as e:\n"
        "        print('failed', round(time.perf_counter() - t, 3))\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 80); print('resolved')\n"
        "except OSError:\n"
        "    print('no dns')\n"
    ) % port
    r = run(src)
    listener_got = True
    try:
        listener.accept()
    except (TimeoutError, socket.timeout):
        listener_got = False
    finally:
        listener.close()
    assert r.status == "ok", r.stderr
    assert "connected" not in r.stdout and not listener_got
    times = [float(line.split()[1]) for line in r.stdout.splitlines() if line.startswith("failed")]
    assert len(times) == 2 and max(times) < 0.5
    assert "no dns" in r.stdout


def test_killing_the_parent_or_everything() -> None:
    r = run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('still here')")
    assert r.status in ("ok", "runtime_error")
    src = "import os, signal, time\nif os.fork() == 0:\n    os.kill(-1, signal.SIGKILL)\ntime.sleep(10)"
    r = run(src)
    assert r.status == "runtime_error" and "SIGKILL" in r.message
    assert_host_fine(r, src)


def test_ctypes_segfault() -> None:
    r = run("import ctypes\nctypes.string_at(0)")
    assert r.status == "runtime_error" and "SIGSEGV" in r.message


def test_cannot_delete_or_create_files_outside_its_directory(tmp_path: Path) -> None:
    keep = tmp_path / "keep.txt"
    keep.write_text("keep")
    src = (
        "import os\n"
        "for p in ['/usr/bin/python3', %r, '/etc/ld.so.cache']:\n"
        "    try:\n"
        "        os.remove(p); print('removed', p)\n"
        "    except OSError as e:\n"
        "        print('kept', type(e).__name__)\n"
        "for p in ['/x', '/usr/x', '/etc/x', %r]:\n"
        "    try:\n"
        "        open(p, 'w').write('1'); print('created', p)\n"
        "    except OSError as e:\n"
        "        print('refused', type(e).__name__)\n"
        "open('mine.txt', 'w').write('ok'); print('own dir ok')\n"
    ) % (str(keep), str(tmp_path / "new.txt"))
    r = run(src)
    assert r.status == "ok", r.stderr
    assert "removed" not in r.stdout and "created" not in r.stdout
    assert r.stdout.count("kept") == 3 and r.stdout.count("refused") == 4 and "own dir ok" in r.stdout
    assert keep.read_text() == "keep" and not (tmp_path / "new.txt").exists()


def test_spawning_subprocesses_stays_inside() -> None:
    src = (
        "import subprocess, sys\n"
        "print(subprocess.run([sys.executable, '-c', 'import os; print(os.getuid())'],"
        " capture_output=True, text=True).stdout.strip())\n"
        "try:\n"
        "    subprocess.run(['sh', '-c', 'cat /etc/passwd'])\n"
        "except FileNotFoundError:\n"
        "    print('no shell')\n"
    )
    r = run(src)
    assert r.status == "ok", r.stderr
    assert "no shell" in r.stdout and "root:" not in r.stdout


def test_deep_recursion() -> None:
    r = run("def f(n):\n    return f(n + 1)\nf(0)")
    assert r.status == "runtime_error" and "RecursionError" in r.stderr
    src = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)"
    r = run(src, SHORT)
    assert r.status in ("runtime_error", "timeout", "memory_limit")
    assert_host_fine(r, src)


def test_too_long_source_is_refused() -> None:
    r = sandbox.run("x = 1\n" * 30_000)
    assert r.status == "blocked" and "too long" in r.message


# --- whole-tree caps (memory, processes, disk) -----------------------------------------------

FOUR_CHILDREN = """
import os, time
kids = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        block = bytearray(400 << 20)
        for j in range(0, len(block), 4096):
            block[j] = 1
        time.sleep(1)
        os._exit(0)
    kids.append(pid)
failed = sum(os.waitpid(k, 0)[1] != 0 for k in kids)
print('failed', failed)
"""
CAP = sandbox.Limits(wall_seconds=20, cpu_seconds=10, memory_mb=512)


def test_forked_children_share_one_memory_cap() -> None:
    """4 children touching 400 MB each may not add up to 1.6 GB: the run ends as memory_limit
    and the kernel never let the tree pass the cap."""
    r = run(FOUR_CHILDREN, CAP)
    assert r.details["bounded_by"] in ("cgroup-v1", "cgroup-v2", "rlimit-nproc"), r.details
    assert r.status == "memory_limit" or r.details["bounded_by"] == "rlimit-nproc" and "Resource" in r.stderr
    if r.details["bounded_by"].startswith("cgroup"):
        assert r.details["oom_kills"] >= 1 and 0 < r.details["memory_peak"] <= CAP.memory_mb << 20
        assert "whole run" in r.message


def test_without_a_cgroup_the_code_cannot_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.CGROUPS_ENV, "0")
    r = run(FOUR_CHILDREN, CAP)
    assert r.details["bounded_by"] == "rlimit-nproc"
    assert r.status == "runtime_error" and "Resource temporarily unavailable" in r.stderr
    r = run("import os\nprint(os.getpid())")  # a program that does not fork runs as before
    assert r.status == "ok" and r.details["bounded_by"] == "rlimit-nproc"


@pytest.mark.parametrize("target", ["/dev/shm/x", "/dev/x", "/tmp/x"])
def test_shm_and_dev_are_not_unbounded_disk(target: str) -> None:
    # 200 MB as files of 4 MB (under the 8 MiB file-size limit, as a real attempt would)
    src = ("block = b'x' * (1 << 20)\n"
           f"for k in range(50):\n    with open({target!r} + str(k), 'wb') as f:\n"
           "        for i in range(4):\n            f.write(block)\n")
    r = run(src, CAP)
    assert r.status in ("runtime_error", "output_limit", "memory_limit"), (r.status, r.stderr)
    assert any(e in r.stderr for e in ("No space left", "Read-only file system", "File too large")) \
        or r.status == "memory_limit", r.stderr
    # the disk budget of /tmp and /dev/shm together is tmp_mb
    r = run("import os\nfor d in ('/tmp', '/dev/shm'):\n    s = os.statvfs(d)\n    print(s.f_blocks * s.f_frsize)")
    assert sum(map(int, r.stdout.split())) <= FAST.tmp_mb << 20


def test_fork_bomb_is_bounded_by_the_pids_cap() -> None:
    limits = sandbox.Limits(wall_seconds=2, cpu_seconds=1, processes=64)
    r = run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", limits)
    assert r.status == "timeout"
    if r.details["bounded_by"].startswith("cgroup") and "pids_peak" in r.details:
        assert r.details["pids_peak"] <= limits.processes


def test_the_cgroup_is_removed_after_the_run() -> None:
    from graders import cgroups
    found = cgroups.layout()
    if found is None:
        pytest.skip("no cgroup can be made here")
    r = run("import os\nos.fork()\nimport time\ntime.sleep(0.2)")
    assert r.details["bounded_by"] == found[0] and r.details["cgroup"].startswith(cgroups.PREFIX)
    for parent in found[1].values():
        assert not (parent / r.details["cgroup"]).exists()


def test_cgroup_layouts_on_fake_trees(tmp_path: Path) -> None:
    """Where groups are made and which files set the caps, for both layouts (the kernel side
    is exercised by the tests above on this machine's own layout)."""
    from graders import cgroups
    v2 = tmp_path / "v2"
    base = v2 / "system.slice" / "interview.service"
    base.mkdir(parents=True)
    (v2 / "cgroup.controllers").write_text("cpu io memory pids\n")
    (base / "cgroup.subtree_control").write_text("")
    found = cgroups.layout(v2, {"": "/system.slice/interview.service"})
    assert found == ("cgroup-v2", {"unified": base})
    assert set((base / "cgroup.subtree_control").read_text().split()) == {"+memory", "+pids"}
    group = cgroups.create(256 << 20, 64, found=found)
    assert group is not None and group.kind == "cgroup-v2"
    run_dir = group.dirs["unified"]
    assert run_dir.parent == base and run_dir.name.startswith(cgroups.PREFIX)
    assert (run_dir / "memory.max").read_text() == str(256 << 20) and (run_dir / "pids.max").read_text() == "64"
    (run_dir / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
    (run_dir / "memory.peak").write_text(str(200 << 20))
    assert group.usage()["oom_kills"] == 2 and group.usage()["memory_peak"] == 200 << 20

    v1 = tmp_path / "v1"
    mem = v1 / "memory" / "process_api" / "abc"
    mem.mkdir(parents=True)
    (mem / "memory.limit_in_bytes").write_text("9223372036854771712")
    (mem / "memory.memsw.limit_in_bytes").write_text("9223372036854771712")
    (v1 / "pids").mkdir()
    found = cgroups.layout(v1, {"memory": "/process_api/abc", "pids": "/"})
    assert found == ("cgroup-v1", {"memory": mem, "pids": v1 / "pids"})
    group = cgroups.create(512 << 20, 256, found=found)
    assert group is not None and group.pids == 256
    assert (group.dirs["memory"] / "memory.limit_in_bytes").read_text() == str(512 << 20)
    assert (group.dirs["memory"] / "memory.memsw.limit_in_bytes").read_text() == str(512 << 20)
    assert (group.dirs["pids"] / "pids.max").read_text() == "256"
    (group.dirs["memory"] / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    assert group.usage()["oom_kills"] == 1

    nothing = tmp_path / "none"
    nothing.mkdir()
    assert cgroups.layout(nothing, {"": "/"}) is None  # a v2 tree without memory: no group
