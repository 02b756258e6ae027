"""Deterministic variants: parameters drawn from a seed, and text with `{name}` filled in.

The same (question, seed) always gives the same numbers, so an attempt can be replayed and
re-graded from its stored seed alone.
"""
from __future__ import annotations

import re
import zlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from graders import formula
from graders.types import QuestionError

if TYPE_CHECKING:
    from graders.question import ParamSpec, Question

MAX_TRIES = 500

# `{name}` or `{name:spec}`, not preceded by a letter, digit, `_`, `^`, `}` or a backslash, so that
# LaTeX such as \frac{a}{b}, x^{2} and \mathbf{x} is left alone; `{{` stays a literal brace.
# One exception: the `x` of a dimension (`3x{k}`, `{k}x{k}`, `768x{d}`, ` x{d}`) is a separator,
# not the end of a LaTeX command, so a placeholder right after it is filled.
# `{{name}}` is the escape for a literal `{name}`; every other `{{` or `}}` (LaTeX such as
# `\frac{1}{\sqrt{x}}` or `e^{z_{ {j} }}`) is left exactly as written.
ESCAPED = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*(?::[^{}]*)?)\}\}")
PLACEHOLDER = re.compile(r"(?:(?<![A-Za-z0-9_^}\\{])|(?<=[0-9}\s(]x)|(?<=^x))\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}(?!\})")


def rng_for(question_id: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(question_id.encode())])


def draw_params(question: "Question", rng: np.random.Generator) -> dict[str, Any]:
    """Draw every parameter, retrying until the question's constraints all hold."""
    if not question.params:
        return {}
    checks = [(c, formula.parse(c)) for c in question.constraints]
    for _ in range(MAX_TRIES):
        params: dict[str, Any] = {}
        for name, spec in question.params.items():
            params[name] = _draw_one(name, spec, params, rng)
        if all(_holds(text, f, params) for text, f in checks):
            return params
    raise QuestionError(f"constraints {question.constraints} were not met in {MAX_TRIES} draws; widen the ranges")


def _holds(text: str, f: formula.Formula, params: dict[str, Any]) -> bool:
    try:
        return bool(np.all(f.evaluate(params)))
    except formula.FormulaError as exc:
        raise QuestionError(f"constraint '{text}': {exc.message}") from None


def _draw_one(name: str, spec: "ParamSpec", earlier: dict[str, Any], rng: np.random.Generator) -> Any:
    if spec.formula is not None:
        try:
            value = formula.evaluate(spec.formula, earlier)
        except formula.FormulaError as exc:
            raise QuestionError(f"params.{name}.formula: {exc.message}") from None
        value = formula.to_plain(value)
        if isinstance(value, float):
            value = round(value, 12)
        return value
    if spec.choice is not None:
        return spec.choice[int(rng.integers(len(spec.choice)))]
    shape: tuple[int, ...] = ()
    if spec.matrix:
        shape = tuple(spec.matrix)
    elif spec.vector:
        shape = (spec.vector,)
    for _ in range(MAX_TRIES):
        if spec.int_range is not None:
            lo, hi = spec.int_range
            arr = rng.integers(lo, hi + 1, size=shape or None)
        else:
            lo_f, hi_f = spec.float_range  # type: ignore[misc]
            arr = np.round(rng.uniform(lo_f, hi_f, size=shape or None), spec.digits)
        if spec.symmetric:
            arr = np.triu(arr) + np.triu(arr, 1).T
        if not spec.exclude or not np.any(np.isin(arr, spec.exclude)):
            return formula.to_plain(arr)
    raise QuestionError(f"params.{name}: every draw hit an excluded value; widen the range")


def format_value(value: Any, spec: str | None = None) -> str:
    """How a parameter appears in text; `:latex` renders a matrix or vector as LaTeX, and the
    wording specs (`+term`, `-term`, `coef`, `+coef`, `paren`, `plural=...`, see `_wording`)
    write signs, coefficients and plurals as people write them."""
    if spec == "latex":
        return _latex(value)
    if spec and (spec in _WORDING or spec.startswith("plural=")):
        return _wording(value, spec)
    if spec:
        try:
            return format(value, spec)
        except (ValueError, TypeError) as exc:
            raise QuestionError(f"format '{spec}' does not apply to {value!r}: {exc}") from None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


_WORDING = ("+term", "-term", "coef", "+coef", "paren")


def _wording(value: Any, spec: str) -> str:
    """A number as a term of a formula or a count in a sentence, for a value of either sign.

    - `+term`: the value added to what precedes it: `x {b:+term}` gives `x + 3` or `x - 3`.
    - `-term`: the value subtracted: `(w {c:-term})` gives `(w - 3)` or `(w + 3)`, never `w - -3`.
    - `coef`: a leading coefficient: `{a:coef}x` gives `3x`, `x` for 1, `-x` for -1.
    - `+coef`: a coefficient after another term: `x^2 {b:+coef}y` gives `+ 3y`, `- y`, `+ y`.
    - `paren`: a negative value in parentheses, as a base of a power or after an operator:
      `{a:paren}^2` gives `(-1.5)^2`, never `-1.5^2` (which means -(1.5^2)).
    - `plural=word` or `plural=word|words`: `{n:plural=order}` gives `1 order`, `3 orders`.
    """
    if isinstance(value, (list, dict)) or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QuestionError(f"format '{spec}' applies to a number, not {value!r}")
    if spec.startswith("plural="):
        forms = spec[len("plural="):].split("|")
        if not forms[0] or len(forms) > 2:
            raise QuestionError(f"format '{spec}' needs 'plural=word' or 'plural=word|words'")
        singular = forms[0]
        plural = forms[1] if len(forms) == 2 else singular + "s"
        return f"{format_value(value)} {singular if value == 1 else plural}"
    negative = value < 0
    magnitude = format_value(-value if negative else value)
    if spec == "paren":
        return f"({format_value(value)})" if negative else magnitude
    if spec in ("+term", "-term"):
        minus = negative if spec == "+term" else not negative
        return f"{'-' if minus else '+'} {magnitude}"
    unit = "" if magnitude == "1" else magnitude
    if spec == "coef":
        return f"{'-' if negative else ''}{unit}"
    return f"{'-' if negative else '+'} {unit}"  # +coef


def _latex(value: Any) -> str:
    if not isinstance(value, list):
        return format_value(value)
    rows = value if value and isinstance(value[0], list) else [[v] for v in value]
    body = r" \\ ".join(" & ".join(format_value(v) for v in row) for row in rows)
    return r"\begin{pmatrix}" + body + r"\end{pmatrix}"


# Where a filled-in value sits in `Filled.template`: SLOT_OPEN, its index, SLOT_CLOSE (private-use
# characters, which neither Markdown nor the sanitiser touch).
SLOT_OPEN, SLOT_CLOSE = "\ue002", "\ue003"
SLOT = re.compile("\ue002(\\d+)\ue003")


class Filled(str):
    """Text with its parameters filled in that remembers its template and values.

    Every practice page shows a fresh variant, so its text differs from the last one; the
    Markdown renderer (`interview.render`) renders the template once and escapes each
    variant's values into the cached HTML instead of rendering every variant anew."""

    template: str
    values: tuple[str, ...]


def render(text: str, params: dict[str, Any], where: str = "prompt") -> str:
    """Fill `{name}` placeholders; an unknown name is a question error that names it."""
    template, parts, names = _parsed(text)
    if not names:
        return template
    values: list[str] = []
    for name, spec in names:
        if name not in params:
            raise QuestionError(f"{where}: '{{{name}}}' is not a parameter of this question")
        values.append(format_value(params[name], spec))
    pieces = [parts[0]]
    for value, literal in zip(values, parts[1:]):
        pieces += (value, literal)
    out = Filled("".join(pieces))
    out.template, out.values = template, tuple(values)
    return out


@lru_cache(maxsize=8192)
def _parsed(text: str) -> tuple[str, tuple[str, ...], tuple[tuple[str, str | None], ...]]:
    """A text's template (placeholders as slots, `{{name}}` escapes resolved), the literal
    parts between its slots and the placeholders in order. Every variant of a question fills
    the same texts; the two substitutions over each text were a third of drawing a variant."""
    names: list[tuple[str, str | None]] = []

    def slot(match: re.Match[str]) -> str:
        names.append((match.group(1), match.group(2)))
        return f"{SLOT_OPEN}{len(names) - 1}{SLOT_CLOSE}"

    template = ESCAPED.sub(r"{\1}", PLACEHOLDER.sub(slot, text))
    parts = tuple(SLOT.split(template)[0::2])  # split keeps each slot's index between the parts
    return template, parts, tuple(names)


def placeholders(text: str) -> set[str]:
    return {m.group(1) for m in PLACEHOLDER.finditer(text)}
