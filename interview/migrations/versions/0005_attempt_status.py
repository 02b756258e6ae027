"""attempt.status: code and SQL answers are graded off the request, on the grading queue

An attempt is created `pending` when the answer is posted and becomes `graded` (or `failed`,
"could not be graded, try again") when a grader worker writes its grade. Every row written
before this migration was graded in the request.

Revision ID: 0005
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.add_column(sa.Column("status", sa.String(length=20), nullable=False, server_default="graded"))
    # the sweeper that re-sends lost jobs looks for pending attempts only
    op.create_index("ix_attempt_status", "attempt", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_attempt_status", table_name="attempt")
    with op.batch_alter_table("attempt") as batch:
        batch.drop_column("status")
