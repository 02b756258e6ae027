"""A per-run control group that caps a sandbox's whole process tree: memory and process count.

Why: rlimits are per process (RLIMIT_AS) or per host uid (RLIMIT_NPROC), so four forked
children could each use the full `memory_mb`. A cgroup counts every page (anonymous memory,
tmpfs files in /tmp and /dev/shm, page tables) of every process in the tree against one
limit, and the kernel OOM-kills inside the group, never outside it.

Two layouts are supported, found from /proc/self/cgroup:
- cgroup v2 (one hierarchy at /sys/fs/cgroup with `memory` and `pids` in cgroup.controllers):
  the run's group is made under our own group; controllers are enabled in our group's
  `cgroup.subtree_control`. The "no internal processes" rule forbids that while our group
  holds processes, so when we are alone in it we first move ourselves into a leaf child
  `interview-app` (the usual dance for a delegated cgroup, e.g. systemd `Delegate=yes`).
- cgroup v1 (separate `memory` and `pids` hierarchies): a child of our own group in each,
  with memory.limit_in_bytes (+ memory.memsw.limit_in_bytes where swap is accounted) and
  pids.max.
Where neither can be created (no permission, controllers not delegated) `create` returns None
and the sandbox uses its no-cgroup bound instead (see graders/sandbox.py).
"""
from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "interview-run-"
APP_LEAF = "interview-app"

_lock = threading.Lock()
_layout: tuple[str, dict[str, Path]] | None | bool = False  # False: not probed yet
_leftovers: list[Path] = []


@dataclass
class RunGroup:
    """One run's cgroup (v2: one directory; v1: one per controller)."""

    kind: str  # "cgroup-v2" | "cgroup-v1"
    dirs: dict[str, Path]  # controller ("memory", "pids", or "unified") -> directory
    memory_bytes: int
    pids: int | None
    removed: bool = field(default=False)

    def add(self, pid: int) -> None:
        """Move `pid` (before it runs anything untrusted) into every directory of the group."""
        for d in self.dirs.values():
            (d / "cgroup.procs").write_text(str(pid))

    def _mem_dir(self) -> Path:
        return self.dirs.get("unified") or self.dirs["memory"]

    def usage(self) -> dict[str, int]:
        """Peak memory of the tree (bytes) and how many processes the kernel OOM-killed in it."""
        d = self._mem_dir()
        out: dict[str, int] = {}
        if self.kind == "cgroup-v2":
            out["memory_peak"] = _read_int(d / "memory.peak")
            out["oom_kills"] = _key(d / "memory.events", "oom_kill")
        else:
            out["memory_peak"] = _read_int(d / "memory.max_usage_in_bytes")
            kills = _key(d / "memory.oom_control", "oom_kill")
            if kills < 0:  # kernels before 4.13: hitting the limit is the best we know
                kills = 1 if _read_int(d / "memory.failcnt") > 0 else 0
            out["oom_kills"] = kills
        pids_dir = self.dirs.get("unified") or self.dirs.get("pids")
        if pids_dir is not None:
            out["pids_peak"] = _read_int(pids_dir / "pids.peak")
        return {k: v for k, v in out.items() if v >= 0}

    def remove(self) -> None:
        """Kill whatever is left in the group and delete it (retried later if still busy)."""
        if self.removed:
            return
        self.removed = True
        for d in self.dirs.values():
            _kill_all(d)
            if not _rmdir(d):
                with _lock:
                    _leftovers.append(d)


def _read_int(path: Path) -> int:
    try:
        text = path.read_text().strip()
    except OSError:
        return -1
    return -1 if text == "max" or not text.isdigit() else int(text)


def _key(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return -1


def _procs(d: Path) -> list[int]:
    try:
        return [int(p) for p in (d / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _kill_all(d: Path) -> None:
    if (d / "cgroup.kill").exists():
        try:
            (d / "cgroup.kill").write_text("1")
            return
        except OSError:
            pass
    for _ in range(3):
        pids = _procs(d)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _rmdir(d: Path, wait: float = 1.0) -> bool:
    """rmdir fails with EBUSY until the killed tasks have exited: retry briefly."""
    deadline = time.monotonic() + wait
    delay = 0.002
    while True:
        try:
            d.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _own_paths() -> dict[str, str]:
    """controller -> our cgroup path, from /proc/self/cgroup ("" key: the v2 hierarchy)."""
    out: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for ctrl in parts[1].split(","):
            out[ctrl] = parts[2]
    return out


def _writable(d: Path) -> bool:
    return d.is_dir() and os.access(d, os.W_OK)


def _probe_v2(own: dict[str, str], root: Path) -> dict[str, Path] | None:
    if "" not in own or not (root / "cgroup.controllers").is_file():
        return None
    try:
        if not {"memory", "pids"} <= set((root / "cgroup.controllers").read_text().split()):
            return None
    except OSError:
        return None
    base = root / own[""].lstrip("/")
    if base.name == APP_LEAF:  # we moved ourselves down earlier (another process of ours did)
        base = base.parent
    if not _writable(base):
        return None
    wanted = {"memory", "pids"}
    try:
        enabled = set((base / "cgroup.subtree_control").read_text().split())
    except OSError:
        return None
    if not wanted <= enabled:
        try:
            (base / "cgroup.subtree_control").write_text("+memory +pids")
        except OSError:
            # busy: our group holds processes. Only when they are all ours, move down into a leaf.
            procs = _procs(base)
            if procs and set(procs) <= {os.getpid()}:
                try:
                    leaf = base / APP_LEAF
                    leaf.mkdir(exist_ok=True)
                    (leaf / "cgroup.procs").write_text(str(os.getpid()))
                    (base / "cgroup.subtree_control").write_text("+memory +pids")
                except OSError:
                    return None
            else:
                return None
    return {"unified": base}


def _probe_v1(own: dict[str, str], root: Path) -> dict[str, Path] | None:
    if "memory" not in own:
        return None
    mem = root / "memory" / own["memory"].lstrip("/")
    if not _writable(mem) or not (mem / "memory.limit_in_bytes").exists():
        return None
    out = {"memory": mem}
    if "pids" in own:
        pids = root / "pids" / own["pids"].lstrip("/")
        if _writable(pids):
            out["pids"] = pids
    return out


STALE_SECONDS = 600


def _probe(root: Path, own: dict[str, str]) -> tuple[str, dict[str, Path]] | None:
    v2 = _probe_v2(own, root)
    if v2:
        return "cgroup-v2", v2
    v1 = _probe_v1(own, root)
    return ("cgroup-v1", v1) if v1 else None


def _remove_stale(parents: dict[str, Path]) -> None:
    """Groups an earlier process of ours left behind (it was killed mid-run): long idle ones."""
    now = time.time()
    for parent in parents.values():
        try:
            for d in parent.iterdir():
                if d.name.startswith(PREFIX) and d.is_dir() and now - d.stat().st_mtime > STALE_SECONDS:
                    _kill_all(d)
                    _rmdir(d, wait=0)
        except OSError:
            continue


def layout(root: Path | None = None, own: dict[str, str] | None = None) -> tuple[str, dict[str, Path]] | None:
    """("cgroup-v2" | "cgroup-v1", parent directories for run groups), or None. Probed once
    for the real /sys/fs/cgroup; `root` and `own` (controller -> path) are for tests."""
    global _layout
    if root is not None:
        return _probe(root, own if own is not None else _own_paths())
    with _lock:
        if _layout is False:
            _layout = _probe(ROOT, _own_paths())
            if _layout:
                _remove_stale(_layout[1])
        return _layout  # type: ignore[return-value]


def _sweep() -> None:
    with _lock:
        stale = list(_leftovers)
        _leftovers.clear()
    for d in stale:
        _kill_all(d)
        if not _rmdir(d, wait=0):
            with _lock:
                _leftovers.append(d)


def create(memory_bytes: int, pids: int, found: tuple[str, dict[str, Path]] | None | bool = False) -> RunGroup | None:
    """A fresh group capped at `memory_bytes` (no swap beyond it) and `pids` tasks, or None.
    `found`: a layout to use instead of this machine's (tests)."""
    found = layout() if found is False else found
    if found is None:
        return None
    _sweep()
    kind, parents = found
    name = PREFIX + secrets.token_hex(6)
    made: dict[str, Path] = {}
    try:
        for ctrl, parent in parents.items():
            d = parent / name
            d.mkdir()
            made[ctrl] = d
            if ctrl == "unified":
                (d / "memory.max").write_text(str(memory_bytes))
                if (d / "memory.swap.max").exists():
                    (d / "memory.swap.max").write_text("0")
                (d / "pids.max").write_text(str(pids))
            elif ctrl == "memory":
                (d / "memory.limit_in_bytes").write_text(str(memory_bytes))
                if (parent / "memory.memsw.limit_in_bytes").exists():  # swap accounting is on
                    (d / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            else:
                (d / "pids.max").write_text(str(pids))
    except OSError:
        for d in made.values():
            _rmdir(d, wait=0)
        return None
    return RunGroup(kind, made, memory_bytes, pids if ("pids" in made or "unified" in made) else None)
