"""Numeric tolerances accept only answers that are right for the question as worded (issue 16).

The audit runs over the whole bank: for every numeric question and twenty variants, the nearest
wrong answers a learner could give must be refused: one more or one fewer for a whole-number
answer (a sample size, a day count, a number of steps), and the value before rounding where the
answer is a ceiling or a floor.
"""
from __future__ import annotations

import math
import re

import graders
from graders import formula
from interview import bank

_ROUNDED = re.compile(r"^\s*(ceil|floor)\((.*)\)\s*$")
_WHOLE = re.compile(r"whole number|round(?:ed)? up|smallest", re.IGNORECASE)


def _value_formula(question) -> str | None:  # type: ignore[no-untyped-def]
    """The answer's formula, following a bare parameter name to that parameter's formula."""
    raw = question.spec.value
    if not isinstance(raw, str):
        return None
    spec = question.params.get(raw.strip())
    return spec.formula if spec is not None and spec.formula else raw


def _refused(question, variant, answer: float) -> bool:  # type: ignore[no-untyped-def]
    return graders.grade(question, variant, repr(answer)).score == 0.0


def _balanced(text: str) -> bool:
    """Whether `text` is one parenthesised whole (its brackets never close more than they open)."""
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def test_nearest_wrong_numeric_answers_are_refused() -> None:
    loaded, _ = bank.load_bank()
    accepted: list[str] = []
    for item in loaded:
        q = item.question
        if q.kind != "numeric":
            continue
        raw = _value_formula(q)
        rounded = _ROUNDED.match(raw) if raw else None
        if rounded and not _balanced(rounded.group(2)):
            rounded = None  # floor(a) + floor(b): a sum of rounded terms, not one rounded value
        for seed in range(20 if q.params else 1):
            v = graders.instantiate(q, seed)
            expected = v.data["expected"]
            wrong: list[tuple[str, float]] = []
            if float(expected).is_integer() and (rounded or _WHOLE.search(v.prompt)) and abs(expected) < 1e7:
                wrong += [("one fewer", expected - 1), ("one more", expected + 1)]
            if rounded:
                inner = float(formula.evaluate(rounded.group(2), v.params))
                if not inner.is_integer() and math.isfinite(inner):
                    wrong.append(("the value before rounding", inner))
            for what, answer in wrong:
                if not _refused(q, v, answer):
                    accepted.append(f"{q.id} seed {seed}: {what} ({answer:.6g}) is accepted for {expected:.6g}")
                    break
    assert not accepted, "\n".join(accepted[:40])


def _bank_question(qid: str):  # type: ignore[no-untyped-def]
    return bank.load_file(next(bank.default_bank_path().rglob(f"{qid}.yaml"))).question


def test_taylor_estimate_refuses_the_exact_root_it_asks_not_to_give() -> None:
    q = _bank_question("taylor-estimate-of-square-root")
    for seed in range(50):
        v = graders.instantiate(q, seed)
        exact = round(math.sqrt(v.params["xt"]), 4)
        assert graders.grade(q, v, f"{exact:.4f}").score == 0.0, (seed, v.params)
        assert graders.grade(q, v, f"{v.data['expected']:.4f}").score == 1.0


def test_percent_asked_accepts_the_percent_sign() -> None:
    q = _bank_question("accuracy-of-majority-baseline")
    v = graders.instantiate(q, 3)
    base = v.params["base"]
    for typed in (f"{base:.1f}", f"{base:.1f}%", f" {base:.1f} %"):
        assert graders.grade(q, v, typed).score == 1.0, typed
    assert graders.grade(q, v, f"{base / 100:.4f}").score == 0.0


def test_percent_points_and_percent_fractions_are_not_mixed() -> None:
    text = bank.default_bank_path().joinpath("ml/core/accuracy-of-majority-baseline.yaml").read_text()
    try:
        bank.load_text(text.replace('  unit: "%"\n', '  unit: "%"\n  percent: true\n'))
    except bank.BankError as exc:
        assert "give one of them" in str(exc)
    else:
        raise AssertionError("a question with both 'percent: true' and unit '%' loaded")
