"""Instructor routes: learners get 403 on every one; authoring, history, import, cohorts, items."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from interview import accounts
from interview.models import Cohort, CohortMember, Question
from interview.sync import sync_bank
from interview.web import create_app
from tests.test_bank_loader import GOOD
from tests.test_web_app import csrf_of, field, sign_in

AUTHORED = GOOD.replace("id: good-question", "id: web-authored")

INSTRUCTOR_ROUTES = [
    ("GET", "/instructor/"),
    ("GET", "/instructor/questions/new?kind=numeric&title=x&area=ml&topic=fundamentals"),
    ("POST", "/instructor/questions/new"),
    ("GET", "/instructor/questions/web-authored/edit"),
    ("POST", "/instructor/questions/web-authored/edit"),
    ("GET", "/instructor/questions/web-authored/history"),
    ("POST", "/instructor/questions/web-authored/retire"),
    ("GET", "/instructor/import"),
    ("POST", "/instructor/import"),
    ("GET", "/instructor/jobs/0123456789abcdef"),
    ("GET", "/instructor/export"),
    ("POST", "/instructor/cohorts"),
    ("GET", "/instructor/cohorts/1"),
    ("POST", "/instructor/cohorts/1/assign"),
    ("GET", "/instructor/items"),
    ("GET", "/instructor/formats"),
    ("GET", "/instructor/formats/quick-5"),
    ("POST", "/instructor/formats/quick-5"),
]


@pytest.fixture
def app(engine: sa.Engine, bundled_bank: list) -> Flask:
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
        accounts.create_user(s, "alice", "alice password")
        accounts.create_user(s, "teacher", "teacher password", role="instructor")
    return create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "test-secret", "TESTING": True})


@pytest.fixture
def teacher(app: Flask) -> FlaskClient:
    c = app.test_client()
    sign_in(c, "teacher", "teacher password")
    return c


@pytest.mark.parametrize("method, path", INSTRUCTOR_ROUTES)
def test_learners_get_403_and_anonymous_are_redirected(app: Flask, method: str, path: str) -> None:
    learner = app.test_client()
    sign_in(learner, "alice", "alice password")
    token = csrf_of(learner.get("/practice/").data)
    resp = learner.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
    assert resp.status_code == 403, (path, resp.status_code)
    anonymous = app.test_client().open(path, method=method)
    assert anonymous.status_code in (302, 400), path  # redirected to sign in (or refused without a CSRF token)
    if method == "GET":
        assert anonymous.status_code == 302 and "/signin" in anonymous.headers["Location"]


def follow_job(c: FlaskClient, resp, timeout: float = 120):  # type: ignore[no-untyped-def]
    """A check, save or import goes on the grading queue: follow to its page until it is done."""
    import time

    assert resp.status_code == 303, resp.data[:500]
    url = resp.headers["Location"]
    deadline = time.monotonic() + timeout
    while True:
        page = c.get(url)
        if page.status_code != 202 or time.monotonic() > deadline:
            return page
        time.sleep(0.1)


def editor_post(c: FlaskClient, url: str, text: str, action: str) -> tuple[int, bytes]:
    page = c.get("/instructor/")
    resp = follow_job(c, c.post(url, data={"csrf_token": csrf_of(page.data), "yaml": text, "action": action}))
    return resp.status_code, resp.data


def test_authoring_round_trip_through_the_browser_routes(teacher: FlaskClient, app: Flask, engine: sa.Engine) -> None:
    skeleton = teacher.get("/instructor/questions/new?kind=choice&title=My+first+question&area=ml&topic=fundamentals")
    assert skeleton.status_code == 200 and b"id: my-first-question" in skeleton.data
    for kind in ("numeric", "choice", "multi"):
        starter = teacher.get(f"/instructor/questions/new?kind={kind}&title=Starter+{kind}&area=ml&topic=fundamentals")
        text = re.search(rb'<textarea class="code" name="yaml"[^>]*>(.*?)</textarea>', starter.data, re.S).group(1)  # type: ignore[union-attr]
        import html

        code, body = editor_post(teacher, "/instructor/questions/new", html.unescape(text.decode()), "check")
        assert code == 200 and b"All checks pass" in body, body[:2000]

    code, body = editor_post(teacher, "/instructor/questions/new", AUTHORED.replace("kind: numeric", "kind: numerik"), "save")
    assert code == 400 and b"must be one of" in body and b"kind" in body  # shown inline
    code, body = editor_post(teacher, "/instructor/questions/new", AUTHORED, "check")
    assert code == 200 and b"Preview of a random variant" in body
    code, _ = editor_post(teacher, "/instructor/questions/new", AUTHORED, "save")
    assert code == 302
    code, _ = editor_post(teacher, "/instructor/questions/web-authored/edit", AUTHORED.replace("difficulty: 2", "difficulty: 4"), "save")
    assert code == 302
    hist = teacher.get("/instructor/questions/web-authored/history")
    assert b"version 2" in hist.data and b"+difficulty: 4" in hist.data
    # a learner now practises the new version
    learner = app.test_client()
    sign_in(learner, "alice", "alice password")
    page = learner.get("/practice/q/web-authored")
    assert page.status_code == 200 and b"difficulty 4" in page.data
    # retiring hides it from new practice
    token = csrf_of(teacher.get("/instructor/").data)
    assert teacher.post("/instructor/questions/web-authored/retire", data={"csrf_token": token}).status_code == 302
    assert learner.get("/practice/q/web-authored").status_code == 404
    with Session(engine) as s:
        assert s.get(Question, "web-authored").status == "retired"  # type: ignore[union-attr]


def test_bank_questions_are_not_edited_in_the_browser(teacher: FlaskClient) -> None:
    assert teacher.get("/instructor/questions/f1-from-confusion-counts/edit").status_code == 409


def zip_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def test_import_page_is_all_or_nothing_with_progress(teacher: FlaskClient, engine: sa.Engine) -> None:
    token = csrf_of(teacher.get("/instructor/import").data)
    bad = zip_of({"a/web-one.yaml": AUTHORED.replace("web-authored", "web-one"),
                  "b/web-two.yaml": AUTHORED.replace("web-authored", "web-two").replace("kind: numeric", "kind: nope")})
    resp = teacher.post("/instructor/import", data={"csrf_token": token, "file": (io.BytesIO(bad), "q.zip")},
                        content_type="multipart/form-data")
    waiting = teacher.get(resp.headers["Location"])
    assert waiting.status_code == 400 or b"refresh" in waiting.data  # a self-refreshing page until it is done
    body = follow_job(teacher, resp).get_data()
    assert b"Nothing was imported" in body and b"web-two.yaml" in body
    with Session(engine) as s:
        assert s.get(Question, "web-one") is None
    good = zip_of({"a/web-one.yaml": AUTHORED.replace("web-authored", "web-one")})
    resp = teacher.post("/instructor/import", data={"csrf_token": token, "file": (io.BytesIO(good), "q.zip")},
                        content_type="multipart/form-data")
    body = follow_job(teacher, resp).get_data()
    assert b"added 1" in body
    export = teacher.get("/instructor/export?scope=mine")
    with zipfile.ZipFile(io.BytesIO(export.data)) as z:
        assert z.read("ml/web-one.yaml").decode() == AUTHORED.replace("web-authored", "web-one")


def test_cohort_join_overview_assignment_and_items(teacher: FlaskClient, app: Flask, engine: sa.Engine) -> None:
    token = csrf_of(teacher.get("/instructor/").data)
    resp = teacher.post("/instructor/cohorts", data={"csrf_token": token, "name": "Autumn bootcamp"})
    assert resp.status_code == 302
    with Session(engine) as s:
        cohort = s.exec(select(Cohort)).one()
    learner = app.test_client()
    sign_in(learner, "alice", "alice password")
    ltoken = csrf_of(learner.get("/account").data)
    assert learner.post("/cohorts/join", data={"csrf_token": ltoken, "code": "WRONG123"}).status_code == 404
    assert learner.post("/cohorts/join", data={"csrf_token": ltoken, "code": cohort.join_code.lower()}).status_code == 302
    with Session(engine) as s:
        assert s.exec(select(CohortMember)).one().cohort_id == cohort.id
    page = teacher.get(f"/instructor/cohorts/{cohort.id}")
    assert page.status_code == 200 and b"alice" in page.data and b"no reviews yet" in page.data
    assign = teacher.post(f"/instructor/cohorts/{cohort.id}/assign", data={"csrf_token": token, "format": "quick-5", "due": "2031-02-01"})
    assert assign.status_code == 302
    mocks = learner.get("/mock/")
    assert b"Assigned by your cohorts" in mocks.data and b"quick-5" in mocks.data
    started = learner.post("/mock/start", data={"csrf_token": csrf_of(mocks.data), "assignment": field(mocks.data, "assignment")})
    assert started.status_code == 302
    items = teacher.get(f"/instructor/items?cohort={cohort.id}")
    assert items.status_code == 200 and b"Item analysis" in items.data


def test_mock_formats_are_editable(teacher: FlaskClient) -> None:
    page = teacher.get("/instructor/formats/quick-5")
    assert page.status_code == 200
    token = csrf_of(page.data)
    bad = teacher.post("/instructor/formats/quick-5", data={"csrf_token": token, "yaml": "name: X\nminutes: 0\nsections: []"})
    assert bad.status_code == 400
    ok = teacher.post("/instructor/formats/tiny-3", data={"csrf_token": token, "yaml":
                      "name: Tiny mock\nminutes: 3\nsections:\n  - {name: Math, areas: [math], count: 1}\n"})
    assert ok.status_code == 302
    assert b"Tiny mock" in teacher.get("/instructor/formats").data


def test_an_unexpected_import_failure_is_reported_not_hung(teacher: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from interview import authoring

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(authoring, "import_questions", broken)
    token = csrf_of(teacher.get("/instructor/import").data)
    resp = teacher.post("/instructor/import", data={"csrf_token": token, "file": (io.BytesIO(zip_of({})), "q.zip")},
                        content_type="multipart/form-data")
    body = follow_job(teacher, resp).get_data()
    assert b"failed unexpectedly; nothing was imported" in body and b"disk on fire" not in body
