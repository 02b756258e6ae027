"""The question catalogue as the app sees it: rows in the database, parsed and cached.

Parsing YAML on every request would dominate a page's cost, so parsed questions are cached
by content hash: a new version has a new hash and is parsed afresh.
"""
from __future__ import annotations

import secrets
from functools import lru_cache

from sqlmodel import Session, select

import graders
from graders import Grade, Question as QuestionSpec, Variant
from interview import bank
from interview.models import Question


class NotFound(LookupError):
    pass


@lru_cache(maxsize=2048)
def _parse(content_hash: str, yaml_text: str, qid: str) -> QuestionSpec:
    return bank.load_text(yaml_text, f"<database:{qid}>")


def spec_of(row: Question) -> QuestionSpec:
    return _parse(row.content_hash, row.yaml_text, row.id)


def get(session: Session, question_id: str, include_retired: bool = False) -> tuple[Question, QuestionSpec]:
    row = session.get(Question, question_id)
    if row is None or (row.status != "active" and not include_retired):
        raise NotFound(f"no question '{question_id}'")
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
