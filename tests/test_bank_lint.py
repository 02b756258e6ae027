"""Wording checks of `interview validate` (issue 16) and the bank fixes they found."""
from __future__ import annotations

from pathlib import Path

import graders
from graders import variants
from interview import bank
from interview.bank_lint import lint_question

BANK = bank.default_bank_path()


def loaded(text: str) -> bank.LoadedQuestion:
    return bank.LoadedQuestion(bank.load_text(text), text, None)


def bank_question(qid: str) -> bank.LoadedQuestion:
    path = next(BANK.rglob(f"{qid}.yaml"))
    return bank.load_file(path)


NUMERIC = """\
id: lint-q
title: A lint test question
area: ml
topics: [deep-learning]
difficulty: 2
kind: numeric
time_limit: 120
prompt: |
  PROMPT
params:
  k: {int: [2, 5]}
answer:
  value: k * k
explanation: A k by k kernel has k squared weights, whatever the input size is.
"""


def with_prompt(prompt: str) -> bank.LoadedQuestion:
    return loaded(NUMERIC.replace("PROMPT", prompt))


def test_dimension_placeholders_glued_to_x_are_filled() -> None:
    params = {"k": 3, "d": 768}
    assert variants.render("a {k}x{k} kernel, 3x{k}, 768x{d}, (x{d}), a x{d} matrix", params) == \
        "a 3x3 kernel, 3x3, 768x768, (x768), a x768 matrix"
    # LaTeX commands and sub/superscripts keep their braces
    assert variants.render(r"$\mathbf{k}$, $\max{k}$, $e^{k}$, $x_{k}$", params) == r"$\mathbf{k}$, $\max{k}$, $e^{k}$, $x_{k}$"


def test_a_placeholder_glued_to_a_word_fails_validation() -> None:
    problems = lint_question(with_prompt("What is the size of a kernel of side{k}?"))
    assert len(problems) == 1 and "side{k}" in problems[0].message
    assert lint_question(with_prompt(r"A {k}x{k} kernel, $\mathbf{k}$ and $x_{k}$: how many weights?")) == []


def test_bank_dimension_prompts_render_their_numbers() -> None:
    for qid in ("conv-layer-parameter-count", "lora-trainable-parameters", "kv-cache-memory",
                "iou-of-two-boxes", "mlp-parameter-count", "transformer-layer-parameter-count"):
        item = bank_question(qid)
        assert lint_question(item) == [], qid
        variant = graders.instantiate(item.question, 7)
        for name in item.question.params:
            for text in (variant.prompt, variant.explanation):
                assert "x{" + name + "}" not in text, (qid, text)


def test_wording_specs_write_signs_coefficients_and_plurals() -> None:
    text = "f = {a:coef}x^2 {b:+coef}xy {c:+term}, (w {c:-term})^2, {d:paren}^2, {n:plural=order}, {m:plural=match|matches}"
    assert variants.render(text, {"a": 1, "b": -1, "c": -3, "d": -1.5, "n": 1, "m": 2}) == \
        "f = x^2 - xy - 3, (w + 3)^2, (-1.5)^2, 1 order, 2 matches"
    assert variants.render(text, {"a": -2, "b": 4, "c": 2, "d": 0.5, "n": 3, "m": 1}) == \
        "f = -2x^2 + 4xy + 2, (w - 2)^2, 0.5^2, 3 orders, 1 match"
    assert variants.render("{a:coef}x", {"a": -1}) == "-x"


import re  # noqa: E402

_AWKWARD = {
    "a double sign": re.compile(r"[+\-−] -\d"),
    "a fraction of equal numbers": re.compile(r"\\frac\{ ?(\d+) ?\}\{ ?\1 ?\}"),
    "a coefficient of 1": re.compile(r"(?<![\w.·^{])1(?:x|y|c|I)(?![\w(])|e\^\{ ?1 ?x"),
    "a singular count with a plural noun": re.compile(r"(?<![\d.,±/·×-])\b1 (?:orders|sequences|clicks|examples|positives|negatives|matches|bytes)\b"),
}


def test_bank_texts_write_signs_and_plurals_as_people_do() -> None:
    """Forty variants of every parameterised question: no `w - -3`, `1x`, `\\frac{2}{2}`, `1 orders`."""
    loaded, _ = bank.load_bank()
    found: list[str] = []
    for item in loaded:
        if not item.question.params:
            continue
        for seed in range(40):
            v = graders.instantiate(item.question, seed)
            for text in (v.prompt, v.explanation, *v.hints):
                for what, pattern in _AWKWARD.items():
                    m = pattern.search(text)
                    if m:
                        found.append(f"{item.question.id} seed {seed}: {what}: ...{text[max(0, m.start() - 30):m.end() + 10]}...")
                        break
    assert not found, "\n".join(sorted(set(f.split(" seed ")[0] + ": " + f.split(": ", 1)[1] for f in found))[:30])
