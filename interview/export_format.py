"""The `interview-export/1` file, as an import reads it: only what a learner may own.

An export is untrusted input (anyone can write one). These models declare the fields a learner
owns, with their types and ranges; every other field (`role`, `id` of the user, `password_hash`,
`created_at` of the account, `user_id`, `submit_token`, a mock's `status` and `assignment_id`,
anything unknown) is ignored: it is never read, so it can never be stored. Row `id`s are read only
as references inside the file (a review's card, an attempt's mock item); the database gives every
imported row a fresh id.
"""
from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal, Optional

from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from graders.topics import AREAS, TOPICS
from graders.types import Verdict
from interview.practice import kept_answer

EXPORT_FORMAT = "interview-export/1"
INT32 = 2**31 - 1  # PostgreSQL's integer: a larger number would fail in the database, not here
Id = Field(ge=1, le=2**63 - 1)
Seconds = Field(default=None, ge=0, le=366 * 86400, allow_inf_nan=False)
QuestionId = Field(min_length=1, max_length=80)


class ExportError(ValueError):
    """The file cannot be imported; the message says what is wrong and where."""


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class Profile(_Row):
    """The learner's settings; the account itself (role, password, id) stays the server's."""

    name: Optional[str] = Field(default=None, max_length=80)
    interview_date: Optional[date] = None
    minutes_per_day: int = Field(default=30, ge=5, le=600)
    new_per_day: int = Field(default=10, ge=0, le=200)
    areas: Optional[list[str]] = Field(default=None, max_length=len(AREAS))
    topics: Optional[list[str]] = Field(default=None, max_length=len(TOPICS))
    fsrs_parameters: Optional[list[float]] = None
    desired_retention: float = Field(default=0.9, ge=0.7, le=0.99)

    @field_validator("areas")
    @classmethod
    def _known_areas(cls, value: Optional[list[str]]) -> Optional[list[str]]:
        unknown = [a for a in value or [] if a not in AREAS]
        if unknown:
            raise ValueError(f"unknown area {unknown[0][:40]!r}")
        return value

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, value: Optional[list[str]]) -> Optional[list[str]]:
        unknown = [t for t in value or [] if t not in TOPICS]
        if unknown:
            raise ValueError(f"unknown topic {unknown[0][:40]!r}")
        return value

    @field_validator("fsrs_parameters")
    @classmethod
    def _fsrs_bounds(cls, value: Optional[list[float]]) -> Optional[list[float]]:
        if value is None:
            return None
        if len(value) != len(LOWER_BOUNDS_PARAMETERS):
            raise ValueError(f"FSRS-6 has {len(LOWER_BOUNDS_PARAMETERS)} parameters, not {len(value)}")
        for i, (v, lo, hi) in enumerate(zip(value, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS)):
            if not (math.isfinite(v) and lo <= v <= hi):
                raise ValueError(f"parameter {i} is {v}, outside FSRS's range [{lo}, {hi}]")
        return value


class CardRow(_Row):
    id: int = Id
    question_id: str = QuestionId
    state: int = Field(ge=1, le=3)
    step: Optional[int] = Field(default=None, ge=0, le=100)
    stability: Optional[float] = Field(default=None, gt=0, le=1e6)
    difficulty: Optional[float] = Field(default=None, ge=1, le=10)
    due: AwareDatetime
    last_review: Optional[AwareDatetime] = None
    reps: int = Field(default=0, ge=0, le=INT32)
    lapses: int = Field(default=0, ge=0, le=INT32)
    created_at: Optional[AwareDatetime] = None


class ReviewRow(_Row):
    card_id: int = Id
    question_id: str = QuestionId
    rating: int = Field(ge=1, le=4)
    reviewed_at: AwareDatetime
    seconds_taken: Optional[float] = Seconds
    stability: Optional[float] = Field(default=None, gt=0, le=1e6)
    difficulty: Optional[float] = Field(default=None, ge=1, le=10)
    due_after: AwareDatetime
    attempt_id: Optional[int] = Field(default=None, ge=1)


class GradeJson(_Row):
    """An attempt's stored grade, in the shape the report and a replayed submit read back
    (`graders.types.Grade`); its score and verdict, where given, are the attempt's own."""

    score: Optional[float] = Field(default=None, ge=0, le=1)
    verdict: Optional[Verdict] = None
    feedback: list[str] = Field(default_factory=list, max_length=1000)
    details: dict[str, Any] = Field(default_factory=dict)
    needs_self_rating: bool = False


class AttemptRow(_Row):
    id: int = Id
    question_id: str = QuestionId
    question_version: int = Field(default=1, ge=1, le=INT32)
    seed: int = Field(ge=0, le=INT32)
    answer: str
    score: float = Field(ge=0, le=1)
    verdict: Verdict
    grade: Optional[GradeJson] = None
    seconds_taken: Optional[float] = Seconds
    hint_used: bool = False
    self_rating: Optional[int] = Field(default=None, ge=1, le=4)
    mock_item_id: Optional[int] = Field(default=None, ge=1)
    created_at: AwareDatetime

    @field_validator("answer")
    @classmethod
    def _cut(cls, value: str) -> str:
        return kept_answer(value)

    def stored_grade(self) -> Optional[dict[str, Any]]:
        """The grade as the database keeps it: the fields the file gave, score and verdict the attempt's."""
        if self.grade is None:
            return None
        out = self.grade.model_dump(exclude_unset=True)
        out.update({k: v for k, v in (("score", self.score), ("verdict", self.verdict)) if k in out})
        return out


class MockRow(_Row):
    """A finished mock as history: its status, score's standing and assignment are not taken
    from the file (see `accounts.import_user`)."""

    id: int = Id
    format_slug: str = Field(min_length=1, max_length=80)
    format: dict[str, Any]
    started_at: AwareDatetime
    deadline: AwareDatetime
    submitted_at: Optional[AwareDatetime] = None
    score: Optional[float] = Field(default=None, ge=0, le=1)


class MockItemRow(_Row):
    id: int = Id
    mock_id: int = Id
    position: int = Field(ge=0, le=1000)
    section: str = Field(max_length=80)
    question_id: str = QuestionId
    seed: int = Field(ge=0, le=INT32)
    answer: Optional[str] = None
    saved_at: Optional[AwareDatetime] = None
    seconds_spent: float = Field(default=0.0, ge=0, le=366 * 86400)

    @field_validator("answer")
    @classmethod
    def _cut(cls, value: Optional[str]) -> Optional[str]:
        return None if value is None else kept_answer(value)


class Export(_Row):
    format: Literal["interview-export/1"]
    user: Profile
    cards: list[CardRow] = Field(default_factory=list)
    reviews: list[ReviewRow] = Field(default_factory=list)
    attempts: list[AttemptRow] = Field(default_factory=list)
    mocks: list[MockRow] = Field(default_factory=list)
    mock_items: list[MockItemRow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_hold(self) -> "Export":
        """Every reference inside the file points at a row of the file, and rows are not doubled."""
        _unique(self.cards, "cards", lambda r: r.id, "id")
        _unique(self.cards, "cards", lambda r: r.question_id, "question_id")
        _unique(self.attempts, "attempts", lambda r: r.id, "id")
        _unique(self.mocks, "mocks", lambda r: r.id, "id")
        _unique(self.mock_items, "mock_items", lambda r: r.id, "id")
        _unique(self.mock_items, "mock_items", lambda r: (r.mock_id, r.position), "position")
        cards = {c.id: c for c in self.cards}
        attempts = {a.id for a in self.attempts}
        for i, r in enumerate(self.reviews):
            if r.card_id not in cards:
                raise ExportError(f"reviews[{i}].card_id: no card {r.card_id} in the file")
            if cards[r.card_id].question_id != r.question_id:
                raise ExportError(f"reviews[{i}].question_id: '{r.question_id[:80]}' is not its card's question")
            if r.attempt_id is not None and r.attempt_id not in attempts:
                raise ExportError(f"reviews[{i}].attempt_id: no attempt {r.attempt_id} in the file")
        mocks = {m.id for m in self.mocks}
        for i, item in enumerate(self.mock_items):
            if item.mock_id not in mocks:
                raise ExportError(f"mock_items[{i}].mock_id: no mock {item.mock_id} in the file")
        items = {item.id for item in self.mock_items}
        for i, a in enumerate(self.attempts):
            if a.mock_item_id is not None and a.mock_item_id not in items:
                raise ExportError(f"attempts[{i}].mock_item_id: no mock item {a.mock_item_id} in the file")
        return self

    def question_ids(self) -> dict[str, str]:
        """Every question the file names -> the first place it is named (for the error message)."""
        out: dict[str, str] = {}
        for table in ("cards", "reviews", "attempts", "mock_items"):
            for i, row in enumerate(getattr(self, table)):
                out.setdefault(row.question_id, f"{table}[{i}].question_id")
        return out


def _unique(rows: list[Any], table: str, key: Any, field: str) -> None:
    seen: set[Any] = set()
    for i, row in enumerate(rows):
        k = key(row)
        if k in seen:
            raise ExportError(f"{table}[{i}].{field}: appears twice in the file")
        seen.add(k)


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the file"


def parse(data: Any) -> Export:
    """The validated export, or ExportError naming the first problems and where they are."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ExportError(f"This is not an interview export (expected format '{EXPORT_FORMAT}').")
    try:
        return Export.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{_where(err['loc'])}: {message}" if err["loc"] else message)
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ExportError("The export cannot be imported: " + "; ".join(problems[:5]) + more + ".") from None
