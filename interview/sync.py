"""`interview sync`: upsert the bank into the database by id and content hash.

A question that left the bank is retired, never deleted: cards, reviews and attempts keep
pointing at it. A second sync with no file changes changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from interview.bank import LoadedQuestion
from interview.models import Question, QuestionVersion, utcnow


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # ids taken by authored or imported questions

    def summary(self) -> str:
        text = (f"added {len(self.added)}, changed {len(self.changed)}, "
                f"unchanged {len(self.unchanged)}, retired {len(self.retired)}")
        return text + (f", skipped {len(self.conflicts)} (id used by an authored question)" if self.conflicts else "")


def apply_question(session: Session, item: LoadedQuestion, now: datetime, origin: str = "bank",
                   author_id: int | None = None) -> str:
    """Insert or version one question; returns 'added', 'changed' or 'unchanged'."""
    q = item.question
    row = session.get(Question, q.id)
    if row is not None and row.content_hash == item.content_hash and row.status == "active":
        return "unchanged"
    if row is None:
        row = Question(id=q.id, version=1, created_at=now, origin=origin, author_id=author_id,
                       content_hash="", title="", area="", topics=[], kind="", difficulty=1, time_limit=60, yaml_text="")
        outcome = "added"
    else:
        if row.content_hash != item.content_hash:
            row.version += 1
        outcome = "changed"
    row.content_hash = item.content_hash
    row.title, row.area, row.topics, row.kind = q.title, q.area, list(q.topics), q.kind
    row.difficulty, row.time_limit, row.yaml_text = q.difficulty, q.time_limit, item.text
    row.status, row.updated_at = "active", now
    session.add(row)
    session.flush()
    if session.exec(select(QuestionVersion).where(QuestionVersion.question_id == q.id,
                                                  QuestionVersion.version == row.version)).first() is None:
        session.add(QuestionVersion(question_id=q.id, version=row.version, content_hash=item.content_hash,
                                    yaml_text=item.text, author_id=author_id, created_at=now))
    return outcome


def sync_bank(session: Session, loaded: list[LoadedQuestion], now: datetime | None = None) -> SyncReport:
    now = now or utcnow()
    report = SyncReport()
    for item in loaded:
        row = session.get(Question, item.question.id)
        if row is not None and row.origin != "bank":
            report.conflicts.append(item.question.id)
            continue
        getattr(report, apply_question(session, item, now)).append(item.question.id)
    present = {item.question.id for item in loaded}
    for row in session.exec(select(Question).where(Question.origin == "bank", Question.status == "active")).all():
        if row.id not in present:
            row.status, row.updated_at = "retired", now
            session.add(row)
            report.retired.append(row.id)
    session.commit()
    return report
