"""`interview validate`: everything a question author can get wrong, found before learners do.

Beyond the schema (the loader's job) it draws the parameters for many seeds, renders every
text, and grades the reference answer of each variant, which must score 1.0.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import graders
from graders import variants
from graders.types import QuestionError
from interview.bank import LoadedQuestion, Problem, load_bank, question_error, variant_problems
from interview.bank_lint import lint_question

DEFAULT_SEEDS = 50

# "1 seconds", "occurs 1 times": a count drawn as 1 before a plural unit. `{n:plural=second}`
# writes it as people do (graders/variants.py). A 1 inside arithmetic ("k − 1 times", "b × 1
# rows", "n ≥ 1 points") is not a count.
_ONE_PLURAL = re.compile(r"(?<![\d.,\-−^_{/·×≥≤=+<>*])(?<![\-−+×·/≥≤=<>*] )\b1 (times|seconds|minutes|hours|days|weeks|months|years|epochs|steps|"
                         r"items|tokens|samples|users|rows|bytes|layers|heads|iterations|rounds|trials|points|"
                         r"batches|requests|queries|clicks|orders|words|documents|features|classes|nodes|edges)\b")


def seeds_to_check(item: LoadedQuestion, seeds: int) -> range:
    """Questions whose variants never differ need one check (code runs in the sandbox: costly)."""
    q = item.question
    varies = bool(q.params) or (q.kind in ("choice", "multi") and q.spec.shuffle)
    return range(seeds if varies else 1)


def check_question(item: LoadedQuestion, seeds: int = DEFAULT_SEEDS) -> list[Problem]:
    q = item.question
    source = str(item.path) if item.path else q.id
    problems: list[Problem] = lint_question(item)
    unused = set(q.params) - _used_names(item)
    if unused:
        problems.append(Problem(source, "params", f"parameter(s) {', '.join(sorted(unused))} are never used"))
    one_plural_seen = False
    for seed in seeds_to_check(item, seeds):
        try:
            variant = graders.instantiate(q, seed)
        except QuestionError as exc:  # draw again, stage by stage, to report every problem of it
            problems += variant_problems(q, seed, source) or [question_error(source, exc, seed)]
            break
        for field, text in (("prompt", variant.prompt), ("explanation", variant.explanation)):
            odd = None if one_plural_seen else _ONE_PLURAL.search(text)
            if odd:
                one_plural_seen = True
                problems.append(Problem(source, field, f"seed {seed}: reads '{odd.group(0)}': write the count "
                                                       f"with a plural format, e.g. {{n:plural={odd.group(1)[:-1]}}}"))
        reference = graders.reference_answer(q, variant)
        grade = graders.grade(q, variant, reference)
        if grade.score < 1.0 and not grade.needs_self_rating:
            detail = "; ".join(grade.feedback)[:300]
            problems.append(Problem(source, "answer", f"seed {seed}: the reference answer grades {grade.score:.2f} ({grade.verdict}): {detail}"))
            break
    return problems


def _used_names(item: LoadedQuestion) -> set[str]:
    """Parameter names referenced anywhere in the file (texts, formulas, other params)."""
    q = item.question
    used: set[str] = set()
    for text in [q.prompt, q.explanation, *q.hints]:
        used |= variants.placeholders(text)
    text = item.text
    for name in q.params:
        # a name used in a formula, an option text or a constraint counts as used
        if text.count(name) > 1 or name in used:
            used.add(name)
    return used


def validate(paths: Iterable[Path | str] | None = None, seeds: int = DEFAULT_SEEDS) -> tuple[list[LoadedQuestion], list[Problem]]:
    loaded, problems = load_bank(paths)
    for item in loaded:
        problems += check_question(item, seeds)
    return loaded, problems
