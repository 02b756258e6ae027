"""GIFT import: a fixture with every construct the bank takes and malformed questions, whose
problems name their lines; the import is all or nothing through the one loader."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

import graders
from interview import authoring, bank
from interview.interop import gift
from interview.models import Question

FIXTURE = Path(__file__).parent / "fixtures" / "interop" / "questions.gift"


def test_every_construct_and_malformed_lines_with_line_numbers() -> None:
    items = gift.parse(FIXTURE.read_text(), "questions.gift")
    refused = {i.source: i.refused for i in items if i.refused}
    assert refused == {
        "line 38": "line 38: the answer block '{' is not closed",
        "line 40": "line 40: matching questions ('->') have no counterpart in the bank",
        "line 42": "line 42: no answer block '{...}' (escape a literal brace as \\{)",
        "line 44": "line 44: '0.5x:0.01' is not a number, a number:tolerance or a min..max range",
    }
    q = {yaml.safe_load(i.text)["id"]: yaml.safe_load(i.text) for i in items if i.text}
    assert q["precision-definition"]["answer"] == {
        "options": [{"text": "0.75", "why": "30 of the 40 predicted positives are right."},
                    {"text": "0.30", "why": "That divides by the wrong count."}, "0.40"], "correct": 0}
    assert q["precision-definition"]["topics"] == ["evaluation-metrics"]  # from $CATEGORY
    assert q["precision-definition"]["explanation"].startswith("Precision is TP / (TP + FP)")
    assert q["roc-is-threshold-free"]["answer"]["correct"] == 0
    assert q["accuracy-on-imbalanced-data"]["answer"]["correct"] == 1
    assert q["metrics-without-tn"]["kind"] == "multi" and q["metrics-without-tn"]["answer"]["correct"] == [0, 1]
    assert q["metrics-without-tn"]["prompt"] == "Which metrics ignore the **true negatives**?"  # [html]
    assert q["f1-of-equal-precision-and-recall"]["answer"] == {"value": 0.6, "atol": 0.001}
    assert q["recall-range"]["answer"] == {"value": 0.75, "atol": 0.05}
    assert q["multiple-numeric-answers"]["answer"] == {"value": 1.41, "atol": 0.005}
    assert q["name-the-curve"]["kind"] == "rubric"
    assert q["missing-word"]["prompt"].endswith("is called the _____ of a classifier.")
    assert q["escapes"]["prompt"] == "What does the set notation {x : x \\> 0} with 1 = 1 describe?"  # \\{ \\: \\= escapes
    assert q["essay-on-thresholds"]["kind"] == "rubric"
    assert "expected cost" in q["essay-on-thresholds"]["answer"]["model_answer"]
    for item in items:
        if item.text:
            question = bank.load_text(item.text, item.source)
            variant = graders.instantiate(question, 0)
            assert graders.grade(question, variant, graders.reference_answer(question, variant)).score == 1.0


def test_gift_import_is_all_or_nothing(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "course.gift"
    shutil.copy(FIXTURE, path)
    with pytest.raises(authoring.AuthoringError) as info:
        authoring.import_questions(session, [path], None, seeds=2)
    fields = sorted(p.field for p in info.value.problems)
    assert fields == ["line 38", "line 40", "line 42", "line 44"]
    assert session.exec(select(Question)).all() == []
    good = FIXTURE.read_text().split("::Unclosed brace::")[0]
    path.write_text(good)
    report = authoring.import_questions(session, [path], None, seeds=2)
    assert len(report.added) == 11
    assert any(n.startswith("name-the-curve: a short answer became a rubric") for n in report.notes)
