"""The question browser's search: text, area, topic, kind, difficulty and the learner's status.

Status is the learner's own: `new` (never answered), `due` (a review due today or overdue),
`learnt` (answered, next review later)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from sqlmodel import Session, select

from graders.question import KINDS
from graders.topics import AREAS, TOPICS
from interview import catalog
from interview.models import Card, Question, User
from interview.scheduler import utc

STATUSES = ("new", "due", "learnt")


class FilterError(ValueError):
    """A filter value the browser does not offer (a 400, naming it)."""


@dataclass(frozen=True)
class Filters:
    text: str = ""
    area: str | None = None
    topic: str | None = None
    kind: str | None = None
    difficulty: int | None = None
    status: str | None = None

    @property
    def active(self) -> bool:
        return any((self.text, self.area, self.topic, self.kind, self.difficulty, self.status))


@dataclass(frozen=True)
class Listed:
    row: Question
    status: str
    due: datetime | None


def parse(args: Mapping[str, str]) -> Filters:
    """Filters from a query string; an unknown value is refused rather than silently ignored."""
    def choice(name: str, allowed: object) -> str | None:
        value = (args.get(name) or "").strip() or None
        if value is not None and value not in allowed:  # type: ignore[operator]
            raise FilterError(f"unknown {name} '{value}'")
        return value

    difficulty = choice("difficulty", ("1", "2", "3", "4", "5"))
    return Filters(text=(args.get("q") or "").strip()[:200], area=choice("area", AREAS), topic=choice("topic", TOPICS),
                   kind=choice("kind", KINDS), difficulty=int(difficulty) if difficulty else None,
                   status=choice("status", STATUSES))


def search(session: Session, user: User, filters: Filters, now: datetime) -> list[Listed]:
    """Active questions matching every filter (each word of the text in the title, id, topics or
    prompt), ordered by area, difficulty and id."""
    stmt = select(Question).where(Question.status == "active")
    if filters.area:
        stmt = stmt.where(Question.area == filters.area)
    if filters.kind:
        stmt = stmt.where(Question.kind == filters.kind)
    if filters.difficulty:
        stmt = stmt.where(Question.difficulty == filters.difficulty)
    rows = session.exec(stmt.order_by(Question.area, Question.difficulty, Question.id)).all()
    cards = {c.question_id: c for c in session.exec(select(Card).where(Card.user_id == user.id)).all()}
    words = filters.text.lower().split()
    now = utc(now)
    out = []
    for row in rows:
        if filters.topic and filters.topic not in (row.topics or []):
            continue
        if words:
            # the prompt as written, not the whole file: the answer must not be searchable
            haystack = " ".join((row.title, row.id, " ".join(row.topics or []), catalog.spec_of(row).prompt)).lower()
            if not all(w in haystack for w in words):
                continue
        card = cards.get(row.id)
        due = utc(card.due) if card is not None and card.due is not None and card.last_review is not None else None
        status = "new" if due is None else "due" if due.date() <= now.date() else "learnt"
        if filters.status and status != filters.status:
            continue
        out.append(Listed(row, status, due))
    return out


PAGE_SIZE = 50


def page_of(found: list[Listed], page: int) -> tuple[list[Listed], int, int]:
    """One page of results (1-based, clamped into range), the page shown and the number of pages."""
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = min(max(1, page), pages)
    return found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], page, pages
