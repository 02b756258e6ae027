"""Matrix and vector answers, compared entry by entry within a tolerance.

Learners type nested lists (`[[1, 2], [3, 4]]`), MATLAB style (`[1 2; 3 4]`, `[1, 2; 3, 4]`)
or a vector (`[1, 2, 3]`, `(1, 2, 3)`, `[1; 2; 3]`); entries are numbers as `numeric` reads
them (`-1/3`, `sqrt(2)/2`, `1e-3`). A wrong shape or a ragged row is named as such rather
than graded as wrong numbers. Eigenvector-style questions accept any non-zero multiple
(`scalar_multiple`, per column for a matrix, since each eigenvector has its own scale) and
columns in any order (`any_column_order`).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from graders import formula
from graders.numeric import NumberError, parse_number
from graders.types import Grade, QuestionError, Variant

if TYPE_CHECKING:
    from graders.question import Question

MAX_INPUT_CHARS = 5000
MAX_ENTRIES = 144
TINY = 1e-12


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str | list[Any] = Field(description="a formula over the params giving a vector or matrix, or a literal list")
    rtol: float = Field(1e-6, ge=0, le=0.5)
    atol: float = Field(1e-6, ge=0)
    scalar_multiple: bool = False
    any_column_order: bool = False

    @field_validator("value")
    @classmethod
    def _parses(cls, v: str | list[Any]) -> str | list[Any]:
        return formula.checked_field(v)


class MatrixError(ValueError):
    """An answer that cannot be read as a matrix; the message is for the learner."""


# ---------------------------------------------------------------- reading


def parse_matrix(text: str) -> np.ndarray:
    """A 1-D (vector) or 2-D array from what the learner typed; raises MatrixError."""
    s = text.strip().replace("\u2212", "-").replace("\u00a0", " ")
    if not s:
        raise MatrixError("The answer is empty: type a matrix such as [[1, 2], [3, 4]] or [1 2; 3 4].")
    if len(s) > MAX_INPUT_CHARS:
        raise MatrixError(f"The answer is too long for a matrix ({len(s):,} characters).")
    _check_brackets(s)
    if s[0] == "(" and s[-1] == ")" and _matching(s, 0) == len(s) - 1 and _top_split(s[1:-1], ",")[1:]:
        s = "[" + s[1:-1] + "]"           # (1, 2, 3) as a vector
    if s[0] == "[" and _matching(s, 0) == len(s) - 1:
        inner = s[1:-1].strip()
    else:
        inner = s                           # bare `1 2; 3 4` or `1, 2, 3`
    if not inner:
        raise MatrixError("The matrix is empty.")
    if inner.startswith("["):
        rows_text = _nested_rows(inner)
        rows = [_row_entries(r, i) for i, r in enumerate(rows_text)]
        shape_2d = True
    else:
        parts = _top_split(inner.replace("\n", ";"), ";")
        parts = [p for p in parts if p.strip()] if len(parts) > 1 else parts
        rows = [_row_entries(p, i) for i, p in enumerate(parts)]
        shape_2d = len(parts) > 1
    widths = [len(r) for r in rows]
    if len(set(widths)) > 1:
        k = next(i for i, w in enumerate(widths) if w != widths[0])
        raise MatrixError(f"The rows have different lengths: row {k + 1} has {_entries(widths[k])} but row 1 has {widths[0]}.")
    if sum(widths) > MAX_ENTRIES:
        raise MatrixError(f"Too many entries ({sum(widths)}; at most {MAX_ENTRIES}).")
    values = [[_entry(e, i, j) for j, e in enumerate(r)] for i, r in enumerate(rows)]
    arr = np.array(values, dtype=float)
    return arr if shape_2d else arr[0]


def _check_brackets(s: str) -> None:
    depth = 0
    for i, ch in enumerate(s):
        if ch in "([":
            depth += 1
            if depth > 20:
                raise MatrixError("The brackets are nested too deeply.")
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                raise MatrixError(f"Unbalanced brackets: '{ch}' at position {i + 1} closes nothing.")
    if depth:
        raise MatrixError("Unbalanced brackets: a '[' or '(' is never closed.")


def _matching(s: str, start: int) -> int:
    depth = 0
    for i in range(start, len(s)):
        if s[i] in "([":
            depth += 1
        elif s[i] in ")]":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _top_split(s: str, sep: str) -> list[str]:
    """Split at `sep` outside brackets."""
    out, depth, cur = [], 0, []
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _nested_rows(inner: str) -> list[str]:
    """`[1, 2], [3, 4]` (commas, semicolons or spaces between the rows) -> the rows' insides."""
    rows, i = [], 0
    while i < len(inner):
        ch = inner[i]
        if ch.isspace() or ch in ",;":
            i += 1
            continue
        if ch != "[":
            raise MatrixError("In a nested list every row must be in brackets, e.g. [[1, 2], [3, 4]].")
        j = _matching(inner, i)
        body = inner[i + 1:j]
        if "[" in body:
            raise MatrixError("Only vectors and matrices (two levels of brackets) are accepted.")
        rows.append(body)
        i = j + 1
    return rows


_OPERAND_END = re.compile(r"[0-9A-Za-z_.)%]$")
_OPERAND_START = re.compile(r"^[0-9A-Za-z_.(]|^[+-][0-9A-Za-z_.(]")


def _row_entries(row: str, i: int) -> list[str]:
    """Entries of one row: commas separate; otherwise spaces do, MATLAB style (`1 -2` is two
    entries, `1 - 2` is one)."""
    row = row.strip()
    if not row:
        raise MatrixError(f"Row {i + 1} is empty.")
    parts = _top_split(row, ",")
    if len(parts) > 1:
        for j, p in enumerate(parts):
            if not p.strip():
                raise MatrixError(f"Row {i + 1} has an empty entry (position {j + 1}): check the commas.")
        return [p.strip() for p in parts]
    words = _top_split_space(row)
    entries: list[str] = []
    for w in words:
        if entries and _OPERAND_END.search(entries[-1]) and _OPERAND_START.search(w):
            entries.append(w)
        elif entries:
            entries[-1] += " " + w
        else:
            entries.append(w)
    return entries


def _top_split_space(s: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch.isspace() and depth == 0:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def _entry(text: str, i: int, j: int) -> float:
    try:
        return parse_number(text)
    except NumberError as exc:
        raise MatrixError(f"Row {i + 1}, column {j + 1}: {exc}") from None


# ---------------------------------------------------------------- grading


def prepare(question: "Question", params: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """The expected array (as nested lists), its shape and how to compare."""
    spec: Answer = question.spec
    raw = spec.value
    try:
        value = formula.evaluate(raw, params) if isinstance(raw, str) else raw
        arr = np.asarray(value, dtype=float)
    except (formula.FormulaError, TypeError, ValueError) as exc:
        raise QuestionError(f"answer.value {raw!r} does not give a vector or matrix: {exc}") from None
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise QuestionError(f"answer.value {raw!r} gives shape {arr.shape}; expected a vector or a matrix")
    if not np.all(np.isfinite(arr)):
        raise QuestionError(f"answer.value {raw!r} has entries that are not finite for params {params}")
    return {"expected": arr.tolist(), "shape": list(arr.shape), "rtol": spec.rtol, "atol": spec.atol,
            "scalar_multiple": spec.scalar_multiple, "any_column_order": spec.any_column_order}


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"a vector of {shape[0]} entries"
    return f"a {shape[0]}x{shape[1]} matrix"


def _close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    return np.abs(got - want) <= np.maximum(atol, rtol * np.abs(want)) + TINY


def _scaled_close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    """Is `got` (a vector) a non-zero multiple of `want`? Scale it onto `want` by least squares."""
    gg = float(got @ got)
    if gg == 0.0:
        return not np.any(want)
    c = float(got @ want) / gg
    return c != 0.0 and bool(np.all(_close(c * got, want, rtol, atol)))


def _conform(got: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """A vector may be typed as a row or a column; otherwise the shape must match."""
    if got.shape == shape:
        return got
    if len(shape) == 1 and got.ndim == 2 and 1 in got.shape and got.size == shape[0]:
        return got.reshape(shape)
    return None


def _columns_match(got: np.ndarray, want: np.ndarray, data: dict[str, Any]) -> tuple[int, list[int] | None]:
    """How many columns can be paired (any order if allowed), and the pairing when complete."""
    rtol, atol = data["rtol"], data["atol"]
    n = want.shape[1]

    def ok(gc: int, wc: int) -> bool:
        if data["scalar_multiple"]:
            return _scaled_close(got[:, gc], want[:, wc], rtol, atol)
        return bool(np.all(_close(got[:, gc], want[:, wc], rtol, atol)))

    if not data["any_column_order"]:
        matched = [ok(j, j) for j in range(n)]
        return sum(matched), (list(range(n)) if all(matched) else None)
    compat = [[ok(g, w) for g in range(n)] for w in range(n)]
    owner: dict[int, int] = {}   # got column -> want column

    def augment(w: int, seen: set[int]) -> bool:
        for g in range(n):
            if compat[w][g] and g not in seen:
                seen.add(g)
                if g not in owner or augment(owner[g], seen):
                    owner[g] = w
                    return True
        return False

    size = sum(augment(w, set()) for w in range(n))
    return size, ([g for w in range(n) for g in owner if owner[g] == w] if size == n else None)


def grade(question: "Question", variant: Variant, answer: str) -> Grade:
    """Shape first, then entries; partial credit is the fraction of entries (or columns) right."""
    data = variant.data
    want = np.asarray(data["expected"], dtype=float)
    shape = tuple(data["shape"])
    try:
        raw = parse_matrix(answer)
    except MatrixError as exc:
        return Grade.invalid(str(exc))
    got = _conform(raw, shape)
    if got is None:
        return Grade.from_score(0.0, [f"Wrong shape: expected {_shape_text(shape)}, got {_shape_text(raw.shape)}."],
                                expected_shape=list(shape), got_shape=list(raw.shape))
    details = {"got": got.tolist()}
    if data["scalar_multiple"] or data["any_column_order"]:
        return _grade_flexible(got, want, data, details)
    right = _close(got, want, data["rtol"], data["atol"])
    if right.all():
        return Grade.from_score(1.0, ["Correct."], **details)
    wrong = np.argwhere(~right)[0]
    where = f"entry {int(wrong[0]) + 1}" if want.ndim == 1 else f"row {int(wrong[0]) + 1}, column {int(wrong[1]) + 1}"
    feedback = [f"{int(right.sum())} of {right.size} entries are right; the first wrong one is {where} "
                f"(you have {_show(float(got[tuple(wrong)]))})."]
    feedback += _hints(got, want, data)
    return Grade.from_score(float(right.mean()), feedback, first_wrong=[int(x) for x in wrong], **details)


def _grade_flexible(got: np.ndarray, want: np.ndarray, data: dict[str, Any], details: dict[str, Any]) -> Grade:
    g2 = got.reshape(-1, 1) if got.ndim == 1 else got
    w2 = want.reshape(-1, 1) if want.ndim == 1 else want
    if data["scalar_multiple"] and np.any(np.all(g2 == 0, axis=0)):
        what = "vector" if want.ndim == 1 else "column"
        return Grade.from_score(0.0, [f"A zero {what} cannot be the answer: any non-zero multiple of the right one is accepted."], **details)
    count, order = _columns_match(g2, w2, data)
    if order is not None:
        note = ["Correct."]
        if data["scalar_multiple"]:
            note.append("Any non-zero multiple is accepted" + (" (each column scaled on its own)." if want.ndim == 2 else "."))
        return Grade.from_score(1.0, note, **details)
    n = w2.shape[1]
    if want.ndim == 1:
        msg = ("That is not a multiple of the expected vector." if data["scalar_multiple"]
               else "Not quite: the vector does not match.")
        return Grade.from_score(0.0, [msg] + _hints(got, want, data), **details)
    order_note = " in any order" if data["any_column_order"] else ""
    scale_note = ", each up to a non-zero factor" if data["scalar_multiple"] else ""
    return Grade.from_score(count / n, [f"{count} of {n} columns match{order_note}{scale_note}."], matched_columns=count, **details)


def _hints(got: np.ndarray, want: np.ndarray, data: dict[str, Any]) -> list[str]:
    rtol, atol = data["rtol"], data["atol"]
    if want.ndim == 2 and want.shape[0] == want.shape[1] and np.all(_close(got.T, want, rtol, atol)):
        return ["That is the transpose of the expected matrix."]
    if np.any(want) and np.all(_close(-got, want, rtol, atol)):
        return ["The magnitudes are right but the signs are all flipped."]
    return []


def _show(x: float) -> str:
    return f"{x:.6g}"


def _entries(k: int) -> str:
    return f"{k} entry" if k == 1 else f"{k} entries"


def _entry_text(x: float) -> str:
    """Short where that loses nothing that matters (0.6, not 0.6000000000000001)."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    short = f"{x:.12g}"
    return short if abs(float(short) - x) <= 1e-14 * max(1.0, abs(x)) else repr(x)


def reference_answer(question: "Question", variant: Variant) -> str:
    """The expected value as a nested list (exact floats), which `parse_matrix` reads back."""
    want = variant.data["expected"]
    if want and isinstance(want[0], list):
        return "[" + ", ".join("[" + ", ".join(_entry_text(x) for x in row) + "]" for row in want) + "]"
    return "[" + ", ".join(_entry_text(x) for x in want) + "]"
