"""Figures for the progress dashboard that come from history rather than the memory model."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from interview.mock import FINISHED
from interview.models import MockInterview, Review, User


def reviews_per_day(session: Session, user: User, now: datetime, days: int = 30) -> list[tuple[date, int]]:
    """Reviews on each of the last `days` days (UTC), oldest first, zeros included."""
    start = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(start, datetime.min.time(), tzinfo=now.tzinfo)
    stamps = session.exec(select(Review.reviewed_at).where(Review.user_id == user.id, Review.reviewed_at >= since)).all()
    counts = Counter(ts.date() for ts in stamps)
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)]


def mock_trend(session: Session, user: User) -> list[MockInterview]:
    """The learner's finished mocks, imported ones included (their own history)."""
    return list(session.exec(select(MockInterview).where(MockInterview.user_id == user.id,
                                                         MockInterview.status.in_(FINISHED))  # type: ignore[attr-defined]
                             .order_by(MockInterview.started_at)).all())
