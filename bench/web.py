"""Web speed: the practice page and a numeric submit under gunicorn, against a trivial endpoint.

Seeds learners with cards and reviews into a fresh SQLite database (the default backend),
starts the app under gunicorn on 127.0.0.1 with the deployment settings the README gives
(`interview/web/gunicorn_conf.py`: sync workers, one per core), and drives it with wrk
(`web_load.lua`): one client per signed-in learner, each with its own connection (a sync
worker closes it after each response, and wrk opens the next), for a bounded time per
endpoint. `--worker-class gthread --threads 4` measures threaded workers instead. The trivial
endpoint (`/healthz`) is the baseline, and it takes turns with the practice page (four rounds
each in a full run) so that both meet the machine in the same state: this one's speed drifts
by a quarter over minutes. The aims are the practice page at no less than a third of the
trivial throughput and a p99 under 50 ms at 32 concurrent clients. Needs wrk (Debian:
`apt-get install wrk`).

Endpoints: `trivial` (/healthz), `practice` (the practice page reloaded: the learner's day plan
is reused while nothing changed), `submit` (POST a numeric answer: grade, attempt, review) and
`next` (the practice page right after an answer, when the day is planned afresh: the cost a
learner meets on every question). Answers are posted from forms minted with the server's key,
so `submit` times the POST alone. Throughput counts the timed requests only; the server's CPU
time per timed request (its workers' /proc times) is printed too: unlike req/s, it hardly
moves when something else runs on the machine.

    python bench/web.py            # 1,000 learners x 200 cards x 2,000 reviews, 20 s per endpoint
    python bench/web.py --quick    # 100 learners, 2 s per endpoint after a 1-s warm-up (12 s of load)
    python bench/web.py --json     # the same figures as one JSON object
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
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
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from interview import bank, db  # noqa: E402
from interview.models import Card, Question, Review, User  # noqa: E402
from interview.sync import sync_bank  # noqa: E402

SECRET = "bench-secret-key"
ROUNDS = 4  # turns of the trivial endpoint and the practice page in a full run


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
        numeric = tuple(s.exec(select(Question.id, Question.version)
                               .where(Question.kind == "numeric", Question.status == "active")).first())
    engine.dispose()
    return {"user_ids": user_ids, "numeric_question": numeric}


def browsers(user_ids: list[int], folder: Path) -> list[dict[str, Any]]:
    """One signed-in browser per learner: a session cookie holding Flask-WTF's CSRF secret (as
    after a first page) and a signed CSRF token for its forms."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    from interview.web import create_app

    app = create_app({"SECRET_KEY": SECRET, "ENGINE": sa.create_engine("sqlite://")})
    signer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    out = []
    for uid in user_ids:
        with app.test_request_context():
            session["user_id"] = uid
            csrf = generate_csrf()  # puts the raw secret into the session, returns a signed token
            out.append({"user_id": uid, "cookie": signer.dumps(dict(session)), "csrf": csrf,
                        "forms": str(folder / f"forms-{uid}.txt")})
    return out


def mint_forms(clients: list[dict[str, Any]], question: tuple[str, int], count: int) -> None:
    """`count` answer forms per browser for the numeric question, each with its own practice
    token (signed with the server's key, shown just now), so that `submit` and `next` post an
    answer without first fetching its form (each scenario times one endpoint) and no form is
    posted twice (a second post of a form is a cheap replay)."""
    from types import SimpleNamespace

    from interview.practice import issue_token

    row, now = SimpleNamespace(id=question[0], version=question[1]), datetime.now(timezone.utc)
    for b in clients:
        user = SimpleNamespace(id=b["user_id"])
        Path(b["forms"]).write_text("".join(
            urlencode({"csrf_token": b["csrf"], "token": issue_token(SECRET, user, row, seed, now), "kind": "numeric",
                       "answer": "0.5", "hint_used": "0"}) + "\n" for seed in range(count)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_cpu_seconds(master: int) -> float:
    """User + system CPU time of the gunicorn master's worker processes (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def load(port: int, browsers: list[dict[str, str]], scenario: str, seconds: float, master: int) -> dict[str, Any]:
    """Drive one scenario with wrk (see web_load.lua): one client per browser, each with its
    own connection, for `seconds`. wrk is C: the load costs the two cores little, so the
    figures are the server's (the Python client this replaced used a third of a core at
    1,500 req/s). Server CPU comes from the workers' /proc times. Returns the raw run (see
    `summarise`)."""
    listing = Path(browsers[0]["forms"]).parent / "browsers.txt"
    listing.write_text("".join(f"{b['cookie']} {b['forms']}\n" for b in browsers))
    env = {**os.environ, "BENCH_BROWSERS": str(listing), "BENCH_SCENARIO": scenario}
    cpu_before, client_before = worker_cpu_seconds(master), _children_cpu()
    run = subprocess.run(["wrk", "-t", str(len(browsers)), "-c", str(len(browsers)), "-d", f"{max(1, round(seconds))}s",
                          "--timeout", "10s", "-s", str(REPO / "bench" / "web_load.lua"), f"http://127.0.0.1:{port}"],
                         env=env, capture_output=True, text=True)
    if run.returncode != 0 or "BENCH " not in run.stdout:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stderr.strip() or run.stdout.strip()}")
    data = json.loads(next(line for line in run.stdout.splitlines() if line.startswith("BENCH "))[len("BENCH "):])
    data["server_cpu_s"] = worker_cpu_seconds(master) - cpu_before
    data["client_cpu_s"] = _children_cpu() - client_before
    return data


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Throughput, latency quantiles and CPU per request over one or more runs of a scenario."""
    latencies = sorted(x for r in runs for x in r["latencies"])
    duration = sum(r["duration_s"] for r in runs)
    n = len(latencies)
    q = statistics.quantiles(latencies, n=100) if n > 2 else [float("nan")] * 99
    return {"requests": n, "errors": sum(r["errors"] + r["socket_errors"] for r in runs),
            "forms_reused": sum(r["forms_reused"] for r in runs), "rps": n / duration,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "server_cpu_ms_per_request": sum(r["server_cpu_s"] for r in runs) / n * 1000 if n else float("nan"),
            "client_cpu_share": sum(r["client_cpu_s"] for r in runs) / duration}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a 12-second version on 100 learners")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--learners", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None, help="load time per endpoint")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=None,
                    help="gunicorn worker processes (default: interview/web/gunicorn_conf.py's, one per core)")
    ap.add_argument("--threads", type=int, default=None, help="threads per gunicorn worker (gthread only)")
    ap.add_argument("--scenarios", default="trivial,practice,submit,next", help="comma-separated subset to run")
    ap.add_argument("--worker-class", default=None,
                    help="gunicorn worker class, e.g. gthread (default: the deployment settings', sync)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/web.py drives the server with wrk: install it first (Debian: apt-get install wrk).")
    learners = args.learners or (100 if args.quick else 1000)
    seconds = args.seconds or (2.0 if args.quick else 20.0)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr if args.json else sys.stdout, flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="interview-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    seeded = seed(url, learners, 200, 2000, log)
    os.sync()  # the seeded database on disk before the load: its writeback is not the server's work
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "INTERVIEW_DATA_DIR": str(tmp), "INTERVIEW_SECRET_KEY": SECRET,
           "INTERVIEW_MULTI_USER": "1"}
    from interview.web import gunicorn_conf  # the deployment settings the README gives

    worker_class = args.worker_class or gunicorn_conf.worker_class
    workers = args.workers or gunicorn_conf.workers
    threads = args.threads or (4 if worker_class == "gthread" else 1)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:interview.web.gunicorn_conf", "-w", str(workers),
         "-k", worker_class, "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "interview.web.wsgi:app"],
        cwd=REPO, env=env, start_new_session=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        rng = random.Random(2)
        clients = browsers(rng.sample(seeded["user_ids"], min(args.concurrency, len(seeded["user_ids"]))), tmp)
        scenarios = args.scenarios.split(",")
        # The page and its baseline take turns (ROUNDS times each), so that both meet the same
        # machine: its speed drifts by a quarter over minutes here. The rest run after them.
        paired = [x for x in ("trivial", "practice") if x in scenarios]
        rounds = 1 if args.quick or len(paired) < 2 else ROUNDS
        runs: dict[str, list[dict[str, Any]]] = {x: [] for x in scenarios}
        for scenario in paired:
            load(port, clients, scenario, min(1.0, seconds / 4), server.pid)  # warm-up
        for _ in range(rounds):
            for scenario in paired:
                runs[scenario].append(load(port, clients, scenario, seconds / rounds, server.pid))
        for scenario in (x for x in scenarios if x not in paired):
            for timed in (min(1.0, seconds / 4), seconds):  # a warm-up, then the measured run
                if scenario in ("submit", "next"):  # forms for up to 1,500 answers a second
                    mint_forms(clients, seeded["numeric_question"], int(1500 * max(1.0, round(timed)) / len(clients)) + 20)
                runs[scenario] = [load(port, clients, scenario, timed, server.pid)]
        results = {}
        for scenario in scenarios:
            results[scenario] = summarise(runs[scenario])
            log(f"  {scenario:<9} {results[scenario]['rps']:8.1f} req/s  p50 {results[scenario]['p50_ms']:6.1f} ms  "
                f"p99 {results[scenario]['p99_ms']:6.1f} ms  server CPU {results[scenario]['server_cpu_ms_per_request']:5.2f} ms/req  "
                f"errors {results[scenario]['errors']}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)  # the seeded database is ~400 MB at full size
    ratio = results["practice"]["rps"] / results["trivial"]["rps"] if {"practice", "trivial"} <= set(results) \
        else float("nan")
    summary = {
        "learners": learners, "cards_per_learner": 200, "reviews_per_learner": 2000,
        "concurrency": args.concurrency, "seconds_per_endpoint": seconds, "rounds": rounds, "workers": workers, "threads": threads,
        "worker_class": worker_class, "load_generator": "wrk",
        "endpoints": results, "practice_to_trivial_throughput": ratio,
        "aims": {"practice_at_least_third_of_trivial": ratio >= 1 / 3,
                 "practice_p99_under_50ms": results["practice"]["p99_ms"] < 50}
        if {"trivial", "practice"} <= set(results) else {},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"\n{'endpoint':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'server CPU ms':>15}{'errors':>8}")
    for name, r in results.items():
        print(f"{name:<10}{r['rps']:>10.1f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}"
              f"{r['server_cpu_ms_per_request']:>15.2f}{r['errors']:>8}")
    print(f"\npractice / trivial throughput: {ratio:.2f} (aim >= 0.33)")
    for aim, ok in summary["aims"].items():
        print(f"  {aim}: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
