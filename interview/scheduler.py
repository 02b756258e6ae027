"""FSRS for interview questions: one card per learner and question, append-only reviews.

This module is the only place that talks to `fsrs.Scheduler`. It keeps the memory state in
`models.Card`, appends a `models.Review` for every rating (reviews are never updated or
deleted: they are the history `optimizer.optimize_user` fits to), and answers "how likely is
this learner to recall this question at time t" for any t.

Choices, and why:

* No learning or relearning steps. A question takes minutes and comes back as a fresh
  variant; asking it again ten minutes later tests short-term memory, not what the learner
  will know at the interview. Every rating therefore schedules whole days (at least one).
* Fuzzing is off: the same history always gives the same schedule (tests, the benchmark).
* With an interview date set, a review made before that date is never scheduled after it:
  the due date is clamped to the interview day (00:00 UTC). On and after the date the
  clamp stops and plain FSRS resumes.
* Times are timezone-aware UTC and always passed in (`now`/`at`), or read from a `Clock`,
  so that tests and the simulation control time. A "day" is the UTC calendar day.
* Personal parameters (`User.fsrs_parameters`, fitted by `interview.optimizer`) replace the
  FSRS-6 defaults as soon as they are stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import IntEnum
from typing import Any, NamedTuple, Optional, Protocol, Sequence

import fsrs
from sqlmodel import Session, select

from interview.models import Card, Review, User

DEFAULT_PARAMETERS: tuple[float, ...] = tuple(fsrs.scheduler.DEFAULT_PARAMETERS)
# Once a rubric or mock rating says "full marks in under half the time", the answer was easy.
QUICK_FRACTION = 0.5


class Rating(IntEnum):
    """The FSRS ratings (the same values as `fsrs.Rating`)."""

    Again = 1
    Hard = 2
    Good = 3
    Easy = 4


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class FixedClock:
    """A clock tests and simulations move by hand."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current = self.current + timedelta(**delta)
        return self.current


def utc(dt: datetime) -> datetime:
    """`dt` in UTC; a naive datetime is refused rather than guessed."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: pass timezone-aware UTC times")
    return dt.astimezone(timezone.utc)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc)


def interview_instant(interview_date: date) -> datetime:
    """The moment expected recall "on the interview date" is measured: that day, 00:00 UTC."""
    return day_start(interview_date)


# ---------------------------------------------------------------------------- rating table


def rating_from(grade: Any, seconds_taken: float | None, time_limit: float, hint_used: bool,
                self_rating: int | None = None) -> Rating:
    """The FSRS rating of one graded answer (DESIGN.md, "Grades and the scheduler").

    `f` is the fraction of the time limit used (`seconds_taken / time_limit`; unknown time
    counts as in time but not quick). First matching row wins:

    ==========================================  =======  =============================
    condition                                   rating   why
    ==========================================  =======  =============================
    grade.needs_self_rating (rubric)            self     only the learner can judge it;
                                                         without a self-rating: Hard if
                                                         score >= 0.5 else Again
    score < 0.5 (incl. invalid / incorrect)     Again    not recalled
    score < 1 (partial, >= half)                Hard     recalled in part
    hint used                                   Hard     recalled with help
    f > 1 (over the time limit)                 Hard     too slow for an interview: capped
    f < 0.5                                     Easy     full marks, quickly
    otherwise                                   Good     full marks in time
    ==========================================  =======  =============================

    Over-time full answers cap at Hard (not Again): the answer was known, so FSRS should
    grow its stability a little, but sooner than a fluent answer.
    """
    if getattr(grade, "needs_self_rating", False):
        if self_rating is not None:
            if int(self_rating) not in (1, 2, 3, 4):
                raise ValueError(f"self-rating {self_rating} is not 1..4")
            return Rating(int(self_rating))
        return Rating.Hard if float(grade.score) >= 0.5 else Rating.Again
    score = float(grade.score)
    if getattr(grade, "verdict", "") == "invalid" or score < 0.5:
        return Rating.Again
    if score < 1.0 - 1e-9 or hint_used:
        return Rating.Hard
    if seconds_taken is None or time_limit <= 0:
        return Rating.Good
    fraction = float(seconds_taken) / float(time_limit)
    if fraction > 1.0:
        return Rating.Hard
    if fraction < QUICK_FRACTION:
        return Rating.Easy
    return Rating.Good


# ---------------------------------------------------------------------------- FSRS wrapper


def parameters_of(user: User | None) -> tuple[float, ...]:
    """The learner's fitted parameters if any, else the FSRS-6 defaults."""
    params = getattr(user, "fsrs_parameters", None) if user is not None else None
    if params and len(params) == len(DEFAULT_PARAMETERS):
        return tuple(float(p) for p in params)
    return DEFAULT_PARAMETERS


def make_scheduler(user: User | None = None, parameters: Sequence[float] | None = None,
                   desired_retention: float | None = None) -> fsrs.Scheduler:
    """A deterministic `fsrs.Scheduler` (no fuzz, no intra-day steps) for this learner."""
    if parameters is None:
        parameters = parameters_of(user)
    if desired_retention is None:
        desired_retention = float(getattr(user, "desired_retention", None) or 0.9)
    return fsrs.Scheduler(parameters=tuple(parameters), desired_retention=desired_retention,
                          learning_steps=(), relearning_steps=(), enable_fuzzing=False)


class MemoryState(NamedTuple):
    """A card's memory as FSRS sees it; a plain value the planner and simulation share.

    A named tuple, not a frozen dataclass: a day's plan builds one per card, and a frozen
    dataclass is four times slower to build."""

    state: int = int(fsrs.State.Learning)
    step: Optional[int] = 0
    stability: Optional[float] = None
    difficulty: Optional[float] = None
    due: Optional[datetime] = None
    last_review: Optional[datetime] = None

    @classmethod
    def of(cls, card: Card) -> "MemoryState":
        return cls(card.state, card.step, card.stability, card.difficulty, card.due, card.last_review)


def _decay_factor(parameters: Sequence[float]) -> tuple[float, float]:
    decay = -float(parameters[20])
    return decay, 0.9 ** (1 / decay) - 1


def retrievability_at(stability: float | None, last_review: datetime | None, at: datetime,
                      parameters: Sequence[float] = DEFAULT_PARAMETERS) -> float:
    """FSRS-6 recall probability at `at`, counting elapsed time in fractional days.

    (`fsrs.Scheduler.get_card_retrievability` floors to whole days; the planner compares
    nearby moments, so it needs the continuous curve.) Never reviewed: 0.
    """
    if stability is None or last_review is None:
        return 0.0
    elapsed = max(0.0, (at - last_review).total_seconds() / 86400.0)
    decay, factor = _decay_factor(parameters)
    return (1 + factor * elapsed / stability) ** decay


def next_memory(memory: MemoryState, rating: int, at: datetime, scheduler: fsrs.Scheduler,
                interview_date: date | None = None) -> MemoryState:
    """The memory state after one review: FSRS, then the interview-date clamp."""
    at = utc(at)
    card = fsrs.Card(card_id=0, state=fsrs.State(memory.state or 1),
                     step=memory.step if memory.state in (1, 3) else None,
                     stability=memory.stability, difficulty=memory.difficulty,
                     due=memory.due or at, last_review=memory.last_review)
    if card.state in (fsrs.State.Learning, fsrs.State.Relearning) and card.step is None:
        card.step = 0
    new, _log = scheduler.review_card(card, fsrs.Rating(int(rating)), review_datetime=at)
    due = clamp_due(new.due, at, interview_date)
    return MemoryState(int(new.state), new.step, new.stability, new.difficulty, due, new.last_review)


def clamp_due(due: datetime, at: datetime, interview_date: date | None) -> datetime:
    """No review after the interview: before the date, the due date is at most that day."""
    if interview_date is None or at.date() >= interview_date:
        return due
    return min(due, interview_instant(interview_date))


# ---------------------------------------------------------------------------- cards in the DB


def find_card(session: Session, user_id: int, question_id: str) -> Card | None:
    return session.exec(select(Card).where(Card.user_id == user_id, Card.question_id == question_id)).first()


def card_for(session: Session, user_id: int, question_id: str, now: datetime) -> Card:
    """The learner's card for this question, created (new, due now) on first use."""
    card = find_card(session, user_id, question_id)
    if card is None:
        now = utc(now)
        card = Card(user_id=user_id, question_id=question_id, state=int(fsrs.State.Learning), step=0,
                    due=now, created_at=now)
        session.add(card)
        session.flush()
    return card


@dataclass(frozen=True)
class ReviewResult:
    card: Card
    review: Review
    memory: MemoryState


def review(session: Session, card: Card, rating: int, at: datetime, *, seconds_taken: float | None = None,
           attempt_id: int | None = None, user: User | None = None,
           scheduler: fsrs.Scheduler | None = None) -> ReviewResult:
    """Apply one rating: update the card row, append a Review row, return the new state.

    Does not commit (the caller owns the transaction, e.g. together with the Attempt).
    """
    if int(rating) not in (1, 2, 3, 4):
        raise ValueError(f"rating {rating} is not 1 (Again) .. 4 (Easy)")
    at = utc(at)
    if user is None:
        user = session.get(User, card.user_id)
    sched = scheduler or make_scheduler(user)
    lapse = int(rating) == Rating.Again and card.state == int(fsrs.State.Review)
    memory = next_memory(MemoryState.of(card), int(rating), at, sched,
                         user.interview_date if user is not None else None)
    card.state, card.step = memory.state, memory.step
    card.stability, card.difficulty = memory.stability, memory.difficulty
    card.due, card.last_review = memory.due, memory.last_review
    card.reps = (card.reps or 0) + 1
    if lapse:
        card.lapses = (card.lapses or 0) + 1
    row = Review(card_id=card.id, user_id=card.user_id, question_id=card.question_id, rating=int(rating),
                 reviewed_at=at, seconds_taken=seconds_taken, stability=memory.stability,
                 difficulty=memory.difficulty, due_after=memory.due, attempt_id=attempt_id)
    session.add(card)
    session.add(row)
    session.flush()
    return ReviewResult(card, row, memory)


def retrievability(card: Card | MemoryState, at: datetime, user: User | None = None,
                   parameters: Sequence[float] | None = None) -> float:
    """Probability of recalling this card at `at` (now or any future moment); unseen: 0."""
    params = parameters if parameters is not None else parameters_of(user)
    return retrievability_at(card.stability, card.last_review, utc(at), params)


def reviews_of(session: Session, user_id: int) -> list[Review]:
    """The learner's full review history, oldest first."""
    return list(session.exec(select(Review).where(Review.user_id == user_id)
                             .order_by(Review.card_id, Review.reviewed_at, Review.id)).all())


def replay(session: Session, user: User) -> int:
    """Recompute every card's memory from its reviews with the learner's current parameters.

    Used after fitting personal parameters; the reviews themselves are not touched.
    Returns how many cards were rescheduled.
    """
    sched = make_scheduler(user)
    by_card: dict[int, list[Review]] = {}
    for r in reviews_of(session, user.id):
        by_card.setdefault(r.card_id, []).append(r)
    count = 0
    for card in session.exec(select(Card).where(Card.user_id == user.id)).all():
        history = by_card.get(card.id, [])
        if not history:
            continue
        memory = MemoryState()
        for r in history:
            # the interview clamp applies as of each review, as it did when it was made
            memory = next_memory(memory, r.rating, r.reviewed_at, sched, user.interview_date)
        card.state, card.step = memory.state, memory.step
        card.stability, card.difficulty = memory.stability, memory.difficulty
        card.due, card.last_review = memory.due, memory.last_review
        session.add(card)
        count += 1
    session.flush()
    return count


__all__ = [
    "Clock", "FixedClock", "MemoryState", "Rating", "ReviewResult", "SystemClock", "card_for", "clamp_due",
    "find_card", "interview_instant", "make_scheduler", "next_memory", "parameters_of", "rating_from",
    "replay", "retrievability", "retrievability_at", "review", "reviews_of", "utc",
]
