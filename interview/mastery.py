"""Mastery and the due forecast: what the progress dashboard draws.

Mastery is expected recall: the mean FSRS retrievability over the active questions of a
topic, an area or the whole bank (within the learner's area/topic filters), with questions
never seen counted as 0 - "how much of this would I get right if asked now". It is given
for now and, with an interview date ahead, for that date (00:00 UTC), assuming no further
study: the floor the learner is guaranteed to beat by practising.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Optional

from sqlmodel import Session, select

from interview import scheduler
from interview.models import Card, User
from interview.planner import active_questions
from interview.scheduler import interview_instant, retrievability_at, utc


@dataclass
class TopicMastery:
    topic: str
    questions: int
    seen: int
    today: float
    on_date: Optional[float]


@dataclass
class AreaMastery:
    area: str
    questions: int
    seen: int
    today: float
    on_date: Optional[float]
    topics: list[TopicMastery] = field(default_factory=list)


@dataclass
class MasteryReport:
    interview_date: Optional[date]  # set only while the date is still ahead
    overall_today: float
    overall_on_date: Optional[float]
    questions: int
    seen: int
    areas: list[AreaMastery] = field(default_factory=list)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def mastery_report(session: Session, user: User, now: datetime) -> MasteryReport:
    """Expected recall per topic, per area and overall, today and on the interview date."""
    now = utc(now)
    params = scheduler.parameters_of(user)
    ahead = user.interview_date if user.interview_date and now.date() < user.interview_date else None
    target = interview_instant(ahead) if ahead else None
    cards = {c.question_id: c for c in session.exec(select(Card).where(Card.user_id == user.id)).all()}
    per_area: dict[str, list[tuple[float, Optional[float], bool]]] = {}
    per_topic: dict[tuple[str, str], list[tuple[float, Optional[float], bool]]] = {}
    everything: list[tuple[float, Optional[float], bool]] = []
    for qid, area, topics, _kind, _difficulty, _limit in active_questions(session, user):
        card = cards.get(qid)
        seen = card is not None and card.last_review is not None
        r_now = retrievability_at(card.stability, card.last_review, now, params) if seen else 0.0  # type: ignore[union-attr]
        r_t = (retrievability_at(card.stability, card.last_review, target, params) if seen else 0.0  # type: ignore[union-attr]
               ) if target else None
        value = (r_now, r_t, seen)
        everything.append(value)
        per_area.setdefault(area, []).append(value)
        for topic in topics or ["general"]:
            per_topic.setdefault((area, topic), []).append(value)

    def summary(values: list[tuple[float, Optional[float], bool]]) -> tuple[int, int, float, Optional[float]]:
        return (len(values), sum(1 for v in values if v[2]), _mean([v[0] for v in values]),
                _mean([v[1] or 0.0 for v in values]) if target else None)

    areas = []
    for area in sorted(per_area):
        n, s, today, on_date = summary(per_area[area])
        topics = [TopicMastery(topic, *summary(vals)) for (a, topic), vals in sorted(per_topic.items()) if a == area]
        areas.append(AreaMastery(area, n, s, today, on_date, topics))
    n, s, today, on_date = summary(everything)
    return MasteryReport(ahead, today, on_date, n, s, areas)


def due_forecast(session: Session, user: User, now: datetime, days: int = 30) -> list[tuple[date, int]]:
    """(day, reviews due that day) for the next `days` days; today includes the overdue ones."""
    now = utc(now)
    today = now.date()
    active = {row[0] for row in active_questions(session, user)}
    counts: Counter[date] = Counter()
    for card in session.exec(select(Card).where(Card.user_id == user.id, Card.last_review.is_not(None))).all():  # type: ignore[union-attr]
        if card.question_id in active:
            counts[max(card.due.date(), today)] += 1
    return [(today + timedelta(days=i), counts.get(today + timedelta(days=i), 0)) for i in range(days)]
