"""Issue 13, accounts: sign-in redirects stay on the site, sessions end when the account says so,
ids are never reused, and the database is private to its owner."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from interview import accounts
from interview.sync import sync_bank
from interview.web import create_app
from tests.test_web_app import csrf_of, sign_in


@pytest.fixture
def app(engine: sa.Engine, bundled_bank: list) -> Flask:
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
        accounts.create_user(s, "alice", "alice password")
        accounts.create_user(s, "teacher", "teacher password", role="instructor")
    return create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "test-secret", "TESTING": True,
                       "RATELIMIT_ENABLED": False})


HOSTILE_NEXT = [
    "//evil.com", "/\t/evil.com", "/\n/evil.com", "/\r/evil.com", "/\x00/evil.com", "/\x0b/evil.com",
    "/\\evil.com", "\\/evil.com", "/\\/evil.com", " //evil.com", "\t//evil.com", "https://evil.com",
    "http:/evil.com", "javascript:alert(1)", "evil.com", "///evil.com", "/ /evil.com", "/\x7f/evil.com",
    "//evil.com/%2F..", "", "/..//evil.com"[3:],
]


def test_sign_in_redirects_only_to_same_site_paths(app: Flask) -> None:
    def after_sign_in(target: str) -> str:
        c = app.test_client()
        resp = c.post(f"/signin?next={quote(target, safe='')}",
                      data={"csrf_token": csrf_of(c.get("/signin").data), "name": "alice", "password": "alice password"})
        assert resp.status_code == 302
        return resp.headers["Location"]

    gone = {target: where for target in HOSTILE_NEXT if (where := after_sign_in(target)) != "/practice/"}
    assert gone == {}
    # a percent sign is plain text in a path: "/%0a" stays a path on this site
    for target in ("/progress/", "/practice/q/some-id?x=1#top", "/mock/3", "/%0a"):
        assert after_sign_in(target) == target
