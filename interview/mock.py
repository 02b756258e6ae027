"""Timed mock interviews. The deadline lives on the server and is the authority.

A reload resumes with the right time left; an answer saved after the deadline plus a short
grace is refused; once the deadline has passed, the answers as they stand are graded (on
the next request, or when the page's timer submits at zero). No hints or explanations are
shown until the report, and the results update the learner's cards like practice does.
"""
from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import graders
from graders import Grade, Question as QuestionSpec, Variant
from graders.question import KINDS
from graders.topics import AREAS, TOPICS
from interview import catalog, scheduler
from interview.models import Attempt, MockFormat, MockInterview, MockItem, Question, User
from interview.practice import kept_answer

GRACE = timedelta(seconds=10)
# A learner's own finished mocks: sat here, or brought in by an import (instructors see only "submitted").
FINISHED = ("submitted", "imported")
DEFAULT_FORMATS = Path(__file__).resolve().parent / "mock_formats.yaml"


class MockError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    areas: list[str] = Field(min_length=1)
    topics: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    count: int = Field(ge=1, le=20)
    max_seconds: int | None = Field(default=None, ge=10)

    def model_post_init(self, _ctx: Any) -> None:
        bad = [a for a in self.areas if a not in AREAS] + [t for t in self.topics if t not in TOPICS] + \
              [k for k in self.kinds if k not in KINDS]
        if bad:
            raise ValueError(f"unknown area, topic or kind: {', '.join(bad)}")


class Format(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)
    name: str = Field(min_length=3, max_length=160)
    minutes: int = Field(ge=1, le=240)
    sections: list[Section] = Field(min_length=1)


def default_formats() -> list[Format]:
    return [Format.model_validate(f) for f in yaml.safe_load(DEFAULT_FORMATS.read_text())]


@lru_cache(maxsize=1)
def bundled_format_slugs() -> frozenset[str]:
    return frozenset(f.slug for f in default_formats())


def _sections_of(fmt: Format) -> list[dict[str, Any]]:
    return [s.model_dump(exclude_defaults=True) | {"count": s.count} for s in fmt.sections]


def ensure_formats(session: Session) -> None:
    """Bring the bundled formats in the database in line with mock_formats.yaml.

    Bundled formats have no owner and are read-only in the browser: they change through the
    file, so a changed file updates them here. A row of the same slug that has an owner (an
    instructor's format made before the file had that slug) is theirs and left alone."""
    rows = {r.slug: r for r in session.exec(select(MockFormat)).all()}
    changed = False
    for f in default_formats():
        row = rows.get(f.slug)
        if row is None:
            session.add(MockFormat(slug=f.slug, name=f.name, minutes=f.minutes, sections=_sections_of(f)))
            changed = True
        elif row.owner_id is None and (row.name, row.minutes, row.sections) != (f.name, f.minutes, _sections_of(f)):
            row.name, row.minutes, row.sections = f.name, f.minutes, _sections_of(f)
            session.add(row)
            changed = True
    if changed:
        session.commit()


def save_format(session: Session, user: User, slug: str, text: str) -> MockFormat:
    """Create a format owned by `user`, or overwrite one `user` may edit (their own; any
    non-bundled one for an admin). The text is untrusted YAML: it is read with the question
    files' bounded loader (no aliases, bounded depth and size)."""
    from interview import permissions
    from interview.bank import BankError, load_yaml

    ensure_formats(session)  # a bundled slug is known as bundled even before anyone listed the formats
    row = session.get(MockFormat, slug)
    if row is not None and not permissions.can_edit_format(user, row):
        if permissions.is_bundled_format(row):
            raise MockError(f"'{slug}' is a bundled format: it changes through interview/mock_formats.yaml, "
                            "not the browser. Save your version under a new slug.", 403)
        raise MockError(f"'{slug}' is another instructor's format: save yours under a new slug.", 403)
    try:
        data = load_yaml(text, "format")
    except BankError as exc:
        raise MockError("; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in exc.problems)) from None
    if not isinstance(data, dict):
        raise MockError("The format must be a mapping with name, minutes and sections.")
    fmt = validate_format({**data, "slug": slug})
    if row is None:
        row = MockFormat(slug=slug, name=fmt.name, minutes=fmt.minutes, sections=[], owner_id=user.id)
    row.name, row.minutes, row.sections = fmt.name, fmt.minutes, _sections_of(fmt)
    session.add(row)
    session.commit()
    return row


def list_formats(session: Session) -> list[MockFormat]:
    return list(session.exec(select(MockFormat).order_by(MockFormat.minutes)).all())


def validate_format(data: dict[str, Any]) -> Format:
    try:
        return Format.model_validate(data)
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise MockError(message if len(message) <= 600 else message[:600] + "...") from None


def start(session: Session, user: User, slug: str, now: datetime, rng: random.Random | None = None,
          assignment_id: int | None = None) -> MockInterview:
    if assignment_id is not None:
        from interview.cohorts import assignments_for

        mine = {a.id: a for a, _c, _done in assignments_for(session, user)}
        if assignment_id not in mine:
            raise MockError("That assignment is not one of your cohorts'.", 403)
        slug = mine[assignment_id].format_slug
    fmt_row = session.get(MockFormat, slug)
    if fmt_row is None:
        raise MockError(f"There is no mock format '{slug}'.", 404)
    fmt = validate_format({"slug": fmt_row.slug, "name": fmt_row.name, "minutes": fmt_row.minutes,
                           "sections": fmt_row.sections})
    rng = rng or random.Random()
    recent = _recently_seen(session, user.id)
    active = session.exec(select(Question).where(Question.status == "active")).all()
    mock = MockInterview(user_id=user.id, format_slug=slug, format=fmt.model_dump(), started_at=now,
                         deadline=now + timedelta(minutes=fmt.minutes), assignment_id=assignment_id)
    session.add(mock)
    session.flush()
    chosen: set[str] = set()
    position = 0
    for section in fmt.sections:
        pool = [q for q in active if q.area in section.areas and q.id not in chosen
                and (not section.topics or set(q.topics) & set(section.topics))
                and (not section.kinds or q.kind in section.kinds)
                and (section.max_seconds is None or q.time_limit <= section.max_seconds)]
        if len(pool) < section.count:
            session.rollback()
            raise MockError(f"Section '{section.name}' needs {section.count} question(s) but the bank has {len(pool)} that fit.", 409)
        rng.shuffle(pool)
        pool.sort(key=lambda q: q.id in recent)  # unseen first, random among equals
        for q in pool[: section.count]:
            chosen.add(q.id)
            session.add(MockItem(mock_id=mock.id, position=position, section=section.name, question_id=q.id,
                                 seed=catalog.new_seed()))
            position += 1
    session.commit()
    session.refresh(mock)
    return mock


def _recently_seen(session: Session, user_id: int) -> set[str]:
    rows = session.exec(select(Attempt.question_id).where(Attempt.user_id == user_id)
                        .order_by(Attempt.id.desc()).limit(300)).all()  # type: ignore[union-attr]
    return set(rows)


def get_mock(session: Session, user: User, mock_id: int) -> MockInterview:
    mock = session.get(MockInterview, mock_id)
    if mock is None or mock.user_id != user.id:
        raise MockError("There is no such mock interview of yours.", 404)
    return mock


def items_of(session: Session, mock: MockInterview) -> list[MockItem]:
    return list(session.exec(select(MockItem).where(MockItem.mock_id == mock.id).order_by(MockItem.position)).all())


@dataclass
class ItemView:
    item: MockItem
    row: Question
    spec: QuestionSpec
    variant: Variant


def view(session: Session, user: User, mock_id: int, now: datetime,
         grade_later: Callable[[Attempt], None] | None = None) -> tuple[MockInterview, list[ItemView], float]:
    """The running mock with its questions and the seconds left; finishes it if time is up."""
    mock = get_mock(session, user, mock_id)
    if mock.status == "running" and now > mock.deadline + GRACE:
        finish(session, user, mock_id, now, grade_later)
    views = []
    for item in items_of(session, mock):
        row, spec = catalog.get(session, item.question_id, include_retired=True)
        variant = graders.instantiate(spec, item.seed)
        if mock.status == "running":  # no hints, explanations or answers while the clock runs
            variant = variant.for_display(hints=False, explanation=False)
        views.append(ItemView(item, row, spec, variant))
    return mock, views, max(0.0, (mock.deadline - now).total_seconds())


def save_answer(session: Session, user: User, mock_id: int, position: int, answer: str, seconds_spent: float,
                now: datetime) -> MockItem:
    mock = get_mock(session, user, mock_id)
    if mock.status != "running":
        raise MockError("This mock interview is already submitted.", 409)
    if now > mock.deadline + GRACE:
        raise MockError("Time is up: answers after the deadline are not accepted.", 409)
    item = session.exec(select(MockItem).where(MockItem.mock_id == mock.id, MockItem.position == position)).first()
    if item is None:
        raise MockError(f"This mock has no question {position + 1}.", 404)
    elapsed = (now - mock.started_at).total_seconds()
    item.answer = kept_answer(answer)  # a mock answer is graded as stored: 64 KiB is far past any real one
    item.saved_at = now
    item.seconds_spent = float(min(max(0.0, seconds_spent), elapsed))
    session.add(item)
    session.commit()
    return item


def finish(session: Session, user: User, mock_id: int, now: datetime,
           grade_later: Callable[[Attempt], None] | None = None) -> MockInterview:
    """Grade every answer as it stands and update the cards; running it twice changes nothing.

    With `grade_later` (the grading queue), code and SQL answers are recorded `pending` and
    handed to it: they count as submitted now, before the deadline, however late they are
    graded; the mock's score is set once the last of them lands (`settle`)."""
    from interview.practice import QUEUED_KINDS

    mock = get_mock(session, user, mock_id)
    if mock.status != "running":
        return mock
    mock.status = "submitted"
    mock.submitted_at = min(now, mock.deadline + GRACE)
    session.add(mock)
    queued: list[Attempt] = []
    try:
        session.flush()
        for item in items_of(session, mock):
            row, spec = catalog.get(session, item.question_id, include_retired=True)
            answer = item.answer or ""
            common = dict(user_id=user.id, question_id=row.id, question_version=row.version, seed=item.seed,
                          answer=answer, seconds_taken=item.seconds_spent, hint_used=False, mock_item_id=item.id,
                          submit_token=f"mock-{item.id}", created_at=mock.submitted_at)
            if grade_later is not None and spec.kind in QUEUED_KINDS and answer.strip():
                attempt = Attempt(**common, score=0.0, verdict="incorrect", grade=None, status="pending")
                session.add(attempt)
                queued.append(attempt)
                continue
            variant = graders.instantiate(spec, item.seed)
            grade = graders.grade(spec, variant, answer) if answer.strip() else Grade(0.0, "incorrect", ["No answer."])
            attempt = Attempt(**common, score=grade.score, verdict=grade.verdict, grade=grade.to_json())
            session.add(attempt)
            session.flush()
            rating = scheduler.rating_from(grade, item.seconds_spent or spec.time_limit, spec.time_limit, False,
                                           self_rating=_rubric_rating(grade) if grade.needs_self_rating else None)
            scheduler.review(session, scheduler.card_for(session, user.id, row.id, mock.submitted_at), int(rating),
                             mock.submitted_at, seconds_taken=item.seconds_spent, attempt_id=attempt.id)
        session.flush()
        _set_score(session, mock)
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent finish won
        session.refresh(mock)
        return mock
    for attempt in queued:
        grade_later(attempt)
    return mock


def _set_score(session: Session, mock: MockInterview) -> None:
    """The mean score over the items, once no answer is still pending (else None: grading)."""
    rows = session.exec(select(Attempt.status, Attempt.score).join(MockItem, MockItem.id == Attempt.mock_item_id)
                        .where(MockItem.mock_id == mock.id)).all()
    if any(status == "pending" for status, _ in rows):
        mock.score = None
    else:
        mock.score = sum(score for _, score in rows) / len(rows) if rows else 0.0
    session.add(mock)


def settle(session: Session, mock_item_id: int) -> None:
    """Called in the transaction that writes a queued mock answer's grade: set the mock's score
    if that was the last pending one (the caller commits)."""
    item = session.get(MockItem, mock_item_id)
    mock = session.get(MockInterview, item.mock_id) if item else None
    if mock is not None:
        _set_score(session, mock)


def pending_count(session: Session, mock: MockInterview) -> int:
    """Answers of this mock still waiting on the grading queue: the report waits for them."""
    return len(session.exec(select(Attempt.id).join(MockItem, MockItem.id == Attempt.mock_item_id)
                            .where(MockItem.mock_id == mock.id, Attempt.status == "pending")).all())


def _rubric_rating(grade: Grade) -> int:
    """In a mock there is no pause for self-rating: the rubric coverage stands in for it."""
    if grade.score >= 0.85:
        return 3
    if grade.score >= 0.5:
        return 2
    return 1


@dataclass
class SectionResult:
    name: str
    score: float
    items: int


@dataclass
class Report:
    mock: MockInterview
    sections: list[SectionResult]
    items: list[dict[str, Any]]
    trend: list[dict[str, Any]] = field(default_factory=list)
    pending: int = 0  # answers still on the grading queue: no score yet


def report(session: Session, user: User, mock_id: int, now: datetime,
           grade_later: Callable[[Attempt], None] | None = None) -> Report:
    mock = get_mock(session, user, mock_id)
    if mock.status == "running":
        if now <= mock.deadline + GRACE:
            raise MockError("The report is ready once the mock is submitted.", 409)
        mock = finish(session, user, mock_id, now, grade_later)
    items = items_of(session, mock)
    attempts = {a.mock_item_id: a for a in session.exec(
        select(Attempt).where(Attempt.user_id == user.id, Attempt.mock_item_id.in_(  # type: ignore[union-attr]
            [i.id for i in items]))).all()}
    rows, by_section = [], {}
    for item in items:
        row, spec = catalog.get(session, item.question_id, include_retired=True)
        variant = graders.instantiate(spec, item.seed)
        att = attempts.get(item.id)
        grade = (att.grade or {}) if att else {}
        rows.append({"position": item.position, "section": item.section, "title": spec.title, "kind": spec.kind,
                     "prompt": variant.prompt, "answer": item.answer or "", "score": att.score if att else 0.0,
                     "verdict": att.verdict if att else "incorrect", "feedback": grade.get("feedback", []),
                     "status": att.status if att else "graded", "attempt_id": att.id if att else None,
                     "seconds": item.seconds_spent, "time_limit": spec.time_limit,
                     "explanation": variant.explanation, "question_id": spec.id,
                     # for the result panel, as practice shows it (the correct answer to a miss)
                     "spec": spec, "variant": variant, "grade": _grade_of(att)})
        by_section.setdefault(item.section, []).append(att.score if att else 0.0)
    sections = [SectionResult(n, statistics.fmean(s), len(s)) for n, s in by_section.items()]
    earlier = session.exec(select(MockInterview).where(MockInterview.user_id == user.id,  # the learner's own trend
                                                       MockInterview.status.in_(FINISHED))  # type: ignore[attr-defined]
                           .order_by(MockInterview.started_at)).all()
    trend = [{"id": m.id, "when": m.started_at, "format": m.format.get("name", m.format_slug), "score": m.score or 0.0}
             for m in earlier if m.score is not None]
    return Report(mock, sections, rows, trend, pending=sum(r["status"] == "pending" for r in rows))


def _grade_of(attempt: Attempt | None) -> Grade:
    """The stored grade of a mock answer (an unanswered question is an incorrect one)."""
    if attempt is None:
        return Grade(0.0, "incorrect", ["Not answered."])
    g = attempt.grade or {}
    return Grade(score=attempt.score, verdict=attempt.verdict, feedback=g.get("feedback", []),  # type: ignore[arg-type]
                 details=g.get("details", {}), needs_self_rating=g.get("needs_self_rating", False))


def history(session: Session, user: User) -> list[MockInterview]:
    return list(session.exec(select(MockInterview).where(MockInterview.user_id == user.id)
                             .order_by(MockInterview.started_at.desc())).all())  # type: ignore[attr-defined]
