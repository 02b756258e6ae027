"""Numeric answers: one number, compared with a formula's value within a tolerance.

Learners type numbers the way people do (`.5`, `1/2`, `5e-1`, `1,234.5`, `50%`, `sqrt(2)/2`);
anything that is not a finite, sane number gets an `invalid` grade saying what was expected.
"""
from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from graders import formula
from graders.types import Grade, QuestionError, Variant

if TYPE_CHECKING:
    from graders.question import Question

MAX_INPUT_CHARS = 200
ABSURD = 1e100
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_NOT_NUMBERS = re.compile(r"\b(nan|inf|infinity|none|null)\b", re.IGNORECASE)


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str | float = Field(description="a number or a formula over the parameters")
    rtol: float = Field(0.01, ge=0, le=0.5)
    atol: float = Field(0.0, ge=0)
    percent: bool = False
    unit: str | None = None  # shown beside the box; "%" means the value is in percent points

    @model_validator(mode="after")
    def _percent_one_way(self) -> "Answer":
        if self.percent and self.unit in PERCENT_UNITS:
            raise ValueError("'percent: true' reads 45% as 0.45, 'unit: \"%\"' asks for percent points: give one of them")
        return self

    @model_validator(mode="before")
    @classmethod
    def _atol_alone_means_absolute(cls, data: Any) -> Any:
        """An author who writes only `atol` ("three decimals", "exactly 0") means that tolerance:
        the default relative 1% must not widen it (1% of a count of 1,000 is 10)."""
        if isinstance(data, dict) and "atol" in data and "rtol" not in data:
            data = {**data, "rtol": 0.0}
        return data

    @field_validator("value")
    @classmethod
    def _parses(cls, v: str | float) -> str | float:
        return formula.checked_field(v)


class NumberError(ValueError):
    pass


def parse_number(text: str, allow_percent: bool = False) -> float:
    """Read one number as people write it; raises NumberError with a message for the learner."""
    s = text.strip().replace("\u2212", "-").replace("\u00a0", "").replace(" ", "")
    if not s:
        raise NumberError("The answer is empty: enter a number such as 0.25.")
    if len(s) > MAX_INPUT_CHARS:
        raise NumberError(f"The answer is too long for a number ({len(s)} characters).")
    if _NOT_NUMBERS.search(s):
        raise NumberError(f"'{text.strip()}' is not a finite number: enter a number such as 0.25.")
    scale = 1.0
    if s.endswith("%"):
        if not allow_percent:
            raise NumberError("Percentages are not accepted here: write the value as a number (e.g. 0.25, not 25%).")
        s, scale = s[:-1], 0.01
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    elif "," in s and re.fullmatch(r"[+-]?[\d,.]+", s):
        raise NumberError(f"Could not read '{text.strip()}': write decimals with a point (0.5) and no other commas.")
    if _PLAIN.match(s):
        value = float(s)
    else:
        try:
            value = formula.evaluate(s.replace("^", "**"), {})
        except formula.FormulaError as exc:
            raise NumberError(
                f"Could not read '{text.strip()}' as a number ({exc.message}): enter a number such as 0.25, 1/4 or 2.5e-1."
            ) from None
        if isinstance(value, (list, np.ndarray)) and np.size(value) != 1:
            raise NumberError("Expected a single number, not a list.")
        try:
            value = float(np.asarray(value, dtype=float).reshape(()))
        except (TypeError, ValueError):
            raise NumberError(f"Could not read '{text.strip()}' as a number.") from None
    value *= scale
    if not math.isfinite(value):
        raise NumberError(f"'{text.strip()}' is not a finite number.")
    if abs(value) > ABSURD:
        raise NumberError(f"{value:.3g} is absurdly large for this question: check the magnitude.")
    return value


def expected_value(question: "Question", params: dict[str, Any]) -> float:
    spec: Answer = question.spec
    raw = spec.value
    try:
        value = formula.evaluate(raw, params) if isinstance(raw, str) else raw
        value = float(np.asarray(value, dtype=float).reshape(()))
    except (formula.FormulaError, TypeError, ValueError) as exc:
        raise QuestionError(f"answer.value '{raw}' does not give one number: {exc}") from None
    if not math.isfinite(value):
        raise QuestionError(f"answer.value '{raw}' is not finite for params {params}")
    return value


def prepare(question: "Question", params: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    spec: Answer = question.spec
    return {"expected": expected_value(question, params), "rtol": spec.rtol, "atol": spec.atol,
            "percent": spec.percent, "unit": spec.unit}


def close_enough(got: float, expected: float, rtol: float, atol: float) -> bool:
    return abs(got - expected) <= max(atol, rtol * abs(expected)) + 1e-12


PERCENT_UNITS = ("%", "percent")


def grade(question: "Question", variant: Variant, answer: str) -> Grade:
    data = variant.data
    if data.get("unit") in PERCENT_UNITS:
        # the value is asked in percent points: "94.6%" and "94.6" both mean 94.6
        answer = answer.strip().removesuffix("%")
    try:
        got = parse_number(answer, allow_percent=data.get("percent", False))
    except NumberError as exc:
        return Grade.invalid(str(exc))
    expected, rtol, atol = data["expected"], data["rtol"], data["atol"]
    if close_enough(got, expected, rtol, atol):
        return Grade.from_score(1.0, [f"Correct: {_show(expected)}."], got=got, expected=expected)
    return Grade.from_score(0.0, [f"Not quite: you answered {_show(got)}."] + _hints_for(got, expected, rtol, atol),
                            got=got, expected=expected)


def _hints_for(got: float, expected: float, rtol: float, atol: float) -> list[str]:
    """Name the common slips so the learner sees what went wrong, not only that it did."""
    notes = []
    if close_enough(-got, expected, rtol, atol) and expected != 0:
        notes.append("The magnitude is right but the sign is wrong.")
    elif expected != 0 and close_enough(got / 100, expected, rtol, atol):
        notes.append("That looks like a percentage: enter it as a fraction (divide by 100).")
    elif expected != 0 and close_enough(got * 100, expected, rtol, atol):
        notes.append("That is off by a factor of 100: check whether a percentage was expected.")
    elif expected != 0 and close_enough(got, expected, max(rtol, 0.01) * 5, atol * 5):
        notes.append(f"Close, but outside the tolerance (±{_tolerance_text(expected, rtol, atol)}): check rounding in intermediate steps.")
    return notes


def _tolerance_text(expected: float, rtol: float, atol: float) -> str:
    return _show(max(atol, rtol * abs(expected)))


def _show(x: float) -> str:
    return f"{x:.6g}"


def reference_answer(question: "Question", variant: Variant) -> str:
    return repr(variant.data["expected"])
