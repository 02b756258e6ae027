"""The expression kind: what learners type, equivalence at sampled points, and feedback."""
from __future__ import annotations

import time

import pytest

import graders
from graders import expression
from interview import bank


def _question(expr: str, vars_yaml: str, params: str = "", qid: str = "expr-test") -> graders.Question:
    text = f"""\
id: {qid}
title: An expression question
area: math
topics: [calculus]
difficulty: 2
kind: expression
time_limit: 120
prompt: Give the expression asked for in this test.
{params}answer:
  expr: {expr}
  vars:
{vars_yaml}
explanation: Checked by evaluating both expressions at random points of the domain.
"""
    return bank.load_text(text)


def _grade(expr: str, answer: str, domain: str = "    x: [-2, 2]\n", seed: int = 1) -> graders.Grade:
    q = _question(expr, domain)
    return graders.grade(q, graders.instantiate(q, seed), answer)


GAUSS = """\
id: derivative-of-gaussian-kernel
title: Derivative of a Gaussian bump
area: math
topics: [calculus]
difficulty: 2
kind: expression
time_limit: 120
prompt: Differentiate $f(x) = e^{-{a} x^2}$ with respect to $x$.
params:
  a: {int: [2, 5]}
answer:
  expr: -2*a*x*exp(-a*x**2)
  vars:
    x: [-2, 2]
explanation: "Chain rule: the outer exp stays, times the derivative of the exponent, -2{a}x."
"""


@pytest.fixture
def gauss() -> tuple[graders.Question, graders.Variant, int]:
    q = bank.load_text(GAUSS)
    v = graders.instantiate(q, 3)
    return q, v, v.params["a"]


# ---------------------------------------------------------------- correct and equivalent


def test_correct_as_typed_with_params_as_numbers(gauss):
    q, v, a = gauss
    g = graders.grade(q, v, f"-2*{a}*x*e^(-{a}x^2)")
    assert g.verdict == "correct" and g.score == 1.0
    assert g.feedback[0] == "Correct."
    assert f"read as: -2*{a}*x*e^(-{a}*x^2)" in g.feedback


def test_reference_answer_grades_correct(gauss):
    q, v, a = gauss
    ref = graders.reference_answer(q, v)
    assert ref == f"-2 * {a} * x * exp(-{a} * x ** 2)"
    assert graders.grade(q, v, ref).verdict == "correct"


@pytest.mark.parametrize("expr, answer, domain", [
    ("x**2 - 1", "(x-1)(x+1)", "    x: [-2, 2]\n"),
    ("exp(x)**2", "e^(2x)", "    x: [-2, 2]\n"),
    ("2*log(x)", "log(x^2)", "    x: [0.1, 5]\n"),
    ("2*log(x)", "ln(x²)", "    x: [0.1, 5]\n"),
    ("x*y", "xy", "    x: [-2, 2]\n    y: [-2, 2]\n"),
    ("x*y", "y x", "    x: [-2, 2]\n    y: [-2, 2]\n"),
    ("3*x + 3", "3(x+1)", "    x: [-2, 2]\n"),
    ("x**1.5", "x sqrt(x)", "    x: [0.1, 4]\n"),
    ("2*sin(x)*cos(x)", "sin(2x)", "    x: [-2, 2]\n"),
    ("2*sin(x)", "2 sin x", "    x: [-2, 2]\n"),
    ("sin(x)*cos(x)", "sin x cos x", "    x: [-2, 2]\n"),
    ("abs(x - 1)", "|x-1|", "    x: [-2, 2]\n"),
    ("abs(x)*abs(y)", "|x||y|", "    x: [-2, 2]\n    y: [-2, 2]\n"),
    ("sigmoid(x)*(1 - sigmoid(x))", "sigmoid(x)(1-sigmoid(x))", "    x: [-3, 3]\n"),
    ("sigmoid(x)", "1/(1+e^-x)", "    x: [-3, 3]\n"),
    ("pi*x**2", "π x²", "    x: [-2, 2]\n"),
    ("6*x - 1", "3·x × 2 − 1", "    x: [-2, 2]\n"),
    ("1/x", "x⁻¹", "    x: [0.5, 2]\n"),
    ("x**3", "x**3", "    x: [-2, 2]\n"),
    ("sqrt(x)", "√x", "    x: [0.1, 4]\n"),
    ("x + 1", "(x^2 - 1)/(x - 1)", "    x: [-2, 2]\n"),
    ("2*x", "f'(x) = 2x", "    x: [-2, 2]\n"),
    ("mu**2", "mu mu", "    mu: [0.5, 3]\n"),
    ("2*z1 + z2", "2z1 + z2", "    z1: [-1, 1]\n    z2: [-1, 1]\n"),
    ("log(x)/log(2)", "log2(x)", "    x: [0.5, 4]\n"),
    ("max(x, 0)", "(x + |x|)/2", "    x: [-2, 2]\n"),
])
def test_equivalent_forms(expr, answer, domain):
    g = _grade(expr, answer, domain)
    assert g.verdict == "correct", g.feedback
    assert g.score == 1.0


def test_read_as_echo_for_implicit_multiplication():
    g = _grade("x**2 - 1", "(x-1)(x+1)")
    assert g.feedback == ["Correct.", "read as: (x - 1)*(x + 1)"]


# ---------------------------------------------------------------- wrong and near misses


def test_wrong_answer_names_a_point_with_both_values():
    g = _grade("x**2 - 1", "x^2 + 1")
    assert g.verdict == "incorrect" and g.score == 0.0
    assert g.feedback[0].startswith("Not equivalent: at x = ")
    assert ", yours is " in g.feedback[0] and ", expected " in g.feedback[0]
    assert "read as: x^2 + 1" in g.feedback
    assert "Off by a constant: yours is the expected expression + 2." in g.feedback


def test_near_miss_constant_is_rejected_with_distinguishable_digits():
    g = _grade("x**2 - 1", "x^2-1.0001")
    assert g.verdict == "incorrect"
    first = g.feedback[0]
    yours, expected = first.split("yours is ")[1].split(", expected ")
    assert yours != expected.rstrip(".")   # enough digits to see the difference


def test_tiny_relative_error_is_rejected_but_rounding_noise_is_not():
    assert _grade("x**2 - 1", "(x^2-1)*1.00001").verdict == "incorrect"
    assert _grade("x**2 - 1", "(x^2-1)*1.0000000001").verdict == "correct"


def test_sin_x_versus_x_close_on_small_domain_but_wrong_on_wide_one():
    assert _grade("sin(x)", "x", "    x: [-2, 2]\n").verdict == "incorrect"
    # even on a small domain where they agree to 1e-4, the strict tolerance rejects x
    assert _grade("sin(x)", "x", "    x: [-0.05, 0.05]\n").verdict == "incorrect"


def test_sign_and_factor_slips_are_named(gauss):
    q, v, a = gauss
    g = graders.grade(q, v, f"2*{a}*x*e^(-{a}x^2)")
    assert "Off by a sign: yours is the negative of the expected expression." in g.feedback
    g = graders.grade(q, v, f"-{a}*x*e^(-{a}x^2)")
    assert "Off by a constant factor: yours is 0.5 times the expected expression." in g.feedback


def test_rounded_constant_gets_a_rounding_hint():
    g = _grade("log(2) + x", "0.6931 + x")
    assert g.verdict == "incorrect"
    assert any("did you round a constant" in f for f in g.feedback)


def test_exponent_without_parentheses_is_explained():
    g = _grade("exp(2*x)", "e^2x")
    assert g.verdict == "incorrect"
    assert "read as: e^2*x" in g.feedback
    assert any("put the whole exponent in parentheses, e.g. e^(2x)" in f for f in g.feedback)


def test_undefined_where_reference_is_defined_is_wrong():
    g = _grade("abs(x)**0.5", "sqrt(x)")
    assert g.verdict == "incorrect"
    assert "yours is undefined" in g.feedback[0]


def test_two_variables_point_names_both():
    g = _grade("x*y", "x + y", "    x: [-2, 2]\n    y: [-2, 2]\n")
    assert g.verdict == "incorrect"
    assert g.feedback[0].startswith("Not equivalent: at x = ") and ", y = " in g.feedback[0]


# ---------------------------------------------------------------- malformed


@pytest.mark.parametrize("answer, message, caret", [
    ("2x + * 3", "'*' cannot follow '+'", "2x + * 3\n     ^"),
    ("(x+1", "this bracket is never closed", "(x+1\n^"),
    ("x+1)", "')' has no matching opening bracket", "x+1)\n   ^"),
    ("x^2 +", "the answer ends with '+'", "x^2 +\n    ^"),
    ("2 3", "two numbers in a row", "2 3\n  ^"),
    ("sine(x)", "'sine' is not a known function (did you mean sin?)", "sine(x)\n^"),
])
def test_syntax_errors_point_at_the_spot(answer, message, caret):
    g = _grade("2*x", answer)
    assert g.verdict == "invalid" and g.score == 0.0
    assert message in g.feedback[0]
    assert g.feedback[1] == caret


def test_unknown_variable_is_named():
    g = _grade("2*x", "2y")
    assert g.verdict == "invalid"
    assert g.feedback[0] == "Could not read your answer: 'y' is not a variable of this question; use x."


def test_param_names_are_not_variables(gauss):
    q, v, _ = gauss
    g = graders.grade(q, v, "-2*a*x*exp(-a*x^2)")
    assert g.verdict == "invalid"
    assert "'a' is not a variable of this question; use x" in g.feedback[0]


def test_digit_after_variable_suggests_power_or_product():
    g = _grade("x**2", "x2")
    assert "write x^2 for a power or 2x for a product" in g.feedback[0]


def test_empty_and_comma_numbers():
    assert "empty" in _grade("2*x", "   ").feedback[0]
    g = _grade("2*x", "1,000x")
    assert g.verdict == "invalid" and "comma" in g.feedback[0]


def test_wrong_arity_is_reported():
    g = _grade("sin(x)", "sin(x, x)")
    assert g.verdict == "invalid" and "sin takes 1 argument(s), got 2" in g.feedback[0]


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize("answer, fragment", [
    ("9^9^9^9", "undefined or infinite at every point"),
    ("9**9**9**9*x", "undefined or infinite at every point"),
    ("((2^4096)^4096)^4096", "undefined or infinite at every point"),
    ("(" * 5000 + "x" + ")" * 5000, "too long"),
    ("(" * 100 + "x" + ")" * 100, "nested too deeply"),
    ("x+" * 25000 + "x", "too long"),
    ("-" * 900 + "x", "too long"),
    ("__import__('os')", "'__import__' is not a function this question knows"),
    ("x.__class__", "'.' here is not part of a number"),
    ("(lambda: 1)()", "'lambda' is not a variable"),
    ("[x for x in (1, 2)]", "'for' is not a variable or function"),
    ("exec('1')", "'exec' is not a function this question knows"),
    ("x if x else 1", "'if' is not a variable of this question"),
], ids=["power-tower", "power-tower-x", "int-power-chain", "5000-parens", "100-parens", "50k-chars", "900-minus",
        "import", "attribute", "lambda", "comprehension", "exec", "ternary"])
def test_hostile_inputs_are_refused_quickly(answer, fragment):
    q = _question("2*x", "    x: [-2, 2]\n")
    v = graders.instantiate(q, 0)
    t0 = time.perf_counter()
    g = graders.grade(q, v, answer)
    assert time.perf_counter() - t0 < 0.5
    assert g.verdict == "invalid"
    assert fragment in g.feedback[0]


def test_deep_ast_without_brackets_is_bounded():
    g = _grade("2*x", "x" + "^x" * 150)
    assert g.verdict == "invalid"
    assert "nested too deeply" in g.feedback[0]


def test_sampled_points_are_not_mutated_by_learner_functions(gauss):
    q, v, a = gauss
    before = list(v.data["points"]["x"])
    graders.grade(q, v, "max(x, x) + sin(x)")
    assert v.data["points"]["x"] == before


# ---------------------------------------------------------------- variants, bank and speed


def test_variant_is_deterministic_and_json_able(gauss):
    import json

    q, v, _ = gauss
    again = graders.instantiate(q, 3)
    assert again.data == v.data
    assert len(v.data["expected"]) == 50
    json.dumps(v.to_json(), allow_nan=False)


def test_reference_undefined_points_are_skipped():
    q = _question("1/x", "    x: [-1, 1]\n")
    v = graders.instantiate(q, 0)
    assert all(x != 0 for x in v.data["points"]["x"])
    assert graders.grade(q, v, "x^-1").verdict == "correct"


def test_question_with_unknown_name_in_expr_is_a_question_error():
    q = _question("2*x + k", "    x: [-2, 2]\n")
    with pytest.raises(graders.QuestionError, match="neither vars nor params"):
        graders.instantiate(q, 0)


def test_bad_domain_is_rejected_by_the_loader():
    with pytest.raises(bank.BankError, match="domain"):
        _question("2*x", "    x: [2, -2]\n")


def test_branches_on_params_fold_in_the_reference():
    q = _question("(x if k == 1 else 2*x) + k", "    x: [-2, 2]\n", params="params:\n  k: {choice: [1, 2]}\n")
    for seed in range(6):
        v = graders.instantiate(q, seed)
        ref = graders.reference_answer(q, v)
        assert " if " not in ref
        assert graders.grade(q, v, ref).verdict == "correct"


def test_every_bank_expression_question_accepts_its_reference():
    loaded, _ = bank.load_bank()
    questions = [lq.question for lq in loaded if lq.question.kind == "expression"]
    assert questions
    for q in questions:
        for seed in range(5):
            v = graders.instantiate(q, seed)
            assert graders.grade(q, v, graders.reference_answer(q, v)).verdict == "correct", q.id


def test_grade_is_fast(gauss):
    q, v, a = gauss
    assert expression.time_grade(q, v, f"-2*{a}*x*e^(-{a}x^2)", repeat=50) < 5.0
