"""Grading off the request path: the figures of issue 14, each beside its baseline in the same run.

Starts the app under gunicorn with the deployment settings (interview/web/gunicorn_conf.py,
sync workers) on a fresh database, a Redis namespace of its own on the shared Redis
(127.0.0.1:6379 unless --redis), and `interview worker` processes, then measures:

1. the practice page of a learner who submits nothing, p50/p99, idle (baseline) and while 8
   other learners keep submitting never-ending code (aim: p99 within 2x idle, under 100 ms);
2. the time from posting a right answer to its verdict (status endpoint polled every 20 ms),
   p50/p99, on an idle queue (baseline) and during the same flood;
3. graded code submissions per second with 1 and with 2 worker processes (one sandbox each;
   aim: 2 at least 1.7x one);
4. for the scaling model in the README: no-op jobs per second through the queue (enqueue from
   one process; drained by 2 worker processes of 8 threads) and grade writes per second
   (attempt update + review, one transaction each) on the database.

    python bench/grading.py [--quick] [--json] [--database URL] [--redis URL]
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlmodel import Session, select  # noqa: E402

from interview import accounts, db, grading_queue, jobs  # noqa: E402
from interview.models import Attempt, utcnow  # noqa: E402
from tests.queue_support import CODE_ID, FOREVER, RIGHT, seed_questions  # noqa: E402

FLOODERS = 8
PASSWORD = "bench password!"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        return None


class Learner:
    """One signed-in browser: its own cookies, no automatic redirects."""

    def __init__(self, base: str, name: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        page = self.get("/signin")[1]
        self.post("/signin", {"csrf_token": _field(page, "csrf_token"), "name": name, "password": PASSWORD})

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as r:
                return r.status, r.read().decode(), r.headers.get("Location", "")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace"), e.headers.get("Location", "")

    def submit(self, answer: str) -> tuple[int, str]:
        page = self.get(f"/practice/q/{CODE_ID}")[1]
        status, _body, location = self.post("/practice/answer", {
            "csrf_token": _field(page, "csrf_token"), "token": _field(page, "token"), "kind": "code", "answer": answer})
        return status, location


def _field(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    if not m:
        raise RuntimeError(f"no {name} on the page")
    return m.group(1)


class Stack:
    """gunicorn + worker processes on one database and one Redis namespace."""

    def __init__(self, database: str, redis_url: str, tmp: Path) -> None:
        self.tmp = tmp
        self.ns = "bench-" + uuid.uuid4().hex[:8]
        self.env = os.environ | {"DATABASE_URL": database, "INTERVIEW_REDIS_URL": redis_url,
                                 "INTERVIEW_QUEUE_NAMESPACE": self.ns, "INTERVIEW_MULTI_USER": "1",
                                 "INTERVIEW_SECRET_KEY": "bench", "INTERVIEW_DATA_DIR": str(tmp),
                                 "INTERVIEW_QUEUE_PER_LEARNER": "3", "PYTHONPATH": str(REPO)}
        self.port = _port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def start_web(self) -> None:
        self.web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:interview.web.gunicorn_conf",
                                     "-b", f"127.0.0.1:{self.port}", "interview.web.wsgi:app"], cwd=REPO, env=self.env,
                                    stdout=open(self.tmp / "web.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start: see " + str(self.tmp / "web.log"))

    def start_workers(self, n: int, concurrency: int = 1) -> None:
        for _ in range(n):
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "interview", "worker", "--concurrency", str(concurrency)], cwd=REPO, env=self.env,
                stdout=open(self.tmp / f"worker-{len(self.workers)}.log", "wb"), stderr=subprocess.STDOUT,
                start_new_session=True))

    def stop_workers(self) -> None:
        for p in self.workers:
            _kill(p)
        self.workers = []

    def stop(self) -> None:
        self.stop_workers()
        if self.web is not None:
            _kill(self.web)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def page_times(reader: Learner, seconds: float) -> list[float]:
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        status, _ = reader.get("/practice/")
        out.append(time.perf_counter() - t)
        assert status == 200, status
    return out


def verdict_times(prober: Learner, seconds: float) -> list[float]:
    """Post a right answer, poll its status every 20 ms until graded; again, for `seconds`."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        status, location = prober.submit(RIGHT)
        if status != 303:
            time.sleep(0.2)
            continue
        attempt = location.rstrip("/").split("/")[-1]
        while json.loads(prober.get(f"/practice/attempt/{attempt}/status")[1])["state"] == "pending":
            if time.monotonic() > end + 120:
                break
            time.sleep(0.02)
        out.append(time.perf_counter() - t)
    return out


def flood(learner: Learner, stop: threading.Event, counts: dict[str, int]) -> None:
    """Keep submitting never-ending code: at once while the queue takes it, again a second after
    a refusal (the learner's limit), as an impatient person clicking Submit would."""
    while not stop.is_set():
        status, _ = learner.submit(FOREVER)
        counts[str(status)] = counts.get(str(status), 0) + 1
        if status != 303:
            stop.wait(1.0)


def flood_process(base: str, names: list[str], seconds: float, out: Any) -> None:
    """The flooding learners, in a process of their own: their client work must not take the
    GIL from the reader whose page times are measured."""
    stop, counts = threading.Event(), {}
    learners = [Learner(base, n) for n in names]
    threads = [threading.Thread(target=flood, args=(lr, stop, counts), daemon=True) for lr in learners]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    out.put(counts)


def throughput(stack: Stack, engine: Any, user_id: int, workers: int, n: int) -> float:
    """Graded submissions per second: n right answers queued, then `workers` processes drain them
    (timed from the first grade to the last, so process start-up is not counted)."""
    queue = grading_queue.RedisQueue(engine, stack.env["INTERVIEW_REDIS_URL"], namespace=stack.ns)
    ids = []
    with Session(engine, expire_on_commit=False) as s:
        for _ in range(n):
            a = Attempt(user_id=user_id, question_id=CODE_ID, question_version=1, seed=1, answer=RIGHT, score=0.0,
                        verdict="incorrect", status="pending", created_at=utcnow())
            s.add(a)
            s.flush()
            ids.append(a.id)
        s.commit()
    for i in ids:
        queue.submit("grade_attempt", {"attempt_id": i}, owner=f"bench:{i}", job_id=jobs.grade_job_id(i), limited=False)
    stack.start_workers(workers)
    times: list[float] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with Session(engine) as s:
            done = len(s.exec(select(Attempt.id).where(Attempt.id.in_(ids), Attempt.status == "graded")).all())  # type: ignore[attr-defined]
        if done and not times:
            times.append(time.monotonic())
        if done == n:
            times.append(time.monotonic())
            break
        time.sleep(0.05)
    stack.stop_workers()
    queue.close()
    return (n - 1) / (times[-1] - times[0]) if len(times) == 2 else 0.0


def noop_rate(stack: Stack, engine: Any, n: int) -> tuple[float, float]:
    queue = grading_queue.RedisQueue(engine, stack.env["INTERVIEW_REDIS_URL"], namespace=stack.ns)
    t = time.perf_counter()
    for _ in range(n):
        queue.submit("noop", {}, limited=False)
    enqueue = n / (time.perf_counter() - t)
    before = queue.stats()["done_total"]  # the graded runs of the earlier phases count there too
    stack.start_workers(2, concurrency=8)
    first, base = None, before
    while True:
        done = queue.stats()["done_total"]
        if first is None and done > before:
            first, base = time.perf_counter(), done
        if done - before >= n:
            break
        time.sleep(0.02)
    drained = (queue.stats()["done_total"] - base) / max(1e-9, time.perf_counter() - first)  # type: ignore[operator]
    stack.stop_workers()
    queue.close()
    return enqueue, drained


def write_rate(engine: Any, user_id: int, n: int) -> float:
    from graders import Grade
    from interview import practice

    with Session(engine, expire_on_commit=False) as s:
        ids = []
        for _ in range(n):
            a = Attempt(user_id=user_id, question_id=CODE_ID, question_version=1, seed=1, answer=RIGHT, score=0.0,
                        verdict="incorrect", status="pending", created_at=utcnow())
            s.add(a)
            s.flush()
            ids.append(a.id)
        s.commit()
    grade = Grade(1.0, "correct", ["Visible tests: 2 of 2 passed."])
    t = time.perf_counter()
    for i in ids:
        with Session(engine, expire_on_commit=False) as s:
            practice.record_grade(s, i, grade)
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short phases (about a minute in all)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--database", default=None, help="SQLAlchemy URL (default: a fresh SQLite file)")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the server and workers on the way out
    phase = 8.0 if args.quick else 20.0
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    database = args.database or f"sqlite:///{tmp / 'bench.db'}"
    engine = db.make_engine(database)
    db.migrate(engine)
    seed_questions(engine)
    with Session(engine, expire_on_commit=False) as s:
        names = ["reader", "prober"] + [f"flood{i}" for i in range(FLOODERS)]
        users = {n: accounts.create_user(s, n, PASSWORD) for n in names + ["bulk"]}
        bulk_id = users["bulk"].id
    stack = Stack(database, args.redis, tmp)
    out: dict[str, Any] = {"phase_seconds": phase, "database": engine.url.get_backend_name(), "flooders": FLOODERS}
    try:
        stack.start_web()
        stack.start_workers(2)
        reader, prober = Learner(stack.base, "reader"), Learner(stack.base, "prober")
        page_times(reader, 2)  # warm up
        verdict_times(prober, 3)
        idle = page_times(reader, phase)
        idle_verdict = verdict_times(prober, phase)
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        flooders = ctx.Process(target=flood_process, args=(stack.base, [f"flood{i}" for i in range(FLOODERS)],
                                                           phase + 6, results))
        flooders.start()
        time.sleep(4)  # the flood under way: every flooder at its limit, the workers busy
        busy_verdict: list[float] = []
        vt = threading.Thread(target=lambda: busy_verdict.extend(verdict_times(prober, phase)))
        vt.start()
        busy = page_times(reader, phase)
        vt.join()
        counts = results.get(timeout=120)
        flooders.join(timeout=60)
        out["page_idle_ms"] = {"p50": 1000 * statistics.median(idle), "p99": 1000 * _q(idle, 0.99), "n": len(idle)}
        out["page_flood_ms"] = {"p50": 1000 * statistics.median(busy), "p99": 1000 * _q(busy, 0.99), "n": len(busy)}
        out["flood_posts"] = counts
        out["verdict_idle_s"] = {"p50": _q(idle_verdict, 0.5), "p99": _q(idle_verdict, 0.99), "n": len(idle_verdict)}
        out["verdict_flood_s"] = {"p50": _q(busy_verdict, 0.5), "p99": _q(busy_verdict, 0.99), "n": len(busy_verdict)}
        stack.stop_workers()
        # drain what the flood left (never-ending runs) before the throughput runs
        import redis

        r = redis.Redis.from_url(args.redis)
        for key in r.scan_iter(f"{stack.ns}*"):
            r.delete(key)
        with Session(engine) as s:
            s.exec(Attempt.__table__.update().where(Attempt.status == "pending").values(status="failed"))  # type: ignore[attr-defined]
            s.commit()
        n = 12 if args.quick else 30
        one = throughput(stack, engine, bulk_id, 1, n)
        two = throughput(stack, engine, bulk_id, 2, n)
        out["graded_per_second"] = {"1_worker": one, "2_workers": two, "ratio": two / one if one else None, "n": n}
        enq, drained = noop_rate(stack, engine, 300 if args.quick else 2000)
        out["noop_jobs_per_second"] = {"enqueue_one_process": enq, "drained_2x8_threads": drained}
        out["grade_writes_per_second"] = write_rate(engine, bulk_id, 100 if args.quick else 400)
        for key in r.scan_iter(f"{stack.ns}*"):
            r.delete(key)
    finally:
        stack.stop()
        engine.dispose()
    if args.json:
        print(json.dumps(out, indent=2, default=float))
        return
    pi, pf = out["page_idle_ms"], out["page_flood_ms"]
    vi, vf = out["verdict_idle_s"], out["verdict_flood_s"]
    g = out["graded_per_second"]
    print(f"database {out['database']}, phases of {phase:.0f} s, {FLOODERS} learners flooding never-ending code")
    print(f"practice page p50/p99: idle {pi['p50']:.1f} / {pi['p99']:.1f} ms   flood {pf['p50']:.1f} / {pf['p99']:.1f} ms"
          f"   (p99 ratio {pf['p99'] / pi['p99']:.2f}; aim <= 2 and < 100 ms)")
    print(f"post -> verdict p50/p99: idle {vi['p50']:.2f} / {vi['p99']:.2f} s   flood "
          f"{(vf['p50'] or 0):.2f} / {(vf['p99'] or 0):.2f} s ({vf['n']} verdicts)")
    print(f"graded submissions/s: 1 worker {g['1_worker']:.2f}, 2 workers {g['2_workers']:.2f} "
          f"(x{(g['ratio'] or 0):.2f}; aim >= 1.7)")
    print(f"no-op jobs/s: enqueue {out['noop_jobs_per_second']['enqueue_one_process']:.0f} from one process, "
          f"drained {out['noop_jobs_per_second']['drained_2x8_threads']:.0f} by 2 workers x 8 threads; "
          f"grade writes/s on {out['database']}: {out['grade_writes_per_second']:.0f}")


if __name__ == "__main__":
    main()
