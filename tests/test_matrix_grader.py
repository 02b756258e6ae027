"""The matrix kind: reading matrices as people type them, shapes, tolerance and options."""
from __future__ import annotations

import re
import time

import pytest

import graders
from graders.matrix import MatrixError, parse_matrix
from interview import bank


def _question(value: str, extra: str = "", params: str = "") -> graders.Question:
    return bank.load_text(f"""\
id: matrix-test
title: A matrix question
area: math
topics: [linear-algebra]
difficulty: 1
kind: matrix
time_limit: 90
prompt: Give the matrix asked for in this test.
{params}answer:
  value: "{value}"
{extra}explanation: Entry by entry, within the tolerance given in the question.
""")


def _grade(value: str, answer: str, extra: str = "") -> graders.Grade:
    q = _question(value, extra)
    return graders.grade(q, graders.instantiate(q, 0), answer)


M = "[[1, 2], [3, 4]]"


@pytest.mark.parametrize("text, expected", [
    ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
    ("[1 2; 3 4]", [[1, 2], [3, 4]]),
    ("[1, 2; 3, 4]", [[1, 2], [3, 4]]),
    ("1 2; 3 4", [[1, 2], [3, 4]]),
    ("[[1,2] [3,4]]", [[1, 2], [3, 4]]),
    ("[1\n2]", [[1], [2]]),
    ("[1, 2, 3]", [1, 2, 3]),
    ("[1 2 3]", [1, 2, 3]),
    ("(1, 2, 3)", [1, 2, 3]),
    ("[1 -2]", [1, -2]),
    ("[1 - 2]", [-1]),
    ("[−1, 2]", [-1, 2]),
    ("[sqrt(2)/2, -1/3]", [2 ** 0.5 / 2, -1 / 3]),
    ("[1e-3 2.5e2]", [0.001, 250]),
])
def test_parse_forms(text, expected):
    got = parse_matrix(text)
    if isinstance(expected[0], list):
        assert got.tolist() == expected
    else:
        assert got.ndim == 1
        assert got.tolist() == pytest.approx(expected)


@pytest.mark.parametrize("text, message", [
    ("[[1, 2], [3]]", "row 2 has 1 entry but row 1 has 2"),
    ("[1 2; 3]", "row 2 has 1 entry but row 1 has 2"),
    ("[[1, 2], [3, 4]", "a '[' or '(' is never closed"),
    ("[1,,2]", "Row 1 has an empty entry (position 2)"),
    ("[a, 2]", "Row 1, column 1: Could not read 'a'"),
    ("[]", "The matrix is empty"),
    ("", "The answer is empty"),
    ("[[[1]]]", "two levels of brackets"),
])
def test_malformed_is_explained(text, message):
    with pytest.raises(MatrixError, match=re.escape(message)):
        parse_matrix(text)


def test_correct_in_every_notation():
    for answer in ("[[1, 2], [3, 4]]", "[1 2; 3 4]", "[1, 2; 3, 4]", "[[1.0000000001, 2], [3, 4]]"):
        g = _grade(M, answer)
        assert g.verdict == "correct" and g.score == 1.0, answer
        assert g.feedback == ["Correct."]


def test_wrong_entry_is_named_with_partial_credit():
    g = _grade(M, "[1 2; 3 5]")
    assert g.verdict == "partial" and g.score == 0.75
    assert g.feedback[0] == "3 of 4 entries are right; the first wrong one is row 2, column 2 (you have 5)."


def test_all_wrong_is_incorrect():
    g = _grade(M, "[9 9; 9 9]")
    assert g.verdict == "incorrect" and g.score == 0.0


def test_wrong_shape_is_named():
    g = _grade(M, "[1 2 3; 4 5 6]")
    assert g.verdict == "incorrect"
    assert g.feedback == ["Wrong shape: expected a 2x2 matrix, got a 2x3 matrix."]
    g = _grade(M, "[1, 2, 3, 4]")
    assert g.feedback == ["Wrong shape: expected a 2x2 matrix, got a vector of 4 entries."]


def test_ragged_rows_are_invalid():
    g = _grade(M, "[[1, 2], [3]]")
    assert g.verdict == "invalid"
    assert g.feedback == ["The rows have different lengths: row 2 has 1 entry but row 1 has 2."]


def test_transpose_and_sign_slips_are_named():
    assert "That is the transpose of the expected matrix." in _grade(M, "[1 3; 2 4]").feedback
    assert "The magnitudes are right but the signs are all flipped." in _grade(M, "[-1 -2; -3 -4]").feedback


def test_vector_as_row_or_column():
    for answer in ("[1, 2, 3]", "[1; 2; 3]", "[[1, 2, 3]]"):
        assert _grade("[1, 2, 3]", answer).verdict == "correct", answer
    g = _grade("[1, 2, 3]", "[1, 2, 4]")
    assert g.verdict == "partial"
    assert "the first wrong one is entry 3 (you have 4)" in g.feedback[0]


def test_tolerance_is_respected():
    extra = "  rtol: 0\n  atol: 0.01\n"
    assert _grade("[[0.5, 1/3]]", "[[0.5, 0.333]]", extra).verdict == "correct"
    assert _grade("[[0.5, 1/3]]", "[[0.5, 0.32]]", extra).verdict == "partial"
    # default 1e-6: 0.333 is too coarse for 1/3
    assert _grade("[[0.5, 1/3]]", "[[0.5, 0.333]]").verdict == "partial"
    assert _grade("[[0.5, 1/3]]", "[[1/2, 1/3]]").verdict == "correct"


def test_scalar_multiple_vector():
    extra = "  scalar_multiple: true\n"
    for answer in ("[1, 2]", "[2, 4]", "[-0.5, -1]", "[1/sqrt(5), 2/sqrt(5)]"):
        assert _grade("[1, 2]", answer, extra).verdict == "correct", answer
    g = _grade("[1, 2]", "[2, 1]", extra)
    assert g.verdict == "incorrect" and g.feedback[0] == "That is not a multiple of the expected vector."
    g = _grade("[1, 2]", "[0, 0]", extra)
    assert g.verdict == "incorrect" and "A zero vector cannot be the answer" in g.feedback[0]


def test_any_column_order_and_per_column_scale():
    extra = "  scalar_multiple: true\n  any_column_order: true\n"
    assert _grade("[[1, 1], [1, -1]]", "[[2, 1], [-2, 1]]", extra).verdict == "correct"
    g = _grade("[[1, 1], [1, -1]]", "[[1, 1], [0, 1]]", extra)
    assert g.verdict == "partial" and g.score == 0.5
    assert g.feedback == ["1 of 2 columns match in any order, each up to a non-zero factor."]
    only_order = "  any_column_order: true\n"
    assert _grade("[[1, 2], [3, 4]]", "[[2, 1], [4, 3]]", only_order).verdict == "correct"
    assert _grade("[[1, 2], [3, 4]]", "[[4, 2], [2, 4]]", only_order).verdict != "correct"


def test_formula_value_with_params_and_reference():
    q = _question("A @ B", params="params:\n  A: {matrix: [2, 2], int: [-3, 3]}\n  B: {matrix: [2, 2], int: [-3, 3]}\n")
    for seed in range(5):
        v = graders.instantiate(q, seed)
        ref = graders.reference_answer(q, v)
        assert graders.grade(q, v, ref).verdict == "correct"


def test_reference_answer_is_short_and_exact():
    q = _question("inv([[2, 1], [1, 3]])")
    v = graders.instantiate(q, 0)
    ref = graders.reference_answer(q, v)
    assert ref == "[[0.6, -0.2], [-0.2, 0.4]]"
    assert graders.grade(q, v, ref).verdict == "correct"


def test_every_bank_matrix_question_accepts_its_reference():
    loaded, _ = bank.load_bank()
    questions = [lq.question for lq in loaded if lq.question.kind == "matrix"]
    assert questions
    for q in questions:
        for seed in range(5):
            v = graders.instantiate(q, seed)
            assert graders.grade(q, v, graders.reference_answer(q, v)).verdict == "correct", q.id


def test_question_value_must_be_a_vector_or_matrix():
    with pytest.raises(graders.QuestionError, match="expected a vector or a matrix"):
        graders.instantiate(_question("3"), 0)


@pytest.mark.parametrize("answer", [
    "[" + ", ".join("1" for _ in range(20000)) + "]",
    "[" * 5000 + "1" + "]" * 5000,
    "[9^9^9^9, 1; 1, 1]",
    "[__import__('os'), 1; 1, 1]",
    "[x.__class__, 1; 1, 1]",
    "[(lambda: 1)(), 1; 1, 1]",
    "[" + "1 " * 30000 + "]",
], ids=["20k-entries", "5000-brackets", "power-tower", "import", "attribute", "lambda", "60k-chars"])
def test_hostile_inputs(answer):
    q = _question(M)
    v = graders.instantiate(q, 0)
    t0 = time.perf_counter()
    g = graders.grade(q, v, answer)
    assert time.perf_counter() - t0 < 0.5
    assert g.verdict == "invalid"
    assert g.feedback and g.feedback[0]
