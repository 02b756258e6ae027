"""Every route through Flask's test client: status codes, permissions, CSRF, double submits,
tampered forms, the mock deadline, escaping, and error pages without tracebacks."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, func, select

from interview import accounts, bank
from interview.models import Attempt, MockInterview, Question, Review, User, utcnow
from interview.sync import sync_bank
from interview.web import create_app


@pytest.fixture
def app(engine: sa.Engine, bundled_bank: list) -> Flask:
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
        accounts.create_user(s, "alice", "alice password")
        accounts.create_user(s, "bob", "bob's password")
        accounts.create_user(s, "teacher", "teacher password", role="instructor")
    return create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "test-secret", "TESTING": True})


def csrf_of(html: bytes) -> str:
    m = re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1).decode()


def field(html: bytes, name: str) -> str:
    m = re.search(rb'name="' + name.encode() + rb'" value="([^"]*)"', html)
    assert m, f"no field {name}"
    return m.group(1).decode()


def sign_in(client: FlaskClient, name: str, password: str) -> None:
    page = client.get("/signin")
    resp = client.post("/signin", data={"csrf_token": csrf_of(page.data), "name": name, "password": password})
    assert resp.status_code == 302, resp.data


def question_of_kind(engine: sa.Engine, kind: str) -> str:
    with Session(engine) as s:
        qid = s.exec(select(Question.id).where(Question.kind == kind).order_by(Question.id)).first()
    assert qid
    return qid


def test_anonymous_users_are_redirected_in_multi_user_mode(app: Flask) -> None:
    c = app.test_client()
    for path in ("/practice/", "/mock/", "/progress/", "/questions/", "/account"):
        resp = c.get(path)
        assert resp.status_code == 302 and "/signin" in resp.headers["Location"], path
    assert c.get("/signin").status_code == 200 and c.get("/signup").status_code == 200
    assert c.get("/healthz").data == b"ok"


def test_local_mode_opens_straight_into_practice(engine: sa.Engine, bundled_bank: list) -> None:
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
    c = create_app({"ENGINE": engine, "SECRET_KEY": "x"}).test_client()
    assert c.get("/").headers["Location"].endswith("/practice/")
    page = c.get("/practice/")
    assert page.status_code == 200 and b"Submit" in page.data
    assert c.get("/signin").status_code == 302  # no sign-in on a local instance


def test_signup_signin_signout(app: Flask) -> None:
    c = app.test_client()
    page = c.get("/signup")
    bad = c.post("/signup", data={"csrf_token": csrf_of(page.data), "name": "carol", "password": "longenough",
                                  "confirm": "different1"})
    assert bad.status_code == 400 and b"The two passwords differ" in bad.data
    ok = c.post("/signup", data={"csrf_token": csrf_of(page.data), "name": "carol", "password": "longenough",
                                 "confirm": "longenough"})
    assert ok.status_code == 302
    assert c.get("/practice/").status_code == 200
    home = c.get("/practice/")
    assert c.post("/signout", data={"csrf_token": csrf_of(home.data)}).status_code == 302
    assert c.get("/practice/").status_code == 302
    wrong = c.post("/signin", data={"csrf_token": csrf_of(c.get("/signin").data), "name": "carol", "password": "nope"})
    assert wrong.status_code == 401 and b"Wrong name or password" in wrong.data


def test_session_cookie_flags(app: Flask) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    cookie = c.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_signin_is_rate_limited(app: Flask) -> None:
    c = app.test_client()
    token = csrf_of(c.get("/signin").data)
    codes = [c.post("/signin", data={"csrf_token": token, "name": "alice", "password": "wrong"}).status_code
             for _ in range(12)]
    assert codes[:10] == [401] * 10 and codes[-1] == 429


def test_account_creation_is_rate_limited(app: Flask) -> None:
    c = app.test_client()
    token = csrf_of(c.get("/signup").data)
    codes = [c.post("/signup", data={"csrf_token": token, "name": f"bot{i}", "password": "longenough",
                                     "confirm": "different"}).status_code for i in range(11)]
    assert codes[:10] == [400] * 10 and codes[-1] == 429
    assert c.post("/account/import", data={"csrf_token": token}).status_code == 400  # its own allowance


def test_csrf_failures_are_rejected(app: Flask) -> None:
    c = app.test_client()
    assert c.post("/signin", data={"name": "alice", "password": "alice password"}).status_code == 400
    sign_in(c, "alice", "alice password")
    page = c.get("/practice/")
    resp = c.post("/practice/answer", data={"token": field(page.data, "token"), "answer": "1"})
    assert resp.status_code == 400 and b"Reload the page" in resp.data


def answer_numeric(c: FlaskClient, qid: str, answer: str = "0.5") -> tuple[bytes, dict[str, str]]:
    page = c.get(f"/practice/q/{qid}")
    assert page.status_code == 200
    form = {"csrf_token": csrf_of(page.data), "token": field(page.data, "token"), "kind": "numeric",
            "answer": answer, "hint_used": "0"}
    return page.data, form


def test_practice_answer_records_attempt_and_review(app: Flask, engine: sa.Engine) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    qid = question_of_kind(engine, "numeric")
    _, form = answer_numeric(c, qid)
    resp = c.post("/practice/answer", data=form)
    assert resp.status_code == 200 and b"Explanation" in resp.data
    assert b"A correct answer" in resp.data  # 0.5 is wrong here: the right value is shown after the miss
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Review)).one() == 1
        assert s.exec(select(func.count()).select_from(Attempt)).one() == 1


def test_double_submit_records_one_review(app: Flask, engine: sa.Engine) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    _, form = answer_numeric(c, question_of_kind(engine, "numeric"))
    first = c.post("/practice/answer", data=form)
    second = c.post("/practice/answer", data=form)
    assert first.status_code == second.status_code == 200
    # and two truly concurrent submits of another form
    _, form2 = answer_numeric(c, question_of_kind(engine, "numeric"))
    results: list[int] = []

    def post() -> None:
        client = app.test_client()
        sign_in(client, "alice", "alice password")
        results.append(client.post("/practice/answer", data={**form2, "csrf_token": csrf_of(client.get("/practice/").data)}).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 4
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Review)).one() == 2
        assert s.exec(select(func.count()).select_from(Attempt)).one() == 2


def test_tampered_and_foreign_forms_get_4xx(app: Flask, engine: sa.Engine) -> None:
    alice, bob = app.test_client(), app.test_client()
    sign_in(alice, "alice", "alice password")
    sign_in(bob, "bob", "bob's password")
    _, form = answer_numeric(alice, question_of_kind(engine, "numeric"))
    tampered = dict(form, token=form["token"][:-3] + ("abc" if not form["token"].endswith("abc") else "xyz"))
    resp = alice.post("/practice/answer", data=tampered)
    assert resp.status_code == 400 and b"altered" in resp.data
    bob_form = dict(form, csrf_token=csrf_of(bob.get("/practice/").data))
    resp = bob.post("/practice/answer", data=bob_form)
    assert resp.status_code == 403 and b"another learner" in resp.data
    assert alice.post("/practice/rate/999999", data={"csrf_token": form["csrf_token"], "rating": "3"}).status_code == 404
    assert alice.get("/practice/q/no-such-question").status_code == 404


def test_rubric_self_rating_once(app: Flask, engine: sa.Engine) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    qid = question_of_kind(engine, "rubric")
    page = c.get(f"/practice/q/{qid}")
    resp = c.post("/practice/answer", data={"csrf_token": csrf_of(page.data), "token": field(page.data, "token"),
                                            "kind": "rubric", "answer": "A thoughtful answer about the trade-offs, "
                                            "with data, metrics, monitoring and an example.", "hint_used": "0"})
    assert resp.status_code == 200 and b"Model answer" in resp.data and b"How well did you know it" in resp.data
    attempt_id = int(re.search(rb"/practice/rate/(\d+)", resp.data).group(1))  # type: ignore[union-attr]
    for rating in ("3", "1"):
        assert c.post(f"/practice/rate/{attempt_id}", data={"csrf_token": csrf_of(resp.data), "rating": rating}).status_code == 302
    assert c.post(f"/practice/rate/{attempt_id}", data={"csrf_token": csrf_of(resp.data), "rating": "9"}).status_code == 400
    with Session(engine) as s:
        reviews = s.exec(select(Review)).all()
        assert [r.rating for r in reviews] == [3]


def test_mock_deadline_is_the_authority(app: Flask, engine: sa.Engine) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    index = c.get("/mock/")
    assert index.status_code == 200 and b"Quick check" in index.data
    started = c.post("/mock/start", data={"csrf_token": csrf_of(index.data), "format": "quick-5"})
    assert started.status_code == 302
    sit_url = started.headers["Location"]
    mock_id = int(sit_url.rstrip("/").split("/")[-1])
    page = c.get(sit_url)
    assert page.status_code == 200
    assert b"Explanation" not in page.data and b"hint-button" not in page.data  # no help during a mock
    left = float(re.search(rb'data-seconds-left="([\d.]+)"', page.data).group(1))  # type: ignore[union-attr]
    assert 295 <= left <= 300
    kind = field(page.data, "kind")
    save = c.post(f"/mock/{mock_id}/save", data={"csrf_token": csrf_of(page.data), "position": "0", "kind": kind,
                                                 "answer": "A", "seconds_spent": "12", "goto": "1"})
    assert save.status_code == 302
    # someone else's mock
    bob = app.test_client()
    sign_in(bob, "bob", "bob's password")
    assert bob.get(sit_url).status_code == 404
    # past the deadline plus grace: saving is refused, the report grades what stood
    with Session(engine) as s:
        m = s.get(MockInterview, mock_id)
        m.deadline = utcnow() - timedelta(minutes=1)  # type: ignore[union-attr]
        s.add(m)
        s.commit()
    late = c.post(f"/mock/{mock_id}/save", data={"csrf_token": csrf_of(page.data), "position": "0", "kind": kind,
                                                 "answer": "B", "seconds_spent": "20", "goto": "1"})
    assert late.status_code == 409 and b"Time is up" in late.data
    report = c.get(f"/mock/{mock_id}/report")
    assert report.status_code == 200 and b"Sections" in report.data and b"Explanation" in report.data
    with Session(engine) as s:
        m = s.get(MockInterview, mock_id)
        assert m is not None and m.status == "submitted"
        attempts = s.exec(select(Attempt).where(Attempt.mock_item_id.is_not(None))).all()  # type: ignore[union-attr]
        assert len(attempts) == 3 and attempts[0].answer == "A"
        assert s.exec(select(func.count()).select_from(Review)).one() == 3  # mock results update the cards
    assert c.get(sit_url).status_code == 302  # a finished mock goes to its report


def test_dashboard_and_account_pages(app: Flask) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    assert b"Mastery" in c.get("/progress/").data
    page = c.get("/account")
    resp = c.post("/account", data={"csrf_token": csrf_of(page.data), "interview_date": "2031-01-15",
                                    "minutes_per_day": "45", "new_per_day": "5", "areas": ["ml", "math"]})
    assert resp.status_code == 302
    bad = c.post("/account", data={"csrf_token": csrf_of(page.data), "interview_date": "someday",
                                   "minutes_per_day": "45", "new_per_day": "5"})
    assert bad.status_code == 400
    export = c.get("/account/export")
    assert export.status_code == 200 and export.json["user"]["minutes_per_day"] == 45  # type: ignore[index]
    refused = c.post("/account/delete", data={"csrf_token": csrf_of(page.data), "confirm_name": "not-alice"})
    assert refused.status_code == 400
    gone = c.post("/account/delete", data={"csrf_token": csrf_of(page.data), "confirm_name": "alice"})
    assert gone.status_code == 302
    assert c.get("/practice/").status_code == 302


def test_a_learner_fits_personal_memory_parameters_from_the_settings_page(app: Flask, engine: sa.Engine,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the FSRS authors' 400 reviews the page says how many they have and the fit is
    refused with the reason; with a history the fit stores parameters that the scheduler then
    uses; a tampered form (no CSRF token) is refused; a server without the optimiser says what
    to install; fits are limited per learner."""
    from interview import optimizer, scheduler
    from tests.test_optimizer import synthetic_history

    c = app.test_client()
    sign_in(c, "alice", "alice password")
    page = c.get("/account")
    assert b"Memory parameters" in page.data and b"you have 0)" in page.data
    assert b"/account/optimize" not in page.data
    early = c.post("/account/optimize", data={"csrf_token": csrf_of(page.data)})
    assert early.status_code == 400 and b"need at least 400" in early.data
    with Session(engine) as s:
        alice = s.exec(select(User).where(User.name == "alice")).one()
        reviews = synthetic_history(s, alice, cards=60)
    assert reviews >= 400
    page = c.get("/account")
    assert f"you have {reviews})".encode() in page.data and b"Fit my memory parameters" in page.data
    assert c.post("/account/optimize", data={}).status_code == 400  # no CSRF token
    with Session(engine) as s:
        assert s.exec(select(User).where(User.name == "alice")).one().fsrs_parameters is None
    done = c.post("/account/optimize", data={"csrf_token": csrf_of(page.data)}, follow_redirects=True)
    assert done.status_code == 200 and f"fitted to your {reviews} reviews".encode() in done.data
    assert b"fitted to your own reviews" in done.data and b"Refit my memory parameters" in done.data
    with Session(engine) as s:
        alice = s.exec(select(User).where(User.name == "alice")).one()
        assert alice.fsrs_parameters and len(alice.fsrs_parameters) == 21
        assert list(alice.fsrs_parameters) != list(scheduler.DEFAULT_PARAMETERS)
        assert tuple(scheduler.make_scheduler(alice).parameters) == pytest.approx(alice.fsrs_parameters)
    codes = [c.post("/account/optimize", data={"csrf_token": csrf_of(page.data)}).status_code for _ in range(4)]
    assert codes == [302, 302, 302, 429]  # five attempts an hour, the refused early one among them
    other = app.test_client()
    sign_in(other, "bob", "bob's password")  # the limit is alice's, not the address's
    assert other.post("/account/optimize", data={"csrf_token": csrf_of(other.get("/account").data)}).status_code == 400

    def missing() -> None:
        raise optimizer.OptimizerError("the optimiser is an optional extra: pip install 'interview[optimizer]'")

    monkeypatch.setattr(optimizer, "_backend", missing)
    page = other.get("/account")
    assert b"interview[optimizer]" in page.data and b"/account/optimize" not in page.data


def test_learner_text_is_escaped_everywhere(app: Flask, engine: sa.Engine) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    _, form = answer_numeric(c, question_of_kind(engine, "numeric"), "<script>alert('x')</script>")
    resp = c.post("/practice/answer", data=form)
    assert b"<script>alert" not in resp.data and b"&lt;script&gt;" in resp.data


def test_error_pages_never_show_tracebacks(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    c = app.test_client()
    resp = c.get("/boom")
    assert resp.status_code == 500 and b"secret internals" not in resp.data and b"Traceback" not in resp.data
    assert c.get("/nowhere").status_code == 404


def test_instructor_role_is_separate(app: Flask, engine: sa.Engine) -> None:
    with Session(engine) as s:
        roles = {u.name: u.role for u in s.exec(select(User)).all()}
    assert roles["teacher"] == "instructor" and roles["alice"] == "learner"


def test_expression_preview_echoes_the_reading(app: Flask, engine: sa.Engine) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    qid = question_of_kind(engine, "expression")
    token = csrf_of(c.get("/practice/").data)
    with Session(engine) as s:
        var = next(iter(bank.load_text(s.get(Question, qid).yaml_text).spec.vars))
    ok = c.post("/practice/preview", data={"question_id": qid, "text": f"2{var}^2/({var}+1)"},
                headers={"X-CSRFToken": token})
    assert ok.status_code == 200
    assert ok.json["read_as"] == f"2*{var}^2/({var} + 1)" and ok.json["latex"].startswith(r"\frac{2 \cdot")
    bad = c.post("/practice/preview", data={"question_id": qid, "text": f"3({var}+1"}, headers={"X-CSRFToken": token})
    assert bad.json["error"] == "this bracket is never closed"
    assert c.post("/practice/preview", data={"question_id": "no-such-id", "text": "x"},
                  headers={"X-CSRFToken": token}).status_code == 404
    assert c.post("/practice/preview", data={"question_id": qid, "text": "x"}).status_code == 400  # no CSRF token


def test_download_and_import_into_a_fresh_instance(app: Flask, engine: sa.Engine, tmp_path, bundled_bank: list) -> None:  # type: ignore[no-untyped-def]
    import io

    from interview import db

    c = app.test_client()
    sign_in(c, "alice", "alice password")
    _, form = answer_numeric(c, question_of_kind(engine, "numeric"))
    assert c.post("/practice/answer", data=form).status_code == 200
    exported = c.get("/account/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    before = exported.json
    assert before["attempts"] and before["reviews"] and before["cards"]

    fresh = db.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    db.migrate(fresh)
    with Session(fresh) as s:
        sync_bank(s, bundled_bank)
    other = create_app({"ENGINE": fresh, "MULTI_USER": True, "SECRET_KEY": "other", "TESTING": True}).test_client()
    token = csrf_of(other.get("/signin").data)
    short = other.post("/account/import", data={"csrf_token": token, "password": "short",
                                                "file": (io.BytesIO(exported.data), "me.json")},
                       content_type="multipart/form-data")
    assert short.status_code == 400
    junk = other.post("/account/import", data={"csrf_token": token, "password": "a long password",
                                               "file": (io.BytesIO(b"not json"), "me.json")},
                      content_type="multipart/form-data")
    assert junk.status_code == 400 and b"not a JSON export" in junk.data and b"Traceback" not in junk.data
    ok = other.post("/account/import", data={"csrf_token": token, "password": "a long password",
                                             "file": (io.BytesIO(exported.data), "me.json")},
                    content_type="multipart/form-data")
    assert ok.status_code == 302
    after = other.get("/account/export").json  # signed in as the imported learner
    for key in ("user", "cards", "reviews", "attempts", "mocks", "mock_items"):
        strip = (lambda rows: [{k: v for k, v in r.items() if k not in ("id", "card_id", "attempt_id", "submit_token")} for r in rows])  # noqa: E731 - ids are remapped; replay tokens are per instance
        if key == "user":  # the account itself (created_at) is the new instance's; the settings come along
            got, want = ({k: v for k, v in doc.items() if k != "created_at"} for doc in (after[key], before[key]))
        else:
            got, want = strip(after[key]), strip(before[key])
        assert got == want, (key, got, want)
    fresh.dispose()


def test_the_deployment_settings_serve_the_app_under_gunicorn(engine: sa.Engine, sqlite_url: str, tmp_path,
                                                               bundled_bank: list) -> None:
    """The README's production command, as given: gunicorn with interview/web/gunicorn_conf.py."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from interview.web import gunicorn_conf

    assert gunicorn_conf.worker_class == "sync" and gunicorn_conf.workers >= 1
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": sqlite_url, "INTERVIEW_DATA_DIR": str(tmp_path), "WEB_CONCURRENCY": "2"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:interview.web.gunicorn_conf",
                               "-b", f"127.0.0.1:{port}", "interview.web.wsgi:app"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.read() == b"ok"
                break
            except OSError:
                assert server.poll() is None, server.stdout.read() if server.stdout else "gunicorn exited"
                time.sleep(0.1)
        else:
            raise AssertionError("gunicorn did not answer")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/practice/", timeout=10) as r:  # local learner
            page = r.read().decode()
        assert r.status == 200 and 'name="token"' in page
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=20)
    assert "Booting worker" in out and out.count("Booting worker") == 2  # WEB_CONCURRENCY workers
    assert "Traceback" not in out


_SECOND_WORKER = """
import re, sys
import sqlalchemy as sa
from interview.web import create_app
app = create_app({"ENGINE": sa.create_engine(sys.argv[1]), "MULTI_USER": True, "SECRET_KEY": "test-secret",
                  "RATELIMIT_STORAGE_URI": sys.argv[2], "RATELIMIT_KEY_PREFIX": sys.argv[3]})
c = app.test_client()
token = re.search(rb'name="csrf_token" value="([^"]+)"', c.get("/signin").data).group(1).decode()
print(c.post("/signin", data={"csrf_token": token, "name": "alice", "password": "wrong"}).status_code)
"""


def test_sign_in_limits_are_shared_by_worker_processes_through_redis(engine: sa.Engine, sqlite_url: str,
                                                                       redis_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """INTERVIEW_RATELIMIT_STORAGE=redis://...: the counters live in Redis, so a second worker
    process refuses the attempt after the tenth that the first one served."""
    import subprocess
    import sys
    import uuid

    from tests.conftest import REDIS_URL

    with Session(engine) as s:
        accounts.create_user(s, "alice", "alice password")
    prefix = f"interview-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("INTERVIEW_RATELIMIT_STORAGE", REDIS_URL)  # the storage from the environment, as deployed
    first = create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "test-secret",
                        "RATELIMIT_KEY_PREFIX": prefix})
    try:
        c = first.test_client()
        token = csrf_of(c.get("/signin").data)
        codes = [c.post("/signin", data={"csrf_token": token, "name": "alice", "password": "wrong"}).status_code
                 for _ in range(10)]
        assert codes == [401] * 10
        assert redis_server.keys(f"*{prefix}*"), "the counter is not in Redis"
        second = subprocess.run([sys.executable, "-c", _SECOND_WORKER, sqlite_url, REDIS_URL, prefix],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert second.stdout.split()[-1] == "429"  # another process saw the first one's ten attempts
    finally:
        for key in redis_server.keys(f"*{prefix}*"):
            redis_server.delete(key)
