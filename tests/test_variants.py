"""Deterministic variants and the safe formula evaluator."""
from __future__ import annotations

import pytest

import graders
from graders import formula, variants
from interview import bank

Q = """\
id: eigen-q
title: Eigen things
area: math
topics: [linear-algebra]
difficulty: 3
kind: numeric
time_limit: 120
prompt: |
  For $A = {A:latex}$ (with $\\frac{1}{2}$ and $x^{2}$ left alone), give the largest eigenvalue. p = {p:.1f}, n={n}.
params:
  A: {matrix: [2, 2], int: [-3, 3], symmetric: true}
  p: {float: [0.1, 0.9], digits: 2}
  n: {int: [1, 5], exclude: [3]}
  m: {formula: n * 2}
constraints: ["det(A) != 0", "m > 2"]
answer:
  value: max(eigvals(A))
explanation: The eigenvalues solve det(A - tI) = 0; for a symmetric matrix they are real. {m} is twice {n}.
"""


def test_same_seed_same_variant_and_seeds_differ() -> None:
    q = bank.load_text(Q)
    assert graders.instantiate(q, 11) == graders.instantiate(q, 11)
    assert len({str(graders.instantiate(q, s).params) for s in range(30)}) > 10


def test_params_respect_specs_and_constraints() -> None:
    import numpy as np

    q = bank.load_text(Q)
    for seed in range(60):
        v = graders.instantiate(q, seed)
        a = np.array(v.params["A"])
        assert (a == a.T).all() and abs(np.linalg.det(a)) > 1e-9
        assert v.params["n"] != 3 and v.params["m"] == 2 * v.params["n"] and v.params["m"] > 2
        assert 0.1 <= v.params["p"] <= 0.9
        assert "\\begin{pmatrix}" in v.prompt and "\\frac{1}{2}" in v.prompt and "x^{2}" in v.prompt
        assert graders.grade(q, v, graders.reference_answer(q, v)).verdict == "correct"


def test_unknown_placeholder_is_a_question_error() -> None:
    q = bank.load_text(Q.replace("n={n}", "n={nn}"))
    with pytest.raises(graders.QuestionError, match="'{nn}' is not a parameter"):
        graders.instantiate(q, 0)


def test_impossible_constraints_are_reported() -> None:
    q = bank.load_text(Q.replace('"m > 2"', '"m > 100"'))
    with pytest.raises(graders.QuestionError, match="were not met"):
        graders.instantiate(q, 0)


def test_render_leaves_latex_and_escapes() -> None:
    assert variants.render(r"\frac{a}{b} + {a} {{a}}", {"a": 2}) == r"\frac{a}{b} + 2 {a}"


@pytest.mark.parametrize(
    "text, message",
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("(1).__class__", "attribute '.__class__' is not allowed"),
        ("[x for x in range(3)]", "'ListComp' is not allowed"),
        ("lambda: 1", "'Lambda' is not allowed"),
        ("2 ** 10 ** 10", "exponent 10000000000 is too large"),
        ("(" * 100 + "1" + ")" * 100, "nested too deeply"),
        ("1 +" * 1000 + "1", "too long"),
        ("open('x')", "unknown function 'open'"),
    ],
)
def test_formula_refuses_unsafe_or_huge(text: str, message: str) -> None:
    with pytest.raises(formula.FormulaError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("*", r"\*").replace(".", r"\.")):
        formula.evaluate(text)


def test_formula_functions() -> None:
    assert formula.evaluate("comb(5, 2) + factorial(3)") == 16
    assert abs(formula.evaluate("norm_ppf(0.975)") - 1.959964) < 1e-5
    assert abs(formula.evaluate("norm_cdf(0)") - 0.5) < 1e-12
    assert formula.evaluate("max(eigvals(A))", {"A": [[2, 1], [1, 2]]}) == pytest.approx(3.0)
    assert formula.evaluate("(A @ A.T)[0][1]", {"A": [[1, 2], [3, 4]]}) == 11
    assert formula.evaluate("sigmoid(0)") == 0.5


def test_nested_latex_braces_survive_rendering() -> None:
    from graders import variants

    text = r"$e^{z_{ {j} }} / \frac{1}{\sqrt{x}}$, a literal {{j}}, a value {j:.1f}"
    assert variants.render(text, {"j": 3}) == r"$e^{z_{ 3 }} / \frac{1}{\sqrt{x}}$, a literal {j}, a value 3.0"
