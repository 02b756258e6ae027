"""Tables. Reviews and attempts are append-only history; questions are retired, never deleted.

All timestamps are timezone-aware UTC (`UTCDateTime` restores the zone SQLite drops).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always returns aware datetimes, whatever the backend keeps."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """SQLite hands back text: read it straight into an aware datetime. Parsing it naive and
        then calling `replace(tzinfo=)` cost five times as much, and a day's plan reads 600 of
        these."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, str):
                try:
                    return datetime.fromisoformat(value + "+00:00")
                except ValueError:  # not the naive text SQLAlchemy writes (e.g. written with an offset)
                    value = datetime.fromisoformat(value)
            return self.process_result_value(value, dialect)

        return process


def _ts(nullable: bool = False, index: bool = False) -> Any:
    column = sa.Column(UTCDateTime(), nullable=nullable, index=index)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(default_factory=utcnow, sa_column=column)


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=nullable))


# SQLite AUTOINCREMENT: an id, once used, is never handed out again (a deleted account's id
# would otherwise go to the next sign-up, and with it whatever still points at the old one).
NO_ID_REUSE = {"sqlite_autoincrement": True}


class User(SQLModel, table=True):
    __table_args__ = NO_ID_REUSE
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, sa_column_kwargs={"unique": True}, index=False)
    password_hash: Optional[str] = Field(default=None, max_length=255)
    role: str = Field(default="learner", max_length=20)  # learner | instructor | admin (admins only from the CLI)
    created_at: datetime = _ts()
    interview_date: Optional[date] = None
    minutes_per_day: int = 30
    new_per_day: int = 10
    areas: Optional[list] = _json()  # None = all areas
    topics: Optional[list] = _json()  # None = all topics
    fsrs_parameters: Optional[list] = _json()  # fitted by `interview optimize`
    desired_retention: float = 0.9
    time_zone: Optional[str] = Field(default=None, max_length=64)  # IANA name; None: the browser's
    # random, in the session cookie; replaced at sign-out, password change: every older cookie stops working
    session_key: Optional[str] = Field(default=None, max_length=64)


class Question(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=80)
    version: int = 1
    content_hash: str = Field(max_length=64)
    title: str = Field(max_length=160)
    area: str = Field(max_length=20, index=True)
    topics: list = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    kind: str = Field(max_length=20)
    difficulty: int
    time_limit: int
    yaml_text: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    status: str = Field(default="active", max_length=20, index=True)  # active | retired
    origin: str = Field(default="bank", max_length=20)  # bank | authored | imported
    author_id: Optional[int] = Field(default=None, foreign_key="user.id")  # the owner: the creating account; None for bundled (and orphaned) questions
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class QuestionVersion(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("question_id", "version"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    question_id: str = Field(foreign_key="question.id", max_length=80, index=True)
    version: int
    content_hash: str = Field(max_length=64)
    yaml_text: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    author_id: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = _ts()


class Card(SQLModel, table=True):
    """One learner x one question: the FSRS memory state and when it is next due."""

    __table_args__ = (sa.UniqueConstraint("user_id", "question_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    question_id: str = Field(foreign_key="question.id", max_length=80, index=True)
    state: int = 1  # fsrs.State: 1 learning, 2 review, 3 relearning
    # learning step; None in the review state. No SQL-side default: the ORM would put it in
    # place of an explicit None on insert (an imported review card would come back at step 0).
    step: Optional[int] = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=True))
    stability: Optional[float] = None
    difficulty: Optional[float] = None
    due: datetime = _ts(index=True)
    last_review: Optional[datetime] = _ts(nullable=True)
    reps: int = 0
    lapses: int = 0
    created_at: datetime = _ts()


class Review(SQLModel, table=True):
    """Every rating ever given, append-only: the history the optimiser fits to."""

    # a learner's latest reviews (the planner's fit, cohort activity) without sorting them all
    __table_args__ = (sa.Index("ix_review_user_id_reviewed_at", "user_id", "reviewed_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    card_id: int = Field(foreign_key="card.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    question_id: str = Field(foreign_key="question.id", max_length=80)
    rating: int  # 1 Again, 2 Hard, 3 Good, 4 Easy
    reviewed_at: datetime = _ts(index=True)
    seconds_taken: Optional[float] = None
    stability: Optional[float] = None
    difficulty: Optional[float] = None
    due_after: datetime = _ts()
    attempt_id: Optional[int] = Field(default=None, foreign_key="attempt.id")


class Attempt(SQLModel, table=True):
    """One graded answer; `submit_token` makes a double submit record once."""

    # today's minutes and the latest time ratios of a learner, read on every fresh plan
    __table_args__ = (sa.Index("ix_attempt_user_id_created_at", "user_id", "created_at"), NO_ID_REUSE)
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    question_id: str = Field(foreign_key="question.id", max_length=80, index=True)
    question_version: int = 1
    seed: int
    answer: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    score: float
    verdict: str = Field(max_length=20)
    grade: Optional[dict] = _json()
    seconds_taken: Optional[float] = None
    hint_used: bool = False
    self_rating: Optional[int] = None
    submit_token: Optional[str] = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    mock_item_id: Optional[int] = Field(default=None, foreign_key="mockitem.id")
    created_at: datetime = _ts(index=True)
    # graded | pending (a code or SQL answer waiting on the grading queue) | failed (the queue
    # gave up on it: "could not be graded, try again"); only graded rows carry a real score
    status: str = Field(default="graded", max_length=20, index=True,
                        sa_column_kwargs={"server_default": "graded"})


class MockFormat(SQLModel, table=True):
    """A mock interview's shape as data: sections with areas/topics, counts and minutes."""

    slug: str = Field(primary_key=True, max_length=80)
    name: str = Field(max_length=160)
    minutes: int
    sections: list = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    owner_id: Optional[int] = Field(default=None, foreign_key="user.id")  # None: bundled (or orphaned): read-only in the browser
    created_at: datetime = _ts()


class MockInterview(SQLModel, table=True):
    __table_args__ = NO_ID_REUSE
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    format_slug: str = Field(max_length=80)
    format: dict = Field(sa_column=sa.Column(sa.JSON(), nullable=False))  # a copy as it was when started
    started_at: datetime = _ts()
    deadline: datetime = _ts()
    submitted_at: Optional[datetime] = _ts(nullable=True)
    status: str = Field(default="running", max_length=20)  # running | submitted | imported (history from a file)
    score: Optional[float] = None
    assignment_id: Optional[int] = Field(default=None, foreign_key="cohortassignment.id")


class MockItem(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("mock_id", "position"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    mock_id: int = Field(foreign_key="mockinterview.id", index=True)
    position: int
    section: str = Field(max_length=80)
    question_id: str = Field(foreign_key="question.id", max_length=80)
    seed: int
    answer: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    saved_at: Optional[datetime] = _ts(nullable=True)
    seconds_spent: float = 0.0


class Cohort(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    join_code: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    instructor_id: int = Field(foreign_key="user.id")
    created_at: datetime = _ts()


class CohortMember(SQLModel, table=True):
    cohort_id: int = Field(foreign_key="cohort.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    joined_at: datetime = _ts()


class CohortAssignment(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    format_slug: str = Field(foreign_key="mockformat.slug", max_length=80)
    due: datetime = _ts()
    created_at: datetime = _ts()
