"""The question catalogue as the app sees it: rows in the database, parsed and cached.

Parsing YAML on every request would dominate a page's cost, so parsed questions are cached
by content hash: a new version has a new hash and is parsed afresh.
"""
from __future__ import annotations

import secrets
import time
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlmodel import Session, select

import graders
from graders import Grade, Question as QuestionSpec, Variant
from interview import bank
from interview.memo import FingerprintCache
from interview.models import Question


class NotFound(LookupError):
    pass


@lru_cache(maxsize=2048)
def _parse(content_hash: str, yaml_text: str, qid: str) -> QuestionSpec:
    return bank.load_text(yaml_text, f"<database:{qid}>")


def spec_of(row: Question) -> QuestionSpec:
    return _parse(row.content_hash, row.yaml_text, row.id)


IndexRow = tuple[str, str, list, str, int, int]  # id, area, topics, kind, difficulty, time_limit
_index: FingerprintCache[list[IndexRow]] = FingerprintCache(16)


def database_key(session: Session) -> tuple[str, int]:
    """Which database a per-process cache entry belongs to (in-memory SQLite URLs all look alike)."""
    bind = session.get_bind()
    return str(bind.url), id(bind)


FINGERPRINT_TTL = 1.0  # seconds another process's question edit may take to be seen here
_fingerprints: dict[tuple[str, int], tuple[float, tuple]] = {}


def index_fingerprint(session: Session) -> tuple:
    """Changes whenever a question is added, edited, retired or brought back.

    The query scans the question table, so its answer is reused for a second: an edit made in
    this process is seen at once (the commit hook below forgets it), one made by another worker
    process within FINGERPRINT_TTL."""
    key = database_key(session)
    now = time.monotonic()
    hit = _fingerprints.get(key)
    if hit is not None and now - hit[0] < FINGERPRINT_TTL:
        return hit[1]
    active = sa.case((Question.status == "active", 1), else_=0)
    fingerprint = tuple(session.exec(select(sa.func.count(), sa.func.sum(active), sa.func.sum(Question.version),
                                            sa.func.max(Question.updated_at))).one())
    _fingerprints[key] = (now, fingerprint)
    return fingerprint


@sa.event.listens_for(sa.orm.Session, "after_flush")
def _note_question_writes(session: sa.orm.Session, _context: Any) -> None:
    if any(isinstance(obj, Question) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["questions_changed"] = True


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _forget_fingerprint(session: sa.orm.Session) -> None:
    if session.info.pop("questions_changed", False):
        _fingerprints.clear()  # whichever database it was: the next request reads afresh


def active_index(session: Session) -> list[IndexRow]:
    """(id, area, topics, kind, difficulty, time_limit) of every active question.

    Every practice page needs this list; it changes only when questions are synced, saved or
    retired, so it is kept per database and re-read when a one-row fingerprint query (count,
    active count, sum of versions, latest update) says the table changed."""
    fingerprint = index_fingerprint(session)
    key = database_key(session)
    index = _index.get(key, fingerprint)
    if index is None:
        rows = session.exec(select(Question.id, Question.area, Question.topics, Question.kind, Question.difficulty,
                                   Question.time_limit).where(Question.status == "active")
                            .order_by(Question.id)).all()
        index = _index.put(key, fingerprint, [tuple(r) for r in rows])  # type: ignore[misc]
    return index


_rows: FingerprintCache[Question] = FingerprintCache(4096)
_ROW_STAMP = sa.select(Question.version, Question.status, Question.updated_at).where(
    Question.id == sa.bindparam("qid"))


def get(session: Session, question_id: str, include_retired: bool = False) -> tuple[Question, QuestionSpec]:
    """A question's row and parsed spec.

    Every practice page and answer reads one; loading the ORM row (YAML text and all) cost
    more than twice a lookup of its version, status and last update (0.17 vs 0.07 ms), which
    every edit, retirement or restore changes. So rows are kept per process, detached (read-only to callers), and
    reused while that stamp in the database matches: never stale, unlike the index's TTL."""
    stamp = session.connection().execute(_ROW_STAMP, {"qid": question_id}).first()
    if stamp is None or (stamp[1] != "active" and not include_retired):
        raise NotFound(f"no question '{question_id}'")
    key = (database_key(session), question_id)
    row = _rows.get(key, tuple(stamp))
    if row is None:
        with Session(bind=session.connection()) as own:  # the caller's session keeps its own instances
            row = own.get(Question, question_id)
            if row is None:  # deleted between the two reads
                raise NotFound(f"no question '{question_id}'")
            own.expunge(row)
        _rows.put(key, (row.version, row.status, row.updated_at), row)
    return row, spec_of(row)


def listing(session: Session, area: str | None = None, topic: str | None = None) -> list[Question]:
    stmt = select(Question).where(Question.status == "active")
    if area:
        stmt = stmt.where(Question.area == area)
    rows = session.exec(stmt.order_by(Question.area, Question.difficulty, Question.id)).all()
    if topic:
        rows = [r for r in rows if topic in (r.topics or [])]
    return list(rows)


def new_seed() -> int:
    return secrets.randbelow(2**31)


def variant_of(spec: QuestionSpec, seed: int) -> Variant:
    return graders.instantiate(spec, seed)


def grade_answer(spec: QuestionSpec, seed: int, answer: str) -> tuple[Variant, Grade]:
    variant = graders.instantiate(spec, seed)
    return variant, graders.grade(spec, variant, answer)
