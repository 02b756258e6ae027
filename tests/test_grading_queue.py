"""The grading queue's embedded default (no Redis, no other process) through the web app: a
code answer returns at once, is graded off the request, and shows its verdict; the learner's
limit; a job that keeps failing ends as "could not be graded"; the visible-tests Run; the mock
deadline with pending grades; the instructor's check through the queue."""
from __future__ import annotations

import os

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, func, select

from interview import grading_queue, mock
from interview.models import Attempt, MockInterview, MockItem, Review, User, utcnow
from interview.web import create_app
from tests.queue_support import (CODE_ID, FOREVER, RIGHT, SQL_ID, WRONG, add_learner, answer_form, csrf_of,
                                 seed_questions, sign_in, wait_until)

pytestmark = pytest.mark.sandbox


@pytest.fixture
def app(any_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.delenv("INTERVIEW_REDIS_URL", raising=False)
    seed_questions(any_engine)
    add_learner(any_engine, "ann")
    add_learner(any_engine, "ben")
    add_learner(any_engine, "tess", role="instructor")
    app = create_app({"ENGINE": any_engine, "MULTI_USER": True, "SECRET_KEY": "s", "TESTING": True,
                      "GRADING_QUEUE_URL": None, "GRADING_CONCURRENCY": 2})
    yield app
    app.extensions["grading_queue"].close()


def _status(client, attempt_id: int) -> str:  # type: ignore[no-untyped-def]
    return client.get(f"/practice/attempt/{attempt_id}/status").get_json()["state"]


def _counts(engine: sa.Engine) -> tuple[int, int]:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Attempt)).one(), s.exec(select(func.count()).select_from(Review)).one()


def test_embedded_default_grades_off_the_request_with_no_redis(app: Flask, any_engine: sa.Engine) -> None:
    assert isinstance(app.extensions["grading_queue"], grading_queue.EmbeddedQueue)
    c = app.test_client()
    sign_in(c, "ann")
    resp = c.post("/practice/answer", data=answer_form(c) | {"answer": RIGHT})
    assert resp.status_code == 303
    page_url = resp.headers["Location"]
    attempt_id = int(page_url.rstrip("/").split("/")[-1])
    first = c.get(page_url)
    assert first.status_code == 200
    assert b"Grading" in first.data or b"correct" in first.data
    wait_until(lambda: _status(c, attempt_id) == "graded", 30, "the grade")
    page = c.get(page_url)
    assert b"Grading" not in page.data and b"Visible tests: 2 of 2 passed" in page.data
    assert _counts(any_engine) == (1, 1)
    with Session(any_engine) as s:
        att = s.get(Attempt, attempt_id)
        assert att.verdict == "correct" and att.score == 1.0 and att.status == "graded"
    # another learner cannot read it
    other = app.test_client()
    sign_in(other, "ben")
    assert other.get(page_url).status_code == 404
    assert other.get(f"/practice/attempt/{attempt_id}/status").status_code == 404


def test_a_double_submit_is_one_attempt_and_one_review(app: Flask, any_engine: sa.Engine) -> None:
    c = app.test_client()
    sign_in(c, "ann")
    form = answer_form(c) | {"answer": WRONG}
    a, b = c.post("/practice/answer", data=form), c.post("/practice/answer", data=form)
    assert a.headers["Location"] == b.headers["Location"]
    attempt_id = int(a.headers["Location"].split("/")[-1])
    wait_until(lambda: _status(c, attempt_id) == "graded", 30, "the grade")
    assert _counts(any_engine) == (1, 1)


def test_per_learner_limit_answers_429_and_others_still_submit(app: Flask, any_engine: sa.Engine) -> None:
    queue = app.extensions["grading_queue"]
    queue.limits.per_owner = 2
    c = app.test_client()
    sign_in(c, "ann")
    codes = [c.post("/practice/answer", data=answer_form(c) | {"answer": FOREVER}).status_code for _ in range(3)]
    assert codes == [303, 303, 429]
    refused = c.post("/practice/answer", data=answer_form(c) | {"answer": RIGHT})
    assert refused.status_code == 429 and b"wait for one to finish" in refused.data
    other = app.test_client()
    sign_in(other, "ben")
    assert other.post("/practice/answer", data=answer_form(other) | {"answer": RIGHT}).status_code == 303
    with Session(any_engine) as s:  # a refused answer leaves no attempt behind
        assert s.exec(select(func.count()).select_from(Attempt).join(User).where(User.name == "ann")).one() == 2


def test_a_full_queue_says_so(app: Flask) -> None:
    queue = app.extensions["grading_queue"]
    queue.limits.max_queued["interactive"] = 0
    c = app.test_client()
    sign_in(c, "ann")
    resp = c.post("/practice/answer", data=answer_form(c) | {"answer": RIGHT})
    assert resp.status_code == 503 and b"grading queue is full" in resp.data


def test_a_job_that_keeps_failing_ends_as_could_not_be_graded(app: Flask, any_engine: sa.Engine,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def broken(*_args):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise RuntimeError("grader host lost its sandbox")

    monkeypatch.setattr(grading_queue.JOBS["grade_attempt"], "fn", broken)
    c = app.test_client()
    sign_in(c, "ann")
    resp = c.post("/practice/answer", data=answer_form(c) | {"answer": RIGHT})
    attempt_id = int(resp.headers["Location"].split("/")[-1])
    wait_until(lambda: _status(c, attempt_id) == "failed", 30, "the failed state")
    assert len(calls) == app.extensions["grading_queue"].limits.tries
    page = c.get(f"/practice/attempt/{attempt_id}")
    assert b"Could not be graded" in page.data and b"Try again" in page.data
    assert _counts(any_engine) == (1, 0)
    monkeypatch.undo()
    again = c.post(f"/practice/attempt/{attempt_id}/regrade", data={"csrf_token": csrf_of(page.data)})
    assert again.status_code == 303
    wait_until(lambda: _status(c, attempt_id) == "graded", 30, "the grade after trying again")
    assert _counts(any_engine) == (1, 1)


def test_run_visible_tests_records_nothing(app: Flask, any_engine: sa.Engine) -> None:
    c = app.test_client()
    sign_in(c, "ann")
    form = answer_form(c)
    resp = c.post("/practice/run", data=form | {"answer": WRONG}, headers={"Accept": "application/json"})
    assert resp.status_code == 202
    url = resp.get_json()["status_url"]
    job = wait_until(lambda: (j := c.get(url).get_json())["state"] in ("done", "failed") and j, 30, "the run")
    assert job["state"] == "done"
    tests = job["result"]["tests"]
    assert [t["status"] for t in tests] == ["wrong", "passed"]  # the two visible tests, no hidden ones
    assert "Hidden" not in " ".join(job["result"]["feedback"])
    assert _counts(any_engine) == (0, 0)
    other = app.test_client()
    sign_in(other, "ben")
    assert other.get(url).status_code == 404


def test_sql_answers_go_through_the_queue(app: Flask) -> None:
    c = app.test_client()
    sign_in(c, "ann")
    form = answer_form(c, SQL_ID) | {"kind": "sql", "answer": "SELECT COUNT(DISTINCT user_id) AS users FROM events"}
    resp = c.post("/practice/answer", data=form)
    assert resp.status_code == 303
    attempt_id = int(resp.headers["Location"].split("/")[-1])
    wait_until(lambda: _status(c, attempt_id) == "graded", 30, "the SQL grade")
    assert b"correct" in c.get(resp.headers["Location"]).data


def test_mock_answers_before_the_deadline_count_when_graded_after(app: Flask, any_engine: sa.Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as s:
        ann = s.exec(select(User).where(User.name == "ann")).one()
        started = utcnow() - timedelta(minutes=40)
        m = MockInterview(user_id=ann.id, format_slug="t", format={"name": "Test", "slug": "t"},
                          started_at=started, deadline=started + timedelta(minutes=30))
        s.add(m)
        s.flush()
        s.add(MockItem(mock_id=m.id, position=0, section="code", question_id=CODE_ID, seed=1, answer=RIGHT,
                       saved_at=started + timedelta(minutes=5), seconds_spent=60))
        s.add(MockItem(mock_id=m.id, position=1, section="code", question_id=CODE_ID, seed=2, answer=WRONG,
                       saved_at=started + timedelta(minutes=6), seconds_spent=60))
        s.commit()
        mock_id = m.id
    c = app.test_client()
    sign_in(c, "ann")
    first = c.get(f"/mock/{mock_id}/report")  # time is up: the report submits, grading goes on the queue
    assert first.status_code == 200
    status = c.get(f"/mock/{mock_id}/status").get_json()
    if status["state"] == "pending":
        assert b"still being graded" in first.data
    wait_until(lambda: c.get(f"/mock/{mock_id}/status").get_json()["state"] == "submitted", 30, "the mock's grades")
    with Session(any_engine) as s:
        m = s.get(MockInterview, mock_id)
        assert m.score == pytest.approx(0.75)  # 1.0 and 0.5 (the wrong answer passes two of four tests)
        assert m.submitted_at <= m.deadline + mock.GRACE
        attempts = s.exec(select(Attempt).where(Attempt.mock_item_id.is_not(None))).all()
        assert sorted(a.verdict for a in attempts) == ["correct", "partial"]
        assert all(a.created_at == m.submitted_at for a in attempts)
        reviews = s.exec(select(Review)).all()
        assert len(reviews) == 2 and all(r.reviewed_at <= m.deadline + mock.GRACE for r in reviews)
    page = c.get(f"/mock/{mock_id}/report")
    assert b"75%" in page.data and "grading…".encode() not in page.data


def test_instructor_check_goes_through_the_queue(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    ran = []
    real = grading_queue.JOBS["check_question"].fn

    def spy(engine, args, progress):  # type: ignore[no-untyped-def]
        import threading

        ran.append(threading.current_thread().name)
        return real(engine, args, progress)

    monkeypatch.setattr(grading_queue.JOBS["check_question"], "fn", spy)
    c = app.test_client()
    sign_in(c, "tess")
    page = c.get("/instructor/questions/new?kind=code&title=Sum+again&area=coding&topic=arrays-strings")
    text = page.data.decode()
    import html
    import re

    yaml_text = html.unescape(re.search(r'<textarea[^>]*name="yaml"[^>]*>(.*?)</textarea>', text, re.S).group(1))
    resp = c.post("/instructor/questions/new", data={"csrf_token": csrf_of(page.data), "yaml": yaml_text,
                                                      "action": "check"})
    assert resp.status_code == 303
    job_page = resp.headers["Location"]
    done = wait_until(lambda: (r := c.get(job_page)).status_code != 202 and r, 60, "the check")
    assert done.status_code == 200 and b"All checks pass" in done.data
    assert ran and ran[0].startswith("grader-")  # it ran on the queue's pool, not in the request


def test_learners_answers_go_ahead_of_instructor_bulk_work(any_engine: sa.Engine) -> None:
    """One grader thread, busy: the bulk job queued first still runs after the answer queued later."""
    import threading

    from interview.grading_queue import JOBS, EmbeddedQueue, JobSpec

    order: list[str] = []
    gate = threading.Event()

    def blocker(_engine, _args, _progress):  # type: ignore[no-untyped-def]
        gate.wait(10)
        return {}

    def record(_engine, args, _progress):  # type: ignore[no-untyped-def]
        order.append(args["what"])
        return {}

    JOBS["test_block"], JOBS["test_record"] = JobSpec(blocker), JobSpec(record)
    queue = EmbeddedQueue(any_engine, concurrency=1)
    try:
        queue.submit("test_block", {}, lane="bulk")
        wait_until(lambda: queue.stats()["running"] == 1, 5, "the blocker to start")
        ids = [queue.submit("test_record", {"what": "bulk"}, lane="bulk"),
               queue.submit("test_record", {"what": "answer"}, lane="interactive")]
        gate.set()
        wait_until(lambda: all(queue.get(i).state == "done" for i in ids), 10, "both jobs")
        assert order == ["answer", "bulk"]
        stats = queue.stats()
        assert stats["done_total"] == 3 and stats["wait_p50"] is not None and stats["queue_length"] == 0
    finally:
        queue.close()
        del JOBS["test_block"], JOBS["test_record"]


def test_queue_status_page_and_metrics(app: Flask) -> None:
    c = app.test_client()
    sign_in(c, "ann")
    posted = c.post("/practice/answer", data=answer_form(c) | {"answer": RIGHT})
    attempt_id = int(posted.headers["Location"].split("/")[-1])
    wait_until(lambda: _status(c, attempt_id) == "graded", 30, "a grade")
    assert c.get("/queue").status_code == 403  # learners do not see it
    teacher = app.test_client()
    sign_in(teacher, "tess")
    page = teacher.get("/queue")
    assert page.status_code == 200 and b"Wait p50 / p99" in page.data and b"embedded" in page.data
    # /metrics: an instructor, or a scraper on this host where the operator opened it; not a learner
    assert c.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403  # closed by default
    os.environ["INTERVIEW_METRICS_LOCAL"] = "1"
    try:
        local = c.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    finally:
        del os.environ["INTERVIEW_METRICS_LOCAL"]
    assert local.status_code == 200
    text = local.data.decode()
    assert 'interview_grading_queue_length{lane="interactive"} 0.0' in text
    assert "interview_grading_finished_total 1.0" in text and 'interview_grading_wait_seconds{quantile="0.99"}' in text
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert c.get("/metrics", environ_base=remote).status_code == 403
    assert app.test_client().get("/metrics", environ_base=remote).status_code == 302  # to sign-in
    assert teacher.get("/metrics", environ_base=remote).status_code == 200


def test_worker_command_needs_the_shared_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from interview.cli import main

    result = CliRunner().invoke(main, ["worker", "--concurrency", "1"])
    assert result.exit_code == 2 and "INTERVIEW_REDIS_URL" in result.output
    monkeypatch.setenv("INTERVIEW_QUEUE", "redis")
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 2 and "needs INTERVIEW_REDIS_URL" in result.output


def test_item_analysis_counts_graded_answers_only(engine: sa.Engine) -> None:
    """An answer still on the queue (score 0 for now) or one that could not be graded must not
    pull a question's facility down."""
    from interview import item_analysis

    seed_questions(engine)
    add_learner(engine, "ann")
    with Session(engine, expire_on_commit=False) as s:
        ann = s.exec(select(User).where(User.name == "ann")).one()
        for i, status in enumerate(("graded", "pending", "failed")):
            s.add(Attempt(user_id=ann.id, question_id=CODE_ID, seed=i, answer=RIGHT, score=1.0 if status == "graded" else 0.0,
                          verdict="correct" if status == "graded" else "incorrect", status=status, created_at=utcnow()))
        s.commit()
        stats = {st.question_id: st for st in item_analysis.analyse_for(s)}
    assert stats[CODE_ID].attempts == 1 and stats[CODE_ID].facility == 1.0


def test_one_run_at_a_time_per_learner(any_engine: sa.Engine) -> None:
    """Three threads: a learner's three runs go one after another, another learner's alongside."""
    import threading
    import time

    from interview.grading_queue import JOBS, EmbeddedQueue, JobSpec

    lock, running, peak = threading.Lock(), {"a": 0, "b": 0, "all": 0}, {"a": 0, "b": 0, "all": 0}

    def busy(_engine, args, _progress):  # type: ignore[no-untyped-def]
        with lock:
            for key in (args["who"], "all"):
                running[key] += 1
                peak[key] = max(peak[key], running[key])
        time.sleep(0.3)
        with lock:
            running[args["who"]] -= 1
            running["all"] -= 1
        return {}

    JOBS["test_busy"] = JobSpec(busy)
    queue = EmbeddedQueue(any_engine, concurrency=3)
    try:
        ids = [queue.submit("test_busy", {"who": "a"}, owner="user:a") for _ in range(3)]
        ids.append(queue.submit("test_busy", {"who": "b"}, owner="user:b"))
        wait_until(lambda: all(queue.get(i).state == "done" for i in ids), 20, "the four runs")
        assert peak["a"] == 1 and peak["all"] == 2
    finally:
        queue.close()
        del JOBS["test_busy"]


def test_a_grade_delivered_twice_is_written_once(any_engine: sa.Engine) -> None:
    """Two deliveries of the same job both read the attempt as pending; the second write finds
    it graded (the conditional UPDATE) and writes neither grade nor review."""
    from graders import Grade
    from interview import practice

    seed_questions(any_engine)
    add_learner(any_engine, "ann")
    with Session(any_engine, expire_on_commit=False) as s:
        ann = s.exec(select(User).where(User.name == "ann")).one()
        att = Attempt(user_id=ann.id, question_id=CODE_ID, seed=1, answer=RIGHT, score=0.0, verdict="incorrect",
                      status="pending", created_at=utcnow())
        s.add(att)
        s.commit()
        attempt_id = att.id
    first, second = Session(any_engine, expire_on_commit=False), Session(any_engine, expire_on_commit=False)
    try:
        held = second.get(Attempt, attempt_id)  # the second delivery has read it (and holds it)
        assert held is not None and held.status == "pending"
        assert practice.record_grade(first, attempt_id, Grade(1.0, "correct", ["right"])) is True
        assert practice.record_grade(second, attempt_id, Grade(0.5, "partial", ["half"])) is False
    finally:
        first.close()
        second.close()
    with Session(any_engine) as s:
        assert s.get(Attempt, attempt_id).verdict == "correct"
        assert s.exec(select(func.count()).select_from(Review)).one() == 1
