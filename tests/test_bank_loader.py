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


def alias_bomb(levels: int = 6) -> str:
    """Nested aliases: a few hundred bytes that expand to 9**levels strings (the review's 1.3 KB file)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\ntitle: *l{levels - 1}\n"


def test_aliases_and_anchors_are_refused_before_expansion() -> None:
    with pytest.raises(bank.BankError) as info:
        bank.load_text(GOOD + alias_bomb(), "<editor>")
    text = str(info.value)
    assert len(text) < 300, text[:500]
    assert "anchors ('&l0') are not allowed in question files" in text
    assert info.value.problems[0].field == "line 15, column 5"
    # an alias alone (to an anchor that does not exist) is refused the same way, naming its line
    with pytest.raises(bank.BankError, match=r"line 2, column 8: aliases \('\*x'\) are not allowed"):
        bank.load_text("id: abc\ntitle: *x\n", "<editor>")


def test_deep_nesting_is_a_problem_not_a_recursion_error() -> None:
    for text in ("id: " + "[" * 10_000, "id: " + "{a: " * 5_000, "id:\n" + "".join(" " * i + "- \n" for i in range(1, 300))):
        with pytest.raises(bank.BankError, match="nested more than 40 levels deep") as info:
            bank.load_text(text, "<editor>")
        assert info.value.problems[0].field.startswith("line ")


def test_errors_never_echo_a_big_value() -> None:
    big = "x" * 30_000
    with pytest.raises(bank.BankError) as info:
        bank.load_text(GOOD.replace("difficulty: 2", f"difficulty: {big}").replace("title: A good question", f"title: [{', '.join(['1'] * 5000)}]"))
    messages = [p.message for p in info.value.problems]
    assert any(m.startswith("must be a whole number, not 'xxxx") and "more characters" in m for m in messages), messages
    assert "title: must be text, not a list of 5,000 item(s)" in str(info.value)
    assert len(str(info.value)) < 2000
    # an unknown key is named in full only up to a bound, and a flood of them is cut short
    flood = "".join(f"k{i}{'y' * 300}: 1\n" for i in range(150))
    with pytest.raises(bank.BankError) as info:
        bank.load_text(GOOD + flood)
    assert len(info.value.problems) <= bank.MAX_PROBLEMS + 1 and "first 40 are listed" in str(info.value)
    assert max(len(p.field) for p in info.value.problems) < 250


def test_a_question_file_is_bounded_in_size(tmp_path: Path) -> None:
    huge = GOOD + "source: " + "a" * bank.MAX_FILE_BYTES + "\n"
    with pytest.raises(bank.BankError, match="at most 64 KiB"):
        bank.load_text(huge, "<editor>")
    with pytest.raises(bank.BankError, match="larger than 64 KiB"):
        bank.load_file(write(tmp_path, huge))


def test_one_pass_reports_schema_and_formula_problems_each_under_its_field(tmp_path: Path) -> None:
    text = GOOD.replace("difficulty: 2", "difficulty: 7").replace("value: a + b", "value: a + bogus")
    assert problems_of(tmp_path, text) == [
        "difficulty: must be at most 5, not 7",
        "answer.value: seed 0: 'a + bogus' does not give one number: unknown name 'bogus'",
    ]
    # every text and the answer are checked separately; a too-short explanation still has its placeholders checked
    text = (GOOD.replace("difficulty: 2", "difficulty: 7").replace("value: a + b", "value: a + bogus")
            .replace("What is {a}", "What is {zz}").replace("title: A good question", "title: A")
            .replace("explanation: Add the two numbers; the usual slip is to multiply them instead.", "explanation: Add {qq}.")
            .replace("params:", "hints: ['Use {b} and {c}']\nparams:"))
    assert problems_of(tmp_path, text) == [
        "title: is too short (at least 3 characters)",
        "difficulty: must be at most 5, not 7",
        "explanation: is too short (at least 20 characters)",
        "answer.value: seed 0: 'a + bogus' does not give one number: unknown name 'bogus'",
        "prompt: seed 0: '{zz}' is not a parameter of this question",
        "explanation: seed 0: '{qq}' is not a parameter of this question",
        "hints[0]: seed 0: '{c}' is not a parameter of this question",
    ]
    # a parameter formula's unknown name is filed under that parameter; the answer section is checked
    # even when the shared fields are wrong
    assert problems_of(tmp_path, GOOD.replace("b: {int: [1, 9]}", "b: {formula: a + c}").replace("difficulty: 2", "difficulty: 0")) == [
        "difficulty: must be at least 1, not 0", "params.b.formula: seed 0: unknown name 'c'"]
    assert problems_of(tmp_path, GOOD.replace("value: a + b", "valeu: a + b").replace("topics: [evaluation-metrics]", "topics: [calculus]")) == [
        "(question): topic(s) calculus belong to area math, not 'ml'",
        "answer.value: is required but missing", "answer.valeu: is not a known field (did you mean 'value'?)"]
