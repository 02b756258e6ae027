"""Ids that reach cookies and URLs (users, attempts, mocks) are never handed out twice, on SQLite
(AUTOINCREMENT, also after upgrading an older database) and on PostgreSQL (sequences)."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from interview import accounts, db
from interview.models import MockInterview, User, utcnow


def _create_delete_create(engine: sa.Engine) -> tuple[int, int]:
    with Session(engine, expire_on_commit=False) as s:
        first = accounts.create_user(s, "first", "a long password")
        now = utcnow()
        s.add(MockInterview(user_id=first.id, format_slug="x", format={}, started_at=now,  # type: ignore[arg-type]
                            deadline=now + timedelta(minutes=5)))
        s.commit()
        accounts.delete_user(s, first)
        second = accounts.create_user(s, "second", "a long password")
        return first.id, second.id  # type: ignore[return-value]


def test_a_deleted_users_id_is_never_reused(any_engine: sa.Engine) -> None:
    first, second = _create_delete_create(any_engine)
    assert second > first
    with Session(any_engine) as s:
        now = utcnow()
        mock = MockInterview(user_id=second, format_slug="x", format={}, started_at=now, deadline=now)
        s.add(mock)
        s.commit()
        assert mock.id is not None and mock.id > 1  # the deleted first user's mock had id 1


def test_an_older_sqlite_database_stops_reusing_ids_after_the_upgrade(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    db.migrate(engine, "0002")
    with engine.begin() as conn:
        for name in ("old", "older"):
            conn.exec_driver_sql("INSERT INTO user (name, role, created_at, minutes_per_day, new_per_day, "
                                 "desired_retention) VALUES (?, 'learner', '2026-01-01 00:00:00', 30, 10, 0.9)", (name,))
        conn.exec_driver_sql("INSERT INTO mockinterview (user_id, format_slug, format, started_at, deadline, status) "
                             "VALUES (2, 'x', '{}', '2026-01-01 00:00:00', '2026-01-01 00:05:00', 'submitted')")
    db.migrate(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("SELECT count(*) FROM mockinterview WHERE user_id = 2").scalar() == 1
    with Session(engine, expire_on_commit=False) as s:
        older = s.get(User, 2)
        assert older is not None and older.name == "older" and older.session_key  # a key for existing users
        accounts.delete_user(s, older)
        newcomer = accounts.create_user(s, "newcomer", "a long password")
        assert newcomer.id == 3
        assert accounts.create_user(s, "dup-check", "a long password").id == 4
        import pytest

        with pytest.raises(accounts.AccountError, match="taken"):  # the unique name survived the rebuild
            accounts.create_user(s, "old", "a long password")
    engine.dispose()
