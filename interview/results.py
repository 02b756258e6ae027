"""What a result page shows about one graded answer, the same on practice, browsing and mock reports.

The grader's feedback is a list of lines written for the command line; a page also shows the
per-option marks, the per-test table and the rubric checklist, so the lines that repeat those
are dropped here (each point appears once), and the correct answer is given in the form that
reads best (the options' texts, typeset math, a solution).
"""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import graders
from graders import Grade, Question as QuestionSpec, Variant


@dataclass
class OptionMark:
    label: str
    text: str
    why: str | None
    correct: bool
    chosen: bool


@dataclass
class ResultView:
    feedback: list[str]
    options: list[OptionMark] = field(default_factory=list)
    reference: str | None = None  # a correct answer, as text (None where the page shows it otherwise)
    reference_latex: str | None = None  # the same, typeset (expression answers)
    partial_credit: bool = False


# lines a grader writes that the page shows in a table or list of its own
_OPTION_WHY = re.compile(r"^[A-Z]: ")
_TEST_LINE = re.compile(r"^Test \d+: ")
_RUBRIC_LINE = re.compile(r"^(Covered|Missed): ")


def view(spec: QuestionSpec, variant: Variant, grade: Grade) -> ResultView:
    """The result of one answer, shaped for a page: feedback without repeats, options marked, the
    correct answer for a miss. `variant` must be the full variant (with the options' `why`)."""
    kind = spec.kind
    lines = list(dict.fromkeys(grade.feedback))  # a line said twice is said once
    # a multi answer with some right picks earns part of the score: said in words beside it
    out = ResultView(feedback=lines, partial_credit=grade.verdict == "partial" and kind == "multi")
    if kind in ("choice", "multi") and "options" in variant.data:
        chosen = set(grade.details.get("chosen", []))
        correct = set(variant.data.get("correct") or grade.details.get("correct", []))
        out.options = [OptionMark(o["label"], o["text"], o.get("why"), o["label"] in correct, o["label"] in chosen)
                       for o in variant.data["options"]]
        if grade.verdict != "invalid":
            out.feedback = [line for line in lines if not _OPTION_WHY.match(line)]
    if kind == "code" and grade.details.get("tests"):
        out.feedback = [line for line in out.feedback if not _TEST_LINE.match(line)]
    if kind == "rubric" and (grade.details.get("covered") or grade.details.get("missed")):
        out.feedback = [line for line in out.feedback if not _RUBRIC_LINE.match(line)]
    if grade.verdict != "correct" and kind not in ("rubric", "choice", "multi"):
        out.reference = graders.reference_answer(spec, variant)
        if kind == "expression":
            out.reference_latex = expression_latex(spec, out.reference)
    return out


def expression_latex(spec: QuestionSpec, text: str) -> str | None:
    """An expression answer typeset as LaTeX (None if it cannot be read)."""
    from graders import expression

    return expression.preview(spec, text).get("latex")


@dataclass
class FixtureTable:
    name: str
    columns: list[str]
    rows: list[list[Any]]


def fixture_tables(schema_sql: str, rows: dict[str, list[list[Any]]]) -> list[FixtureTable]:
    """A SQL question's sample tables with their column names (read from the schema), every row."""
    columns = _schema_columns(schema_sql)
    return [FixtureTable(name, list(columns.get(name.lower(), ())), [list(r) for r in data])
            for name, data in rows.items()]


@lru_cache(maxsize=256)
def _schema_columns(schema_sql: str) -> dict[str, tuple[str, ...]]:
    """Column names per table: the schema run on an empty in-memory SQLite (as the grader does)."""
    con = sqlite3.connect(":memory:")
    try:
        con.executescript(schema_sql)
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t.lower(): tuple(r[1] for r in con.execute(f'PRAGMA table_info("{t}")')) for t in tables}
    except sqlite3.Error:
        return {}
    finally:
        con.close()
