"""Alembic environment: the engine is handed in by interview.db.migrate (or built from DATABASE_URL)."""
from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from interview import models  # noqa: F401  (registers the tables)
from interview.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # a batch rebuild drops and renames tables that others point at: SQLite checks foreign
            # keys on DROP TABLE, so they are off while migrating (the pragma only takes effect
            # outside a transaction) and verified as a whole at the end
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    render_as_batch=sqlite,
                    compare_type=True,
                )
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


run_migrations_online()
