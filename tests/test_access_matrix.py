"""The authorisation matrix: every route of the app, called as every kind of caller, gets the
status its declared rule says (interview/web/access.py).

It walks `app.url_map`, so a new route is covered the moment it exists: the app refuses to start
without a declared rule, and this test fails on a route whose URL arguments it cannot fill (add
a value to ARGS) or whose behaviour contradicts its rule. Each route runs against a fresh copy
of one prepared SQLite file, so one route's side effects (a deletion, a sign-out) never leak
into another's verdicts.

Callers: anonymous, a learner, another learner, an instructor, another instructor and an admin.
Objects in URLs belong to someone: `attempt_id` and `mock_id` to the learner, `cohort_id`,
`slug` (a mock format) and, on instructor pages, `question_id` to the instructor. A caller who
is not the owner must get 403 or 404 there (an admin may act on instructors' work, never on a
learner's practice). Instructors may read each other's questions and formats (they curate one
shared bank and sit the same formats), never change them; a cohort's page (its learners'
progress) is its instructor's and the admins' alone.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, select

from interview import accounts, authoring, cohorts, db, grading_queue, mock
from interview.models import Attempt, MockInterview, Question, utcnow
from interview.sync import sync_bank
from interview.web import access, create_app, limiter
from tests.test_bank_loader import GOOD

CALLERS = ("anonymous", "other_learner", "other_instructor", "learner", "instructor", "admin")
ACCOUNTS = {"learner": ("alice", "learner"), "other_learner": ("bob", "learner"),
            "instructor": ("teacher", "instructor"), "other_instructor": ("mallory", "instructor"),
            "admin": ("root", "admin")}
ROLE_OF = {"learner": "learner", "other_learner": "learner", "instructor": "instructor",
           "other_instructor": "instructor", "admin": "admin"}
STRENGTH = {"learner": 1, "instructor": 2, "admin": 3}
LEARNER_OWNED = ("attempt_id", "mock_id")  # and, on learner pages, `job_id` (a grading run)
CONFIG = {"MULTI_USER": True, "SECRET_KEY": "matrix-secret", "TESTING": True, "WTF_CSRF_ENABLED": False}
# Public routes that still refuse some signed-in callers, and why.
REFUSES = {
    # an export file holds a learner's history: it never overwrites an instructor's or admin's account
    "auth.import_data": ("instructor", "other_instructor", "admin"),
}


def _password(name: str) -> str:
    return f"{name} password 123"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, bundled_bank: list) -> Iterator[tuple[Path, dict, dict]]:
    """One SQLite file with the bank, the six accounts and an object of each kind; the values
    for URL arguments; and each caller's signed-in session cookie."""
    path = tmp_path_factory.mktemp("matrix") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.migrate(engine)
    now = utcnow()
    with Session(engine, expire_on_commit=False) as s:
        sync_bank(s, bundled_bank)
        users = {who: accounts.create_user(s, name, _password(name), role=role) for who, (name, role) in ACCOUNTS.items()}
        question = authoring.save(s, users["instructor"], GOOD.replace("id: good-question", "id: matrix-authored"), now)
        cohort = cohorts.create(s, users["instructor"], "Matrix cohort")
        mock.save_format(s, users["instructor"], "matrix-format",
                         "name: Matrix format\nminutes: 5\nsections:\n  - {name: Math, areas: [math], count: 1}\n")
        sitting = mock.start(s, users["learner"], "matrix-format", now)
        attempt = Attempt(user_id=users["learner"].id, question_id=question.id, question_version=question.version,
                          seed=1, answer="1", score=0.0, verdict="incorrect", grade={}, seconds_taken=5.0,
                          hint_used=False, submit_token="matrix-attempt", created_at=now)
        s.add(attempt)
        s.commit()
        args = {"question_id": question.id, "attempt_id": attempt.id, "mock_id": sitting.id, "cohort_id": cohort.id,
                "slug": "matrix-format", "filename": "app.css", "fmt": "csv", "learner_id": users["learner"].id,
                "instructor_id": users["instructor"].id}
    engine.dispose()
    app = create_app({**CONFIG, "DATABASE_URL": f"sqlite:///{path}"})
    cookies = {}
    for who, (name, _role) in ACCOUNTS.items():
        client = app.test_client()
        resp = client.post("/signin", data={"name": name, "password": _password(name)})
        assert resp.status_code == 302 and "/signin" not in resp.headers["Location"], (who, resp.status_code)
        cookies[who] = client.get_cookie("session").value  # type: ignore[union-attr]
    app.extensions["engine"].dispose()
    yield path, args, cookies


def _routes() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(endpoint, method, rule, argument names) for every route of the app."""
    app = create_app({**CONFIG, "DATABASE_URL": "sqlite://"})
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule.rule, tuple(sorted(rule.arguments))))
    return sorted(out)


ROUTES = _routes()


def test_every_route_declares_a_rule() -> None:
    app = create_app({**CONFIG, "DATABASE_URL": "sqlite://"})
    for endpoint in app.view_functions:
        assert access.rule_of(app, endpoint) in access.RULES, endpoint


def test_an_undeclared_route_stops_the_app() -> None:
    app = create_app({**CONFIG, "DATABASE_URL": "sqlite://"})
    app.add_url_rule("/forgotten", "forgotten", lambda: "open to all by accident")
    with pytest.raises(RuntimeError, match="forgotten"):
        access.check_declared(app)


def _expected(rule: str, caller: str, arguments: tuple[str, ...], endpoint: str, method: str) -> str:
    """'allowed', 'signin' (anonymous sent to sign in) or 'forbidden' (403/404)."""
    if rule == access.PUBLIC:
        return "forbidden" if caller in REFUSES.get(endpoint, ()) else "allowed"
    if caller == "anonymous":
        return "signin"
    if STRENGTH[ROLE_OF[caller]] < STRENGTH[rule]:
        return "forbidden"
    owned_by_learner = any(a in LEARNER_OWNED for a in arguments) or ("job_id" in arguments and not endpoint.startswith("instructor."))
    editing = method != "GET" or endpoint == "instructor.edit_question"  # the editor opens only for who may save
    owned_by_instructor = "cohort_id" in arguments or ("job_id" in arguments and endpoint.startswith("instructor.")) or (
        editing and ("slug" in arguments or ("question_id" in arguments and endpoint.startswith("instructor."))))
    if owned_by_learner and caller != "learner":
        return "forbidden"
    if owned_by_instructor and caller not in ("instructor", "admin"):
        return "forbidden"
    return "allowed"


def _verdict(status: int, location: str, owner_call: bool, public: bool) -> str:
    if public:  # sign-in's own 401 for a wrong password, sign-out's way back to sign-in: both answers
        return "forbidden" if status == 403 else "allowed"
    if status in (302, 303) and "/signin" in location:
        return "signin"
    if status == 401:
        return "signin"
    if status == 403 or (status == 404 and not owner_call):
        return "forbidden"
    return "allowed"


@pytest.mark.parametrize("endpoint,method,rule,arguments", ROUTES, ids=[f"{m} {r}" for _e, m, r, _a in ROUTES])
def test_route_answers_each_caller_as_its_rule_says(prepared: tuple[Path, dict, dict], tmp_path: Path, endpoint: str,
                                                   method: str, rule: str, arguments: tuple[str, ...]) -> None:
    template, args, cookies = prepared
    missing = [a for a in arguments if a not in args and a != "job_id"]
    assert not missing, f"{rule}: give the matrix a value for {missing} (and say who owns it)"
    url = rule
    for name in (a for a in arguments if a != "job_id"):
        url = url.replace(f"<{name}>", str(args[name]))
        for conv in ("int", "string", "path"):
            url = url.replace(f"<{conv}:{name}>", str(args[name]))
    copy = tmp_path / "matrix.db"
    shutil.copyfile(template, copy)
    app: Flask = create_app({**CONFIG, "DATABASE_URL": f"sqlite:///{copy}"})
    limiter.reset()  # the limits are tested elsewhere; here every call must reach its rule
    if "job_id" in arguments:  # a grading job of the learner's (learner pages) or the instructor's (instructor pages)
        owner = args["instructor_id"] if endpoint.startswith("instructor.") else args["learner_id"]
        with app.app_context():
            job = grading_queue.current().submit("noop", {}, owner=f"user:{owner}")
        url = url.replace("<job_id>", job)
    declared = access.rule_of(app, endpoint)
    assert declared is not None
    seen = {}
    try:
        for caller in CALLERS:
            client = app.test_client()
            if caller != "anonymous":
                client.set_cookie("session", cookies[caller])
            resp = client.open(url, method=method, data={} if method != "GET" else None)
            assert resp.status_code != 500, f"{method} {url} as {caller}: 500"
            expected = _expected(declared, caller, arguments, endpoint, method)
            got = _verdict(resp.status_code, resp.headers.get("Location", ""), expected == "allowed",
                           declared == access.PUBLIC)
            seen[caller] = (resp.status_code, got)
            assert got == expected, f"{method} {url} (rule {declared}) as {caller}: {resp.status_code}, expected {expected}; all: {seen}"
    finally:
        app.extensions["engine"].dispose()


def test_the_matrix_sees_the_owner_and_the_stranger(prepared: tuple[Path, dict, dict], tmp_path: Path) -> None:
    """The fixture objects are really owned as the matrix assumes (else 'forbidden' proves nothing)."""
    template, args, _cookies = prepared
    engine = sa.create_engine(f"sqlite:///{template}")
    with Session(engine) as s:
        learner = accounts.authenticate(s, "alice", _password("alice"))
        teacher = accounts.authenticate(s, "teacher", _password("teacher"))
        assert learner is not None and teacher is not None
        assert s.get(Attempt, args["attempt_id"]).user_id == learner.id  # type: ignore[union-attr]
        assert s.get(MockInterview, args["mock_id"]).user_id == learner.id  # type: ignore[union-attr]
        assert s.get(Question, args["question_id"]).author_id == teacher.id  # type: ignore[union-attr]
        assert s.exec(select(Question).where(Question.origin == "bank")).first() is not None
    engine.dispose()
