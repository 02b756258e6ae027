"""Study more after the day's queue ends (issue 15, item 8): more new questions, or reviews ahead of time.

Nothing here changes the scheduling policy. It only picks what to show from the planner's own
orderings (`planner.new_order` for new questions; for early reviews, the cards the learner is
most likely to have forgotten first), and each answer then goes through the usual practice
path, so the scheduler rates and reschedules it as any other review. What studying ahead costs
is said on the page, with the learner's own numbers from `summary`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from interview import planner, scheduler
from interview.models import Card, User
from interview.scheduler import utc

MODES = ("new", "ahead")


@dataclass(frozen=True)
class Extra:
    question_id: str
    recall: float | None  # the chance of recalling it now (None: never seen)
    due: datetime | None


@dataclass(frozen=True)
class Summary:
    new_left: int  # new questions not yet seen, within the learner's areas and topics
    ahead: int  # seen cards not answered today and not yet due
    next_recall: float | None  # recall now of the card an early review would show first
    next_due: datetime | None


def extra_items(session: Session, user: User, now: datetime, mode: str, limit: int = 20) -> list[Extra]:
    """What to study beyond today's plan, in the order to study it."""
    if mode not in MODES:
        raise ValueError(f"mode is one of {', '.join(MODES)}")
    now = utc(now)
    questions = planner.active_questions(session, user)
    cards = {c.question_id: c for c in session.exec(select(Card).where(Card.user_id == user.id)).all()}
    if mode == "new":
        fresh = [planner.Candidate(qid, area, (topics or ["general"])[0], int(difficulty), float(time_limit))
                 for qid, area, topics, _kind, difficulty, time_limit in questions
                 if qid not in cards or cards[qid].last_review is None]
        return [Extra(c.question_id, None, None) for c in planner.new_order(fresh)[:limit]]
    active = {q[0] for q in questions}
    params = scheduler.parameters_of(user)
    today = now.date()
    ahead = []
    for qid, card in cards.items():
        if qid not in active or card.last_review is None or utc(card.last_review).date() >= today:
            continue  # unseen, retired, or already answered today (it waits for tomorrow, as in the plan)
        ahead.append(Extra(qid, scheduler.retrievability(card, now, parameters=params), card.due and utc(card.due)))
    # the cards most likely forgotten first: an early review of those costs least (see the page)
    ahead.sort(key=lambda e: (e.recall if e.recall is not None else 0.0, e.due or now, e.question_id))
    return ahead[:limit]


def summary(session: Session, user: User, now: datetime) -> Summary:
    new = extra_items(session, user, now, "new", limit=10_000)
    ahead = extra_items(session, user, now, "ahead", limit=10_000)
    first = ahead[0] if ahead else None
    return Summary(len(new), len(ahead), first.recall if first else None, first.due if first else None)
