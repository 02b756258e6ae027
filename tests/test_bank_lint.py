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
