"""Web speed: the practice page and a numeric submit under gunicorn, against a trivial endpoint.

Seeds learners with cards and reviews into a fresh SQLite database (the default backend),
starts the app under gunicorn on 127.0.0.1, and drives it with concurrent keep-alive clients
for a bounded time per endpoint. The trivial endpoint (`/healthz`) measured in the same run
is the baseline: the aims are the practice page at no less than a third of its throughput
and a p99 under 50 ms at 32 concurrent clients.

Endpoints: `trivial` (/healthz), `practice` (the practice page reloaded: the learner's day plan
is reused while nothing changed), `submit` (POST a numeric answer: grade, attempt, review) and
`next` (the practice page right after an answer, when the day is planned afresh: the cost a
learner meets on every question). Throughput counts the timed requests only.

    python bench/web.py            # 1,000 learners x 200 cards x 2,000 reviews, 20 s per endpoint
    python bench/web.py --quick    # 100 learners, about 10 s of load in all
    python bench/web.py --json     # the same figures as one JSON object
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from interview import bank, db  # noqa: E402
from interview.models import Card, Question, Review, User  # noqa: E402
from interview.sync import sync_bank  # noqa: E402

SECRET = "bench-secret-key"


def seed(url: str, learners: int, cards_per: int, reviews_per: int, log: Any) -> dict[str, Any]:
    engine = db.make_engine(url)
    db.migrate(engine)
    with Session(engine) as s:
        sync_bank(s, bank.load_bank()[0])
        qids = [q for q in s.exec(select(Question.id).where(Question.status == "active")).all()]
    now = datetime.now(timezone.utc)
    rng = random.Random(1)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.insert(User), [{"name": f"learner{i:05d}", "role": "learner", "created_at": now,
                                        "minutes_per_day": 30, "new_per_day": 10, "desired_retention": 0.9}
                                       for i in range(learners)])
        user_ids = [r[0] for r in conn.execute(sa.select(User.id).order_by(User.id))]
        for uid in user_ids:
            chosen = rng.sample(qids, min(cards_per, len(qids)))
            card_rows = [{"user_id": uid, "question_id": q, "state": 2, "step": None,
                          "stability": rng.uniform(0.5, 40), "difficulty": rng.uniform(2, 8),
                          "due": now + timedelta(days=rng.uniform(-3, 20)), "last_review": now - timedelta(days=1),
                          "reps": 5, "lapses": 1, "created_at": now - timedelta(days=60)} for q in chosen]
            conn.execute(sa.insert(Card), card_rows)
            ids = conn.execute(sa.select(Card.id, Card.question_id).where(Card.user_id == uid)).all()
            conn.execute(sa.insert(Review), [
                {"card_id": cid, "user_id": uid, "question_id": q, "rating": rng.randint(1, 4),
                 "reviewed_at": now - timedelta(days=rng.uniform(0, 60)), "seconds_taken": rng.uniform(10, 200),
                 "stability": 3.0, "difficulty": 5.0, "due_after": now + timedelta(days=2)}
                for cid, q in (ids[j % len(ids)] for j in range(reviews_per))])
    log(f"seeded {learners} learners, {learners * cards_per:,} cards, {learners * reviews_per:,} reviews "
        f"in {time.perf_counter() - started:.1f} s")
    with Session(engine) as s:
        numeric = s.exec(select(Question.id).where(Question.kind == "numeric", Question.status == "active")).first()
    engine.dispose()
    return {"user_ids": user_ids, "numeric_question": numeric}


def session_cookie(user_id: int) -> str:
    from flask.sessions import SecureCookieSessionInterface

    from interview.web import create_app

    app = create_app({"SECRET_KEY": SECRET, "ENGINE": sa.create_engine("sqlite://")})
    return SecureCookieSessionInterface().get_signing_serializer(app).dumps({"user_id": user_id})  # type: ignore[union-attr]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive connection with its own cookie, like one browser tab.

    The load runs on asyncio in one thread: 32 client threads would queue for the GIL and add
    their own waiting to every latency measured (Python switches threads every 5 ms)."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port = port
        self.cookies = {"session": cookie}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items())]
        payload = (body or "").encode()
        if body is not None:
            head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(payload)}"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
            elif name == "connection" and value.lower() == "close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
            self.writer = None
        return status, data.decode("utf-8", "replace")


def load(port: int, cookies: list[str], scenario: str, seconds: float, concurrency: int,
         numeric_qid: str | None) -> dict[str, Any]:
    return asyncio.run(_load(port, cookies, scenario, seconds, concurrency, numeric_qid))


async def _load(port: int, cookies: list[str], scenario: str, seconds: float, concurrency: int,
                numeric_qid: str | None) -> dict[str, Any]:
    from urllib.parse import urlencode

    latencies: list[float] = []
    errors = [0]
    stop_at = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        client = Client(port, cookies[i % len(cookies)])
        while time.perf_counter() < stop_at:
            if scenario in ("submit", "next"):
                status, page = await client.request("GET", f"/practice/q/{numeric_qid}")
                token = re.search(r'name="token" value="([^"]+)"', page)
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
                if status != 200 or not token or not csrf:
                    errors[0] += 1
                    continue
                body = urlencode({"csrf_token": csrf.group(1), "token": token.group(1), "kind": "numeric",
                                  "answer": "0.5", "hint_used": "0"})
                if scenario == "next":  # the practice page right after an answer: the day is planned afresh
                    status, _ = await client.request("POST", "/practice/answer", body)
                    if status != 200:
                        errors[0] += 1
                        continue
                    t0 = time.perf_counter()
                    status, _ = await client.request("GET", "/practice/")
                else:
                    t0 = time.perf_counter()
                    status, _ = await client.request("POST", "/practice/answer", body)
            else:
                t0 = time.perf_counter()
                status, _ = await client.request("GET", "/healthz" if scenario == "trivial" else "/practice/")
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors[0] += 1
        if client.writer is not None:
            client.writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 2 else [float("nan")] * 99
    return {"requests": len(latencies), "errors": errors[0], "rps": len(latencies) / elapsed,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a 10-second version on 100 learners")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--learners", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None, help="load time per endpoint")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (one per core here)")
    ap.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = ap.parse_args()
    learners = args.learners or (100 if args.quick else 1000)
    seconds = args.seconds or (10 / 3 if args.quick else 20.0)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr if args.json else sys.stdout, flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="interview-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    seeded = seed(url, learners, 200, 2000, log)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "INTERVIEW_DATA_DIR": str(tmp), "INTERVIEW_SECRET_KEY": SECRET,
           "INTERVIEW_MULTI_USER": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-k", "gthread", "--threads", str(args.threads),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "interview.web.wsgi:app"],
        cwd=REPO, env=env, start_new_session=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        rng = random.Random(2)
        cookies = [session_cookie(uid) for uid in rng.sample(seeded["user_ids"], min(64, len(seeded["user_ids"])))]
        results = {}
        for scenario in ("trivial", "practice", "submit", "next"):
            load(port, cookies, scenario, min(1.0, seconds / 4), args.concurrency, seeded["numeric_question"])  # warm-up
            results[scenario] = load(port, cookies, scenario, seconds, args.concurrency, seeded["numeric_question"])
            log(f"  {scenario:<9} {results[scenario]['rps']:8.1f} req/s  p50 {results[scenario]['p50_ms']:6.1f} ms  "
                f"p99 {results[scenario]['p99_ms']:6.1f} ms  errors {results[scenario]['errors']}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)  # the seeded database is ~400 MB at full size
    ratio = results["practice"]["rps"] / results["trivial"]["rps"]
    summary = {
        "learners": learners, "cards_per_learner": 200, "reviews_per_learner": 2000,
        "concurrency": args.concurrency, "seconds_per_endpoint": seconds, "workers": args.workers, "threads": args.threads,
        "endpoints": results, "practice_to_trivial_throughput": ratio,
        "aims": {"practice_at_least_third_of_trivial": ratio >= 1 / 3,
                 "practice_p99_under_50ms": results["practice"]["p99_ms"] < 50,
                 "submit_p99_under_50ms": results["submit"]["p99_ms"] < 50},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"\n{'endpoint':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, r in results.items():
        print(f"{name:<10}{r['rps']:>10.1f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}{r['errors']:>8}")
    print(f"\npractice / trivial throughput: {ratio:.2f} (aim >= 0.33)")
    for aim, ok in summary["aims"].items():
        print(f"  {aim}: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
