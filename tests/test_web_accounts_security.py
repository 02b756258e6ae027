"""Issue 13, accounts: sign-in redirects stay on the site, sessions end when the account says so,
ids are never reused, and the database is private to its owner."""
from __future__ import annotations

import io
import json
import os
import re
import stat
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from interview import accounts, db, practice
from interview.models import Attempt, MockItem
from interview.sync import sync_bank
from interview.web import create_app
from tests.test_web_app import answer_numeric, csrf_of, question_of_kind, sign_in


from tests.test_web_instructor import app  # noqa: E402,F401 - the shared fixture: the bank, alice and teacher


HOSTILE_NEXT = [
    "//evil.com", "/\t/evil.com", "/\n/evil.com", "/\r/evil.com", "/\x00/evil.com", "/\x0b/evil.com",
    "/\\evil.com", "\\/evil.com", "/\\/evil.com", " //evil.com", "\t//evil.com", "https://evil.com",
    "http:/evil.com", "javascript:alert(1)", "evil.com", "///evil.com", "/ /evil.com", "/\x7f/evil.com",
    "//evil.com/%2F..", "", "/..//evil.com"[3:],
]


def test_sign_in_redirects_only_to_same_site_paths(app: Flask) -> None:
    addresses = iter(range(1, 250))

    def after_sign_in(target: str) -> str:
        c = app.test_client()  # each from its own address: sign-in is rate-limited per address
        c.environ_base["REMOTE_ADDR"] = f"10.0.0.{next(addresses)}"
        resp = c.post(f"/signin?next={quote(target, safe='')}",
                      data={"csrf_token": csrf_of(c.get("/signin").data), "name": "alice", "password": "alice password"})
        assert resp.status_code == 302
        return resp.headers["Location"]

    gone = {target: where for target in HOSTILE_NEXT if (where := after_sign_in(target)) != "/practice/"}
    assert gone == {}
    # a percent sign is plain text in a path: "/%0a" stays a path on this site
    for target in ("/progress/", "/practice/q/some-id?x=1#top", "/mock/3", "/%0a"):
        assert after_sign_in(target) == target


def stolen_copy(app: Flask, c: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `c`'s session cookie, as an attacker who captured it would."""
    cookie = c.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def signed_in_as(c: FlaskClient) -> str | None:
    page = c.get("/account")
    if page.status_code != 200:
        return None
    m = re.search(rb"Type your name \(<code>([^<]+)</code>\)", page.data)
    assert m
    return m.group(1).decode()


def test_signing_out_ends_every_copy_of_the_cookie(app: Flask) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    other_device = app.test_client()
    sign_in(other_device, "alice", "alice password")
    thief = stolen_copy(app, c)
    assert signed_in_as(thief) == "alice"
    assert c.post("/signout", data={"csrf_token": csrf_of(c.get("/account").data)}).status_code == 302
    assert signed_in_as(thief) is None
    assert thief.get("/practice/").headers["Location"].startswith("/signin")
    assert signed_in_as(other_device) is None  # sign-out is everywhere
    sign_in(c, "alice", "alice password")  # and signing in again works
    assert signed_in_as(c) == "alice"


def test_a_deleted_accounts_cookie_never_signs_in_as_a_newcomer(app: Flask, engine: sa.Engine) -> None:
    c = app.test_client()
    page = c.get("/signup")
    c.post("/signup", data={"csrf_token": csrf_of(page.data), "name": "carol", "password": "carol password",
                            "confirm": "carol password"})
    assert signed_in_as(c) == "carol"
    thief = stolen_copy(app, c)
    with Session(engine) as s:
        carol_id = accounts.authenticate(s, "carol", "carol password").id  # type: ignore[union-attr]
    resp = c.post("/account/delete", data={"csrf_token": csrf_of(c.get("/account").data), "confirm_name": "carol"})
    assert resp.status_code == 302
    newcomer = app.test_client()
    page = newcomer.get("/signup")
    newcomer.post("/signup", data={"csrf_token": csrf_of(page.data), "name": "dave", "password": "dave password",
                                   "confirm": "dave password"})
    assert signed_in_as(newcomer) == "dave"
    with Session(engine) as s:
        dave_id = accounts.authenticate(s, "dave", "dave password").id  # type: ignore[union-attr]
    assert dave_id != carol_id and dave_id > carol_id
    assert signed_in_as(thief) is None


def test_changing_the_password_ends_other_sessions(app: Flask) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    thief = stolen_copy(app, c)
    token = csrf_of(c.get("/account").data)
    form = {"csrf_token": token, "current_password": "alice password", "new_password": "a new secret",
            "confirm": "a new secret"}
    assert c.post("/account/password", data={**form, "csrf_token": ""}).status_code == 400  # CSRF
    wrong = c.post("/account/password", data={**form, "current_password": "guess guess"})
    assert wrong.status_code == 400 and b"current password is wrong" in wrong.data
    short = c.post("/account/password", data={**form, "new_password": "short", "confirm": "short"})
    assert short.status_code == 400 and b"at least 8" in short.data
    differ = c.post("/account/password", data={**form, "confirm": "something else"})
    assert differ.status_code == 400 and b"differ" in differ.data
    assert signed_in_as(thief) == "alice"  # failed changes revoke nothing
    assert c.post("/account/password", data=form).status_code == 302
    assert signed_in_as(c) == "alice"  # the browser that changed it stays signed in
    assert signed_in_as(thief) is None
    fresh = app.test_client()
    resp = fresh.post("/signin", data={"csrf_token": csrf_of(fresh.get("/signin").data), "name": "alice",
                                       "password": "alice password"})
    assert resp.status_code == 401
    sign_in(fresh, "alice", "a new secret")


def test_password_changes_are_rate_limited(engine: sa.Engine, bundled_bank: list) -> None:
    with Session(engine) as s:
        accounts.create_user(s, "alice", "alice password")
    app = create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "test-secret", "TESTING": True})
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    token = csrf_of(c.get("/account").data)
    codes = [c.post("/account/password", data={"csrf_token": token, "current_password": f"guess {i}",
                                               "new_password": "whatever1", "confirm": "whatever1"}).status_code
             for i in range(11)]
    assert codes[:9] == [400] * 9 and codes[-1] == 429


def test_the_local_instance_has_no_password_form(engine: sa.Engine, bundled_bank: list) -> None:
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
    c = create_app({"ENGINE": engine, "SECRET_KEY": "x", "TESTING": True}).test_client()
    page = c.get("/account")
    assert page.status_code == 200 and b"Change password" not in page.data
    assert c.post("/account/password", data={"csrf_token": csrf_of(page.data)}).status_code == 404


def test_the_database_is_private_to_its_owner(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    old_umask = os.umask(0o022)  # the usual umask, which made the file 0644 in a 0755 directory
    try:
        data = tmp_path / "data"
        data.mkdir(mode=0o755)
        data.chmod(0o755)
        monkeypatch.setenv("INTERVIEW_DATA_DIR", str(data))
        engine = db.make_engine()  # the default database in the data directory
        db.migrate(engine)
        with Session(engine) as s:
            accounts.create_user(s, "alice", "alice password")
            files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()}
        engine.dispose()
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert {"interview.db", "interview.db-wal", "interview.db-shm"} <= set(files)
        assert files == {name: 0o600 for name in files}

        elsewhere = tmp_path / "shared" / "app.db"  # an operator's path: the file is tightened, made 0600
        elsewhere.parent.mkdir(mode=0o755)
        elsewhere.touch(mode=0o644)
        engine = db.make_engine(f"sqlite:///{elsewhere}")
        db.migrate(engine)
        engine.dispose()
        assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600
        fresh = tmp_path / "new" / "dir" / "app.db"
        engine = db.make_engine(f"sqlite:///{fresh}")
        assert not fresh.exists()  # an engine alone makes no file (the CLI checks for one)
        with engine.connect():
            pass
        engine.dispose()
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o600 and stat.S_IMODE(fresh.parent.stat().st_mode) == 0o700
    finally:
        os.umask(old_umask)


def test_a_huge_answer_is_graded_but_stored_cut(app: Flask, engine: sa.Engine) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    _, form = answer_numeric(c, question_of_kind(engine, "numeric"))
    form["answer"] = "9" * 400_000
    assert c.post("/practice/answer", data=form).status_code == 200
    with Session(engine) as s:
        stored = s.exec(select(Attempt.answer)).one()
    assert len(stored.encode()) < 64 * 1024 + 100  # 64 KiB kept, and a line saying so
    assert stored.startswith("9" * 1000) and stored.endswith("[answer cut: 400,000 bytes, the first 65,536 kept]")
    assert practice.kept_answer("é" * 40_000).endswith("kept]")  # cut on a character, never inside one
    assert practice.kept_answer("short") == "short"
    started = c.post("/mock/start", data={"csrf_token": csrf_of(c.get("/mock/").data), "format": "quick-5"})
    assert started.status_code == 302
    mock_id = int(started.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    saved = c.post(f"/mock/{mock_id}/save", data={"csrf_token": csrf_of(c.get(f"/mock/{mock_id}").data),
                                                 "position": "0", "answer": "7" * 400_000, "seconds_spent": "5"})
    assert saved.status_code == 302
    with Session(engine) as s:
        kept = s.exec(select(MockItem.answer).where(MockItem.mock_id == mock_id, MockItem.position == 0)).one()
    assert kept is not None and kept.startswith("7" * 1000) and kept.endswith("the first 65,536 kept]")


def test_an_absurdly_large_post_gets_a_clear_413(app: Flask, engine: sa.Engine) -> None:
    c = app.test_client()
    sign_in(c, "alice", "alice password")
    _, form = answer_numeric(c, question_of_kind(engine, "numeric"))
    resp = c.post("/practice/answer", data={**form, "file": (io.BytesIO(b"x" * (3 * 2**20)), "big.txt")},
                  content_type="multipart/form-data")
    assert resp.status_code == 413 and b"at most 2 MB" in resp.data and b"Traceback" not in resp.data
    with Session(engine) as s:
        assert s.exec(select(Attempt)).first() is None
    # an export is a whole history: the import takes a larger file (here 3 MB) than any form
    export = json.dumps({"format": "interview-export/1", "user": {"name": "bulky"}}) + " " * (3 * 2**20)
    anonymous = app.test_client()
    resp = anonymous.post("/account/import", data={
        "csrf_token": csrf_of(anonymous.get("/signup").data), "password": "a long password",
        "confirm": "a long password", "file": (io.BytesIO(export.encode()), "me.json")},
        content_type="multipart/form-data")
    assert resp.status_code == 302, resp.data[:300]
