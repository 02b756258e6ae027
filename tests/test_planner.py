"""The daily queue: budget, new-question rate, backlog spreading, filters, interview-date mode."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from interview import mastery, planner, scheduler
from interview.models import Attempt, Card, User
from interview.planner import Candidate, FSRSModel, plan_day
from interview.scheduler import MemoryState, Rating
from tests.test_scheduler import add_question, add_user

T0 = datetime(2025, 5, 5, 9, 0, tzinfo=timezone.utc)


def bank(session: Session, n: int = 40, areas: tuple[str, ...] = ("stats", "ml_core", "math")) -> None:
    for i in range(n):
        add_question(session, f"q{i:02d}", area=areas[i % len(areas)], topic=f"t{i % 2}",
                     difficulty=1 + (i * 7) % 5, time_limit=100)
    session.flush()


def attempt(session: Session, user: User, qid: str, seconds: float, at: datetime) -> None:
    session.add(Attempt(user_id=user.id, question_id=qid, seed=1, answer="x", score=1.0, verdict="correct",
                        seconds_taken=seconds, created_at=at))


def study(session: Session, user: User, qid: str, at: datetime, rating: int = 3, seconds: float = 60.0) -> None:
    attempt(session, user, qid, seconds, at)
    scheduler.review(session, scheduler.card_for(session, user.id, qid, at), rating, at, seconds_taken=seconds)


def test_fresh_learner_gets_new_questions_at_the_daily_rate(session: Session) -> None:
    bank(session)
    user = add_user(session, new_per_day=7, minutes_per_day=120)
    q = planner.daily_queue(session, user, T0)
    assert q.new_count == 7 and q.due_count == 0 and all(it.is_new and it.card is None for it in q.items)
    # interleaved across areas: no two neighbours from the same area while others remain
    areas = [it.area for it in q.items]
    assert len(set(areas[:3])) == 3
    # new questions already introduced today count against the rate
    for it in q.items[:3]:
        study(session, user, it.question_id, T0)
    q2 = planner.daily_queue(session, user, T0 + timedelta(minutes=5))
    assert q2.new_count == 4 and q2.new_introduced_today == 3


def test_easier_before_harder_within_a_topic() -> None:
    cands = [Candidate(f"q{i}", "stats", "t1", d, 60.0) for i, d in enumerate([5, 1, 3, 2, 4])]
    order = [c.difficulty for c in planner.new_order(cands)]
    assert order == [1, 2, 3, 4, 5]


def test_budget_respected_with_own_median_times(session: Session) -> None:
    bank(session)
    user = add_user(session, new_per_day=50, minutes_per_day=10)
    q = planner.daily_queue(session, user, T0)
    # no history: 60% of the 100-second limit each
    assert all(it.seconds == pytest.approx(60.0) for it in q.items)
    assert len(q.items) == 10 and q.minutes_planned <= 10
    # this learner answers numeric questions in 20% of the limit; 2 minutes already spent today
    for i in range(4):
        attempt(session, user, f"q{i:02d}", 20.0 if i < 3 else 60.0, T0 - timedelta(days=1))
    attempt(session, user, "q05", 120.0, T0 - timedelta(minutes=30))
    session.flush()
    q = planner.daily_queue(session, user, T0)
    assert q.minutes_left == pytest.approx(8.0)
    assert all(it.seconds == pytest.approx(20.0) for it in q.items)  # median ratio 0.2 x 100 s
    assert sum(it.seconds for it in q.items) <= 8 * 60
    assert len(q.items) == 24
    # a day over budget: nothing more today, back tomorrow
    attempt(session, user, "q06", 600.0, T0)
    session.flush()
    assert planner.next_item(session, user, T0) is None
    assert planner.next_item(session, user, T0 + timedelta(days=1)) is not None


def test_only_active_questions_and_filters(session: Session) -> None:
    bank(session, 12)
    add_question(session, "old", area="stats", status="retired")
    session.flush()
    user = add_user(session, new_per_day=50, minutes_per_day=600, areas=["stats", "math"], topics=["t0"])
    ids = {it.question_id for it in planner.daily_queue(session, user, T0).items}
    assert "old" not in ids and ids
    for it in planner.daily_queue(session, user, T0).items:
        assert it.area in ("stats", "math")
    assert ids == {"q00", "q02", "q06", "q08"}  # stats/math questions with topic t0


def test_backlog_spread_over_days(session: Session) -> None:
    """A month away with 60 reviews due: each day takes what fits, most urgent first."""
    bank(session, 60)
    user = add_user(session, new_per_day=0, minutes_per_day=15)
    start = T0 - timedelta(days=60)
    for i in range(60):
        # reviewed at different times, so their recall now differs
        study(session, user, f"q{i:02d}", start + timedelta(days=i % 20))
    session.flush()
    day, seen, days_needed = T0, set(), 0
    while True:
        q = planner.daily_queue(session, user, day)
        if not q.items:
            break
        assert q.minutes_planned <= 15 and q.due_count <= 15  # 60 s each -> at most 15 a day
        if days_needed == 0:
            assert q.backlog == 60 - q.due_count  # shown: how many remain
            recalls = [scheduler.retrievability(it.card, day, user) for it in q.items]
            rest = [scheduler.retrievability(c, day, user) for c in session.exec(select(Card)).all()
                    if c.question_id not in {it.question_id for it in q.items}]
            assert max(recalls) <= min(rest) + 1e-9  # most urgent (least recalled) first
        for it in q.items:
            assert it.question_id not in seen
            seen.add(it.question_id)
            study(session, user, it.question_id, day, Rating.Good)
        session.flush()
        days_needed += 1
        day += timedelta(days=1)
        if days_needed > 10:
            break
    assert len(seen) == 60 and days_needed == 4


def test_interview_mode_orders_by_gain_per_minute(session: Session) -> None:
    bank(session, 6)
    user = add_user(session, new_per_day=0, minutes_per_day=60, interview_date=date(2025, 5, 20))
    study(session, user, "q00", T0 - timedelta(days=1))  # fresh: little to gain
    study(session, user, "q01", T0 - timedelta(days=14), Rating.Hard)  # faded: much to gain
    session.flush()
    q = planner.daily_queue(session, user, T0)
    assert q.interview_mode
    assert [it.question_id for it in q.items][0] == "q01"
    assert q.items[0].priority > q.items[-1].priority


def test_no_review_scheduled_after_the_interview(any_engine: sa.Engine) -> None:
    """Whatever the ratings, every due date stays on or before the interview day."""
    exam = date(2025, 5, 15)
    with Session(any_engine, expire_on_commit=False) as s:
        bank(s, 30)
        user = add_user(s, new_per_day=10, minutes_per_day=20, interview_date=exam)
        day = T0
        while day.date() < exam:
            for i, it in enumerate(planner.daily_queue(s, user, day).items):
                study(s, user, it.question_id, day + timedelta(minutes=i), rating=4 if i % 3 else 3, seconds=30)
            s.commit()
            day += timedelta(days=1)
        cards = s.exec(select(Card).where(Card.user_id == user.id)).all()
        assert len(cards) >= 30
        assert all(c.due <= scheduler.interview_instant(exam) for c in cards)
        assert max(f[1] for f in mastery.due_forecast(s, user, day - timedelta(days=1), days=30)
                   if f[0] > exam) == 0


def test_plan_is_deterministic() -> None:
    model = FSRSModel()
    mems = [MemoryState(2, None, 1.0 + i, 5.0, T0 - timedelta(days=i % 4), T0 - timedelta(days=2 + i % 5))
            for i in range(30)]
    cands = [Candidate(f"q{i}", ["a", "b"][i % 2], "t", 1 + i % 5, 30.0 + i, m) for i, m in enumerate(mems)]
    cands += [Candidate(f"n{i}", "a", "t", 3, 40.0) for i in range(10)]
    for date_ in (None, date(2025, 5, 30)):
        plans = [plan_day(cands, now=T0, budget_seconds=900, new_quota=4, interview_date=date_, model=model)
                 for _ in range(2)]
        assert [i.question_id for i in plans[0].items] == [i.question_id for i in plans[1].items]
        assert plans[0].seconds_planned <= 900 and plans[0].new_count <= 4


def test_mastery_and_forecast(session: Session) -> None:
    bank(session, 6, areas=("stats", "math"))
    user = add_user(session, interview_date=date(2025, 5, 25))
    study(session, user, "q00", T0 - timedelta(days=2))
    study(session, user, "q01", T0 - timedelta(days=2))
    session.flush()
    rep = mastery.mastery_report(session, user, T0)
    assert rep.questions == 6 and rep.seen == 2 and rep.interview_date == date(2025, 5, 25)
    assert 0 < rep.overall_on_date < rep.overall_today < 2 / 6 + 1e-9  # unseen count as 0
    by_area = {a.area: a for a in rep.areas}
    assert by_area["stats"].seen == 1 and by_area["math"].seen == 1
    assert by_area["stats"].today == pytest.approx(sum(t.today * t.questions for t in by_area["stats"].topics)
                                                   / by_area["stats"].questions)
    forecast = mastery.due_forecast(session, user, T0, days=30)
    assert len(forecast) == 30 and forecast[0][0] == T0.date() and sum(n for _, n in forecast) == 2
    user.interview_date = None
    assert mastery.mastery_report(session, user, T0).overall_on_date is None


def test_forgetting_calibration_detects_a_fast_forgetter() -> None:
    """Outcomes far below FSRS's prediction pull the fitted curve down; too few samples: none."""
    assert planner.fit_forgetting([(5.0, 5.0, True)] * 10) is None
    fast = [(10.0, 10.0, i % 4 == 0) for i in range(80)]  # 25% recalled where FSRS expects 90%
    scale, decay = planner.fit_forgetting(fast)  # type: ignore[misc]
    model = FSRSModel(forgetting=(scale, decay))
    assert model.predict(10.0, 10.0) < 0.5 < FSRSModel().predict(10.0, 10.0)
