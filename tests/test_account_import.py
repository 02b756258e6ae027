"""Issue 13, item 1: an account import reads only what a learner owns, refuses malformed files
with a 400 that says what and where, never lands in an instructor's account, keeps no forged
mock state, and restores a single-user export into the local account."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select
from werkzeug.security import check_password_hash

from interview import accounts, cohorts, db, mock
from interview.models import Attempt, Card, MockInterview, Review, User, utcnow
from interview.sync import sync_bank
from interview.web import create_app
from tests.test_web_app import answer_numeric, csrf_of, question_of_kind, sign_in

FORMAT = "interview-export/1"


from tests.test_web_instructor import app  # noqa: E402,F401 - the shared fixture: the bank, alice and teacher


def from_address(app: Flask, n: int) -> FlaskClient:
    """A client of its own address: imports share the per-address account-creation allowance."""
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = f"10.1.0.{n}"
    return c


def post_import(c: FlaskClient, doc: Any, **form: str) -> Any:
    page = c.get("/account")
    if page.status_code != 200:  # signed out: the form on the sign-up page
        page = c.get("/signup")
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return c.post("/account/import", data={"csrf_token": csrf_of(page.data), "file": (io.BytesIO(body), "me.json"),
                                           **form}, content_type="multipart/form-data")


def user_named(engine: sa.Engine, name: str) -> User | None:
    with Session(engine) as s:
        return s.exec(select(User).where(User.name == name)).first()


def test_an_import_never_makes_an_instructor_nor_takes_an_id(app: Flask, engine: sa.Engine) -> None:
    forged = {"format": FORMAT, "user": {
        "name": "mallory", "role": "instructor", "id": 1, "password_hash": "scrypt:forged", "session_key": "k" * 64,
        "created_at": "2000-01-01T00:00:00+00:00", "minutes_per_day": 45, "is_admin": True}}
    c = from_address(app, 1)
    resp = post_import(c, forged, password="mallory's password", confirm="mallory's password")
    assert resp.status_code == 302, resp.data
    mallory = user_named(engine, "mallory")
    assert mallory is not None and mallory.role == "learner" and mallory.id not in (1, None)
    assert mallory.minutes_per_day == 45  # a learner's own setting does come along
    assert mallory.password_hash and check_password_hash(mallory.password_hash, "mallory's password")
    assert mallory.session_key != "k" * 64 and mallory.created_at.year != 2000
    assert c.get("/instructor/").status_code == 403
    assert c.get("/practice/").status_code == 200
    assert user_named(engine, "alice").role == "learner"  # type: ignore[union-attr]  # id 1 untouched


def _valid(engine: sa.Engine) -> dict[str, Any]:
    qid = question_of_kind(engine, "numeric")
    return {"format": FORMAT, "user": {"name": "mallory", "minutes_per_day": 30},
            "cards": [{"id": 5, "question_id": qid, "state": 2, "due": "2026-05-01T09:00:00+00:00"}]}


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    ("wrong type", lambda d: d["user"].update(minutes_per_day="lots"), ["user.minutes_per_day", "integer"]),
    ("out of range", lambda d: d["user"].update(minutes_per_day=100000), ["user.minutes_per_day", "600"]),
    ("user missing", lambda d: d.pop("user"), ["user", "required"]),
    ("user a list", lambda d: d.update(user=["mallory"]), ["user", "dictionary"]),
    ("cards an integer", lambda d: d.update(cards=3), ["cards", "list"]),
    ("card without due", lambda d: d["cards"][0].pop("due"), ["cards[0].due", "required"]),
    ("unknown question", lambda d: d["cards"][0].update(question_id="no-such-question"),
     ["no-such-question", "cards[0].question_id", "does not have"]),
    ("review of no card", lambda d: d.update(reviews=[{"card_id": 77, "question_id": "x", "rating": 3,
                                                         "reviewed_at": "2026-05-01T09:00:00+00:00",
                                                         "due_after": "2026-05-02T09:00:00+00:00"}]),
     ["reviews[0].card_id", "no card 77"]),
    ("feedback not a list", lambda d: d.update(attempts=[{
        "id": 1, "question_id": d["cards"][0]["question_id"], "seed": 1, "answer": "1", "score": 1.0,
        "verdict": "correct", "grade": {"feedback": 5}, "created_at": "2026-05-01T09:00:00+00:00"}]),
     ["attempts[0].grade.feedback", "list"]),
    ("naive time", lambda d: d["cards"][0].update(due="2026-05-01T09:00:00"), ["cards[0].due", "timezone"]),
    ("not a number", lambda d: d["user"].update(desired_retention=float("nan")), ["user.desired_retention"]),
    ("unknown area", lambda d: d["user"].update(areas=["astrology"]), ["user.areas", "astrology"]),
]


def test_malformed_exports_answer_400_saying_what_and_where(app: Flask, engine: sa.Engine) -> None:
    for n, (case, damage, expected) in enumerate(MALFORMED, start=2):
        doc = _valid(engine)
        damage(doc)
        resp = post_import(from_address(app, n), json.dumps(doc).encode(), password="a long password",
                           confirm="a long password")
        text = resp.data.decode()
        assert resp.status_code == 400, (case, resp.status_code, text[:500])
        assert "Traceback" not in text, case
        missing = [e for e in expected if e not in text]
        assert not missing, (case, missing, re.findall(r"cannot be imported[^<]*|refers to[^<]*", text))
        assert user_named(engine, "mallory") is None, case  # nothing half-made
    ok = post_import(from_address(app, 99), _valid(engine), password="a long password", confirm="a long password")
    assert ok.status_code == 302  # the same file undamaged goes in


def test_a_signed_in_learner_imports_into_their_own_account(app: Flask, engine: sa.Engine) -> None:
    alice = from_address(app, 1)
    sign_in(alice, "alice", "alice password")
    _, form = answer_numeric(alice, question_of_kind(engine, "numeric"))
    assert alice.post("/practice/answer", data=form).status_code == 200
    exported = alice.get("/account/export").json
    with Session(engine) as s:
        accounts.create_user(s, "carol", "carol password")
    carol = from_address(app, 2)
    sign_in(carol, "carol", "carol password")
    assert post_import(carol, exported).status_code == 302
    again = post_import(carol, exported)
    assert again.status_code == 400 and b"already has history" in again.data
    assert post_import(carol, exported, replace="1").status_code == 302
    with Session(engine) as s:
        carol_id = user_named(engine, "carol").id  # type: ignore[union-attr]
        alice_id = user_named(engine, "alice").id  # type: ignore[union-attr]
        for model in (Card, Review, Attempt):
            mine = s.exec(select(model).where(model.user_id == carol_id)).all()  # type: ignore[attr-defined]
            theirs = s.exec(select(model).where(model.user_id == alice_id)).all()  # type: ignore[attr-defined]
            assert len(mine) == len(theirs) >= 1, model  # replaced, not doubled; alice's rows untouched
            assert not {r.id for r in mine} & {r.id for r in theirs}
    assert user_named(engine, "carol").role == "learner"  # type: ignore[union-attr]
    teacher = from_address(app, 3)
    sign_in(teacher, "teacher", "teacher password")
    refused = post_import(teacher, exported)
    assert refused.status_code == 403
    with Session(engine) as s:
        tid = user_named(engine, "teacher").id  # type: ignore[union-attr]
        assert s.exec(select(Card).where(Card.user_id == tid)).first() is None


def test_forged_mock_history_never_shows_on_the_cohort_page(app: Flask, engine: sa.Engine) -> None:
    qid = question_of_kind(engine, "numeric")
    with Session(engine, expire_on_commit=False) as s:
        teacher = user_named(engine, "teacher")
        alice = user_named(engine, "alice")
        cohort = cohorts.create(s, teacher, "Spring")  # type: ignore[arg-type]
        cohorts.join(s, alice, cohort.join_code, utcnow())  # type: ignore[arg-type]
        mock.ensure_formats(s)
        slug = mock.list_formats(s)[0].slug
        assignment = cohorts.assign_mock(s, cohort, slug, utcnow() + timedelta(days=3))
    far = "2099-01-01T00:00:00+00:00"
    forged = {"format": FORMAT, "user": {"name": "alice"}, "mocks": [
        {"id": 1, "format_slug": slug, "format": {"name": "Forged"}, "started_at": "2026-01-01T00:00:00+00:00",
         "deadline": far, "status": "running", "score": None},
        {"id": 2, "format_slug": slug, "format": {"name": "Forged"}, "started_at": "2026-01-02T00:00:00+00:00",
         "deadline": "2026-01-02T01:00:00+00:00", "submitted_at": "2026-01-02T00:30:00+00:00",
         "status": "submitted", "score": 1.0, "assignment_id": assignment.id}],
        "mock_items": [{"id": 10, "mock_id": 1, "position": 0, "section": "Mixed", "question_id": qid, "seed": 3},
                       {"id": 11, "mock_id": 2, "position": 0, "section": "Mixed", "question_id": qid, "seed": 4,
                        "answer": "0.5"}]}
    c = from_address(app, 1)
    sign_in(c, "alice", "alice password")
    assert post_import(c, forged).status_code == 302
    now = utcnow()
    with Session(engine) as s:
        mocks = s.exec(select(MockInterview).where(MockInterview.user_id == alice.id)).all()  # type: ignore[union-attr]
        assert len(mocks) == 2
        for m in mocks:  # finished, read-only history, tied to no assignment
            assert m.status == "imported" and m.assignment_id is None and m.deadline <= now
            assert m.submitted_at is not None and m.submitted_at <= now
        assert cohorts.overview(s, s.get(type(cohort), cohort.id), now)[0].mock_scores == []
        assert [done for _, _, done in cohorts.assignments_for(s, s.get(User, alice.id))] == [False]  # type: ignore[union-attr, arg-type]
        running_id = next(m.id for m in mocks if m.format_slug == slug and m.started_at.day == 1)
    sit = c.get(f"/mock/{running_id}")
    assert sit.status_code == 302 and sit.headers["Location"].endswith(f"/mock/{running_id}/report")
    assert c.get(f"/mock/{running_id}/report").status_code == 200
    page = c.post(f"/mock/{running_id}/save", data={"csrf_token": csrf_of(c.get("/mock/").data), "position": "0",
                                                     "answer": "1", "seconds": "1"})
    assert page.status_code == 409  # no answer goes into history
    teacher = from_address(app, 2)
    sign_in(teacher, "teacher", "teacher password")
    row = re.search(r"<td>alice</td>.*?</tr>", teacher.get(f"/instructor/cohorts/{cohort.id}").data.decode(), re.S)
    assert row is not None and "<td>-</td>" in row.group(0) and "1.0" not in row.group(0)


def test_a_single_user_export_restores_into_the_local_account(engine: sa.Engine, tmp_path, bundled_bank: list) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
    local = create_app({"ENGINE": engine, "SECRET_KEY": "local", "TESTING": True}).test_client()
    _, form = answer_numeric(local, question_of_kind(engine, "numeric"))
    assert local.post("/practice/answer", data=form).status_code == 200
    before = local.get("/account/export").json
    assert before["attempts"] and before["user"]["name"] == accounts.LOCAL_USER

    same = post_import(local, before)  # into itself: only as a replacement, said plainly
    assert same.status_code == 400 and b"already has history" in same.data
    assert post_import(local, before, replace="1").status_code == 302

    fresh = db.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    db.migrate(fresh)
    with Session(fresh) as s:
        sync_bank(s, bundled_bank)
    other = create_app({"ENGINE": fresh, "SECRET_KEY": "other", "TESTING": True}).test_client()
    resp = post_import(other, before)
    assert resp.status_code == 302, resp.data
    for client in (local, other):
        after = client.get("/account/export").json
        assert after["user"]["name"] == accounts.LOCAL_USER
        for key in ("cards", "reviews", "attempts"):
            strip = [{k: v for k, v in r.items() if k not in ("id", "card_id", "attempt_id", "submit_token")}
                     for r in after[key]]
            assert strip == [{k: v for k, v in r.items() if k not in ("id", "card_id", "attempt_id", "submit_token")}
                             for r in before[key]], key
    with Session(fresh) as s:
        assert [u.name for u in s.exec(select(User)).all()] == [accounts.LOCAL_USER]  # no unreachable copy
    fresh.dispose()


def test_imported_times_are_kept_in_utc(app: Flask, engine: sa.Engine) -> None:
    """A file's times in another zone are the same instants once stored."""
    doc = _valid(engine)
    doc["cards"][0]["due"] = "2026-05-01T11:00:00+02:00"
    assert post_import(from_address(app, 1), doc, password="a long password", confirm="a long password").status_code == 302
    with Session(engine) as s:
        card = s.exec(select(Card).where(Card.user_id == user_named(engine, "mallory").id)).one()  # type: ignore[union-attr]
        assert card.due == datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
