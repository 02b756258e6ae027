"""Personal FSRS parameters fitted to a learner's own review history.

Uses `fsrs-rs-python` (the FSRS authors' Rust optimiser, a few-MB wheel; the pure-Python
`fsrs[optimizer]` would pull in PyTorch). Install with the extra: pip install 'interview[optimizer]'.

The FSRS authors' clients require a minimum history before fitting: Anki refuses to
optimise below 400 reviews (ankitects/anki#2999, "We require at least 400 review logs to
calculate custom parameters"), and fsrs-rs itself returns the defaults below 8 training
items. We use the same 400. After fitting, every card's memory state is recomputed from its
reviews with the new parameters (the reviews are not touched), and from then on
`scheduler.make_scheduler(user)` uses them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import Any, Sequence

import sqlalchemy as sa
from sqlmodel import Session, select

from interview import scheduler
from interview.models import Review, User

MIN_REVIEWS = 400
REQUIREMENT = "fsrs-rs-python>=0.9,<1"

try:  # bounds of the parameters fsrs.Scheduler accepts
    from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS as _LOW, UPPER_BOUNDS_PARAMETERS as _HIGH
except ImportError:  # pragma: no cover - older fsrs
    _LOW = _HIGH = None  # type: ignore[assignment]


class OptimizerError(Exception):
    """Why the parameters could not be fitted (missing package, too few reviews, no user)."""


def _backend() -> Any:
    try:
        import fsrs_rs_python
    except ImportError:
        raise OptimizerError("the optimiser is an optional extra: pip install 'interview[optimizer]' "
                             f"(it needs {REQUIREMENT})") from None
    return fsrs_rs_python


def training_items(reviews: Sequence[Review], backend: Any) -> list[Any]:
    """fsrs-rs training items: one per review prefix of each card that has a day-level interval.

    delta_t is in whole UTC days since the card's previous review (0 for the first).
    """
    by_card: dict[int, list[Review]] = {}
    for r in reviews:
        by_card.setdefault(r.card_id, []).append(r)
    items = []
    for _card, history in sorted(by_card.items()):  # the same reviews in any order give the same items
        history.sort(key=lambda r: (r.reviewed_at, r.id or 0))
        steps = []
        last = None
        for r in history:
            day = r.reviewed_at.astimezone(timezone.utc).date()
            steps.append(backend.FSRSReview(int(r.rating), 0 if last is None else (day - last).days))
            last = day
            item = backend.FSRSItem(list(steps))
            if item.long_term_review_cnt() > 0:
                items.append(item)
    return items


def fit(reviews: Sequence[Review], min_reviews: int = MIN_REVIEWS) -> list[float]:
    """Fit FSRS-6 parameters (21 floats) to these reviews; deterministic (fixed seed)."""
    backend = _backend()
    if len(reviews) < min_reviews:
        raise OptimizerError(f"{len(reviews)} reviews: personal parameters need at least {min_reviews} "
                             "(the FSRS authors' minimum); keep practising with the defaults")
    items = training_items(reviews, backend)
    if len(items) < 8:
        raise OptimizerError("too few reviews on later days to fit: review the same questions over several days")
    model = backend.FSRS(list(backend.DEFAULT_PARAMETERS))
    params = [float(p) for p in model.compute_parameters(items, enable_short_term=True)]
    if len(params) != len(scheduler.DEFAULT_PARAMETERS):
        raise OptimizerError(f"the optimiser returned {len(params)} parameters, FSRS-6 has 21")
    if _LOW is not None and _HIGH is not None:
        params = [min(max(p, lo), hi) for p, lo, hi in zip(params, _LOW, _HIGH)]
    return params


@dataclass(frozen=True)
class Status:
    """What the settings page tells a learner about their memory parameters."""

    reviews: int  # in their history
    needed: int  # before a fit is allowed (MIN_REVIEWS)
    personal: bool  # the scheduler uses parameters fitted to them
    available: bool  # the optimiser is installed
    install_hint: str = "pip install 'interview[optimizer]'"

    @property
    def can_fit(self) -> bool:
        return self.available and self.reviews >= self.needed


def status(session: Session, user: User, min_reviews: int = MIN_REVIEWS) -> Status:
    """The learner's review count against the minimum, whether personal parameters are in use
    and whether the optimiser is installed (it is an optional extra)."""
    count = session.exec(select(sa.func.count()).select_from(Review).where(Review.user_id == user.id)).one()
    try:
        _backend()
    except OptimizerError:
        available = False
    else:
        available = True
    return Status(int(count), min_reviews, bool(user.fsrs_parameters), available)


def optimize_user(session: Session, user_name_or_user: str | User, *,
                  min_reviews: int = MIN_REVIEWS) -> list[float]:
    """Fit, store in User.fsrs_parameters, reschedule the learner's cards, commit; return the parameters."""
    if isinstance(user_name_or_user, User):
        user = user_name_or_user
    else:
        found = session.exec(select(User).where(User.name == user_name_or_user)).first()
        if found is None:
            raise OptimizerError(f"no user '{user_name_or_user}'")
        user = found
    reviews = list(session.exec(select(Review).where(Review.user_id == user.id).order_by(Review.id)).all())
    params = fit(reviews, min_reviews=min_reviews)
    user.fsrs_parameters = params
    session.add(user)
    scheduler.replay(session, user)
    session.commit()
    return params
