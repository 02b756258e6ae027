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
    assert q.new_count == 7 and q.due_count == 0 and all(it.is_new and scheduler.find_card(session, user.id, it.question_id) is None for it in q.items)
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
            recalls = [scheduler.retrievability(scheduler.find_card(session, user.id, it.question_id), day, user)
                       for it in q.items]
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
    """Outcomes far below FSRS's prediction pull the fitted curve down; no samples: none."""
    assert planner.fit_forgetting([]) is None
    # a few reviews that agree with FSRS leave its curve (nearly) as it is
    near = planner.fit_forgetting([(5.0, 5.0, True)] * 9 + [(5.0, 5.0, False)])
    assert near is not None and abs(FSRSModel(forgetting=near).predict(5.0, 5.0) - 0.9) < 0.05
    fast = [(10.0, 10.0, i % 4 == 0) for i in range(80)]  # 25% recalled where FSRS expects 90%
    fitted = planner.fit_forgetting(fast)
    assert isinstance(fitted, planner.Forgetting)
    model = FSRSModel(forgetting=fitted)
    assert model.predict(10.0, 10.0) < 0.5 < FSRSModel().predict(10.0, 10.0)
    assert FSRSModel(forgetting=(fitted.scale, fitted.decay)).scale == fitted.scale  # tuples still accepted


def fast_forgetter_history() -> list[tuple[float, float, bool]]:
    """60 reviews of a learner who recalls 1 in 5 after 1-6 days where FSRS expects 80-97%."""
    return [((2.3, 8.3, 20.0)[i % 3], (1.0, 3.0, 5.0)[i % 3] + i % 2, i % 5 == 0) for i in range(60)]


def test_fitted_curve_cuts_new_intake_for_a_fast_forgetter() -> None:
    """With FSRS's population curve a question seen once is mostly still known a month later, so
    new questions win; for a learner who forgets fast, consolidating what they have wins."""
    mems = [MemoryState(2, None, (2.3, 8.3, 20.0)[i % 3], 5.0, T0, T0 - timedelta(days=(1, 3, 5)[i % 3]))
            for i in range(30)]
    cands = [Candidate(f"q{i}", "a", "t", 3, 60.0, m) for i, m in enumerate(mems)]
    cands += [Candidate(f"n{i}", "a", "t", 3, 60.0) for i in range(40)]
    fast = planner.learner_model(scheduler.DEFAULT_PARAMETERS, fast_forgetter_history(), [1] * 30 + [3] * 10)
    assert fast.forgetting.scale < 0.5
    for exam in (date(2025, 6, 4), date(2025, 5, 15)):
        default = plan_day(cands, now=T0, budget_seconds=1200, new_quota=20, interview_date=exam, model=FSRSModel())
        fitted = plan_day(cands, now=T0, budget_seconds=1200, new_quota=20, interview_date=exam, model=fast)
        assert fitted.new_count < default.new_count
        assert fitted.due_count > default.due_count


def test_rating_mix_moves_from_the_defaults_with_the_learners_ratings() -> None:
    first, split = planner.rating_mix([], [])
    assert first == pytest.approx(planner.FIRST_RATING) and split == pytest.approx(planner.REVIEW_SPLIT)
    first, split = planner.rating_mix([1] * 80, [4] * 80)
    assert first[0] > 0.8 and split[2] > 0.8
    assert sum(first) == pytest.approx(1.0) and sum(split) == pytest.approx(1.0)


def outcomes(n: int, p: float) -> list[bool]:
    """n deterministic outcomes, a fraction p of them recalled, spread evenly."""
    return [int((i + 1) * p) > int(i * p) for i in range(n)]


def test_fit_recovers_a_stability_factor_per_authored_difficulty() -> None:
    """Harder-rated questions forgotten faster than the learner's easy ones: their level factor
    comes out below 1 and the easy ones' above; a level without reviews stays at 1."""
    model = FSRSModel()
    samples = []
    for level, factor in ((1, 2.0), (3, 1.0), (5, 0.3)):
        for s, t in ((2.0, 2.0), (5.0, 4.0), (10.0, 8.0)):
            p = model.learner_curve(factor * s, t)
            samples += [planner.Sample(s, t, ok, level) for ok in outcomes(40, p)]
    fitted = planner.fit_forgetting(samples)
    assert fitted is not None and len(fitted.levels) == planner.LEVELS
    assert fitted.factor(5) < 1.0 < fitted.factor(1)
    assert fitted.factor(5) < 0.75 * fitted.factor(3) and fitted.factor(1) > 1.25 * fitted.factor(3)
    assert fitted.factor(2) == 1.0 and fitted.factor(None) == 1.0 and fitted.firsts == ()
    # without difficulties the fit is the plain curve, as before
    assert planner.fit_forgetting([tuple(x[:3]) for x in samples]).levels == ()


def test_fit_recovers_the_initial_stability_after_a_first_rating() -> None:
    """A learner whose second answers after a first Easy go no better than after a first Good
    (an Easy that was only a quick answer), while later reviews follow FSRS: the same curve
    cannot say both, the factor for a first Easy comes out below 1, the one for Good near 1."""
    w = scheduler.DEFAULT_PARAMETERS
    plain = FSRSModel()
    p_good = plain.predict(w[2], 4.0)
    samples = [planner.Sample(w[2], 4.0, ok, None, 3) for ok in outcomes(80, p_good)]
    samples += [planner.Sample(w[3], 4.0, ok, None, 4) for ok in outcomes(80, p_good)]
    for s in (2.0, 8.0, 20.0):  # later reviews, as FSRS predicts
        samples += [planner.Sample(s, 4.0, ok) for ok in outcomes(80, plain.predict(s, 4.0))]
    fitted = planner.fit_forgetting(samples)
    assert fitted is not None and fitted.levels == ()
    assert fitted.factor(None, 4) < 0.6 and 0.7 < fitted.factor(None, 3) < 1.4
    model = FSRSModel(forgetting=fitted)
    assert model.predict(w[3], 4.0, None, 4) < 0.5 * (plain.predict(w[3], 4.0) + p_good)


def test_first_ratings_per_difficulty_level() -> None:
    """Each level's first-rating mix is its own ratings shrunk towards the learner's overall mix."""
    firsts = [(1, 5)] * 40 + [(3, 1)] * 40
    overall, _split = planner.rating_mix(firsts, [])
    by_level = planner.first_rating_by_level(firsts, overall)
    assert by_level[5][0] > 0.7 > overall[0] > by_level[1][0]
    assert by_level[3] == pytest.approx(overall)  # no first answers of that level
    model = planner.learner_model(scheduler.DEFAULT_PARAMETERS, [], firsts)
    hard, easy = Candidate("h", "a", "t", 5, 60.0), Candidate("e", "a", "t", 1, 60.0)
    assert model.recall_after_review(hard, T0, T0 + timedelta(days=5)) < model.recall_after_review(
        easy, T0, T0 + timedelta(days=5))


def test_learner_model_update_uses_their_recall() -> None:
    """A faded card (the learner's recall far below FSRS's) is expected to grow more when
    answered, as FSRS's update grows a card reviewed at low recall; with FSRS's own curve
    (no calibration) the prediction is exactly FSRS's."""
    mem = MemoryState(2, None, 10.0, 5.0, T0, T0 - timedelta(days=6))
    c = Candidate("q", "a", "t", 3, 60.0, mem)
    target = T0 + timedelta(days=10)
    plain = FSRSModel()
    r = plain.recall(c, T0)
    expect = (1 - r) * plain.predict(plain.stability_after(10.0, 5.0, 6, 1), 10.0) + sum(
        r * p * plain.predict(plain.stability_after(10.0, 5.0, 6, g), 10.0) for g, p in zip((2, 3, 4), planner.REVIEW_SPLIT))
    assert plain.recall_after_review(c, T0, target) == pytest.approx(expect, rel=1e-12)
    fast = FSRSModel(forgetting=planner.Forgetting(0.2, 1.0, 1.0))
    assert fast.recall(c, T0) < 0.8 < r
    s_eff = fast.effective(10.0)
    assert fast.stability_after(s_eff, 5.0, 6, 3, fast.recall(c, T0)) > fast.stability_after(s_eff, 5.0, 6, 3)


def test_batched_gains_equal_gain_on_for_every_kind_of_card() -> None:
    """plan_day values a whole plan with FSRSModel.gains; it must give gain_on's numbers: new
    questions, cards reviewed hours ago (FSRS's same-day update), days ago, long faded, and a
    card whose memory lacks a stability (valued one by one)."""
    import math
    import random

    rng = random.Random(5)
    target = T0 + timedelta(days=21)
    for trial in range(20):
        forgetting = planner.Forgetting(math.exp(rng.uniform(-2, 1)), rng.choice([0.2, 0.6, 4.0, 16.0]),
                                        rng.choice([0.8, 1.0, 1.3]),
                                        tuple(math.exp(rng.gauss(0, 0.5)) for _ in range(5)),
                                        tuple(math.exp(rng.gauss(0, 0.5)) for _ in range(4)))
        model = FSRSModel(forgetting=forgetting)
        cands = [Candidate("odd", "a", "t", 3, 60.0, MemoryState(2, None, None, 5.0, T0, T0 - timedelta(days=2)))]
        for i in range(100):
            if i % 3 == 0:
                cands.append(Candidate(f"q{i}", "a", "t", rng.randint(1, 5), 60.0))
            else:
                last = T0 - timedelta(hours=rng.choice([rng.uniform(1, 23), rng.uniform(24, 24 * 60)]))
                cands.append(Candidate(f"q{i}", "a", "t", rng.randint(1, 5), 60.0,
                                       MemoryState(2, None, math.exp(rng.uniform(-3, 4)), rng.uniform(1, 10), T0, last)))
        batched = model.gains(cands, T0, target)
        one_by_one = [planner.gain_on(c, T0, target, model) for c in cands]
        assert batched == pytest.approx(one_by_one, rel=1e-12, abs=1e-15)
        assert max(batched) > 0.01  # the cards are worth something, so the comparison tells


def test_daily_queue_builds_the_learner_model_from_their_reviews(session: Session) -> None:
    """Interview mode: the forgetting curve and rating mix come from the learner's own history."""
    bank(session, 12)
    user = add_user(session, new_per_day=5, minutes_per_day=30, interview_date=date(2025, 6, 1))
    for i in range(12):
        qid = f"q{i:02d}"
        study(session, user, qid, T0 - timedelta(days=10), Rating.Good)
        study(session, user, qid, T0 - timedelta(days=5), Rating.Again)  # forgot what FSRS expected kept
    session.flush()
    model = planner.learner_model_from_db(session, user.id, scheduler.DEFAULT_PARAMETERS)
    assert model.forgetting.scale < 1.0
    assert model.first_rating[2] > planner.FIRST_RATING[2]  # all first answers were Good
    assert model.review_split == pytest.approx(planner.REVIEW_SPLIT)  # no recalled review yet
    assert planner.daily_queue(session, user, T0).interview_mode


def test_learner_model_from_db_knows_each_questions_authored_difficulty(session: Session) -> None:
    """The samples carry Question.difficulty and the first rating: a learner who forgets the
    questions rated hard and keeps the easy ones gets a smaller factor for the hard level."""
    bank(session, 40)  # difficulty 1 + (i * 7) % 5
    user = add_user(session, interview_date=date(2025, 7, 1))
    hardest = []
    for i in range(40):
        qid, level = f"q{i:02d}", 1 + (i * 7) % 5
        if level not in (1, 5):
            continue
        hardest.append(level == 5)
        study(session, user, qid, T0 - timedelta(days=12), Rating.Good)
        study(session, user, qid, T0 - timedelta(days=6), Rating.Again if level == 5 else Rating.Good)
    session.flush()
    model = planner.learner_model_from_db(session, user.id, scheduler.DEFAULT_PARAMETERS)
    assert model.forgetting.factor(5) < 1.0 < model.forgetting.factor(1)
    assert len(model.forgetting.firsts) == 4  # every sample here is a second answer after Good
    assert model.first_mix(5) == pytest.approx(model.first_mix(1))  # all first answers were Good
    rows = session.exec(select(planner.Review)).all()
    samples = planner.forgetting_samples(rows, {f"q{i:02d}": 1 + (i * 7) % 5 for i in range(40)},
                                         {r.id for r in rows if r.reviewed_at == T0 - timedelta(days=12)})
    assert {(s.difficulty, s.first_rating) for s in samples} == {(1, 3), (5, 3)}


def test_learner_model_is_refitted_only_after_new_reviews(session: Session) -> None:
    bank(session, n=6)
    user = add_user(session)
    for i in range(3):
        study(session, user, f"q{i:02d}", T0 + timedelta(days=i))
    params = scheduler.parameters_of(user)
    first = planner.learner_model_cached(session, user.id, params)
    assert planner.learner_model_cached(session, user.id, params) is first  # nothing new: the same fit
    study(session, user, "q00", T0 + timedelta(days=5), rating=1)
    again = planner.learner_model_cached(session, user.id, params)
    assert again is not first  # a new review: refitted


def test_the_days_plan_is_kept_until_something_it_depends_on_changes(session: Session) -> None:
    bank(session, n=12)
    user = add_user(session, new_per_day=5, minutes_per_day=120)
    first = planner.daily_queue(session, user, T0)
    again = planner.daily_queue(session, user, T0 + timedelta(minutes=1))
    assert [i.question_id for i in again.items] == [i.question_id for i in first.items]
    study(session, user, first.items[0].question_id, T0 + timedelta(minutes=2), rating=1)  # an answer (Again) changes the plan
    after = planner.daily_queue(session, user, T0 + timedelta(minutes=3))
    assert first.items[0].question_id not in [i.question_id for i in after.items if i.is_new]
    assert after.new_introduced_today == 1
    user.new_per_day = 1  # a settings change too
    assert planner.daily_queue(session, user, T0 + timedelta(minutes=4)).new_count == 0
    # and the learner's card joins the queue as a review once its due time passes
    card = scheduler.find_card(session, user.id, first.items[0].question_id)
    assert card is not None
    later = planner.daily_queue(session, user, card.due + timedelta(seconds=1))
    assert any(i.question_id == card.question_id and not i.is_new for i in later.items)
