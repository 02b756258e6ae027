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
from interview.models import Attempt, Cohort, CohortMember, MockFormat, Question, User
from interview.sync import sync_bank
from interview.web import create_app
from tests.test_bank_loader import GOOD
from tests.conftest import REPO
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


def admin_client(app: Flask, engine: sa.Engine) -> FlaskClient:
    """An admin, made as the command line makes one (no request can)."""
    with Session(engine) as s:
        accounts.create_user(s, "root", "root password", role="admin")
    c = app.test_client()
    sign_in(c, "root", "root password")
    return c


def other_instructor(app: Flask, engine: sa.Engine) -> FlaskClient:
    with Session(engine) as s:
        accounts.create_user(s, "mallory", "mallory password", role="instructor")
    c = app.test_client()
    sign_in(c, "mallory", "mallory password")
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

    if resp.status_code != 303:  # refused before anything was queued (e.g. 403: not yours to edit)
        return resp
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


def test_bank_questions_are_not_edited_in_the_browser_by_anyone(teacher: FlaskClient, app: Flask, engine: sa.Engine) -> None:
    admin = admin_client(app, engine)
    bank_text = (REPO / "question_bank" / "ml" / "f1-from-confusion-counts.yaml").read_text()
    with Session(engine) as s:
        before = s.get(Question, "f1-from-confusion-counts").model_dump()  # type: ignore[union-attr]
    for c in (teacher, admin):
        assert c.get("/instructor/questions/f1-from-confusion-counts/edit").status_code == 403
        code, body = editor_post(c, "/instructor/questions/f1-from-confusion-counts/edit", bank_text.replace("difficulty: 2", "difficulty: 5"), "save")
        assert code == 403, body[:500]
        code, body = editor_post(c, "/instructor/questions/new", bank_text, "save")
        assert code == 403 and b"bundled bank" in body
        assert c.post("/instructor/questions/f1-from-confusion-counts/retire",
                      data={"csrf_token": csrf_of(c.get("/instructor/").data)}).status_code == 403
    with Session(engine) as s:
        assert s.get(Question, "f1-from-confusion-counts").model_dump() == before  # type: ignore[union-attr]


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
    bundled = teacher.post("/instructor/formats/quick-5", data={"csrf_token": token, "yaml": "name: X\nminutes: 0\nsections: []"})
    assert bundled.status_code == 403  # bundled formats change through their file
    ok = teacher.post("/instructor/formats/tiny-3", data={"csrf_token": token, "yaml":
                      "name: Tiny mock\nminutes: 3\nsections:\n  - {name: Math, areas: [math], count: 1}\n"})
    assert ok.status_code == 302
    bad = teacher.post("/instructor/formats/tiny-3", data={"csrf_token": token, "yaml": "name: X\nminutes: 0\nsections: []"})
    assert bad.status_code == 400
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


def test_editor_reports_every_problem_and_refuses_hostile_yaml(teacher: FlaskClient) -> None:
    from tests.test_bank_loader import alias_bomb

    two = AUTHORED.replace("difficulty: 2", "difficulty: 7").replace("value: a + b", "value: a + bogus")
    code, body = editor_post(teacher, "/instructor/questions/new", two, "check")
    assert code == 400
    assert b"must be at most 5, not 7" in body and b"unknown name &#39;bogus&#39;" in body
    assert re.search(rb"answer\.value\W[^<]*</", body) and b"params: seed" not in body
    # the review's alias bomb: a short refusal naming the line, not a 17 MB page
    code, body = editor_post(teacher, "/instructor/questions/new", AUTHORED + alias_bomb(7), "check")
    assert code == 400 and len(body) < 60_000 and b"are not allowed in question files" in body and b"line 15" in body
    for deep in ("id: " + "[" * 10_000, "id: " + "{a: " * 5_000):
        code, body = editor_post(teacher, "/instructor/questions/new", deep, "save")
        assert code == 400 and b"nested more than 40 levels deep" in body
    code, body = editor_post(teacher, "/instructor/questions/new", AUTHORED + "source: " + "s" * 70_000 + "\n", "check")
    assert code == 400 and b"at most 64 KiB" in body and len(body) < 200_000


def test_import_refuses_hostile_yaml_as_listed_problems(teacher: FlaskClient, engine: sa.Engine) -> None:
    from tests.test_bank_loader import alias_bomb

    token = csrf_of(teacher.get("/instructor/import").data)
    archive = zip_of({"a/web-bomb.yaml": AUTHORED.replace("web-authored", "web-bomb") + alias_bomb(7),
                      "a/web-deep.yaml": "id: " + "[" * 10_000})
    resp = follow_job(teacher, teacher.post("/instructor/import", data={"csrf_token": token, "file": (io.BytesIO(archive), "q.zip")},
                                            content_type="multipart/form-data"))
    body = resp.get_data()
    assert resp.status_code == 400 and b"Nothing was imported" in body and len(body) < 60_000
    assert b"are not allowed in question files" in body and b"nested more than 40 levels deep" in body
    with Session(engine) as s:
        assert s.get(Question, "web-bomb") is None


def snapshot(engine: sa.Engine) -> dict:
    with Session(engine) as s:
        return {"questions": [q.model_dump() for q in s.exec(select(Question).order_by(Question.id)).all()],
                "formats": [f.model_dump() for f in s.exec(select(MockFormat).order_by(MockFormat.slug)).all()]}


def test_an_instructor_cannot_change_another_instructors_work(teacher: FlaskClient, app: Flask, engine: sa.Engine) -> None:
    """Issue 13 item 8: each attack answers 403 and changes nothing."""
    assert editor_post(teacher, "/instructor/questions/new", AUTHORED, "save")[0] == 302
    token = csrf_of(teacher.get("/instructor/formats/tiny-3").data)
    tiny = "name: Tiny mock\nminutes: 3\nsections:\n  - {name: Math, areas: [math], count: 1}\n"
    assert teacher.post("/instructor/formats/tiny-3", data={"csrf_token": token, "yaml": tiny}).status_code == 302
    mallory = other_instructor(app, engine)
    before = snapshot(engine)
    hijack = AUTHORED.replace("difficulty: 2", "difficulty: 5")
    assert mallory.get("/instructor/questions/web-authored/edit").status_code == 403
    assert editor_post(mallory, "/instructor/questions/web-authored/edit", hijack, "save")[0] == 403
    code, body = editor_post(mallory, "/instructor/questions/new", hijack, "save")  # the same id through "new"
    assert code == 403 and b"another instructor" in body
    mtoken = csrf_of(mallory.get("/instructor/").data)
    assert mallory.post("/instructor/questions/web-authored/retire", data={"csrf_token": mtoken}).status_code == 403
    assert mallory.post("/instructor/questions/f1-from-confusion-counts/retire", data={"csrf_token": mtoken}).status_code == 403
    assert mallory.post("/instructor/formats/tiny-3", data={"csrf_token": mtoken, "yaml": tiny.replace("3", "4")}).status_code == 403
    assert mallory.post("/instructor/formats/quick-5", data={"csrf_token": mtoken, "yaml": tiny}).status_code == 403
    resp = follow_job(mallory, mallory.post("/instructor/import", data={"csrf_token": mtoken, "file": (io.BytesIO(zip_of({"web-authored.yaml": hijack})), "q.zip")},
                                            content_type="multipart/form-data"))
    assert b"Nothing was imported" in resp.get_data() and b"another instructor" in resp.get_data()
    # what mallory sees: read-only pages, no edit link or save button
    page = mallory.get("/instructor/formats/tiny-3")
    assert page.status_code == 200 and b"Save format" not in page.data and b"another instructor" in page.data.lower()
    assert b">edit</a>" not in mallory.get("/instructor/questions/web-authored/history").data
    assert snapshot(engine) == before
    # the owner still can
    assert editor_post(teacher, "/instructor/questions/web-authored/edit", hijack, "save")[0] == 302


def test_an_admin_may_change_any_instructors_work_but_not_bundled_formats(teacher: FlaskClient, app: Flask, engine: sa.Engine) -> None:
    assert editor_post(teacher, "/instructor/questions/new", AUTHORED, "save")[0] == 302
    token = csrf_of(teacher.get("/instructor/formats/tiny-3").data)
    tiny = "name: Tiny mock\nminutes: 3\nsections:\n  - {name: Math, areas: [math], count: 1}\n"
    assert teacher.post("/instructor/formats/tiny-3", data={"csrf_token": token, "yaml": tiny}).status_code == 302
    admin = admin_client(app, engine)
    home = admin.get("/instructor/")  # an admin is an instructor too, and lists everyone's questions
    assert home.status_code == 200 and b"web-authored" in home.data
    assert editor_post(admin, "/instructor/questions/web-authored/edit", AUTHORED.replace("difficulty: 2", "difficulty: 4"), "save")[0] == 302
    atoken = csrf_of(admin.get("/instructor/").data)
    assert admin.post("/instructor/formats/tiny-3", data={"csrf_token": atoken, "yaml": tiny.replace("minutes: 3", "minutes: 4")}).status_code == 302
    assert admin.post("/instructor/questions/web-authored/retire", data={"csrf_token": atoken}).status_code == 302
    assert admin.post("/instructor/formats/quick-5", data={"csrf_token": atoken, "yaml": tiny}).status_code == 403
    with Session(engine) as s:
        teacher_id = s.exec(select(User.id).where(User.name == "teacher")).one()
        row = s.get(Question, "web-authored")
        assert (row.version, row.difficulty, row.status, row.author_id) == (2, 4, "retired", teacher_id)  # type: ignore[union-attr]
        fmt = s.get(MockFormat, "tiny-3")
        assert (fmt.minutes, fmt.owner_id) == (4, teacher_id)  # type: ignore[union-attr]
        assert s.get(MockFormat, "quick-5").minutes == 5  # type: ignore[union-attr]


def test_item_analysis_everyone_is_your_own_cohorts_unless_admin(teacher: FlaskClient, app: Flask, engine: sa.Engine) -> None:
    token = csrf_of(teacher.get("/instructor/").data)
    assert teacher.post("/instructor/cohorts", data={"csrf_token": token, "name": "Mine"}).status_code == 302
    with Session(engine) as s:
        alice = s.exec(select(User).where(User.name == "alice")).one()
        stranger = accounts.create_user(s, "stranger", "stranger password")
        cohort = s.exec(select(Cohort)).one()
        s.add(CohortMember(cohort_id=cohort.id, user_id=alice.id))  # type: ignore[arg-type]
        for uid, answer in ((alice.id, "alice-wrong-answer"), (stranger.id, "stranger-secret-answer")):
            s.add(Attempt(user_id=uid, question_id="f1-from-confusion-counts", seed=0, answer=answer, score=0.0,  # type: ignore[arg-type]
                          verdict="incorrect", seconds_taken=20.0))
        s.commit()
    mine = teacher.get("/instructor/items").data
    assert b"alice-wrong-answer" in mine and b"stranger-secret-answer" not in mine
    assert b"learners of your cohorts" in mine
    with Session(engine) as s:  # and the instructor's own attempts
        teacher_id = s.exec(select(User.id).where(User.name == "teacher")).one()
        s.add(Attempt(user_id=teacher_id, question_id="f1-from-confusion-counts", seed=0, answer="teacher-try",
                      score=0.0, verdict="incorrect"))
        s.commit()
    assert b"teacher-try" in teacher.get("/instructor/items").data
    everyone = admin_client(app, engine).get("/instructor/items").data
    assert b"alice-wrong-answer" in everyone and b"stranger-secret-answer" in everyone
    # an instructor with no cohort sees no one
    assert b"alice-wrong-answer" not in other_instructor(app, engine).get("/instructor/items").data


def test_deleting_an_instructor_who_runs_a_cohort(teacher: FlaskClient, app: Flask, engine: sa.Engine) -> None:
    """Refused (naming the cohort) while no admin can take it; then handed to the admin, the
    questions and formats kept without an owner, no foreign key failing."""
    token = csrf_of(teacher.get("/instructor/").data)
    assert teacher.post("/instructor/cohorts", data={"csrf_token": token, "name": "Autumn bootcamp"}).status_code == 302
    assert editor_post(teacher, "/instructor/questions/new", AUTHORED, "save")[0] == 302
    tiny = "name: Tiny mock\nminutes: 3\nsections:\n  - {name: Math, areas: [math], count: 1}\n"
    assert teacher.post("/instructor/formats/tiny-3", data={"csrf_token": token, "yaml": tiny}).status_code == 302
    with Session(engine) as s:
        cohort = s.exec(select(Cohort)).one()
        alice_id = s.exec(select(User.id).where(User.name == "alice")).one()
        s.add(CohortMember(cohort_id=cohort.id, user_id=alice_id))  # type: ignore[arg-type]
        s.commit()
    atoken = csrf_of(teacher.get("/account").data)
    refused = teacher.post("/account/delete", data={"csrf_token": atoken, "confirm_name": "teacher"})
    assert refused.status_code == 409 and b"Autumn bootcamp" in refused.data and b"--admin" in refused.data
    with Session(engine) as s:
        assert s.exec(select(User).where(User.name == "teacher")).first() is not None
    admin_client(app, engine)
    done = teacher.post("/account/delete", data={"csrf_token": atoken, "confirm_name": "teacher"})
    assert done.status_code == 302
    with Session(engine) as s:
        root = s.exec(select(User).where(User.name == "root")).one()
        assert s.exec(select(User).where(User.name == "teacher")).first() is None
        assert s.exec(select(Cohort)).one().instructor_id == root.id
        assert s.exec(select(CohortMember)).one().user_id == alice_id
        assert s.get(Question, "web-authored").author_id is None  # type: ignore[union-attr]
        assert s.get(MockFormat, "tiny-3").owner_id is None  # type: ignore[union-attr]


def test_admin_required_lets_only_admins_through(engine: sa.Engine, bundled_bank: list) -> None:
    from interview.web.auth import admin_required

    with Session(engine) as s:
        for name, role in (("alice", "learner"), ("teacher", "instructor"), ("root", "admin")):
            accounts.create_user(s, name, f"{name} password", role=role)
    app = create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "test-secret", "TESTING": True})
    app.add_url_rule("/admin-only", "admin_only", admin_required(lambda: "admin page"))
    assert app.test_client().get("/admin-only").status_code == 302  # anonymous: to sign in
    for name, status in (("alice", 403), ("teacher", 403), ("root", 200)):
        c = app.test_client()
        sign_in(c, name, f"{name} password")
        assert c.get("/admin-only").status_code == status, name
