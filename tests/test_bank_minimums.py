"""The bundled bank meets the content minimums, counted from the files themselves.

These are the promises of the content map (../shared/TOPICS.md): enough questions per area,
every topic covered, parameterised maths, real code and SQL problems with hidden tests, full
system-design rubrics, STAR-shaped behavioural rubrics, honest difficulty spreads.
"""
from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from graders.topics import TOPICS, topics_of
from interview.cli import main


@pytest.fixture(scope="module")
def questions(bundled_bank: list) -> list:
    return [item.question for item in bundled_bank]


def of_area(questions: list, area: str) -> list:
    return [q for q in questions if q.area == area]


def test_area_totals(questions: list) -> None:
    counts = Counter(q.area for q in questions)
    assert counts["math"] >= 60
    assert counts["coding"] >= 70
    assert counts["ml"] >= 100
    assert counts["system_design"] >= 40
    assert counts["behavioral"] >= 20
    assert len(questions) >= 300


def test_every_topic_of_math_and_ml_is_covered(questions: list) -> None:
    for area in ("math", "ml"):
        covered = {t for q in of_area(questions, area) for t in q.topics}
        assert set(topics_of(area)) <= covered, f"{area}: no question on {set(topics_of(area)) - covered}"


def test_math_is_mostly_parameterised(questions: list) -> None:
    math = of_area(questions, "math")
    share = sum(1 for q in math if q.params) / len(math)
    assert share >= 0.70, f"only {share:.0%} of math questions draw fresh numbers"


def test_coding_has_algorithms_numpy_and_sql(questions: list) -> None:
    code = [q for q in of_area(questions, "coding") if q.kind == "code"]
    numpy_ml = [q for q in code if "numpy-ml" in q.topics]
    algorithms = [q for q in code if "numpy-ml" not in q.topics]
    sql = [q for q in of_area(questions, "coding") if q.kind == "sql"]
    assert len(algorithms) >= 40 and len(numpy_ml) >= 20 and len(sql) >= 10, (len(algorithms), len(numpy_ml), len(sql))
    for q in code:
        assert q.spec.reference.strip(), q.id
        assert len(q.spec.tests.visible) >= 3, f"{q.id}: fewer than 3 visible tests"
        assert len(q.spec.tests.hidden) >= 5, f"{q.id}: fewer than 5 hidden tests"
        assert q.time_limit > 0
    assert any(q.spec.complexity for q in algorithms), "no complexity checks at all"
    for q in numpy_ml:
        assert q.spec.array_args, f"{q.id}: NumPy questions take arrays"
    for q in sql:
        assert q.spec.reference.strip() and q.spec.rows, q.id
    assert sum(1 for q in sql if q.spec.hidden_rows) >= len(sql) // 2, "most SQL questions need a hidden data set"


def test_system_design_has_full_design_prompts(questions: list) -> None:
    rubrics = [q for q in of_area(questions, "system_design") if q.kind == "rubric"]
    full = [q for q in rubrics if len(q.spec.points) >= 6 and len({p.weight for p in q.spec.points}) > 1
            and len(q.spec.model_answer) >= 400]
    assert len(full) >= 25, f"{len(full)} full design prompts (6+ weighted points and a model answer)"


def test_behavioural_rubrics_are_star_shaped(questions: list) -> None:
    behavioural = of_area(questions, "behavioral")
    for q in behavioural:
        assert q.kind == "rubric", q.id
        heads = " ".join(p.text.split(":")[0].lower() for p in q.spec.points)
        for part in ("situation", "task", "action", "result", "reflection"):
            assert part in heads, f"{q.id}: no '{part}' point"


def test_difficulty_spread_per_area(questions: list) -> None:
    for area in ("math", "coding", "ml", "system_design", "behavioral"):
        levels = Counter(q.difficulty for q in of_area(questions, area))
        assert all(levels[d] > 0 for d in (1, 2, 3, 4, 5)), f"{area}: difficulties {dict(levels)}"


def test_every_question_teaches(questions: list) -> None:
    for q in questions:
        assert len(q.explanation) >= 80, f"{q.id}: the explanation is too short to teach anything"
        assert q.time_limit >= 10
        assert all(t in TOPICS for t in q.topics)


def test_bank_stats_json_counts_the_same_files(questions: list) -> None:
    result = CliRunner().invoke(main, ["bank-stats", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["total"] == len(questions)
    assert stats["by_area"] == dict(Counter(q.area for q in questions))
    assert sum(stats["by_kind"].values()) == len(questions)
    assert stats["by_area_topic"]["coding"]["sql"] >= 10


def test_at_least_650_questions_and_ten_on_every_topic(questions: list) -> None:
    """Issue 16's floor: no topic an interview asks about is left with a handful of questions."""
    assert len(questions) >= 650, len(questions)
    result = CliRunner().invoke(main, ["bank-stats", "--json"])
    assert result.exit_code == 0, result.output
    by_topic = json.loads(result.output)["by_area_topic"]
    for area in ("math", "coding", "ml", "system_design", "behavioral"):
        for topic in topics_of(area):
            count = by_topic.get(area, {}).get(topic, 0)
            assert count >= 10, f"{area}/{topic}: {count} questions (at least 10 wanted)"
