"""Free-text answers scored against weighted rubric points, confirmed by the learner.

A point is covered when one of its key phrases occurs in the answer: words are compared
after light stemming ("overfitting" matches "overfit"), a multi-word phrase matches its words
in order with at most a couple of other words between them, and a negation shortly before
it in the same clause ("not", "never", "no", "n't", "without") blocks the match ("does not
overfit" does not cover "overfit", nor does "I would not use Platt scaling or isotonic regression"
cover "isotonic regression"); a comma, a sentence end or a word such as "but" or "instead" starts a
new clause. An answer that is a list of keywords rather than sentences is flagged and its
suggested score cut to KEYWORD_LIST_FACTOR of the coverage. The score is the covered weight over the total weight, but it is only a
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
CLAUSE_BREAKS = frozenset({"but", "because", "so", "instead", "whereas", "although", "though", "however",
                           "while", "rather", "yet", "unless", "except"})
KEYWORD_LIST_SHARE = 0.15   # below this share of common words, a long answer is a list of keywords
KEYWORD_LIST_MIN_WORDS = 8
KEYWORD_LIST_FACTOR = 0.25
NEGATORS = frozenset({"not", "no", "never", "without", "cannot", "nor", "neither", "none"})
MIN_WORDS = 3
# words whose final s is not a plural ending
INVARIANT = frozenset({"bias", "alias", "canvas", "atlas", "gas", "has", "was", "whereas", "pandas", "always",
                       "perhaps", "yes", "lens", "news", "its", "this", "thus", "plus", "minus", "does", "is", "as",
                       "process", "access", "less", "unless", "across", "kubernetes", "redis", "lasso"})

# Words too common to show that an answer covers anything: a key phrase made only of these ("at a",
# "we had", "within", "i would") matches almost every answer, so the loader refuses it.
COMMON_WORDS = frozenset("""a an the and or but if then else of to in on at by for with within without from into
onto over under about above below after before between through during since until up down out off again once here
there when where why how all any both each few more most other some such no nor not only same so than too very can
will just should would could may might must shall do does did done doing have has had having be is am are was were
been being i me my mine we our us you your he she him his her it its they them their this that these those what which
who whom whose as also well get got make made take took go went one two first new way thing things lot really like
etc eg ie vs now want id""".split())
_APOS = re.compile(r"[\u2019\u2018`']")
_WORDS = re.compile(r"[a-z0-9]+(?:[-_/][a-z0-9]+)*|[.!?;:,](?=\s|$)")
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
        common = {stem(w) for w in COMMON_WORDS} | COMMON_WORDS
        for p in v:
            seqs = _phrase_variants(p)
            if not seqs:
                raise ValueError(f"phrase {p!r} has no words to match")
            if all(all(w in common for w in seq) for seq in seqs):
                raise ValueError(f"phrase {p!r} is made only of common words and would match almost any answer; "
                                 "use words that show the point is covered")
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
    """Word positions of one answer: stem -> sorted positions, and for each position the nearest
    negation before it in its clause (-1 if none)."""

    positions: dict[str, list[int]]
    words: list[str]
    negation: list[int]
    count: int
    truncated: bool
    tokens: int = 0     # whole tokens ("two-tower" is one), and how many are common words
    common: int = 0


def _index(text: str) -> _Index:
    positions: dict[str, list[int]] = {}
    words: list[str] = []
    negation: list[int] = []
    last_negation = -1
    truncated = False
    tokens = common = 0
    for m in _WORDS.finditer(_normalise(text)):
        tok = m.group(0)
        if not tok[0].isalnum() or tok in CLAUSE_BREAKS:
            last_negation = -1      # a new clause: an earlier "not" no longer reaches
            if not tok[0].isalnum():
                continue
        if len(words) >= MAX_WORDS:
            truncated = True
            break
        parts = re.split(r"[-_/]", tok)
        tokens += 1
        common += len(parts) == 1 and stem(tok) in _COMMON_STEMS
        for k, part in enumerate(parts):
            pos = len(words)
            s = stem(part)
            words.append(s)
            negation.append(last_negation)
            positions.setdefault(s, []).append(pos)
            if s in NEGATORS:
                last_negation = pos
            elif s in ("only", "just") and last_negation == pos - 1 and words[pos - 1] == "not":
                last_negation = negation[pos - 1]   # "not only X but also Y" negates nothing
            if k == 0 and len(parts) > 1:   # "trade-off" also reads as "tradeoff"
                positions.setdefault(stem("".join(parts)), []).append(pos)
    return _Index(positions, words, negation, len(words), truncated, tokens, common)


def _negated(ix: _Index, start: int) -> bool:
    return ix.negation[start] >= 0


_COMMON_STEMS = frozenset({stem(w) for w in COMMON_WORDS} | COMMON_WORDS)


def is_keyword_list(ix: _Index) -> bool:
    """Sentences are about half common words ("the", "is", "we", "because"); a pasted list of
    buzzwords has almost none."""
    if ix.tokens < KEYWORD_LIST_MIN_WORDS:
        return False
    return ix.common < KEYWORD_LIST_SHARE * ix.tokens


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
    # a one-point rubric asks for a term (a short answer): naming it is the answer, not gaming
    keyword_list = len(spec.points) > 1 and is_keyword_list(ix)
    if keyword_list:
        score *= KEYWORD_LIST_FACTOR
        feedback.append("This reads as a list of keywords, not an explanation: an interviewer wants sentences "
                        "that say why and how, so the suggestion counts a quarter of the coverage.")
    feedback += [f"Covered: {c['text']}" for c in covered]
    feedback += [f"Missed: {m['text']}" for m in missed]
    if ix.truncated:
        feedback.append(f"Only the first {MAX_WORDS} words were read.")
    feedback.append("Compare your answer with the model answer below, then rate yourself: Again, Hard, Good or Easy.")
    grade_ = Grade.from_score(score, feedback, covered=covered, missed=missed, keyword_list=keyword_list,
                              model_answer=variant.data.get("model_answer", spec.model_answer))
    grade_.needs_self_rating = True
    return grade_


def reference_answer(question: "Question", variant: Variant) -> str:
    """The model answer followed by one key phrase per point (each its own sentence, so no
    negation in the model answer can reach it): it covers the whole rubric."""
    spec: Answer = question.spec
    model = variant.data.get("model_answer", spec.model_answer).strip()
    return model + "\n\nKey points: " + "; ".join(p.phrases[0] for p in spec.points) + "."
