"""Malformed question files: every error names the file, the field and the problem."""
from __future__ import annotations

from pathlib import Path

import pytest

from interview import bank

GOOD = """\
id: good-question
title: A good question
area: ml
topics: [evaluation-metrics]
difficulty: 2
kind: numeric
time_limit: 60
prompt: What is {a} plus {b}?
params:
  a: {int: [1, 9]}
  b: {int: [1, 9]}
answer:
  value: a + b
explanation: Add the two numbers; the usual slip is to multiply them instead.
"""


def write(tmp_path: Path, text: str, name: str = "good-question.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str, name: str = "good-question.yaml") -> list[str]:
    path = write(tmp_path, text, name)
    with pytest.raises(bank.BankError) as info:
        bank.load_file(path)
    for p in info.value.problems:
        assert p.file == str(path)
    return [f"{p.field}: {p.message}" for p in info.value.problems]


def test_good_file_loads(tmp_path: Path) -> None:
    item = bank.load_file(write(tmp_path, GOOD))
    assert item.question.id == "good-question"
    assert len(item.content_hash) == 64


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda t: t.replace("kind: numeric", "kind: numerik"), "kind: must be one of 'choice', 'multi', 'numeric'"),
        (lambda t: t.replace("explanation:", "explanaton:"), "explanaton: is not a known field (did you mean 'explanation'?)"),
        (lambda t: t.replace("difficulty: 2", "difficulty: 9"), "difficulty: must be at most 5, not 9"),
        (lambda t: t.replace("difficulty: 2", "difficulty: hard"), "difficulty: must be a whole number, not 'hard'"),
        (lambda t: t.replace("topics: [evaluation-metrics]", "topics: [evaluation-metrix]"), "topics: unknown topic slug(s) evaluation-metrix"),
        (lambda t: t.replace("topics: [evaluation-metrics]", "topics: [calculus]"), "(question): topic(s) calculus belong to area math, not 'ml'"),
        (lambda t: t.replace("title: A good question\n", ""), "title: is required but missing"),
        (lambda t: t.replace("  value: a + b", "  value: a +* b"), "answer.value: formula 'a +* b' does not parse"),
        (lambda t: t.replace("  value: a + b", "  value: a + b\n  rtol: lots"), "answer.rtol: must be a number, not 'lots'"),
        (lambda t: t.replace("  value: a + b", "  valeu: a + b"), "answer.valeu: is not a known field (did you mean 'value'?)"),
        (lambda t: t.replace("a: {int: [1, 9]}", "a: {int: [9, 1]}"), "params.a: 'int' range [9, 1] has its low end above its high end"),
        (lambda t: t.replace("a: {int: [1, 9]}", "a: {int: [1, 9], float: [0, 1]}"), "params.a: a parameter needs exactly one of"),
        (lambda t: t.replace("id: good-question", "id: Good_Question"), "id: must be a lowercase slug"),
        (lambda t: t.replace("time_limit: 60", "time_limit: 5"), "time_limit: must be at least 10, not 5"),
        (lambda t: t.replace("  value: a + b", "  rtol: 0.1"), "answer.value: is required but missing"),
        (lambda t: t.replace("explanation: Add the two numbers; the usual slip is to multiply them instead.", "explanation: Add."), "explanation: is too short (at least 20 characters)"),
    ],
)
def test_malformed_field_is_named(tmp_path: Path, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    messages = problems_of(tmp_path, mutate(GOOD))
    assert any(expected in m for m in messages), messages


def test_id_must_equal_file_stem(tmp_path: Path) -> None:
    messages = problems_of(tmp_path, GOOD, name="other-name.yaml")
    assert messages == ["id: 'good-question' must equal the file name 'other-name'"]


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    messages = problems_of(tmp_path, GOOD.replace("difficulty: 2", "difficulty: [2"))
    assert len(messages) == 1 and messages[0].startswith("line ") and "not valid YAML" in messages[0]


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    messages = problems_of(tmp_path, GOOD + "difficulty: 3\n")
    assert any("key 'difficulty' appears twice" in m for m in messages), messages


def test_not_a_mapping(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "- just\n- a list\n") == [
        ": the file must hold one question: a mapping of fields such as 'id:', 'title:', 'kind:'"]


def test_empty_file(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "") == [": the file is empty"]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "good-question.yaml"
    path.write_bytes(b"id: \xff\xfe\n")
    with pytest.raises(bank.BankError, match="not UTF-8"):
        bank.load_file(path)


def test_choice_answer_errors(tmp_path: Path) -> None:
    text = GOOD.replace("kind: numeric", "kind: choice").replace(
        "answer:\n  value: a + b", "answer:\n  options: [one, two, two]\n  correct: 5")
    messages = problems_of(tmp_path, text)
    assert any("options repeat: two" in m for m in messages), messages


def test_folder_reports_every_problem_and_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    sub = tmp_path / "sub"
    sub.mkdir()
    write(sub, GOOD)  # same id again
    write(tmp_path, GOOD.replace("id: good-question", "id: broken").replace("kind: numeric", "kind: nope"), "broken.yaml")
    loaded, problems = bank.load_bank([tmp_path])
    assert [q.question.id for q in loaded] == ["good-question"]
    text = "\n".join(map(str, problems))
    assert "broken.yaml: kind: must be one of" in text
    assert "'good-question' is already used by" in text


def test_load_text_without_a_file() -> None:
    q = bank.load_text(GOOD)
    assert q.kind == "numeric"
    with pytest.raises(bank.BankError) as info:
        bank.load_text("id: [unclosed", "<editor>")
    assert str(info.value).startswith("<editor>: line 1")
