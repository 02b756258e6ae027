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


# --- near-duplicates and variants that differ in substance ---------------------------------------

from interview.bank_lint import near_duplicates, similarity_pairs  # noqa: E402


def test_near_duplicates_are_warned_about() -> None:
    a = with_prompt("A cosine annealing schedule decays the learning rate from eta_max to eta_min over {k} steps; what is the rate?")
    b = loaded(NUMERIC.replace("id: lint-q", "id: lint-r").replace(
        "PROMPT", "Cosine annealing decays the learning rate from eta_max to eta_min over {k} steps. What is the rate then?"))
    c = loaded(NUMERIC.replace("id: lint-q", "id: lint-s").replace(
        "PROMPT", "How many weights does a {k} by {k} convolution kernel hold per input channel?"))
    warnings = near_duplicates([a, b, c])
    assert len(warnings) == 1 and "lint-r" in warnings[0].message


def test_named_duplicate_pairs_now_differ() -> None:
    loaded_bank, _ = bank.load_bank()
    flagged = {(x, y) for _, x, y in similarity_pairs(loaded_bank)} | {(y, x) for _, x, y in similarity_pairs(loaded_bank)}
    by_id = {it.question.id: it.question for it in loaded_bank}
    for x, y in (("kv-cache-memory", "llm-kv-cache-memory"), ("family-wise-error-rate", "test-set-reuse-false-discovery"),
                 ("sigmoid-chain-vanishing-gradient", "vanishing-gradient-sigmoid-chain"),
                 ("cosine-learning-rate-schedule", "cosine-annealing-learning-rate")):
        assert (x, y) not in flagged
        assert by_id[x].answer["value"] != by_id[y].answer["value"], (x, y)  # a different quantity is asked


def test_variants_differ_in_substance() -> None:
    spd = bank_question("condition-number-of-spd-matrix").question
    kappas = {round(graders.instantiate(spd, s).data["expected"], 6) for s in range(200)}
    assert 1.0 not in kappas  # never a multiple of the identity
    lr = bank_question("log-uniform-learning-rate-sampling").question
    assert len({tuple(sorted(graders.instantiate(lr, s).params.items())) for s in range(300)}) >= 30


def test_plug_in_drills_are_easy() -> None:
    for qid in ("heap-top-k-complexity", "ann-index-memory-with-pq"):
        assert bank_question(qid).question.difficulty <= 2, qid


def test_a_count_of_one_before_a_plural_unit_fails_validation() -> None:
    """'occurs 1 times', '±1 seconds': a drawn count of 1 must read as people write it."""
    from interview.validate import check_question

    base = NUMERIC.replace("{int: [2, 5]}", "{int: [1, 3]}")
    bad = check_question(loaded(base.replace("PROMPT", "The word occurs {k} times and lasts ±{k} seconds. What is k squared?")), 20)
    assert [(p.field, "1 times" in p.message) for p in bad] == [("prompt", True)], bad
    assert "plural=time" in bad[0].message
    good = "The word occurs {k:plural=time} and lasts ±{k:plural=second}; 21 times, 0.1 seconds. What is k squared?"
    assert check_question(loaded(base.replace("PROMPT", good)), 20) == []
