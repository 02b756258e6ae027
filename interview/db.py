"""Engine, sessions and migrations.

SQLite in a per-user data directory by default (WAL mode, foreign keys on); any SQLAlchemy
URL from `DATABASE_URL`. The schema is only ever changed by Alembic migrations.

A SQLite database holds password hashes and every learner's answers: its file is made 0600
before SQLite first opens it (SQLite gives the -wal, -shm and -journal files the mode of the
database file), and the data directory is 0700, like the secret key beside it.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import platformdirs
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlmodel import Session

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def data_dir() -> Path:
    """Where the default database lives: $INTERVIEW_DATA_DIR or the OS's per-user data dir (0700)."""
    path = Path(os.environ.get("INTERVIEW_DATA_DIR") or platformdirs.user_data_dir("interview", appauthor=False))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _owner_only(path, 0o700)
    return path


def _owner_only(path: Path, mode: int) -> None:
    """Take group and other access away from `path` (a file or directory this app owns)."""
    if path.stat().st_mode & 0o077:
        path.chmod(mode)


def _private_sqlite_file(database: str) -> None:
    """Create (or tighten) a SQLite database file as 0600 just before SQLite opens it.

    A directory the operator chose for the file is left as it is, unless this creates it (0700);
    the default data directory is always 0700 (`data_dir`)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    _owner_only(path, 0o600)
    for suffix in ("-wal", "-shm", "-journal"):  # left by an older run with a looser mode
        side = path.with_name(path.name + suffix)
        if side.exists():
            _owner_only(side, 0o600)


def default_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir() / 'interview.db'}"


def _normalise(url: str) -> str:
    # plain postgresql:// would ask for psycopg2; we ship psycopg 3
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> sa.Engine:
    url = _normalise(url or default_url())
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database or ""
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @sa.event.listens_for(engine, "do_connect")
        def _private(*_args: Any) -> None:
            _private_sqlite_file(database)  # on connecting, not before: an engine alone creates no file

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
