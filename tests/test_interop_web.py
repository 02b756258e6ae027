"""The instructor's import page takes Moodle XML and GIFT files; exports through the browser."""
from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session, select

from interview.models import Question, User
from tests.test_web_app import csrf_of, sign_in
from tests.test_web_instructor import app, follow_job, teacher  # noqa: F401 - fixtures

FIXTURES = Path(__file__).parent / "fixtures" / "interop"


def test_import_page_takes_moodle_xml_and_gift(teacher: FlaskClient, engine: sa.Engine) -> None:  # noqa: F811
    page = teacher.get("/instructor/import")
    assert b".gift" in page.data
    token = csrf_of(page.data)
    resp = follow_job(teacher, teacher.post("/instructor/import", data={"csrf_token": token, "file": (io.BytesIO(
        (FIXTURES / "questions.gift").read_bytes()), "course.gift")}, content_type="multipart/form-data"))
    body = resp.get_data(as_text=True)
    assert "Nothing was imported" in body and "line 40" in body and "matching questions" in body
    resp = follow_job(teacher, teacher.post("/instructor/import", data={"csrf_token": token, "file": (io.BytesIO(
        (FIXTURES / "moodle_calculated.xml").read_bytes()), "stats.xml")}, content_type="multipart/form-data"))
    body = resp.get_data(as_text=True)
    assert "added 3" in body and "Converted with a note" in body and "log-uniform" in body
    with Session(engine) as s:
        row = s.get(Question, "expected-gain-game")
        owner = s.get(User, row.author_id) if row else None
        assert row is not None and owner is not None and owner.name == "teacher"


def _cohort_with_learners(teacher: FlaskClient, app, engine: sa.Engine):  # type: ignore[no-untyped-def]  # noqa: F811
    from datetime import timedelta

    from interview import accounts, cohorts, mock
    from interview.models import Cohort, CohortAssignment, MockInterview, utcnow
    token = csrf_of(teacher.get("/instructor/").data)
    teacher.post("/instructor/cohorts", data={"csrf_token": token, "name": "Spring cohort"})
    now = utcnow()
    with Session(engine) as s:
        mock.ensure_formats(s)
        cohort = s.exec(select(Cohort)).one()
        bob = accounts.create_user(s, "bob", "bob password")
        alice = s.exec(select(User).where(User.name == "alice")).one()
        for u in (alice, bob):
            cohorts.join(s, u, cohort.join_code, now)
        a1 = cohorts.assign_mock(s, cohort, "quick-5", now + timedelta(days=7))
        s.add(MockInterview(user_id=alice.id, format_slug="quick-5", format={}, status="submitted", score=0.8,
                            assignment_id=a1.id, deadline=now))
        s.add(MockInterview(user_id=alice.id, format_slug="quick-5", format={}, status="submitted", score=0.5, deadline=now))
        s.add(MockInterview(user_id=bob.id, format_slug="quick-5", format={}, status="running", assignment_id=a1.id,
                            deadline=now))
        s.commit()
        return cohort.id


def test_cohort_gradebook_csv_and_xlsx(teacher: FlaskClient, app, engine: sa.Engine) -> None:  # noqa: F811
    import csv

    from openpyxl import load_workbook

    cohort_id = _cohort_with_learners(teacher, app, engine)
    page = teacher.get(f"/instructor/cohorts/{cohort_id}")
    assert f"/instructor/cohorts/{cohort_id}/gradebook.csv".encode() in page.data
    resp = teacher.get(f"/instructor/cohorts/{cohort_id}/gradebook.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    header = rows[0]
    assert header[0] == "learner" and header[1].startswith("quick-5 (due ")
    assert header[2:5] == ["other mocks", "other mocks mean %", "mastery %"]
    assert {"mastery math %", "mastery ml %", "mastery behavioral %"} <= set(header)
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["alice"][1:4] == ["80.0", "1", "50.0"]
    assert by_name["bob"][1:4] == ["", "0", ""]  # a running mock is not a grade
    assert by_name["bob"][4] == "0.0"  # no reviews: nothing mastered
    xlsx = teacher.get(f"/instructor/cohorts/{cohort_id}/gradebook.xlsx")
    ws = load_workbook(io.BytesIO(xlsx.data)).active
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[0] == header and values[1][:4] == ["alice", 80.0, 1, 50.0]
    other = app.test_client()
    sign_in(other, "alice", "alice password")
    assert other.get(f"/instructor/cohorts/{cohort_id}/gradebook.csv").status_code == 403


def test_gradebook_never_writes_a_formula() -> None:
    from openpyxl import load_workbook

    from interview.interop import gradebook

    book = gradebook.Gradebook(["learner", "score"], [['=HYPERLINK("http://x","y")', 50.0], ["+1-1", None]])
    assert gradebook.to_csv(book).decode("utf-8-sig").splitlines()[1].startswith("\"'=HYPERLINK")
    ws = load_workbook(io.BytesIO(gradebook.to_xlsx(book, "c"))).active
    assert ws["A2"].data_type == "s" and ws["A2"].value.startswith("=HYPERLINK")
    assert ws["A3"].data_type == "s"


def test_learner_anki_and_instructor_moodle_downloads(teacher: FlaskClient, app) -> None:  # noqa: F811
    learner = app.test_client()
    sign_in(learner, "alice", "alice password")
    assert b"Export to Anki" in learner.get("/progress/").data
    assert b"Only my cards due now" in learner.get("/export").data
    deck = learner.get("/export/anki?area=ml&topic=regularization&scope=all")
    assert deck.status_code == 200 and deck.data[:2] == b"PK"
    assert learner.get("/export/anki?area=nope").status_code == 400
    assert learner.get("/instructor/export/moodle").status_code == 403
    xml = teacher.get("/instructor/export/moodle?area=coding&topic=sql")
    assert xml.status_code == 200 and b"<quiz>" in xml.data and b"not exported:" in xml.data  # sql has no Moodle form
