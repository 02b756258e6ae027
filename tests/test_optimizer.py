"""Personal parameters: fitted from a synthetic history, stored, and then used by the scheduler."""
from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from interview import optimizer, scheduler
from interview.models import Card, Review, User
from tests.test_scheduler import add_question, add_user

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


def synthetic_history(session: Session, user: User, cards: int = 60, seed: int = 3) -> int:
    """A learner who forgets much faster than FSRS's defaults: recall halves in ~1/5 the time."""
    rng = random.Random(seed)
    sched = scheduler.make_scheduler()
    n = 0
    for i in range(cards):
        add_question(session, f"q{i:03d}")
    session.flush()
    for i in range(cards):
        card = scheduler.card_for(session, user.id, f"q{i:03d}", T0)
        t = T0 + timedelta(days=i % 7)
        true_s = 0.5
        for _ in range(8):
            if card.last_review is None:
                ok = rng.random() < 0.5
            else:
                days = (t - card.last_review).total_seconds() / 86400
                ok = rng.random() < (1 + 0.981 * days / true_s) ** -0.1542 * 0.7
            rating = rng.choice([3, 3, 2, 4]) if ok else 1
            true_s = true_s * (2.0 if ok else 0.7)
            scheduler.review(session, card, rating, t, scheduler=sched)
            n += 1
            t = t + timedelta(days=max(1, round(rng.uniform(0.5, 2.0) * (card.stability or 1))))
    session.commit()
    return n


def test_round_trip(session: Session) -> None:
    pytest.importorskip("fsrs_rs_python")
    user = add_user(session, name="grace")
    n = synthetic_history(session, user)
    assert n >= optimizer.MIN_REVIEWS
    before_cards = {c.id: (c.stability, c.due) for c in session.exec(select(Card)).all()}
    before_reviews = [(r.id, r.rating, r.stability) for r in session.exec(select(Review).order_by(Review.id)).all()]
    params = optimizer.optimize_user(session, "grace")
    assert len(params) == 21 and params != list(scheduler.DEFAULT_PARAMETERS)
    session.refresh(user)
    assert user.fsrs_parameters == params  # stored
    assert scheduler.make_scheduler(user).parameters == tuple(params)  # and used from now on
    # cards were replayed with the new parameters; the review history itself is untouched
    after_cards = {c.id: (c.stability, c.due) for c in session.exec(select(Card)).all()}
    assert after_cards != before_cards
    assert before_reviews == [(r.id, r.rating, r.stability)
                              for r in session.exec(select(Review).order_by(Review.id)).all()]
    card = session.exec(select(Card)).first()
    res = scheduler.review(session, card, 3, card.last_review + timedelta(days=3))  # type: ignore[operator]
    expected = scheduler.next_memory(scheduler.MemoryState(), 3, T0, scheduler.make_scheduler(parameters=params))
    assert expected.stability == pytest.approx(params[2])  # a first Good with the personal w[2]
    assert res.memory.stability is not None
    # deterministic: the same history fits the same parameters
    assert optimizer.fit(session.exec(select(Review).where(Review.user_id == user.id,
                                                           Review.id <= before_reviews[-1][0])).all()) == params


def test_too_few_reviews(session: Session) -> None:
    pytest.importorskip("fsrs_rs_python")
    user = add_user(session, name="linus")
    add_question(session, "q1")
    session.flush()
    scheduler.review(session, scheduler.card_for(session, user.id, "q1", T0), 3, T0)
    session.commit()
    with pytest.raises(optimizer.OptimizerError, match="at least 400"):
        optimizer.optimize_user(session, user)
    with pytest.raises(optimizer.OptimizerError, match="no user"):
        optimizer.optimize_user(session, "nobody")


def test_missing_package_is_a_clear_error(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsrs_rs_python", None)  # import now raises ImportError
    user = add_user(session, name="ken")
    with pytest.raises(optimizer.OptimizerError, match=r"interview\[optimizer\]"):
        optimizer.optimize_user(session, user)


def test_the_fit_does_not_depend_on_the_order_of_the_reviews(session: Session) -> None:
    """A query's row order is the database's choice (an index can change it): the fit is not."""
    pytest.importorskip("fsrs_rs_python")
    user = add_user(session, name="ada")
    synthetic_history(session, user)
    reviews = list(session.exec(select(Review).where(Review.user_id == user.id).order_by(Review.id)).all())
    assert optimizer.fit(reviews) == optimizer.fit(list(reversed(reviews)))
