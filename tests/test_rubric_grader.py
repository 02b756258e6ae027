"""The rubric kind: key phrases with stemming, word sequences, negation, junk and speed."""
from __future__ import annotations

import time

import pytest

import graders
from graders.rubric import stem
from interview import bank

BIAS_VARIANCE = """\
id: explain-bias-variance
title: Explain the bias-variance trade-off
area: ml
topics: [fundamentals]
difficulty: 2
kind: rubric
time_limit: 300
prompt: Explain the bias-variance trade-off to a new team member, with an example.
answer:
  points:
    - text: Bias is error from wrong assumptions; high bias underfits.
      weight: 2
      phrases: [underfit, too simple, wrong assumptions]
    - text: Variance is sensitivity to the training sample; high variance overfits.
      weight: 2
      phrases: [overfit, sensitive to the training data, memorise]
    - text: Total error decomposes into bias squared, variance and irreducible noise.
      weight: 1
      phrases: [irreducible, bias squared]
    - text: A concrete example, such as polynomial degree or tree depth.
      weight: 1
      phrases: [polynomial degree, tree depth, k in knn]
  model_answer: |
    Bias is the error that comes from a model being too simple for the pattern; variance is
    how much the fitted model changes with the training sample.
explanation: The usual mistake is to treat them as independent knobs rather than one trade-off.
"""


@pytest.fixture
def q() -> graders.Question:
    return bank.load_text(BIAS_VARIANCE)


def _grade(q: graders.Question, answer: str) -> graders.Grade:
    return graders.grade(q, graders.instantiate(q, 0), answer)


def _covered(g: graders.Grade) -> list[str]:
    return [c["text"] for c in g.details["covered"]]


def test_full_answer_covers_everything(q):
    g = _grade(q, "A model that is too simple underfits. A flexible one overfits: it memorizes the training set. "
                  "The expected error splits into bias squared, variance and irreducible noise. "
                  "For example, raising the polynomial degree lowers bias and raises variance.")
    assert g.verdict == "correct" and g.score == 1.0
    assert g.needs_self_rating is True
    assert g.details["missed"] == []
    assert [c["weight"] for c in g.details["covered"]] == [2, 2, 1, 1]
    assert g.feedback[0] == "Rubric coverage (a suggestion, not a verdict): 4 of 4 points, 100% of the weight."
    assert g.feedback[-1] == "Compare your answer with the model answer below, then rate yourself: Again, Hard, Good or Easy."
    assert g.details["model_answer"].startswith("Bias is the error")


def test_partial_answer_lists_covered_and_missed(q):
    g = _grade(q, "High variance models are overfitting the noise in the sample they were trained on.")
    assert g.verdict == "partial"
    assert g.score == pytest.approx(2 / 6)
    assert _covered(g) == ["Variance is sensitivity to the training sample; high variance overfits."]
    assert {m["text"] for m in g.details["missed"]} == {
        "Bias is error from wrong assumptions; high bias underfits.",
        "Total error decomposes into bias squared, variance and irreducible noise.",
        "A concrete example, such as polynomial degree or tree depth.",
    }
    assert "Covered: Variance is sensitivity to the training sample; high variance overfits." in g.feedback
    assert "Missed: A concrete example, such as polynomial degree or tree depth." in g.feedback
    assert g.needs_self_rating is True


def test_answer_with_no_points_is_incorrect_but_still_self_rated(q):
    g = _grade(q, "Machine learning models learn patterns from data and are used in production.")
    assert g.verdict == "incorrect" and g.score == 0.0
    assert len(g.details["missed"]) == 4 and g.needs_self_rating is True


@pytest.mark.parametrize("answer", [
    "The network is overfitting badly.",
    "That model overfits the data.",
    "It was overfitted to last year.",
    "It memorizes the examples it saw.",
    "It is memorising individual rows.",
    "Predictions are sensitive to the specific training data.",
])
def test_stemming_and_gapped_phrases_match(q, answer):
    assert "Variance is sensitivity to the training sample; high variance overfits." in _covered(_grade(q, answer))


@pytest.mark.parametrize("answer", [
    "This model does not overfit at all.",
    "This model doesn't overfit at all.",
    "This model never overfits the data.",
    "We trained it without overfitting the data.",
    "There is no overfitting in this model.",
])
def test_negation_blocks_the_phrase(q, answer):
    g = _grade(q, answer)
    assert "Variance is sensitivity to the training sample; high variance overfits." not in _covered(g)


def test_negation_does_not_cross_a_sentence(q):
    g = _grade(q, "That is not right. A huge tree overfits the data.")
    assert "Variance is sensitivity to the training sample; high variance overfits." in _covered(g)


def test_phrase_words_far_apart_do_not_match(q):
    g = _grade(q, "The depth of the random forest matters less than the size of each tree we grow.")
    assert "A concrete example, such as polynomial degree or tree depth." not in _covered(g)
    g = _grade(q, "Tree depth is the knob I would show them first.")
    assert "A concrete example, such as polynomial degree or tree depth." in _covered(g)


def test_hyphen_and_joined_forms_match():
    yaml_text = BIAS_VARIANCE.replace("phrases: [irreducible, bias squared]", "phrases: [trade-off]")
    q2 = bank.load_text(yaml_text)
    for answer in ("It is a trade-off between the two errors.", "It is a tradeoff between the two errors.",
                   "It is a trade off between the two errors."):
        assert "Total error decomposes into bias squared, variance and irreducible noise." in _covered(_grade(q2, answer))


@pytest.mark.parametrize("a, b", [
    ("overfitting", "overfit"), ("overfitted", "overfits"), ("memorise", "memorizing"),
    ("regularisation", "regularize"), ("biases", "bias"), ("queries", "query"), ("losses", "loss"),
    ("used", "uses"), ("needed", "need"), ("sensitivity", "sensitive"),
])
def test_stemmer_sends_forms_of_a_word_together(a, b):
    assert stem(a) == stem(b)


@pytest.mark.parametrize("answer, message", [
    ("", "The answer is empty"),
    ("   \n ", "The answer is empty"),
    ("idk", "does not read as an answer"),
    ("!!! ??? ... ###", "does not read as an answer"),
    ("overfit " * 200, "repeats the same few words"),
])
def test_empty_and_junk_are_invalid(q, answer, message):
    g = _grade(q, answer)
    assert g.verdict == "invalid"
    assert message in g.feedback[0]


@pytest.mark.parametrize("answer", [
    "bias " * 20000,
    " ".join(f"not overfit w{i} never tree v{i}." for i in range(2000)),
    " ".join(f"word{i}" for i in range(14000)),
    "a" * 99000,
], ids=["repeated-word", "negated-phrases", "14k-distinct", "one-99k-word"])
def test_hostile_input_stays_fast(q, answer):
    t0 = time.perf_counter()
    g = _grade(q, answer)
    assert time.perf_counter() - t0 < 0.5
    assert g.verdict in ("invalid", "incorrect", "partial")


def test_long_answer_is_read_up_to_the_cap(q):
    answer = " ".join(f"word{i}" for i in range(6000)) + " and it overfits."
    g = _grade(q, answer)
    assert "Only the first 5000 words were read." in g.feedback
    assert g.details["covered"] == []


def test_numeric_phrase_in_yaml_is_accepted():
    q2 = bank.load_text(BIAS_VARIANCE.replace("phrases: [irreducible, bias squared]", "phrases: [0.25, irreducible]"))
    assert "Total error decomposes into bias squared, variance and irreducible noise." in _covered(
        _grade(q2, "The noise floor here is 0.25 and nothing removes it."))


def test_every_bank_rubric_question_accepts_its_reference():
    loaded, _ = bank.load_bank()
    questions = [lq.question for lq in loaded if lq.question.kind == "rubric"]
    assert questions
    for q2 in questions:
        v = graders.instantiate(q2, 0)
        g = graders.grade(q2, v, graders.reference_answer(q2, v))
        assert g.verdict == "correct" and g.needs_self_rating, q2.id
