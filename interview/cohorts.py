"""Cohorts: an instructor's group of learners, joined with a code, followed on one page."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from interview.models import (Card, Cohort, CohortAssignment, CohortMember, MockFormat, MockInterview, Review,
                              User)

JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
BEHIND_BACKLOG = 30
BEHIND_DAYS = 4


class CohortError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(8))


def create(session: Session, instructor: User, name: str) -> Cohort:
    name = (name or "").strip()
    if not 2 <= len(name) <= 120:
        raise CohortError("A cohort name is 2 to 120 characters.")
    cohort = Cohort(name=name, join_code=new_join_code(), instructor_id=instructor.id)  # type: ignore[arg-type]
    session.add(cohort)
    session.commit()
    session.refresh(cohort)
    return cohort


def join(session: Session, learner: User, code: str, now: datetime) -> Cohort:
    cohort = session.exec(select(Cohort).where(Cohort.join_code == (code or "").strip().upper())).first()
    if cohort is None:
        raise CohortError("No cohort has that join code.", 404)
    if session.get(CohortMember, (cohort.id, learner.id)) is None:
        session.add(CohortMember(cohort_id=cohort.id, user_id=learner.id, joined_at=now))  # type: ignore[arg-type]
        try:
            session.commit()
        except IntegrityError:  # joined twice at once
            session.rollback()
    return cohort


def owned(session: Session, instructor: User, cohort_id: int) -> Cohort:
    cohort = session.get(Cohort, cohort_id)
    if cohort is None or cohort.instructor_id != instructor.id:
        raise CohortError("There is no such cohort of yours.", 404)
    return cohort


def of_instructor(session: Session, instructor: User) -> list[Cohort]:
    return list(session.exec(select(Cohort).where(Cohort.instructor_id == instructor.id).order_by(Cohort.name)).all())


def member_ids(session: Session, cohort: Cohort) -> list[int]:
    return list(session.exec(select(CohortMember.user_id).where(CohortMember.cohort_id == cohort.id)).all())


@dataclass
class LearnerRow:
    user: User
    backlog: int
    days_inactive: float | None
    reviews_7d: int
    mock_scores: list[float]
    mastery: dict[str, float]
    behind: list[str]


def overview(session: Session, cohort: Cohort, now: datetime, mastery_of: Any = None) -> list[LearnerRow]:
    """One row per learner: backlog, inactivity, recent reviews, mocks, mastery per area, who is behind."""
    from datetime import timedelta

    rows = []
    for uid in member_ids(session, cohort):
        user = session.get(User, uid)
        if user is None:
            continue
        backlog = session.exec(select(func.count()).select_from(Card).where(Card.user_id == uid, Card.due < now)).one()
        last = session.exec(select(func.max(Review.reviewed_at)).where(Review.user_id == uid)).one()
        if last is not None and last.tzinfo is None:
            from datetime import timezone

            last = last.replace(tzinfo=timezone.utc)
        recent = session.exec(select(func.count()).select_from(Review).where(
            Review.user_id == uid, Review.reviewed_at >= now - timedelta(days=7))).one()
        mocks = [m.score or 0.0 for m in session.exec(select(MockInterview).where(
            MockInterview.user_id == uid, MockInterview.status == "submitted").order_by(MockInterview.started_at)).all()]
        inactive = (now - last).total_seconds() / 86400 if last else None
        behind = []
        if backlog >= BEHIND_BACKLOG:
            behind.append(f"{backlog} reviews overdue")
        if inactive is None or inactive >= BEHIND_DAYS:
            behind.append("no reviews yet" if inactive is None else f"inactive {inactive:.0f} days")
        rows.append(LearnerRow(user, int(backlog), inactive, int(recent), mocks,
                               mastery_of(user) if mastery_of else {}, behind))
    return sorted(rows, key=lambda r: (not r.behind, r.user.name))


def assign_mock(session: Session, cohort: Cohort, format_slug: str, due: datetime) -> CohortAssignment:
    if session.get(MockFormat, format_slug) is None:
        raise CohortError(f"There is no mock format '{format_slug}'.", 404)
    assignment = CohortAssignment(cohort_id=cohort.id, format_slug=format_slug, due=due)  # type: ignore[arg-type]
    session.add(assignment)
    session.commit()
    session.refresh(assignment)
    return assignment


def assignments_for(session: Session, learner: User) -> list[tuple[CohortAssignment, Cohort, bool]]:
    """The mocks a learner's cohorts assigned, with whether they have sat each since it was set."""
    out = []
    cohort_ids = session.exec(select(CohortMember.cohort_id).where(CohortMember.user_id == learner.id)).all()
    for a in session.exec(select(CohortAssignment).where(CohortAssignment.cohort_id.in_(cohort_ids))  # type: ignore[attr-defined]
                          .order_by(CohortAssignment.due)).all():
        cohort = session.get(Cohort, a.cohort_id)
        done = session.exec(select(MockInterview).where(MockInterview.user_id == learner.id,
                                                        MockInterview.assignment_id == a.id,
                                                        MockInterview.status == "submitted")).first() is not None
        out.append((a, cohort, done))  # type: ignore[arg-type]
    return out
