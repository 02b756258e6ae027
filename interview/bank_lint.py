"""Checks of a question's wording that no grade can catch, run by `interview validate`.

Each check takes one loaded question and returns `Problem`s; `lint_question` runs them all.
They are kept apart from the loader and the per-seed checks of `interview.validate` because
each is a separate class of defect found in review (issue 16).
"""
from __future__ import annotations

import math
import re

from graders import variants
from interview.bank import LoadedQuestion, Problem

# A parameter's name in braces right after a word that is not a LaTeX command (`ab{k}`, but
# not `\mathbf{k}`): the renderer fills `{k}` only where it cannot be LaTeX, so an author who
# glues a placeholder to a word gets the braces shown literally.
_GLUED = re.compile(r"(?<![\\A-Za-z])[A-Za-z]+(\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*)?\})(?!\})")


def _source(item: LoadedQuestion) -> str:
    return str(item.path) if item.path else item.question.id


def unfilled_placeholders(item: LoadedQuestion) -> list[Problem]:
    """A `{param}` glued to a word that rendering would leave as literal braces."""
    params = item.question.params
    if not params:
        return []
    filled = {m.start() for m in variants.PLACEHOLDER.finditer(item.text)}
    found: list[str] = []
    for match in _GLUED.finditer(item.text):
        if match.group(2) in params and match.start(1) not in filled:
            found.append(match.group(0))
    if not found:
        return []
    shown = ", ".join(sorted(set(found)))
    return [Problem(_source(item), "text", f"placeholder(s) glued to a word are shown literally, never filled: {shown}; "
                                            "put a space or a symbol (×) before the brace")]


_COMPLEXITY = re.compile(r"\bO\((?:[^()]|\([^()]*\))*\)|\b(?:linear|logarithmic|quadratic|log-linear) time\b")


def unchecked_complexity(item: LoadedQuestion) -> list[Problem]:
    """A code prompt that names a running time ("aim for O(n log n)") but has no complexity
    check lets a slower solution take full credit."""
    q = item.question
    if q.kind != "code" or q.answer.get("complexity"):
        return []
    # O(1) names the cost of one step ("check conflicts in O(1)"), not a growth to time
    named = [m.group(0) for m in _COMPLEXITY.finditer(q.prompt) if m.group(0).replace(" ", "") != "O(1)"]
    if not named:
        return []
    return [Problem(_source(item), "answer.complexity",
                    f"the prompt names {', '.join(dict.fromkeys(named))} but no complexity check enforces it")]


CHECKS = (unfilled_placeholders, unchecked_complexity)


def lint_question(item: LoadedQuestion) -> list[Problem]:
    """Every wording check of one question."""
    problems: list[Problem] = []
    for check in CHECKS:
        problems += check(item)
    return problems


# --- near-duplicates across the bank -----------------------------------------------------------

NEAR_DUPLICATE = 0.6  # cosine similarity of TF-IDF vectors of title + prompt
_WORD = re.compile(r"[a-z][a-z0-9]+")
_MARKUP = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(?::[^{}]*)?\}|\\[A-Za-z]+")
_STOP = frozenset("""a an the of to in on for and or is are be by with as at it its this that what which
how many much does do you your we our give from into than then there their each every one two three
decimals decimal significant figures answer when where whose use using same""".split())


def _terms(text: str) -> list[str]:
    words = _WORD.findall(_MARKUP.sub(" ", text.lower()))
    return [w for w in words if w not in _STOP]


def similarity_pairs(items: list[LoadedQuestion], threshold: float = NEAR_DUPLICATE) -> list[tuple[float, str, str]]:
    """Pairs of questions whose title and prompt share most of their distinctive words.

    TF-IDF weighs a word by how rare it is in the bank, so two prompts that both say "give three
    decimals" are not alike, while two that both say "cosine", "annealing", "eta_min" are."""
    docs = [_terms(f"{it.question.title} {it.question.title} {it.question.prompt}") for it in items]
    df: dict[str, int] = {}
    for doc in docs:
        for term in set(doc):
            df[term] = df.get(term, 0) + 1
    n = len(docs)
    vectors: list[dict[str, float]] = []
    for doc in docs:
        tf: dict[str, float] = {}
        for term in doc:
            tf[term] = tf.get(term, 0.0) + 1.0
        vec = {t: (1 + math.log(c)) * math.log((1 + n) / (1 + df[t])) for t, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({t: v / norm for t, v in vec.items()})
    pairs: list[tuple[float, str, str]] = []
    for i in range(n):
        vi = vectors[i]
        for j in range(i + 1, n):
            vj = vectors[j]
            small, large = (vi, vj) if len(vi) < len(vj) else (vj, vi)
            score = sum(v * large.get(t, 0.0) for t, v in small.items())
            if score >= threshold:
                pairs.append((score, items[i].question.id, items[j].question.id))
    return sorted(pairs, reverse=True)


def bank_warnings(items: list[LoadedQuestion]) -> list[Problem]:
    """What `interview validate` reports without failing: near-duplicates (two questions may
    rightly share most of their words; a person decides)."""
    return near_duplicates(items)


def near_duplicates(items: list[LoadedQuestion], threshold: float = NEAR_DUPLICATE) -> list[Problem]:
    """Warnings (not errors): two questions that read alike should be merged or made to differ."""
    source = {it.question.id: _source(it) for it in items}
    return [Problem(source[a], "prompt", f"reads like '{b}' ({score:.2f} similar): merge them or make them differ in substance")
            for score, a, b in similarity_pairs(items, threshold)]
