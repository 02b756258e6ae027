from __future__ import annotations

import sqlalchemy as sa

from interview import db


def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(db.MIGRATIONS)).get_current_head()  # type: ignore[return-value]


def test_migrations_create_schema_and_are_idempotent(any_engine: sa.Engine) -> None:
    assert db.current_revision(any_engine) is not None
    tables = set(sa.inspect(any_engine).get_table_names())
    assert {"user", "question", "questionversion", "card", "review", "attempt", "mockinterview",
            "mockitem", "mockformat", "cohort", "cohortmember", "cohortassignment"} <= tables
    db.migrate(any_engine)  # a second run changes nothing and does not fail
    assert db.current_revision(any_engine) == _head()
    inspector = sa.inspect(any_engine)
    assert {"name": "ix_attempt_user_id_created_at", "columns": ["user_id", "created_at"]} in \
        [{"name": i["name"], "columns": i["column_names"]} for i in inspector.get_indexes("attempt")]
    assert {"name": "ix_review_user_id_reviewed_at", "columns": ["user_id", "reviewed_at"]} in \
        [{"name": i["name"], "columns": i["column_names"]} for i in inspector.get_indexes("review")]


def test_a_database_at_the_first_revision_upgrades_in_place(sqlite_url: str) -> None:
    """An installation made before 0002 keeps its data and gains the indexes."""
    engine = db.make_engine(sqlite_url)
    db.migrate(engine, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO user (name, role, created_at, minutes_per_day, new_per_day, "
                             "desired_retention) VALUES ('old', 'learner', '2026-01-01 00:00:00', 30, 10, 0.9)")
    db.migrate(engine)
    assert db.current_revision(engine) == _head()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM user").scalar() == "old"
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT sum(seconds_taken) FROM attempt "
                                    "WHERE user_id = 1 AND created_at >= '2026-01-01'").fetchall()
    assert "ix_attempt_user_id_created_at" in " ".join(str(r) for r in plan)
    engine.dispose()


def test_sqlite_default_uses_wal(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_datetimes_come_back_timezone_aware(any_engine: sa.Engine) -> None:
    from datetime import datetime, timezone

    from sqlmodel import Session

    from interview.models import User

    when = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
    with Session(any_engine) as s:
        s.add(User(name="ada", created_at=when))
        s.commit()
    with Session(any_engine) as s:
        user = s.exec(sa.select(User).where(User.name == "ada")).scalar_one()  # type: ignore[call-overload]
        assert user.created_at == when and user.created_at.tzinfo is not None


def test_sqlite_datetime_text_in_other_shapes_reads_as_utc(engine: sa.Engine) -> None:
    """Rows written outside SQLAlchemy (no microseconds, a `T`, an explicit offset) read back as
    the same aware UTC instants as the text SQLAlchemy writes."""
    from datetime import datetime, timezone

    from sqlmodel import Session

    from interview.models import User

    shapes = {"a": "2026-03-01 12:30:00.000000", "b": "2026-03-01 12:30:00", "c": "2026-03-01T12:30:00",
              "d": "2026-03-01 14:30:00+02:00"}
    with engine.begin() as conn:
        for name, text in shapes.items():
            conn.exec_driver_sql("INSERT INTO user (name, role, created_at, minutes_per_day, new_per_day, "
                                 "desired_retention) VALUES (?, 'learner', ?, 30, 10, 0.9)", (name, text))
    with Session(engine) as s:
        read = {u.name: u.created_at for u in s.exec(sa.select(User)).scalars()}  # type: ignore[call-overload]
    assert set(read.values()) == {datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)}
    assert all(v.utcoffset().total_seconds() == 0 for v in read.values())  # type: ignore[union-attr]
