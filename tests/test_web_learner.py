"""The learner's daily loop through Flask's test client (issue 15): forms posted the way a browser
posts them, the settings' checks, the favicon, and the services behind the result pages."""
from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict

from interview import accounts
from interview.models import MockInterview, User, utcnow
from interview.sync import sync_bank
from interview.web import create_app


@pytest.fixture
def app(engine: sa.Engine, bundled_bank: list) -> Flask:
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
        accounts.create_user(s, "alice", "alice password")
    return create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "test-secret", "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    c = app.test_client()
    page = c.get("/signin")
    resp = c.post("/signin", data={"csrf_token": csrf_of(page.data), "name": "alice", "password": "alice password"})
    assert resp.status_code == 302
    return c


def csrf_of(html: bytes) -> str:
    m = re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1).decode()


class _Form(HTMLParser):
    """The fields a browser sends for one form: its enabled named inputs in document order, and the
    clicked submit button's own name and value."""

    def __init__(self, form_id: str, button_text: str) -> None:
        super().__init__()
        self.form_id, self.button_text = form_id, button_text
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.buttons: list[dict[str, str | None]] = []
        self._button: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        elif self.inside and tag == "input" and a.get("name") and "disabled" not in a:
            if a.get("type") not in ("radio", "checkbox") or "checked" in a:
                self.fields.append((a["name"] or "", a.get("value") or ""))
        elif self.inside and tag == "button":
            self._button = dict(a, text="")

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] = (self._button["text"] or "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "button" and self._button is not None:
            self.buttons.append(self._button)
            self._button = None

    def submission(self) -> MultiDict:
        button = next(b for b in self.buttons if self.button_text in (b["text"] or ""))
        data = MultiDict(self.fields)
        if button.get("name"):
            data.add(button["name"], button.get("value") or "")
        return data


def browser_post(client: FlaskClient, page_html: bytes, url: str, form_id: str, button: str,
                 **answers: str):  # type: ignore[no-untyped-def]
    parser = _Form(form_id, button)
    parser.feed(page_html.decode())
    data = parser.submission()
    for key, value in answers.items():
        data.setlist(key, [value])
    return client.post(url, data=data)


@pytest.mark.parametrize("position", [0, 2])
def test_submit_mock_submits_from_any_question(client: FlaskClient, engine: sa.Engine, position: int) -> None:
    """The sitting form's "Submit mock" finishes the mock (issue 15, item 1): from the first
    question and from the last, where the old form answered 404."""
    index = client.get("/mock/")
    started = client.post("/mock/start", data={"csrf_token": csrf_of(index.data), "format": "quick-5"})
    sit_url = started.headers["Location"]
    mock_id = int(sit_url.rstrip("/").split("/")[-1])
    page = client.get(f"{sit_url}?q={position}")
    assert page.status_code == 200
    resp = browser_post(client, page.data, f"/mock/{mock_id}/save", "mock-form", "Submit mock", answer="A")
    assert resp.status_code == 302, resp.data
    assert resp.headers["Location"].endswith(f"/mock/{mock_id}/report")
    with Session(engine) as s:
        m = s.get(MockInterview, mock_id)
        assert m is not None and m.status == "submitted"
    assert b"No mock interviews yet" not in client.get("/progress/").data


def test_save_and_next_keeps_the_mock_running(client: FlaskClient, engine: sa.Engine) -> None:
    index = client.get("/mock/")
    sit_url = client.post("/mock/start", data={"csrf_token": csrf_of(index.data), "format": "quick-5"}).headers["Location"]
    mock_id = int(sit_url.rstrip("/").split("/")[-1])
    page = client.get(sit_url)
    resp = browser_post(client, page.data, f"/mock/{mock_id}/save", "mock-form", "Save & next", answer="A")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("q=1")
    with Session(engine) as s:
        assert s.get(MockInterview, mock_id).status == "running"  # type: ignore[union-attr]


def _settings(client: FlaskClient, **overrides: str):  # type: ignore[no-untyped-def]
    page = client.get("/account")
    data = {"csrf_token": csrf_of(page.data), "interview_date": "", "minutes_per_day": "30", "new_per_day": "10"}
    data.update(overrides)
    return client.post("/account", data=data)


def test_an_interview_date_in_the_past_is_refused(client: FlaskClient, engine: sa.Engine) -> None:
    yesterday = (utcnow().date() - timedelta(days=1)).isoformat()
    resp = _settings(client, interview_date=yesterday)
    assert resp.status_code == 400 and b"in the past" in resp.data
    with Session(engine) as s:
        assert s.exec(select(User).where(User.name == "alice")).one().interview_date is None
    today = utcnow().date().isoformat()
    assert _settings(client, interview_date=today).status_code == 302
    ahead = (utcnow().date() + timedelta(days=20)).isoformat()
    assert _settings(client, interview_date=ahead).status_code == 302
    page = client.get("/account")
    assert f'min="{today}"'.encode() in page.data  # the date picker offers no past day either


def test_a_saved_date_that_has_passed_does_not_block_other_settings(client: FlaskClient, engine: sa.Engine) -> None:
    past = utcnow().date() - timedelta(days=3)
    with Session(engine) as s:
        user = s.exec(select(User).where(User.name == "alice")).one()
        user.interview_date = past
        s.add(user)
        s.commit()
    assert _settings(client, interview_date=past.isoformat(), minutes_per_day="45").status_code == 302
    with Session(engine) as s:
        assert s.exec(select(User).where(User.name == "alice")).one().minutes_per_day == 45


def test_favicon_is_served(app: Flask) -> None:
    resp = app.test_client().get("/favicon.ico")
    assert resp.status_code == 200
    assert resp.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert b'rel="icon"' in app.test_client().get("/signin").data
