"""The FSRS wrapper: the rating table, determinism, append-only reviews, the interview clamp."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from graders.types import Grade
from interview import scheduler
from interview.models import Card, Question, Review, User
from interview.planner import FSRSModel
from interview.scheduler import MemoryState, Rating, rating_from

T0 = datetime(2025, 5, 5, 9, 0, tzinfo=timezone.utc)


def add_question(session: Session, qid: str, *, area: str = "stats", topic: str = "t1", kind: str = "numeric",
                 difficulty: int = 2, time_limit: int = 120, status: str = "active") -> Question:
    q = Question(id=qid, content_hash="h" * 64, title=qid, area=area, topics=[topic], kind=kind,
                 difficulty=difficulty, time_limit=time_limit, yaml_text="id: " + qid, status=status)
    session.add(q)
    return q


def add_user(session: Session, name: str = "ada", **kw: object) -> User:
    user = User(name=name, **kw)
    session.add(user)
    session.flush()
    return user


@pytest.mark.parametrize("grade, seconds, limit, hint, expected", [
    (Grade(1.0, "correct"), 30, 120, False, Rating.Easy),      # full and under half the time
    (Grade(1.0, "correct"), 60, 120, False, Rating.Good),      # exactly half: in time, not quick
    (Grade(1.0, "correct"), 100, 120, False, Rating.Good),
    (Grade(1.0, "correct"), 130, 120, False, Rating.Hard),     # over the limit caps at Hard
    (Grade(1.0, "correct"), 20, 120, True, Rating.Hard),       # a hint
    (Grade(0.7, "partial"), 20, 120, False, Rating.Hard),      # partial, at least half
    (Grade(0.5, "partial"), 20, 120, False, Rating.Hard),
    (Grade(0.49, "partial"), 20, 120, False, Rating.Again),    # below half
    (Grade(0.0, "incorrect"), 20, 120, False, Rating.Again),
    (Grade.invalid("unreadable"), 20, 120, False, Rating.Again),
    (Grade(1.0, "correct"), None, 120, False, Rating.Good),    # unknown time: in time, not quick
])
def test_rating_table(grade: Grade, seconds: float | None, limit: int, hint: bool, expected: Rating) -> None:
    assert rating_from(grade, seconds, limit, hint) == expected


def test_rubric_questions_take_the_self_rating() -> None:
    rubric = Grade(0.9, "partial", needs_self_rating=True)
    assert rating_from(rubric, 10, 120, False, self_rating=1) == Rating.Again
    assert rating_from(rubric, 500, 120, True, self_rating=4) == Rating.Easy  # the learner's word stands
    assert rating_from(rubric, 10, 120, False) == Rating.Hard  # no self-rating yet: coverage as a stand-in
    with pytest.raises(ValueError):
        rating_from(rubric, 10, 120, False, self_rating=7)


def test_same_history_same_schedule() -> None:
    """No fuzz: two runs of the same ratings at the same times give identical states."""
    def run() -> list[MemoryState]:
        sched, mem, out = scheduler.make_scheduler(), MemoryState(), []
        for i, r in enumerate([3, 3, 1, 2, 4, 3]):
            mem = scheduler.next_memory(mem, r, T0 + timedelta(days=3 * i), sched)
            out.append(mem)
        return out
    assert run() == run()
    assert all(m.due > m.last_review for m in run())  # type: ignore[operator]


def test_planner_model_matches_fsrs() -> None:
    """The planner's stability update is fsrs.Scheduler's, formula for formula."""
    sched, model, mem, t = scheduler.make_scheduler(), FSRSModel(), MemoryState(), T0
    for r, gap in [(3, 0.0), (3, 2.0), (1, 9.0), (2, 1.0), (4, 0.4), (3, 20.0)]:
        t = t + timedelta(days=gap)
        if mem.stability is not None:
            expect = model.stability_after(mem.stability, mem.difficulty, (t - mem.last_review).days, r)  # type: ignore[arg-type,operator]
        mem2 = scheduler.next_memory(mem, r, t, sched)
        if mem.stability is not None:
            assert mem2.stability == pytest.approx(expect, rel=1e-12)
        mem = mem2


def test_naive_datetimes_refused() -> None:
    with pytest.raises(ValueError):
        scheduler.next_memory(MemoryState(), 3, datetime(2025, 1, 1), scheduler.make_scheduler())


def test_interview_clamp() -> None:
    sched = scheduler.make_scheduler()
    exam = date(2025, 5, 12)
    mem = MemoryState()
    t = T0
    for _ in range(6):
        mem = scheduler.next_memory(mem, 4, t, sched, interview_date=exam)
        assert mem.due <= scheduler.interview_instant(exam)  # type: ignore[operator]
        t = mem.due  # type: ignore[assignment]
        if t.date() >= exam:
            break
    # on the day and after: plain FSRS again
    after = scheduler.next_memory(mem, 4, scheduler.interview_instant(exam) + timedelta(hours=10), sched,
                                  interview_date=exam)
    assert after.due.date() > exam  # type: ignore[union-attr]


def test_review_updates_card_and_appends(any_engine: sa.Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as s:
        user = add_user(s, interview_date=date(2025, 5, 9))
        add_question(s, "q1")
        s.flush()
        card = scheduler.card_for(s, user.id, "q1", T0)
        assert scheduler.card_for(s, user.id, "q1", T0).id == card.id  # one card per learner and question
        res = scheduler.review(s, card, Rating.Good, T0, seconds_taken=50.0)
        s.commit()
        first = (res.review.id, res.review.stability, res.review.due_after)
        assert card.reps == 1 and card.stability == res.memory.stability and card.last_review == T0
        scheduler.review(s, card, Rating.Easy, T0 + timedelta(days=2))
        scheduler.review(s, card, Rating.Again, T0 + timedelta(days=3))
        s.commit()
    with Session(any_engine) as s:
        rows = s.exec(select(Review).order_by(Review.id)).all()
        assert [r.rating for r in rows] == [3, 4, 1]
        assert (rows[0].id, rows[0].stability, rows[0].due_after) == first  # earlier reviews untouched
        assert all(r.reviewed_at.tzinfo is not None for r in rows)
        assert all(r.due_after <= scheduler.interview_instant(date(2025, 5, 9)) for r in rows)
        card = s.exec(select(Card)).one()
        assert card.reps == 3 and card.lapses == 1 and card.last_review == T0 + timedelta(days=3)


def test_retrievability_now_and_later(session: Session) -> None:
    user = add_user(session)
    add_question(session, "q1")
    session.flush()
    card = scheduler.card_for(session, user.id, "q1", T0)
    assert scheduler.retrievability(card, T0, user) == 0.0  # never reviewed
    scheduler.review(session, card, Rating.Good, T0)
    r1 = scheduler.retrievability(card, T0 + timedelta(days=1), user)
    r30 = scheduler.retrievability(card, T0 + timedelta(days=30), user)
    assert 1.0 >= r1 > r30 > 0.0
    # with stability S days, recall after S days is the 90% FSRS is built around
    assert scheduler.retrievability(card, T0 + timedelta(days=card.stability), user) == pytest.approx(0.9)


def test_personal_parameters_are_used(session: Session) -> None:
    params = list(scheduler.DEFAULT_PARAMETERS)
    params[2] = 20.0  # first Good: 20 days of stability instead of 2.3
    user = add_user(session, fsrs_parameters=params)
    add_question(session, "q1")
    session.flush()
    res = scheduler.review(session, scheduler.card_for(session, user.id, "q1", T0), Rating.Good, T0)
    assert res.memory.stability == pytest.approx(20.0)
