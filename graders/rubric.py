"""Free-text answers scored against weighted rubric points, confirmed by the learner.

A point is covered when one of its key phrases occurs in the answer: words are compared
after light stemming ("overfitting" matches "overfit"), a multi-word phrase matches its words
in order with at most a couple of other words between them, and a negation shortly before
it ("not", "never", "no", "n't", "without") blocks the match ("does not overfit" does not
cover "overfit"). The score is the covered weight over the total weight, but it is only a
suggestion: the learner reads the model answer and rates themselves.

Everything is linear in the answer: words are indexed once, phrases look up positions, and
at most MAX_WORDS words are read.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from graders import variants
from graders.types import Grade, Variant

if TYPE_CHECKING:
    from graders.question import Question

MAX_WORDS = 5000
MAX_GAP = 2            # other words allowed between consecutive words of a phrase
NEGATION_WINDOW = 3    # words before a phrase in which a negation blocks it
NEGATORS = frozenset({"not", "no", "never", "without", "cannot", "nor", "neither", "none"})
MIN_WORDS = 3
# words whose final s is not a plural ending
INVARIANT = frozenset({"bias", "alias", "canvas", "atlas", "gas", "has", "was", "whereas", "pandas", "always",
                       "perhaps", "yes", "lens", "news", "its", "this", "thus", "plus", "minus", "does", "is", "as",
                       "process", "access", "less", "unless", "across", "kubernetes", "redis", "lasso"})

_APOS = re.compile(r"[\u2019\u2018`']")
_WORDS = re.compile(r"[a-z0-9]+(?:[-_/][a-z0-9]+)*|[.!?;:](?=\s|$)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


class PointSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=3)
    weight: float = Field(1.0, gt=0, le=100)
    phrases: list[str] = Field(min_length=1)

    @field_validator("phrases", mode="before")
    @classmethod
    def _as_text(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [str(p) if isinstance(p, (int, float)) and not isinstance(p, bool) else p for p in v]
        return v

    @field_validator("phrases")
    @classmethod
    def _wordy(cls, v: list[str]) -> list[str]:
        for p in v:
            if not _phrase_variants(p):
                raise ValueError(f"phrase {p!r} has no words to match")
        return v


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    points: list[PointSpec] = Field(min_length=1, max_length=20)
    model_answer: str = Field(min_length=10)


# ---------------------------------------------------------------- words


@lru_cache(maxsize=20000)
def stem(word: str) -> str:
    """A light suffix stripper: plurals, -ing/-ed, -ly, -ation, -ity, British -ise, final e.

    Not a linguist's stemmer; it only has to send the forms of one word to the same key.
    """
    w = word
    if len(w) <= 3 or not w.isalpha() or w in INVARIANT:
        return w
    w = re.sub(r"(?<=[a-z]{3})is(e|es|ed|ing|ation|ations|er|ers)$", r"iz\1", w)
    if w.endswith("es") and w[:-2] in INVARIANT:
        return w[:-2]
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith(("ies", "ied")) and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        w = w[:-1]
    if w.endswith("ed") and len(w) == 4 and not w.endswith("eed"):
        w = w[:-1]                       # used -> use
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and not w.endswith("eed") and len(w) - len(suffix) >= 3 \
                and re.search(r"[aeiouy]", w[: -len(suffix)]):
            w = w[: -len(suffix)]
            if len(w) >= 4 and w[-1] == w[-2] and w[-1] in "bdgmnprt":
                w = w[:-1]
            break
    if w.endswith("ly") and len(w) >= 6:
        w = w[:-2]
    if w.endswith("ation") and len(w) >= 9:
        w = w[:-5]
    elif w.endswith("ity") and len(w) >= 7:
        w = w[:-3]
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    if w.endswith("y") and len(w) > 4:
        w = w[:-1] + "i"
    return w


def _normalise(text: str) -> str:
    t = _APOS.sub("'", text.lower())
    t = re.sub(r"n't\b", " not", t)
    t = t.replace("'", "")
    return _THOUSANDS.sub("", t)


def _phrase_variants(phrase: str) -> list[tuple[str, ...]]:
    """A phrase as stemmed word sequences: `trade-off` is (trade, off) or (tradeoff)."""
    raw = [m for m in _WORDS.findall(_normalise(phrase)) if m[0].isalnum()]
    if not raw:
        return []
    split: list[str] = []
    for r in raw:
        split += re.split(r"[-_/]", r)
    out = [tuple(stem(w) for w in split)]
    joined = tuple(stem(re.sub(r"[-_/]", "", r)) for r in raw)
    if joined != out[0]:
        out.append(joined)
    return out


@dataclass
class _Index:
    """Word positions of one answer: stem -> sorted positions, and each position's sentence."""

    positions: dict[str, list[int]]
    words: list[str]
    sentence: list[int]
    count: int
    truncated: bool


def _index(text: str) -> _Index:
    positions: dict[str, list[int]] = {}
    words: list[str] = []
    sentence: list[int] = []
    sent = 0
    truncated = False
    for m in _WORDS.finditer(_normalise(text)):
        tok = m.group(0)
        if not tok[0].isalnum():
            sent += 1
            continue
        if len(words) >= MAX_WORDS:
            truncated = True
            break
        parts = re.split(r"[-_/]", tok)
        for k, part in enumerate(parts):
            pos = len(words)
            s = stem(part)
            words.append(s)
            sentence.append(sent)
            positions.setdefault(s, []).append(pos)
            if k == 0 and len(parts) > 1:   # "trade-off" also reads as "tradeoff"
                positions.setdefault(stem("".join(parts)), []).append(pos)
    return _Index(positions, words, sentence, len(words), truncated)


def _negated(ix: _Index, start: int) -> bool:
    for p in range(start - 1, max(-1, start - 1 - NEGATION_WINDOW), -1):
        if ix.sentence[p] != ix.sentence[start]:
            return False
        if ix.words[p] in NEGATORS:
            return not (ix.words[p] == "not" and p + 1 < ix.count and ix.words[p + 1] == "only")
    return False


def _find(ix: _Index, seq: tuple[str, ...]) -> bool:
    """Is the word sequence in the answer (in order, small gaps) without a negation before it?"""
    first = ix.positions.get(seq[0])
    if not first:
        return False
    rest = [ix.positions.get(w) for w in seq[1:]]
    if any(r is None for r in rest):
        return False
    for start in first:
        at = start
        for plist in rest:
            k = bisect_right(plist, at)   # type: ignore[arg-type]
            if k == len(plist) or plist[k] > at + 1 + MAX_GAP:   # type: ignore[index]
                break
            at = plist[k]                  # type: ignore[index]
        else:
            if not _negated(ix, start):
                return True
    return False


def _junk(text: str, ix: _Index) -> str | None:
    stripped = text.strip()
    if not stripped:
        return "The answer is empty: write your explanation in a few sentences."
    visible = [c for c in stripped if not c.isspace()]
    wordy = sum(c.isalnum() for c in visible)
    lettered = [w for w in ix.words if any(c.isalpha() for c in w)]
    if len(lettered) < MIN_WORDS or wordy < 0.5 * len(visible):
        return "This does not read as an answer yet: write your explanation in a few sentences."
    distinct = len(set(ix.words))
    if distinct < 2 or (ix.count >= 30 and distinct < 0.15 * ix.count):
        return "The answer repeats the same few words: write it as sentences that explain the idea."
    return None


# ---------------------------------------------------------------- kind interface


def prepare(question: "Question", params: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """The rubric as the learner sees it afterwards (texts with params filled in)."""
    spec: Answer = question.spec
    return {
        "points": [{"text": variants.render(p.text, params, f"answer.points[{i}].text"), "weight": p.weight}
                   for i, p in enumerate(spec.points)],
        "model_answer": variants.render(spec.model_answer, params, "answer.model_answer"),
    }


def grade(question: "Question", variant: Variant, answer: str) -> Grade:
    """Coverage of the rubric points as a suggested score; the learner confirms it."""
    spec: Answer = question.spec
    ix = _index(answer)
    problem = _junk(answer, ix)
    if problem:
        return Grade.invalid(problem)
    texts = variant.data.get("points") or [{"text": p.text, "weight": p.weight} for p in spec.points]
    covered: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    for point, shown in zip(spec.points, texts):
        hit = next((ph for ph in point.phrases if any(_find(ix, seq) for seq in _phrase_variants(ph))), None)
        if hit is not None:
            covered.append({"text": shown["text"], "weight": point.weight, "phrase": hit})
        else:
            missed.append({"text": shown["text"], "weight": point.weight})
    total = sum(p.weight for p in spec.points)
    score = sum(c["weight"] for c in covered) / total
    feedback = [f"Rubric coverage (a suggestion, not a verdict): {len(covered)} of {len(spec.points)} points, "
                f"{round(100 * score)}% of the weight."]
    feedback += [f"Covered: {c['text']}" for c in covered]
    feedback += [f"Missed: {m['text']}" for m in missed]
    if ix.truncated:
        feedback.append(f"Only the first {MAX_WORDS} words were read.")
    feedback.append("Compare your answer with the model answer below, then rate yourself: Again, Hard, Good or Easy.")
    grade_ = Grade.from_score(score, feedback, covered=covered, missed=missed,
                              model_answer=variant.data.get("model_answer", spec.model_answer))
    grade_.needs_self_rating = True
    return grade_


def reference_answer(question: "Question", variant: Variant) -> str:
    """The model answer followed by one key phrase per point (each its own sentence, so no
    negation in the model answer can reach it): it covers the whole rubric."""
    spec: Answer = question.spec
    model = variant.data.get("model_answer", spec.model_answer).strip()
    return model + "\n\nKey points: " + "; ".join(p.phrases[0] for p in spec.points) + "."
