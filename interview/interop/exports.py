"""Which questions an export takes (area, topic, due for a learner, an author's, all) and the
file it makes (Moodle XML or an Anki deck): one service for the CLI and the web pages."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlmodel import Session, select

from graders.question import Question as QuestionSpec
from interview import bank
from interview.models import Card, Question, User, utcnow


@dataclass
class Selection:
    area: Optional[str] = None
    topic: Optional[str] = None
    due_for: Optional[User] = None  # only this learner's cards due now
    author: Optional[User] = None  # only this author's questions


@dataclass
class ExportResult:
    data: bytes
    count: int
    notes: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def select_questions(session: Session, selection: Selection, now: datetime | None = None) -> list[QuestionSpec]:
    """The active questions a selection names, loaded through the bank's loader, by area and id."""
    stmt = select(Question).where(Question.status == "active")
    if selection.area:
        stmt = stmt.where(Question.area == selection.area)
    if selection.author is not None:
        stmt = stmt.where(Question.author_id == selection.author.id)
    if selection.due_for is not None:
        due = select(Card.question_id).where(Card.user_id == selection.due_for.id, Card.due <= (now or utcnow()))
        stmt = stmt.where(Question.id.in_(due))  # type: ignore[union-attr]
    rows = session.exec(stmt.order_by(Question.area, Question.id)).all()
    if selection.topic:
        rows = [r for r in rows if selection.topic in (r.topics or [])]
    return [bank.load_text(r.yaml_text, r.id) for r in rows]


def export_file(session: Session, fmt: str, selection: Selection, deck_name: str = "interview") -> ExportResult:
    """The selection as a Moodle XML file (`moodle`) or an Anki package (`anki`)."""
    questions = select_questions(session, selection)
    if fmt == "moodle":
        from interview.interop import moodle_xml

        data, notes, refused = moodle_xml.export(questions)
        return ExportResult(data, len(questions) - len(refused), notes, refused)
    if fmt == "anki":
        from interview.interop import anki

        data, notes = anki.export(questions, deck_name)
        return ExportResult(data, len(questions), notes)
    raise ValueError(f"unknown export format '{fmt}'")
