"""Rubric suggestions that cannot be gamed (issue 16): no stop-word key phrases, negation over the
whole clause, keyword lists flagged and discounted."""
from __future__ import annotations

import pytest

import graders
from graders.rubric import is_keyword_list, _index
from interview import bank


def bank_question(qid: str):  # type: ignore[no-untyped-def]
    return bank.load_file(next(bank.default_bank_path().rglob(f"{qid}.yaml"))).question


RUBRIC = """\
id: rubric-q
title: Why calibrate a classifier
area: ml
topics: [evaluation-metrics]
difficulty: 2
kind: rubric
time_limit: 300
prompt: Explain how you would calibrate a classifier's scores.
answer:
  points:
    - text: Names a post-hoc calibration method.
      phrases: [PHRASE]
  model_answer: Fit isotonic regression or Platt scaling on a held-out set.
explanation: Calibration maps scores to frequencies; it is fitted on data the model did not train on.
"""


@pytest.mark.parametrize("phrase", ["at a", "we had", "within", "i would", "as the", "both"])
def test_stop_word_phrases_are_refused(phrase: str) -> None:
    with pytest.raises(bank.BankError) as info:
        bank.load_text(RUBRIC.replace("PHRASE", f'"{phrase}"'))
    assert "only of common words" in str(info.value)


def test_phrases_with_a_content_word_load() -> None:
    assert bank.load_text(RUBRIC.replace("PHRASE", '"isotonic", "as-of join", "well-being"')).kind == "rubric"


def _covers(answer: str) -> float:
    q = bank.load_text(RUBRIC.replace("PHRASE", "isotonic regression, platt"))
    return graders.grade(q, graders.instantiate(q, 0), answer).score


def test_negation_covers_the_clause() -> None:
    assert _covers("I would not use a sigmoid fit or isotonic regression here because the data set is tiny.") == 0.0
    assert _covers("We never bother with any of Platt or temperature scaling for this model.") == 0.0
    # a new clause or sentence ends the negation's reach
    assert _covers("Platt scaling does not fit this distortion, so I would use isotonic regression on held-out data.") == 1.0
    assert _covers("The scores are not calibrated. I would fit isotonic regression on a held-out set.") == 1.0
    assert _covers("It is not only isotonic regression that helps; Platt scaling is fine too.") == 1.0


def test_issue_examples_earn_little() -> None:
    calibration = bank_question("explain-probability-calibration")
    v = graders.instantiate(calibration, 0)
    g = graders.grade(calibration, v, "I would not use any post-hoc method such as isotonic regression, I would retrain the model.")
    assert not any("isotonic" in c.get("phrase", "") for c in g.details["covered"])

    recommender = bank_question("design-video-recommender")
    buzz = ("two-tower retrieval candidate generation ANN index embeddings ranking model watch time objective cold start "
            "exploration freshness diversity A/B test online metrics offline metrics NDCG recall feature store real-time "
            "features position bias calibration multi-task")
    g = graders.grade(recommender, graders.instantiate(recommender, 0), buzz)
    assert g.details["keyword_list"] and g.score <= 0.25
    assert any("list of keywords" in f for f in g.feedback)

    story = bank_question("model-that-failed-after-launch")
    vacuous = ("At a company we had a model. I was the one on it, as the lead of it all. It was my thing and I took it. "
               "Within a month it went from one state to another. Since then I would have done it, if I did it again.")
    assert graders.grade(story, graders.instantiate(story, 0), vacuous).score <= 0.2


def test_sentences_are_not_keyword_lists() -> None:
    loaded, _ = bank.load_bank()
    flagged = [it.question.id for it in loaded if it.question.kind == "rubric"
               and is_keyword_list(_index(it.question.answer["model_answer"]))]
    assert flagged == []
    assert is_keyword_list(_index("embeddings ANN two-tower ranking NDCG cold-start freshness A/B calibration drift"))
    assert not is_keyword_list(_index("I would retrieve candidates with a two-tower model and rank them by watch time."))


from tests.test_web_app import app, csrf_of, field, question_of_kind, sign_in  # noqa: E402,F401


def test_model_answer_is_shown_beside_the_learners_answer(app, engine) -> None:  # type: ignore[no-untyped-def]
    import re

    c = app.test_client()
    sign_in(c, "alice", "alice password")
    qid = question_of_kind(engine, "rubric")
    page = c.get(f"/practice/q/{qid}")
    mine = "My own answer: I would compare the offline metrics with the online A/B test results and explain the gap."
    resp = c.post("/practice/answer", data={"csrf_token": csrf_of(page.data), "token": field(page.data, "token"),
                                            "kind": "rubric", "answer": mine, "hint_used": "0"})
    html = resp.data.decode()
    pair = re.search(r'<div class="side-by-side">(.*?)</section>', html, re.S)
    assert pair, "no side-by-side block"
    assert "My own answer: I would compare" in pair.group(1) and 'class="model-answer"' in pair.group(1)
