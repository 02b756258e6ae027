"""The grading queue: every sandboxed run (a learner's code or SQL answer, the visible-tests
"Run", an instructor's check, save and zip import) goes through here, never through a request.

Two backends behind one interface:

- `RedisQueue` (INTERVIEW_REDIS_URL set, or INTERVIEW_QUEUE=redis): Dramatiq on a shared Redis;
  `interview worker` processes on any number of hosts run the jobs. Dramatiq acknowledges a
  message only after its actor returns, and its Redis broker puts the unacknowledged messages of
  a worker whose heartbeat stopped (SIGKILL, power loss) back on the queue: at-least-once
  delivery. Jobs are idempotent over the database (a grade is written only onto a still
  `pending` attempt, in one transaction with its review), so the learner sees exactly once.
- `EmbeddedQueue` (the default): a bounded pool of threads in the web process, so a plain
  `interview serve` needs no other process.

Both keep a small job record (state, tries, result, progress) that the pages poll, enforce the
per-learner and queue-length limits at submission, and feed the operators' figures.
Jobs are plain functions registered with `job()`, called as `fn(engine, args, progress)`.
"""
from __future__ import annotations

import heapq
import itertools
import json
import logging
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import sqlalchemy as sa

log = logging.getLogger(__name__)

# Lower runs first: practice and mock answers and the learner's "Run" go ahead of instructor bulk work.
LANES = {"interactive": 0, "bulk": 10}
Progress = Callable[[dict[str, Any]], None]
JobFn = Callable[[sa.Engine, dict[str, Any], Progress], dict[str, Any]]


class Refused(Exception):
    """The queue will not take this run now; `status` is the HTTP status it deserves."""

    status = 503


class TooManyRuns(Refused):
    status = 429


class QueueFull(Refused):
    status = 503


@dataclass
class JobSpec:
    fn: JobFn
    on_failure: Callable[[sa.Engine, dict[str, Any], str], None] | None = None


JOBS: dict[str, JobSpec] = {}


def job(name: str, on_failure: Callable[[sa.Engine, dict[str, Any], str], None] | None = None) -> Callable[[JobFn], JobFn]:
    """Register a job function under `name` (the name travels in the message, not the code)."""

    def register(fn: JobFn) -> JobFn:
        JOBS[name] = JobSpec(fn, on_failure)
        return fn

    return register


@dataclass
class Limits:
    per_owner: int = 3  # outstanding runs of one learner: one running and two waiting
    max_queued: dict[str, int] = field(default_factory=lambda: {"interactive": 500, "bulk": 100})
    tries: int = 3  # deliveries of one job, re-deliveries after a dead worker included
    stale_seconds: float = 900.0  # an outstanding entry older than this no longer counts
    owner_lock_seconds: float = 120.0  # one learner's running run; outlives a killed worker by this much

    @classmethod
    def from_env(cls) -> "Limits":
        env = os.environ.get
        return cls(per_owner=int(env("INTERVIEW_QUEUE_PER_LEARNER", "3")),
                   max_queued={"interactive": int(env("INTERVIEW_QUEUE_MAX", "500")),
                               "bulk": int(env("INTERVIEW_QUEUE_MAX_BULK", "100"))},
                   tries=int(env("INTERVIEW_QUEUE_TRIES", "3")))


@dataclass
class JobInfo:
    id: str
    name: str
    state: str  # queued | running | done | failed
    owner: str
    lane: str
    enqueued_at: float
    started_at: float | None = None
    finished_at: float | None = None
    tries: int = 0
    result: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    error: str | None = None

    def public(self) -> dict[str, Any]:
        """What a page may show: no owner, no arguments."""
        return {"id": self.id, "state": self.state, "result": self.result, "progress": self.progress,
                "error": self.error, "tries": self.tries}


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- job records ---------------------------------------------------------------------------

class MemoryStore:
    """Job records in this process (the embedded backend)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, JobInfo] = {}
        self.owner_locks: dict[str, tuple[str, float]] = {}
        self.waits: list[float] = []
        self.finished: list[float] = []
        self.counts = {"done": 0, "failed": 0, "refused": 0}

    def reserve(self, job_id: str, name: str, owner: str, lane: str, limits: Limits | None) -> None:
        now = time.time()
        with self.lock:
            live = [j for j in self.jobs.values() if j.state in ("queued", "running")
                    and now - j.enqueued_at < (limits.stale_seconds if limits else 1e9)]
            if limits is not None:
                if owner and sum(j.owner == owner for j in live) >= limits.per_owner:
                    self.counts["refused"] += 1
                    raise TooManyRuns(_too_many(limits))
                if sum(j.lane == lane for j in live) >= limits.max_queued[lane]:
                    self.counts["refused"] += 1
                    raise QueueFull(_full(limits.max_queued[lane]))
            self.jobs[job_id] = JobInfo(job_id, name, "queued", owner, lane, now)
            if len(self.jobs) > 10_000:  # forget the oldest finished records
                for old in sorted((j for j in self.jobs.values() if j.state in ("done", "failed")),
                                  key=lambda j: j.enqueued_at)[:1000]:
                    del self.jobs[old.id]

    def admits(self, owner: str, lane: str, limits: Limits) -> None:
        """Raise as `reserve` would, without reserving (a cheap early refusal)."""
        now = time.time()
        with self.lock:
            live = [j for j in self.jobs.values() if j.state in ("queued", "running")
                    and now - j.enqueued_at < limits.stale_seconds]
            if owner and sum(j.owner == owner for j in live) >= limits.per_owner:
                self.counts["refused"] += 1
                raise TooManyRuns(_too_many(limits))
            if sum(j.lane == lane for j in live) >= limits.max_queued[lane]:
                self.counts["refused"] += 1
                raise QueueFull(_full(limits.max_queued[lane]))

    def release(self, job_id: str) -> None:
        with self.lock:
            self.jobs.pop(job_id, None)

    def get(self, job_id: str) -> JobInfo | None:
        with self.lock:
            info = self.jobs.get(job_id)
            return None if info is None else JobInfo(**info.__dict__)

    def start(self, job_id: str, name: str, owner: str, lane: str) -> int:
        now = time.time()
        with self.lock:
            info = self.jobs.setdefault(job_id, JobInfo(job_id, name, "queued", owner, lane, now))
            if info.tries == 0:
                self.waits = (self.waits + [now - info.enqueued_at])[-2000:]
            info.state, info.started_at, info.tries = "running", now, info.tries + 1
            return info.tries

    def progress(self, job_id: str, data: dict[str, Any]) -> None:
        with self.lock:
            if job_id in self.jobs:
                self.jobs[job_id].progress = data

    def finish(self, job_id: str, state: str, result: dict[str, Any] | None, error: str | None = None) -> None:
        now = time.time()
        with self.lock:
            info = self.jobs.get(job_id)
            if info is not None:
                info.state, info.finished_at, info.result, info.error = state, now, result, error
            self.counts[state] += 1
            self.finished = [t for t in self.finished if now - t < 60] + [now]

    def requeued(self, job_id: str) -> None:
        with self.lock:
            if job_id in self.jobs:
                self.jobs[job_id].state = "queued"

    def lock_owner(self, owner: str, job_id: str, seconds: float) -> bool:
        now = time.time()
        with self.lock:
            held = self.owner_locks.get(owner)
            if held is not None and held[0] != job_id and held[1] > now:
                return False
            self.owner_locks[owner] = (job_id, now + seconds)
            return True

    def unlock_owner(self, owner: str, job_id: str) -> None:
        with self.lock:
            if self.owner_locks.get(owner, ("",))[0] == job_id:
                del self.owner_locks[owner]

    def stats(self) -> dict[str, Any]:
        now = time.time()
        with self.lock:
            queued = {lane: sum(j.state == "queued" and j.lane == lane for j in self.jobs.values()) for lane in LANES}
            running = sum(j.state == "running" for j in self.jobs.values())
            return _stats(queued, running, list(self.waits), [t for t in self.finished if now - t < 60],
                          dict(self.counts))


_RESERVE = """
local now, stale = tonumber(ARGV[1]), tonumber(ARGV[2])
local limited, per_owner, max_queued = ARGV[3] == '1', tonumber(ARGV[4]), tonumber(ARGV[5])
local job_id, owner = ARGV[6], ARGV[7]
redis.call('zremrangebyscore', KEYS[1], '-inf', now - stale)
if owner ~= '' then redis.call('zremrangebyscore', KEYS[2], '-inf', now - stale) end
if limited then
  if owner ~= '' and redis.call('zcard', KEYS[2]) >= per_owner then redis.call('incr', KEYS[4]) return 1 end
  if redis.call('zcard', KEYS[1]) >= max_queued then redis.call('incr', KEYS[4]) return 2 end
end
redis.call('zadd', KEYS[1], now, job_id)
if owner ~= '' then redis.call('zadd', KEYS[2], now, job_id) redis.call('expire', KEYS[2], 86400) end
redis.call('hset', KEYS[3], 'name', ARGV[8], 'state', 'queued', 'owner', owner, 'lane', ARGV[9],
           'enqueued_at', now, 'tries', 0)
redis.call('expire', KEYS[3], 86400)
return 0
"""


class RedisStore:
    """Job records in Redis, shared by every web and worker process (keys under `namespace`)."""

    def __init__(self, client: Any, namespace: str) -> None:
        self.r = client
        self.ns = namespace
        self._reserve = client.register_script(_RESERVE)

    def _k(self, *parts: str) -> str:
        return ":".join((self.ns, *parts))

    def reserve(self, job_id: str, name: str, owner: str, lane: str, limits: Limits | None) -> None:
        lim = limits or Limits()
        code = self._reserve(keys=[self._k("outstanding", lane), self._k("owner", owner), self._k("job", job_id),
                                   self._k("count", "refused")],
                             args=[time.time(), lim.stale_seconds, "1" if limits else "0", lim.per_owner,
                                   lim.max_queued[lane], job_id, owner, name, lane])
        if code == 1:
            raise TooManyRuns(_too_many(lim))
        if code == 2:
            raise QueueFull(_full(lim.max_queued[lane]))

    def admits(self, owner: str, lane: str, limits: Limits) -> None:
        """Raise as `reserve` would, without reserving (a cheap early refusal: two reads)."""
        since = time.time() - limits.stale_seconds
        pipe = self.r.pipeline()
        pipe.zcount(self._k("owner", owner), since, "+inf")
        pipe.zcount(self._k("outstanding", lane), since, "+inf")
        mine, waiting = pipe.execute()
        if owner and mine >= limits.per_owner:
            self.r.incr(self._k("count", "refused"))
            raise TooManyRuns(_too_many(limits))
        if waiting >= limits.max_queued[lane]:
            self.r.incr(self._k("count", "refused"))
            raise QueueFull(_full(limits.max_queued[lane]))

    def _forget(self, pipe: Any, job_id: str, owner: str, lane: str) -> None:
        pipe.zrem(self._k("outstanding", lane), job_id)
        if owner:
            pipe.zrem(self._k("owner", owner), job_id)
        pipe.srem(self._k("running"), job_id)

    def release(self, job_id: str) -> None:
        info = self.get(job_id)
        pipe = self.r.pipeline()
        if info is not None:
            self._forget(pipe, job_id, info.owner, info.lane)
        pipe.delete(self._k("job", job_id))
        pipe.execute()

    def get(self, job_id: str) -> JobInfo | None:
        raw = self.r.hgetall(self._k("job", job_id))
        if not raw:
            return None
        h = {k.decode(): v.decode() for k, v in raw.items()}
        num = lambda key: float(h[key]) if h.get(key) else None  # noqa: E731
        return JobInfo(job_id, h.get("name", ""), h.get("state", "queued"), h.get("owner", ""), h.get("lane", "interactive"),
                       num("enqueued_at") or 0.0, num("started_at"), num("finished_at"), int(h.get("tries", 0)),
                       json.loads(h["result"]) if h.get("result") else None,
                       json.loads(h["progress"]) if h.get("progress") else None, h.get("error") or None)

    def start(self, job_id: str, name: str, owner: str, lane: str) -> int:
        now = time.time()
        key = self._k("job", job_id)
        if not self.r.exists(key):  # Redis lost its records (a restart) but the message came back
            self.r.hset(key, mapping={"name": name, "state": "queued", "owner": owner, "lane": lane,
                                      "enqueued_at": now, "tries": 0})
        tries = int(self.r.hincrby(key, "tries", 1))
        pipe = self.r.pipeline()
        if tries == 1:
            enqueued = float(self.r.hget(key, "enqueued_at") or now)
            pipe.lpush(self._k("waits"), now - enqueued)
            pipe.ltrim(self._k("waits"), 0, 1999)
        pipe.hset(key, mapping={"state": "running", "started_at": now})
        pipe.expire(key, 86400)
        pipe.sadd(self._k("running"), job_id)
        pipe.execute()
        return tries

    def progress(self, job_id: str, data: dict[str, Any]) -> None:
        self.r.hset(self._k("job", job_id), "progress", json.dumps(data))

    def finish(self, job_id: str, state: str, result: dict[str, Any] | None, error: str | None = None) -> None:
        now = time.time()
        info = self.get(job_id)
        pipe = self.r.pipeline()
        pipe.hset(self._k("job", job_id), mapping={"state": state, "finished_at": now,
                                                   "result": json.dumps(result) if result is not None else "",
                                                   "error": error or ""})
        if info is not None:
            self._forget(pipe, job_id, info.owner, info.lane)
        pipe.incr(self._k("count", state))
        pipe.zadd(self._k("finished"), {f"{job_id}:{now}": now})
        pipe.zremrangebyscore(self._k("finished"), "-inf", now - 60)
        pipe.execute()

    def requeued(self, job_id: str) -> None:
        pipe = self.r.pipeline()
        pipe.hset(self._k("job", job_id), "state", "queued")
        pipe.srem(self._k("running"), job_id)
        pipe.execute()

    def lock_owner(self, owner: str, job_id: str, seconds: float) -> bool:
        key = self._k("lock", owner)
        if self.r.set(key, job_id, nx=True, px=int(seconds * 1000)):
            return True
        return (self.r.get(key) or b"").decode() == job_id  # the same job, delivered again

    def unlock_owner(self, owner: str, job_id: str) -> None:
        key = self._k("lock", owner)
        if (self.r.get(key) or b"").decode() == job_id:
            self.r.delete(key)

    def stats(self) -> dict[str, Any]:
        now = time.time()
        pipe = self.r.pipeline()
        for lane in LANES:
            pipe.zcard(self._k("outstanding", lane))
        pipe.smembers(self._k("running"))
        pipe.lrange(self._k("waits"), 0, -1)
        pipe.zcount(self._k("finished"), now - 60, "+inf")
        for name in ("done", "failed", "refused"):
            pipe.get(self._k("count", name))
        out = pipe.execute()
        running_ids = out[len(LANES)]
        lanes_running = {lane: 0 for lane in LANES}
        for jid in running_ids:
            lane = self.r.hget(self._k("job", jid.decode()), "lane")
            if lane is not None and lane.decode() in lanes_running:
                lanes_running[lane.decode()] += 1
        queued = {lane: max(0, int(n) - lanes_running[lane]) for lane, n in zip(LANES, out[:len(LANES)])}
        waits = [float(w) for w in out[len(LANES) + 1]]
        counts = {name: int(v or 0) for name, v in zip(("done", "failed", "refused"), out[len(LANES) + 3:])}
        return _stats(queued, len(running_ids), waits, [0.0] * int(out[len(LANES) + 2]), counts)


def _stats(queued: dict[str, int], running: int, waits: list[float], last_minute: list[float],
           counts: dict[str, int]) -> dict[str, Any]:
    return {"queued": queued, "queue_length": sum(queued.values()), "running": running,
            "wait_p50": _quantile(waits, 0.5), "wait_p99": _quantile(waits, 0.99), "waits_sampled": len(waits),
            "runs_per_second": len(last_minute) / 60.0, "done_total": counts.get("done", 0),
            "failed_total": counts.get("failed", 0), "refused_total": counts.get("refused", 0)}


def _too_many(limits: Limits) -> str:
    return (f"You already have {limits.per_owner} runs being graded or waiting (one runs at a time): "
            "wait for one to finish, then submit again.")


def _full(n: int) -> str:
    return f"The grading queue is full ({n} runs waiting): try again in a minute."


# --- the queue -----------------------------------------------------------------------------

class GradingQueue:
    """Submit jobs, read their records; the backend decides where they run."""

    kind = "abstract"

    def __init__(self, engine: sa.Engine, store: Any, limits: Limits | None = None) -> None:
        self.engine = engine
        self.store = store
        self.limits = limits or Limits.from_env()

    def submit(self, name: str, args: dict[str, Any], *, owner: str = "", lane: str = "interactive",
               job_id: str | None = None, limited: bool = True) -> str:
        """Queue `name(args)`; refuse (TooManyRuns, QueueFull) past the limits when `limited`."""
        if name not in JOBS:
            raise KeyError(f"no job named {name!r}")
        if lane not in LANES:
            raise ValueError(f"no lane {lane!r}")
        job_id = job_id or uuid.uuid4().hex
        self.store.reserve(job_id, name, owner, lane, self.limits if limited else None)
        try:
            self._send(job_id, name, args, owner, lane, 0)
        except Exception:
            self.store.release(job_id)
            raise
        return job_id

    def admits(self, owner: str, lane: str = "interactive") -> None:
        """Refuse early (TooManyRuns, QueueFull) what `submit` would refuse, before the caller
        writes anything; `submit` still decides, atomically."""
        self.store.admits(owner, lane, self.limits)

    def get(self, job_id: str) -> JobInfo | None:
        return self.store.get(job_id)

    def stats(self) -> dict[str, Any]:
        return {"backend": self.kind} | self.store.stats()

    def _send(self, job_id: str, name: str, args: dict[str, Any], owner: str, lane: str, delay_ms: int) -> None:
        raise NotImplementedError

    def _retry(self, job_id: str, name: str, args: dict[str, Any], owner: str, lane: str, tries: int,
               exc: BaseException) -> None:
        """A failed try with tries left: the backend delivers the job again later."""
        raise exc

    def execute(self, job_id: str, name: str, args: dict[str, Any], owner: str, lane: str) -> None:
        """Run one delivery of a job (what a worker thread calls): one run per learner at a time,
        a bounded number of tries, then the job's failure handler and a `failed` record."""
        info = self.store.get(job_id)
        if info is not None and info.state in ("done", "failed"):
            return  # delivered again after it finished: nothing to do
        if owner and not self.store.lock_owner(owner, job_id, self.limits.owner_lock_seconds):
            self.store.requeued(job_id)
            self._send(job_id, name, args, owner, lane, 250)  # this learner's other run goes first
            return
        try:
            tries = self.store.start(job_id, name, owner, lane)
            spec = JOBS[name]
            if tries > self.limits.tries:
                self._give_up(job_id, spec, args, f"the run was interrupted {tries - 1} times")
                return
            try:
                result = spec.fn(self.engine, args, lambda data: self.store.progress(job_id, data))
            except Exception as exc:  # noqa: BLE001 - retried, then reported
                log.exception("job %s (%s) failed on try %d", job_id, name, tries)
                if tries >= self.limits.tries:
                    self._give_up(job_id, spec, args, f"{type(exc).__name__}: {exc}"[:300])
                    return
                self.store.requeued(job_id)
                self._retry(job_id, name, args, owner, lane, tries, exc)
                return
            self.store.finish(job_id, "done", result)
        finally:
            if owner:
                self.store.unlock_owner(owner, job_id)

    def _give_up(self, job_id: str, spec: JobSpec, args: dict[str, Any], reason: str) -> None:
        if spec.on_failure is not None:
            try:
                spec.on_failure(self.engine, args, reason)
            except Exception:  # noqa: BLE001
                log.exception("failure handler of job %s failed", job_id)
        self.store.finish(job_id, "failed", None, reason)

    def close(self) -> None:
        """Stop what this process started (threads, connections)."""


class EmbeddedQueue(GradingQueue):
    """A bounded pool of threads in this process: the default, no Redis, no other process."""

    kind = "embedded"

    def __init__(self, engine: sa.Engine, concurrency: int | None = None, limits: Limits | None = None) -> None:
        super().__init__(engine, MemoryStore(), limits)
        self.concurrency = concurrency or default_concurrency()
        self._heap: list[tuple[int, float, int, tuple]] = []
        self._cv = threading.Condition()
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def _ensure_threads(self) -> None:
        if self._threads:
            return
        for i in range(self.concurrency):
            t = threading.Thread(target=self._loop, name=f"grader-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def _send(self, job_id: str, name: str, args: dict[str, Any], owner: str, lane: str, delay_ms: int) -> None:
        with self._cv:
            self._ensure_threads()
            heapq.heappush(self._heap, (LANES[lane], time.monotonic() + delay_ms / 1000, next(self._seq),
                                        (job_id, name, args, owner, lane)))
            self._cv.notify()

    def _retry(self, job_id: str, name: str, args: dict[str, Any], owner: str, lane: str, tries: int,
               exc: BaseException) -> None:
        self._send(job_id, name, args, owner, lane, int(500 * 2 ** (tries - 1)))

    def _next(self) -> tuple | None:
        with self._cv:
            while not self._stopping:
                now = time.monotonic()
                ready = [e for e in self._heap if e[1] <= now]
                if ready:
                    entry = min(ready)
                    self._heap.remove(entry)
                    heapq.heapify(self._heap)
                    return entry[3]
                wait = min((e[1] for e in self._heap), default=now + 1.0) - now
                self._cv.wait(timeout=max(0.01, min(wait, 1.0)))
            return None

    def _loop(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            try:
                self.execute(*item)
            except Exception:  # noqa: BLE001 - a thread of the pool must not die
                log.exception("embedded grading job failed")

    def close(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify_all()


class RedisQueue(GradingQueue):
    """Dramatiq on Redis: web processes send, `interview worker` processes run."""

    kind = "redis"

    def __init__(self, engine: sa.Engine, url: str, namespace: str | None = None, limits: Limits | None = None) -> None:
        import redis
        from dramatiq.brokers.redis import RedisBroker
        from dramatiq.middleware import AgeLimit, Callbacks, Retries, ShutdownNotifications, TimeLimit

        self.namespace = namespace or os.environ.get("INTERVIEW_QUEUE_NAMESPACE", "interview")
        self.client = redis.Redis.from_url(url)
        super().__init__(engine, RedisStore(self.client, self.namespace + ":jobs"), limits)
        # How long a silent worker is taken for dead before its unacknowledged messages go back
        # on the queue; and the share of broker calls that look for such workers (Dramatiq's
        # default, 1 in 1,000, would leave a killed worker's job for minutes on a quiet queue).
        heartbeat_ms = int(float(os.environ.get("INTERVIEW_QUEUE_HEARTBEAT", "15")) * 1000)
        chance = int(float(os.environ.get("INTERVIEW_QUEUE_MAINTENANCE", "0.05")) * 1_000_000)
        self.broker = RedisBroker(url=url, namespace=self.namespace, heartbeat_timeout=heartbeat_ms,
                                  maintenance_chance=chance,
                                  middleware=[AgeLimit(), TimeLimit(time_limit=30 * 60 * 1000), ShutdownNotifications(),
                                              Callbacks(), Retries(max_retries=self.limits.tries + 2,
                                                                   min_backoff=500, max_backoff=10_000)])
        import dramatiq

        def run(job_id: str, name: str, args: dict[str, Any], owner: str, lane: str) -> None:
            self.execute(job_id, name, args, owner, lane)

        self.actors = {lane: dramatiq.actor(run, actor_name=f"grade_{lane}", queue_name=f"grading-{lane}",
                                            priority=prio, broker=self.broker)
                       for lane, prio in LANES.items()}

    def _send(self, job_id: str, name: str, args: dict[str, Any], owner: str, lane: str, delay_ms: int) -> None:
        self.actors[lane].send_with_options(args=(job_id, name, args, owner, lane), delay=delay_ms or None)

    def work(self, concurrency: int | None = None, stop: threading.Event | None = None,
             sweep_every: float | None = None) -> None:
        """Run a worker in this process until SIGTERM/SIGINT (or `stop`): `concurrency` sandboxes
        at once, interactive work first; every `sweep_every` seconds, answers whose job was lost
        (a Redis restart) are queued again."""
        import dramatiq

        threads = concurrency or default_concurrency()
        if sweep_every is None:
            sweep_every = float(os.environ.get("INTERVIEW_QUEUE_SWEEP_EVERY", "30"))
        worker = dramatiq.Worker(self.broker, worker_threads=threads,
                                 queues={f"grading-{lane}" for lane in LANES})
        worker.queue_prefetch = threads  # hold no more than can run: waiting work stays shared
        stop = stop or threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                signal.signal(sig, lambda *_: stop.set())
            except ValueError:  # not the main thread (tests)
                pass
        worker.start()
        log.info("grader worker: %d threads on %s", threads, self.namespace)
        try:
            from interview import jobs

            while True:
                try:
                    jobs.sweep(self)
                except Exception:  # noqa: BLE001 - the database or Redis is away for a moment
                    log.exception("sweep of lost grading jobs failed")
                if stop.wait(timeout=sweep_every):
                    break
        finally:
            worker.stop(timeout=10_000)

    def close(self) -> None:
        self.broker.close()
        self.client.close()


def default_concurrency() -> int:
    """One sandbox per core."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def redis_url() -> str | None:
    """Where the shared queue lives, or None for the embedded pool (INTERVIEW_QUEUE=embedded wins)."""
    choice = os.environ.get("INTERVIEW_QUEUE", "").lower()
    url = os.environ.get("INTERVIEW_REDIS_URL")
    if choice == "embedded":
        return None
    if choice == "redis" and not url:
        raise RuntimeError("INTERVIEW_QUEUE=redis needs INTERVIEW_REDIS_URL, e.g. redis://localhost:6379/0")
    return url


def from_config(engine: sa.Engine, config: dict[str, Any] | None = None) -> GradingQueue:
    """The queue this process should use: GRADING_QUEUE_URL / INTERVIEW_REDIS_URL, else embedded."""
    config = config or {}
    url = config.get("GRADING_QUEUE_URL", "unset")
    if url == "unset":
        url = redis_url()
    if url:
        return RedisQueue(engine, url, namespace=config.get("GRADING_QUEUE_NAMESPACE"))
    return EmbeddedQueue(engine, concurrency=config.get("GRADING_CONCURRENCY"))


def current() -> GradingQueue:
    """The running Flask app's queue."""
    from flask import current_app

    return current_app.extensions["grading_queue"]
