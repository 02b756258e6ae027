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
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
