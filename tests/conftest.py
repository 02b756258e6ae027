"""Shared fixtures: a real SQLite file (migrated) and, where a server answers, real PostgreSQL
and Redis.

Under CI=true the PostgreSQL and Redis tests must run: a missing server is an error there, not a skip.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from interview import db

PG_URL = os.environ.get("INTERVIEW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
REDIS_URL = "redis://127.0.0.1:6379/0"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the developer's real database."""
    monkeypatch.setenv("INTERVIEW_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for name in ("INTERVIEW_REDIS_URL", "INTERVIEW_QUEUE"):  # the embedded grading pool unless a test asks
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[sa.Engine]:
    eng = db.make_engine(sqlite_url)
    db.migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


def _pg_available() -> bool:
    try:
        eng = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty schema on the PostgreSQL server, dropped afterwards."""
    if not _pg_available():
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but {PG_URL} does not answer")
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def redis_server():  # type: ignore[no-untyped-def]
    """A client of the Redis server on 127.0.0.1:6379 (REDIS_URL)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        if IN_CI:
            pytest.fail(f"Redis is required under CI=true but {REDIS_URL} does not answer")
        pytest.skip(f"no Redis server at {REDIS_URL}")
    yield client
    client.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[sa.Engine]:
    """The same test against a real SQLite file and a real PostgreSQL server."""
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = db.make_engine(url)
    db.migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def bundled_bank() -> list:
    """The bundled bank, parsed once per run (1.3 s a parse): tests only read it."""
    from interview import bank

    loaded, problems = bank.load_bank()
    assert not problems, problems
    return loaded


@pytest.fixture(autouse=True)
def _sandbox_needs_bubblewrap(request: pytest.FixtureRequest) -> None:
    """Tests marked `sandbox` run the real sandbox: required under CI, skipped elsewhere without it."""
    if request.node.get_closest_marker("sandbox") is None:
        return
    from graders import sandbox

    if not sandbox.available():
        if IN_CI:
            pytest.fail("bubblewrap (/usr/bin/bwrap) is required under CI=true")
        pytest.skip("bubblewrap is not installed")
