"""Complexity that a prompt asks for is enforced (issue 16), in the real sandbox.

Fast functions are timed by repetition until a measurement is far above the clock's and the
fork's noise, so O(log n) is checked; a solution that times out at the smallest size loses
full credit. Each bad solution below scored 1.0 before. Timings are CPU time of fresh
children, compared with the reference's on the same machine, so load slows both alike.
"""
from __future__ import annotations

import pytest

import graders
from graders import code
from interview import bank
from interview.bank_lint import unchecked_complexity


def bank_item(qid: str) -> bank.LoadedQuestion:
    return bank.load_file(next(bank.default_bank_path().rglob(f"{qid}.yaml")))


LINEAR_RANGE = """\
def find_range(nums, target):
    first = last = -1
    for i, x in enumerate(nums):
        if x == target:
            if first < 0:
                first = i
            last = i
    return [first, last]
"""
INDEX_RANGE = """\
def find_range(nums, target):
    if target not in nums:
        return [-1, -1]
    i = nums.index(target)
    return [i, len(nums) - 1 - nums[::-1].index(target)]
"""
INDEX_ROTATED = """\
def search_rotated(nums, target):
    return nums.index(target) if target in nums else -1
"""
SORTED_MEDIAN = """\
def median_two(a, b):
    c = sorted(a + b)
    n = len(c)
    if n == 0:
        return 0.0
    return float(c[n // 2]) if n % 2 else (c[n // 2 - 1] + c[n // 2]) / 2
"""
CUBIC_LIS = """\
def lis_length(nums):
    n = len(nums)
    best = [1] * n
    for i in range(n):
        for j in range(i):
            if nums[j] < nums[i]:
                best[i] = max(best[i], best[j] + 1)
                for k in range(j):
                    pass
    return max(best, default=0)
"""
QUADRATIC_LIS = """\
def lis_length(nums):
    n = len(nums)
    best = [1] * n
    for i in range(n):
        for j in range(i):
            if nums[j] < nums[i] and best[j] + 1 > best[i]:
                best[i] = best[j] + 1
    return max(best, default=0)
"""
QUADRATIC_MERGE = """\
def merge_intervals(intervals):
    out = []
    for s, e in intervals:
        keep = []
        for a, b in out:
            if b < s or a > e:
                keep.append([a, b])
            else:
                s, e = min(s, a), max(e, b)
        keep.append([s, e])
        out = keep
    return sorted(out)
"""
DOUBLE_LOOP_AUC = """\
import numpy as np

def roc_auc(y_true, scores):
    pos = [s for s, y in zip(scores, y_true) if y == 1]
    neg = [s for s, y in zip(scores, y_true) if y == 0]
    if not pos or not neg:
        return float('nan')
    total = 0.0
    for p in pos:
        for q in neg:
            total += 1.0 if p > q else 0.5 if p == q else 0.0
    return total / (len(pos) * len(neg))
"""

BAD = [
    ("first-and-last-position", LINEAR_RANGE),
    ("first-and-last-position", INDEX_RANGE),
    ("search-rotated-sorted-array", INDEX_ROTATED),
    ("median-of-two-sorted-arrays", SORTED_MEDIAN),
    ("longest-increasing-subsequence-length", CUBIC_LIS),
    ("longest-increasing-subsequence-length", QUADRATIC_LIS),
    ("merge-overlapping-intervals", QUADRATIC_MERGE),
    ("roc-auc-from-ranks", DOUBLE_LOOP_AUC),
]


@pytest.mark.parametrize("qid,source", BAD, ids=[f"{q}-{i}" for i, (q, _) in enumerate(BAD)])
def test_slower_solutions_lose_full_credit(qid: str, source: str) -> None:
    q = bank_item(qid).question
    variant = graders.instantiate(q, 0)
    g = graders.grade(q, variant, source)
    assert g.details["passed"] == g.details["total"], g.feedback  # right answers, too slow
    assert g.score == code.TOO_SLOW_CREDIT, (g.feedback, g.details.get("complexity"))
    assert g.details["complexity"]["too_slow"]


@pytest.mark.parametrize("qid", ["first-and-last-position", "search-rotated-sorted-array",
                                 "median-of-two-sorted-arrays", "roc-auc-from-ranks"])
def test_references_keep_full_credit(qid: str) -> None:
    q = bank_item(qid).question
    variant = graders.instantiate(q, 0)
    g = graders.grade(q, variant, q.spec.reference)
    assert g.score == 1.0, g.feedback
    # every timed size was measured well above the clock's resolution, by repetition if needed
    assert all(s is not None and s > 0 for s in g.details["complexity"]["seconds"])


def test_a_timeout_at_the_smallest_size_is_a_verdict() -> None:
    assert code.judge_growth([1000, 4000, 16000], [None], "n log n", 1.0) == (None, True)
    # most of the budget at the smallest size, then out of time: as good as a timeout there
    assert code.judge_growth([1000, 2000, 4000], [0.68, None], "n log n", 1.0) == (None, True)
    assert code.judge_growth([1000, 2000, 4000], [0.01, None], "n log n", 1.0)[1] is True  # a clear bound
    assert code.judge_growth([1000, 4000, 16000], [2e-6, 2.2e-6, 2.5e-6], "log n", 1.0, floor=0.0)[1] is False
    assert code.judge_growth([1000, 4000, 16000], [2e-6, 8e-6, 3.2e-5], "log n", 1.0, floor=0.0)[1] is True


def test_validate_flags_a_named_complexity_without_a_check() -> None:
    assert unchecked_complexity(bank_item("roc-auc-from-ranks")) == []
    item = bank_item("merge-overlapping-intervals")
    text = item.text.replace("Do better than\n  comparing every pair.", "Aim for O(n log n).")
    spec = dict(item.question.answer)
    spec.pop("complexity")
    stripped = item.question.model_copy(update={"answer": spec, "prompt": item.question.prompt.replace(
        "Do better than\ncomparing every pair.", "Aim for O(n log n).") + " Aim for O(n log n)."})
    problems = unchecked_complexity(bank.LoadedQuestion(stripped, text, None))
    assert problems and "O(n log n)" in problems[0].message


def test_a_timeout_says_which_limit_ended_it() -> None:
    """A cubic LIS runs out of its CPU limit, not the wall backstop: a busy machine cannot end it."""
    q = bank_item("longest-increasing-subsequence-length").question
    g = graders.grade(q, graders.instantiate(q, 0), CUBIC_LIS)
    stops = g.details["complexity"]["timeouts"]
    assert stops and set(stops.values()) == {"cpu"}, g.details["complexity"]
