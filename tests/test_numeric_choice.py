"""Numeric and choice graders: what people type, and garbage that must never raise."""
from __future__ import annotations

import time

import pytest

import graders
from interview import bank

NUMERIC = """\
id: half-of-it
title: Half of a number
area: math
topics: [probability]
difficulty: 1
kind: numeric
time_limit: 30
prompt: What is the probability of heads with a fair coin?
answer:
  value: 1/2
  rtol: 0.001
  percent: {percent}
explanation: A fair coin has two equally likely outcomes, so heads has probability one half.
"""

BIG = NUMERIC.replace("value: 1/2", "value: 1234.5").replace("id: half-of-it", "id: big-one")

CHOICE = """\
id: pick-one
title: Pick the regulariser
area: ml
topics: [regularization]
difficulty: 1
kind: {kind}
time_limit: 30
prompt: Which give sparse weights?
answer:
  options:
    - text: L1
      why: corners of the L1 ball sit on the axes
    - L2
    - Elastic net with an L1 part
    - Dropout
  correct: {correct}
explanation: L1 penalties push small weights all the way to zero; L2 only shrinks them.
"""


def grade(text: str, answer: object, seed: int = 0) -> graders.Grade:
    q = bank.load_text(text)
    return graders.grade(q, graders.instantiate(q, seed), answer)


@pytest.mark.parametrize("typed", ["0.5", ".5", "1/2", "5e-1", " 0.50 ", "+0.5", "2/4", "sqrt(1/4)", "0.5000", "\u22120.5 * -1"])
def test_numeric_accepts_what_people_type(typed: str) -> None:
    g = grade(NUMERIC.format(percent="false"), typed)
    assert (g.verdict, g.score) == ("correct", 1.0), g.feedback


def test_thousands_separator() -> None:
    assert grade(BIG.format(percent="false"), "1,234.5").verdict == "correct"
    assert grade(BIG.format(percent="false"), "1234.5").verdict == "correct"


def test_percent_only_where_allowed() -> None:
    assert grade(NUMERIC.format(percent="true"), "50%").verdict == "correct"
    g = grade(NUMERIC.format(percent="false"), "50%")
    assert g.verdict == "invalid" and "Percentages are not accepted here" in g.feedback[0]


@pytest.mark.parametrize(
    "typed, message",
    [
        ("", "The answer is empty"),
        ("   ", "The answer is empty"),
        ("nan", "is not a finite number"),
        ("inf", "is not a finite number"),
        ("-Infinity", "is not a finite number"),
        ("1e400", "is not a finite number"),
        ("1e200", "absurdly large"),
        ("banana", "Could not read 'banana' as a number"),
        ("0,5", "write decimals with a point"),
        ("1/0", "not a finite number"),
        ("[1, 2]", "Expected a single number"),
        ("9**9**9**9", "Could not read"),
        ("(" * 500 + "1" + ")" * 500, "too long"),
        ("1" * 5000, "too long"),
        ("__import__('os').system('true')", "Could not read"),
        ("x.__class__", "Could not read"),
    ],
)
def test_numeric_garbage_is_invalid_with_a_message(typed: str, message: str) -> None:
    start = time.perf_counter()
    g = grade(NUMERIC.format(percent="false"), typed)
    assert time.perf_counter() - start < 1.0
    assert g.verdict == "invalid" and g.score == 0.0
    assert message in " ".join(g.feedback), g.feedback


@pytest.mark.parametrize("bad", [None, 3, b"0.5", ["0.5"]])
def test_non_text_answers_are_invalid(bad: object) -> None:
    assert grade(NUMERIC.format(percent="false"), bad).verdict == "invalid"


def test_numeric_feedback_names_common_slips() -> None:
    g = grade(NUMERIC.format(percent="false"), "-0.5")
    assert g.verdict == "incorrect" and "sign is wrong" in " ".join(g.feedback)
    g = grade(NUMERIC.format(percent="false"), "50")
    assert "looks like a percentage" in " ".join(g.feedback)
    g = grade(NUMERIC.format(percent="false"), "0.51")
    assert "outside the tolerance" in " ".join(g.feedback)


def test_choice_shuffles_per_seed_and_grades_by_letter() -> None:
    q = bank.load_text(CHOICE.format(kind="choice", correct=0))
    orders = {tuple(o["key"] for o in graders.instantiate(q, s).data["options"]) for s in range(20)}
    assert len(orders) > 3  # shuffled
    for seed in range(10):
        v = graders.instantiate(q, seed)
        right = next(o["label"] for o in v.data["options"] if o["key"] == 0)
        wrong = next(o["label"] for o in v.data["options"] if o["key"] == 1)
        assert graders.grade(q, v, right).verdict == "correct"
        assert graders.grade(q, v, right.lower()).verdict == "correct"
        g = graders.grade(q, v, wrong)
        assert g.verdict == "incorrect" and f"the answer is {right}" in g.feedback[0]
        assert any("corners of the L1 ball" in f for f in g.feedback)  # the why of the right option
        assert graders.grade(q, v, "L1").verdict == "correct"  # option text works too


def test_choice_invalid_inputs() -> None:
    q = bank.load_text(CHOICE.format(kind="choice", correct=0))
    v = graders.instantiate(q, 1)
    g = graders.grade(q, v, "Z")
    assert g.verdict == "invalid" and "'Z' is not one of the options: choose from A, B, C, D" in g.feedback[0]
    assert graders.grade(q, v, "").verdict == "invalid"
    assert graders.grade(q, v, "A, B").feedback == ["Choose exactly one option."]


def test_multi_partial_credit() -> None:
    q = bank.load_text(CHOICE.format(kind="multi", correct="[0, 2]"))
    v = graders.instantiate(q, 3)
    label = {o["key"]: o["label"] for o in v.data["options"]}
    assert graders.grade(q, v, f"{label[0]}, {label[2]}").verdict == "correct"
    half = graders.grade(q, v, label[0])
    assert (half.verdict, half.score) == ("partial", 0.5)
    assert f"missed {label[2]}" in half.feedback[0]
    zero = graders.grade(q, v, f"{label[0]},{label[1]}")
    assert (zero.verdict, zero.score) == ("incorrect", 0.0)
    assert graders.grade(q, v, f"{label[0]} {label[1]} {label[2]}").score == 0.5


def test_choice_with_several_correct_must_be_multi() -> None:
    q = bank.load_text(CHOICE.format(kind="choice", correct="[0, 2]"))
    with pytest.raises(graders.QuestionError, match="use kind 'multi'"):
        graders.instantiate(q, 0)


def test_atol_alone_is_the_whole_tolerance() -> None:
    from graders.numeric import Answer

    assert Answer(value="1000", atol=0).rtol == 0.0  # an exact count stays exact
    assert Answer(value="0.4", atol=0.0005).rtol == 0.0
    assert Answer(value="0.4").rtol == 0.01 and Answer(value="0.4", rtol=0.02, atol=0.1).rtol == 0.02
