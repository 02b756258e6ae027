"""The instructor's import page takes Moodle XML and GIFT files; exports through the browser."""
from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session

from interview.models import Question, User
from tests.test_web_app import csrf_of
from tests.test_web_instructor import app, teacher  # noqa: F401 - fixtures

FIXTURES = Path(__file__).parent / "fixtures" / "interop"


def test_import_page_takes_moodle_xml_and_gift(teacher: FlaskClient, engine: sa.Engine) -> None:  # noqa: F811
    page = teacher.get("/instructor/import")
    assert b".gift" in page.data
    token = csrf_of(page.data)
    resp = teacher.post("/instructor/import", data={"csrf_token": token, "file": (io.BytesIO(
        (FIXTURES / "questions.gift").read_bytes()), "course.gift")}, content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert "Nothing was imported" in body and "line 40" in body and "matching questions" in body
    resp = teacher.post("/instructor/import", data={"csrf_token": token, "file": (io.BytesIO(
        (FIXTURES / "moodle_calculated.xml").read_bytes()), "stats.xml")}, content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert "added 2" in body and "Converted with a note" in body and "log-uniform" in body
    with Session(engine) as s:
        row = s.get(Question, "expected-gain-game")
        owner = s.get(User, row.author_id) if row else None
        assert row is not None and owner is not None and owner.name == "teacher"
