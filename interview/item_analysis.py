"""Item analysis: which questions work, after the classical test statistics Moodle reports.

Each learner contributes their FIRST attempt at a question (later attempts measure the
practice, not the item). For a question i over a set of learners:

- facility F_i = mean first-attempt score on i (0..1): the share of the marks learners get;
- discrimination D_i = Pearson correlation, across learners who attempted i, between their
  score on i and their mean first-attempt score on every other question they attempted
  ("the rest of the test", so the item is not correlated with itself);
- mean time and the most common wrong answers (normalised text of attempts scoring < 1).

Flags: too easy (F >= 0.9), too hard (F <= 0.2), negative discrimination (D < 0): strong
learners do worse on it than weak ones, which usually means a wrong key or an ambiguous prompt.
"""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from sqlmodel import Session, select

from interview import permissions
from interview.models import Attempt, Cohort, CohortMember, User

TOO_EASY = 0.9
TOO_HARD = 0.2
MIN_LEARNERS_FOR_D = 3


@dataclass
class ItemStats:
    question_id: str
    attempts: int
    learners: int
    facility: float
    discrimination: float | None
    mean_seconds: float | None
    common_wrong: list[tuple[str, int]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def _normalise(answer: str) -> str:
    return " ".join(answer.strip().lower().split())[:120]


def _pearson(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < MIN_LEARNERS_FOR_D:
        return None
    try:
        return statistics.correlation(xs, ys)
    except statistics.StatisticsError:  # no variance in one of them
        return None


def analyse(attempts: Iterable[Attempt]) -> list[ItemStats]:
    rows = sorted(attempts, key=lambda a: (a.created_at, a.id or 0))
    first: dict[tuple[int, str], Attempt] = {}
    counts: Counter[str] = Counter()
    wrong: dict[str, Counter[str]] = defaultdict(Counter)
    for a in rows:
        counts[a.question_id] += 1
        first.setdefault((a.user_id, a.question_id), a)
        if a.score < 1.0 and a.answer.strip():
            wrong[a.question_id][_normalise(a.answer)] += 1
    by_learner: dict[int, dict[str, float]] = defaultdict(dict)
    for (uid, qid), a in first.items():
        by_learner[uid][qid] = a.score
    out = []
    for qid in sorted(counts):
        takers = [uid for uid, scores in by_learner.items() if qid in scores]
        item_scores = [by_learner[uid][qid] for uid in takers]
        pairs = [(by_learner[uid][qid], statistics.fmean([s for q, s in by_learner[uid].items() if q != qid]))
                 for uid in takers if len(by_learner[uid]) > 1]
        times = [first[(uid, qid)].seconds_taken for uid in takers if first[(uid, qid)].seconds_taken is not None]
        facility = statistics.fmean(item_scores)
        disc = _pearson([p[0] for p in pairs], [p[1] for p in pairs])
        stats = ItemStats(qid, counts[qid], len(takers), facility, disc,
                          statistics.fmean(times) if times else None,  # type: ignore[arg-type]
                          wrong[qid].most_common(3))
        if facility >= TOO_EASY:
            stats.flags.append("too easy")
        if facility <= TOO_HARD:
            stats.flags.append("too hard")
        if disc is not None and disc < 0:
            stats.flags.append("negative discrimination")
        out.append(stats)
    return out


def analyse_for(session: Session, user_ids: list[int] | None = None) -> list[ItemStats]:
    """Item statistics over a cohort's learners, or everyone when `user_ids` is None."""
    # graded answers only: one still on the grading queue (or that could not be graded) has no score yet
    stmt = select(Attempt).where(Attempt.verdict != "invalid", Attempt.status == "graded")
    if user_ids is not None:
        if not user_ids:
            return []
        stmt = stmt.where(Attempt.user_id.in_(user_ids))  # type: ignore[attr-defined]
    return analyse(session.exec(stmt).all())


def learners_visible_to(session: Session, user: User) -> list[int] | None:
    """Whose attempts `user` may analyse as "everyone": all learners (None) for an admin, the
    learners of their own cohorts and themselves for an instructor (other learners' answers are
    not theirs to read; their own are, which is all a single-user instance has)."""
    if permissions.is_admin(user):
        return None
    stmt = (select(CohortMember.user_id).join(Cohort, Cohort.id == CohortMember.cohort_id)  # type: ignore[arg-type]
            .where(Cohort.instructor_id == user.id).distinct())
    return sorted(set(session.exec(stmt).all()) | {user.id})  # type: ignore[arg-type]
