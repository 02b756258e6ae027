"""per-user session key; ids of users, attempts and mocks never reused

A session cookie names its user by id and carries that user's random `session_key`:
signing out, changing the password or deleting the account replaces or removes the key, so
every cookie issued before stops working. Existing users get a key here (their current
cookies, which carry none, end: everyone signs in once more).

SQLite hands a deleted row's id to the next insert unless the table is AUTOINCREMENT; the old
cookie of a deleted account would then sign in as the newcomer. The user, attempt and
mockinterview tables are rebuilt with AUTOINCREMENT (batch mode copies rows, indexes and
constraints); from then on an id is never handed out twice. PostgreSQL's sequences
never reuse an id: nothing to do there.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

REBUILT = ("user", "attempt", "mockinterview")


def upgrade() -> None:
    with op.batch_alter_table("user") as batch_op:
        batch_op.add_column(sa.Column("session_key", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    users = sa.table("user", sa.column("id", sa.Integer), sa.column("session_key", sa.String))
    for (uid,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == uid).values(session_key=secrets.token_hex(32)))
    if conn.dialect.name == "sqlite":
        for table in REBUILT:
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for table in REBUILT:
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}):
                pass
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("session_key")
