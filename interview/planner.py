"""The daily queue: which questions to practise today, in what order, within the minutes.

The core is a pure function, `plan_day(candidates, now=, budget_seconds=, new_quota=,
interview_date=, model=)`, that knows nothing about the database: `daily_queue` feeds it
the learner's cards and the active questions, and `bench/scheduler.py` feeds it simulated
learners, so the benchmark measures the very policy the app runs.

Two policies, chosen by the date:

**Plain FSRS** (no interview date, or the date has come). Due reviews (due on or before
today, UTC) first, most urgent first: lowest current retrievability R(now), then oldest
due. Reviews fill at most the day's budget; whatever does not fit is the *backlog*, shown
to the learner and left for the coming days, so after days away the overdue pile is spread
over several days (most urgent first) rather than dumped into one. New questions follow, at
most `new_quota` (User.new_per_day minus those already introduced today), interleaved
across areas and topics, easier before harder within a topic.

**Interview date** (today < date T). Every card not yet reviewed today, and every new
question within the quota, gets a priority: the expected gain in recall *on T* per minute
of study, and the day is filled greedily by priority until the budget is used::

    seen card:  gain = sum_r p(r) * R_T(S'_r) - R_T(S_e)
                S_e  = scale * level[d] * S ** gamma   (the learner's stability for the app's FSRS S
                                                        of a question of authored difficulty d)
                p(Again) = 1 - R_now,  p(Hard|Good|Easy) = R_now * split,  R_now = R(S_e, now - last)
                S'_r = FSRS-6's stability update applied to S_e with recall R_now and rating r
                       (forget stability for Again, recall stability otherwise; short-term
                       stability if reviewed less than a day ago)
    new question: gain = sum_r p1_d(r) * R_T(scale * level[d] * first[r] * w[r-1] ** gamma)
    R_T(S_e) = (1 + F * t / S_e) ** -decay  with t = days from the (last) review to T,
               F = 0.9 ** (-1 / decay) - 1
    priority = gain / estimated minutes

(scale, decay, gamma, level[1..5], first[1..4]) is the learner's forgetting curve
(`fit_forgetting`): the maximum a posteriori fit of R(S_e, t) to their review outcomes (the
app's FSRS stability before each review, the days since it, recalled or not, the question's
authored difficulty, and the first rating when the review is the card's second answer; the
last 400 reviews), on a grid, with a prior centred on FSRS-6's own curve (log scale ~ N(0, 1),
gamma ~ N(1, 0.25), log decay ~ N(log w20, 5), log level[d] ~ N(0, 0.5), log first[r] ~
N(0, 1)) that a few dozen reviews overrule; decays up to 16 let it approach an exponential
forgetting curve. level[d] says how much longer (or shorter) this learner holds questions
authored at difficulty d than their average -- FSRS's state, built from ratings alone, does not
know the question -- and first[r] how well their first answers rated r really fix a question,
against FSRS's initial stability w[r-1] (as FSRS's own optimiser fits the initial stabilities
from second answers); each pools dozens of reviews, where a factor per card would have two or
three. The curve and the factors are fitted in turns (coordinate ascent, two rounds). It is
fitted as soon as the learner has answered any question a second time, and refitted only after
new reviews (`learner_model_cached`). p1 (first-sight ratings) and split (Hard/Good/Easy among
recalled reviews) are the learner's own frequencies shrunk towards fsrs-rs' simulator defaults
(`rating_mix`: p1 = (0.24, 0.094, 0.495, 0.171), split = (0.224, 0.631, 0.145), 20
pseudo-counts each); p1_d is their first ratings of questions of authored difficulty d shrunk
towards their p1 (10 pseudo-counts, `first_rating_by_level`). With no history the model is
exactly FSRS-6 with the learner's parameters (and stays close to it while their outcomes agree
with FSRS). The app still stores plain FSRS states; only the planner's predictions are the
learner's.

Because the gain is measured at T, a card just reviewed (R_now near 1) gains almost nothing
and waits, a card that will have faded by T comes back, and a new question is worth more
the more of it will still be remembered on T: for a learner whose fitted curve is steep,
new questions learned weeks before T are worth little (they would be gone by T) and the
queue consolidates what they have instead, and new questions come back close to the date.
`scheduler.clamp_due` makes sure no due date falls after T. New questions compete within
the first 3 x quota of the plain new order (so areas stay interleaved and easier comes
first). Everything else (budget, quota, interleaving) is as in the plain policy.

Known limit (bench/scheduler.py, 24 learners per truth, re-planned every 5 answers): on
learners whose memory is FSRS with perturbed parameters ours reaches 99% of an oracle that
knows the true memory at day 30 (0.730 vs 0.738) and 98% at day 10 (0.404 vs 0.412). Against
a learner whose memory is exponential (a half-life model, not FSRS) it beats plain FSRS and
SM-2 at both horizons (day 30: 0.316 vs 0.175 and 0.150) but reaches only 86% of the oracle
at day 30 (0.316 vs 0.368) and 84% at day 10 (0.190 vs 0.227). The level and first-rating
factors gave +0.018 at day 30 and +0.008 at day 10 on those learners (paired, same learners;
the FSRS learners unchanged); re-planning every few answers rather than once a morning, a
further +0.03 and +0.01.

Where that gap arises (the last days, not the first) and what was tried against it, with
paired figures: bench/scheduler_findings.md. The same queue valued by a model that knows the
half-life family and the learner's true parameters, and infers only each card's own state
from its answers (`bench/scheduler.py --bound`), reaches 95.3% of the oracle at day 30 and
94.7% at day 10 (0.351 and 0.215): the part of the gap that no model of the learner can close.

The selected items are then interleaved across areas (round robin, keeping each area's
priority order) so that a session mixes subjects.

Time estimates: the learner's own median of seconds_taken / time_limit per question kind
(from at least 3 practice attempts of that kind) times the question's time limit; else
`DEFAULT_TIME_FRACTION` of the time limit. (A ratio, because time limits within a kind
range from one to fifteen minutes.)
"""
from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, NamedTuple, Optional, Protocol, Sequence

import sqlalchemy as sa
from sqlmodel import Session, select

from interview import catalog, scheduler
from interview.memo import FingerprintCache
from interview.models import Attempt, Card, Question, Review, User
from interview.scheduler import DEFAULT_PARAMETERS, MemoryState, day_start, interview_instant, utc

REVIEW_SPLIT = (0.224, 0.631, 0.145)  # p(Hard), p(Good), p(Easy) given recall
FIRST_RATING = (0.24, 0.094, 0.495, 0.171)  # p(Again..Easy) on first sight
DEFAULT_TIME_FRACTION = 0.6
MIN_KIND_SAMPLES = 3
NEW_WINDOW = 3  # interview mode: new questions considered = NEW_WINDOW x today's quota
ATTEMPTS_FOR_MEDIANS = 500
CALIBRATION_REVIEWS = 400


# ---------------------------------------------------------------------------- the pure core


class Candidate(NamedTuple):
    """One question as the planner sees it. `memory` None = never seen (a new question).

    (A named tuple: a day's plan builds one per question in the bank.)"""

    question_id: str
    area: str
    topic: str
    difficulty: int
    seconds: float
    memory: Optional[MemoryState] = None
    truth: Any = None  # opaque state for a model other than the app's FSRS (the bench's oracle)

    @property
    def is_new(self) -> bool:
        return self.memory is None or self.memory.last_review is None


class MemoryModel(Protocol):
    """What the planner needs to know about memory: recall now/later, and after a review.

    A model may also offer `gains(candidates, now, target)`, every candidate's `gain_on` at
    once (FSRSModel does); `plan_day` uses it where it exists."""

    def recall(self, c: Candidate, at: datetime) -> float: ...

    def recall_after_review(self, c: Candidate, now: datetime, target: datetime) -> float: ...


@dataclass(frozen=True)
class Forgetting:
    """The learner's recall curve in terms of the app's FSRS stability S (days):

        R(S, t) = (1 + F t / S_eff) ** -decay,   S_eff = scale * level[d] * S ** gamma,
        F = 0.9 ** (-1 / decay) - 1

    scale = gamma = 1, no levels and decay = w20 is FSRS-6's own curve. gamma != 1 says that the
    learner's memory grows faster (> 1) or slower (< 1) with each successful review than FSRS
    assumes; level[d] that they hold questions of authored difficulty d longer (> 1) or shorter
    (< 1) than their average, which FSRS's state (built from ratings alone) does not know.
    """

    scale: float = 1.0
    decay: float = DEFAULT_PARAMETERS[20]
    gamma: float = 1.0
    levels: tuple[float, ...] = ()  # stability factor per authored difficulty 1..5 (empty: all 1)
    firsts: tuple[float, ...] = ()  # factor on the initial stability per first rating 1..4 (empty: all 1)

    def factor(self, difficulty: Optional[int], first_rating: Optional[int] = None) -> float:
        """The learner's stability factor for a question of this authored difficulty (1 if
        unknown) and, after only a first answer, for that first rating."""
        out = 1.0
        if difficulty is not None and 1 <= int(difficulty) <= len(self.levels):
            out *= self.levels[int(difficulty) - 1]
        if first_rating is not None and 1 <= int(first_rating) <= len(self.firsts):
            out *= self.firsts[int(first_rating) - 1]
        return out


class FSRSModel:
    """The app's model: FSRS-6 with the learner's parameters (the formulas of fsrs.Scheduler).

    `forgetting` (a `Forgetting`, or (scale, decay[, gamma])) from `fit_forgetting` bends the
    recall curve used for the gain on the interview date to the learner's observed outcomes;
    the stability updates stay FSRS's own (curve(S) is computed for the update exactly as
    fsrs.Scheduler does), so the planner predicts the very state the app will store after a
    review and only the map from that state to recall is the learner's. `first_rating` and
    `review_split` are the learner's rating frequencies (`rating_mix`).
    """

    def __init__(self, parameters: Sequence[float] = DEFAULT_PARAMETERS,
                 forgetting: "Forgetting | Sequence[float] | None" = None,
                 first_rating: Sequence[float] = FIRST_RATING,
                 review_split: Sequence[float] = REVIEW_SPLIT,
                 first_rating_by_level: Optional[dict[int, Sequence[float]]] = None) -> None:
        self.w = tuple(float(p) for p in parameters)
        self.decay = -self.w[20]
        self.factor = 0.9 ** (1 / self.decay) - 1
        if forgetting is None:
            forgetting = Forgetting(1.0, self.w[20], 1.0)
        elif not isinstance(forgetting, Forgetting):
            forgetting = Forgetting(*forgetting)
        self.forgetting = forgetting
        self.scale, self.gamma = forgetting.scale, forgetting.gamma
        self.pdecay = -forgetting.decay
        self.pfactor = 0.9 ** (1 / self.pdecay) - 1
        self.first_rating = tuple(first_rating)
        self.review_split = tuple(review_split)
        self.first_rating_by_level = {int(k): tuple(v) for k, v in (first_rating_by_level or {}).items()}

    def first_mix(self, difficulty: Optional[int]) -> tuple[float, ...]:
        """p(Again..Easy) of the learner's first answer to a question of this authored difficulty."""
        return self.first_rating_by_level.get(int(difficulty) if difficulty is not None else 0, self.first_rating)

    def curve(self, stability: float, days: float) -> float:
        """FSRS's own curve (the one its stability update uses)."""
        return (1 + self.factor * max(0.0, days) / stability) ** self.decay

    def effective(self, stability: float, difficulty: Optional[int] = None,
                  first_rating: Optional[int] = None) -> float:
        """The learner's stability (days) for the app's FSRS stability of a question of this
        authored difficulty (answered once, with `first_rating`):
        scale * level[difficulty] * first[first_rating] * S ** gamma."""
        return self.scale * self.forgetting.factor(difficulty, first_rating) * stability ** self.gamma

    def learner_curve(self, effective_stability: float, days: float) -> float:
        """The learner's recall after `days` at this effective stability."""
        return (1 + self.pfactor * max(0.0, days) / effective_stability) ** self.pdecay

    def predict(self, stability: float, days: float, difficulty: Optional[int] = None,
                first_rating: Optional[int] = None) -> float:
        """The learner's calibrated curve: what the planner expects them to recall."""
        return self.learner_curve(self.effective(stability, difficulty, first_rating), days)

    def recall(self, c: Candidate, at: datetime) -> float:
        m = c.memory
        if m is None or m.stability is None or m.last_review is None:
            return 0.0
        return self.predict(m.stability, (at - m.last_review).total_seconds() / 86400.0, c.difficulty)

    def stability_after(self, stability: float, difficulty: float, elapsed_days: int, rating: int,
                        recall: float | None = None) -> float:
        """FSRS-6's stability update, as `fsrs.Scheduler.review_card` computes it; `recall` is
        the probability of recall at the review (default: FSRS's own curve, as fsrs does)."""
        w = self.w
        if elapsed_days < 1:
            inc = math.exp(w[17] * (rating - 3 + w[18])) * stability ** -w[19]
            if rating > 1:
                inc = max(inc, 1.0)
            return max(stability * inc, 0.001)
        r = self.curve(stability, elapsed_days) if recall is None else recall
        if rating == 1:
            long = w[11] * difficulty ** -w[12] * ((stability + 1) ** w[13] - 1) * math.exp((1 - r) * w[14])
            short = stability / math.exp(w[17] * w[18])
            return max(min(long, short), 0.001)
        hard = w[15] if rating == 2 else 1.0
        easy = w[16] if rating == 4 else 1.0
        return max(stability * (1 + math.exp(w[8]) * (11 - difficulty) * stability ** -w[9]
                                * (math.exp((1 - r) * w[10]) - 1) * hard * easy), 0.001)

    def stabilities_after(self, stability: Any, difficulty: Any, elapsed_days: Any, rating: int,
                          recall: Any = None) -> Any:
        """`stability_after` over numpy arrays (stability, difficulty, whole elapsed days and
        recall, one entry per card; recall None: FSRS's own curve at the elapsed days). The two
        must stay in step: tests/test_planner.py compares `gains`, built on this, with `gain_on`."""
        import numpy as np

        w = self.w
        if recall is None:
            recall = (1 + self.factor * np.maximum(elapsed_days, 0) / stability) ** self.decay
        same_day = np.exp(w[17] * (rating - 3 + w[18])) * stability ** -w[19]
        if rating > 1:
            same_day = np.maximum(same_day, 1.0)
        same_day = np.maximum(stability * same_day, 0.001)
        if rating == 1:
            later = np.minimum(w[11] * difficulty ** -w[12] * ((stability + 1) ** w[13] - 1)
                               * np.exp((1 - recall) * w[14]), stability / math.exp(w[17] * w[18]))
        else:
            bonus = (w[15] if rating == 2 else 1.0) * (w[16] if rating == 4 else 1.0)
            later = stability * (1 + math.exp(w[8]) * (11 - difficulty) * stability ** -w[9]
                                 * (np.exp((1 - recall) * w[10]) - 1) * bonus)
        return np.where(elapsed_days < 1, same_day, np.maximum(later, 0.001))

    def recall_after_review(self, c: Candidate, now: datetime, target: datetime) -> float:
        """Expected recall on `target` if the learner answers `c` at `now`.

        A new question: their first-rating mix for its authored difficulty over the effective
        initial stabilities. A seen
        card: FSRS-6's update applied to the effective stability with the learner's own recall
        now (so a card that has truly faded grows as much as FSRS says a faded card grows),
        averaged over Again (1 - R) and Hard/Good/Easy (R x the learner's split)."""
        days = max(0.0, (target - now).total_seconds() / 86400.0)
        m = c.memory
        if c.is_new or m is None or m.stability is None or m.difficulty is None or m.last_review is None:
            return sum(p * self.predict(max(self.w[i], 0.001), days, c.difficulty, i + 1)
                       for i, p in enumerate(self.first_mix(c.difficulty)))
        se = self.effective(m.stability, c.difficulty)
        r_now = self.learner_curve(se, (now - m.last_review).total_seconds() / 86400.0)
        elapsed = (now - m.last_review).days
        total = (1 - r_now) * self.learner_curve(self.stability_after(se, m.difficulty, elapsed, 1, r_now), days)
        for rating, p in zip((2, 3, 4), self.review_split):
            total += r_now * p * self.learner_curve(self.stability_after(se, m.difficulty, elapsed, rating, r_now),
                                                    days)
        return total

    def gains(self, candidates: Sequence[Candidate], now: datetime, target: datetime) -> list[float]:
        """`gain_on(c, now, target, self)` for every candidate at once: the same formulas over
        numpy arrays (equal to 1e-12), where one call each was most of a plan's cost. A new
        question's gain depends only on its authored difficulty, so it is computed once per
        difficulty."""
        import numpy as np

        days = max(0.0, (target - now).total_seconds() / 86400.0)
        out = [0.0] * len(candidates)
        new_gain: dict[Any, float] = {}
        seen: list[int] = []
        for i, c in enumerate(candidates):
            m = c.memory
            if c.is_new:
                if c.difficulty not in new_gain:
                    new_gain[c.difficulty] = self.recall_after_review(c, now, target)
                out[i] = new_gain[c.difficulty]
            elif m is None or m.stability is None or m.difficulty is None or m.last_review is None:
                out[i] = gain_on(c, now, target, self)
            else:
                seen.append(i)
        if not seen:
            return out
        cards = [candidates[i] for i in seen]
        stability = np.array([c.memory.stability for c in cards])  # type: ignore[union-attr]
        difficulty = np.array([c.memory.difficulty for c in cards])  # type: ignore[union-attr]
        factor = np.array([self.forgetting.factor(c.difficulty) for c in cards])
        since = [now - c.memory.last_review for c in cards]  # type: ignore[union-attr, operator]
        days_now = np.maximum(np.array([d.total_seconds() for d in since]) / 86400.0, 0.0)
        elapsed = np.array([d.days for d in since])
        se = self.scale * factor * stability ** self.gamma
        r_now = (1 + self.pfactor * days_now / se) ** self.pdecay

        def curve(s: Any, t: Any) -> Any:
            return (1 + self.pfactor * t / s) ** self.pdecay

        after = np.zeros(len(cards))
        for rating, p in zip((1, 2, 3, 4), (None, *self.review_split)):
            new_s = self.stabilities_after(se, difficulty, elapsed, rating, r_now)
            after += (1 - r_now if p is None else r_now * p) * curve(new_s, days)
        at_target = np.maximum(np.array([(target - c.memory.last_review).total_seconds()  # type: ignore[union-attr, operator]
                                         for c in cards]) / 86400.0, 0.0)
        gain = after - curve(se, at_target)
        for i, g in zip(seen, gain.tolist()):
            out[i] = g
        return out


# the grid `fit_forgetting` searches, and its prior (log-normal around FSRS's own curve)
LOG_SCALES = tuple(x / 4 for x in range(-20, 7))  # scale 0.0067 .. 4.5
GAMMAS = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.7)
DECAYS = (0.25, 0.4, 0.6, 0.8, 1.2, 2.0, 4.0, 8.0, 16.0)  # plus the parameters' own; large decays approach an exponential
PRIOR_SD = (1.0, 0.25, 5.0)  # log scale, gamma, log decay
MIN_CALIBRATION = 1
# the group factors on the learner's stability (per authored difficulty, per first rating):
# log factor ~ N(0, sd), on a grid
LEVELS = 5  # authored difficulty 1..5
LOG_GROUP_FACTORS = tuple(x / 8 for x in range(-24, 25))  # factor 0.05 .. 20
LEVEL_PRIOR_SD = 0.5
FIRST_PRIOR_SD = 1.0
FIT_ROUNDS = 2  # curve, factors, curve, factors (coordinate ascent of the joint posterior)


class Sample(NamedTuple):
    """One review as the forgetting fit sees it."""

    stability: float  # the app's FSRS stability before the review
    days: float  # since the previous review
    recalled: bool
    difficulty: Optional[int] = None  # the question's authored difficulty 1..5
    first_rating: Optional[int] = None  # the previous review's rating, if it was the card's first answer


def fit_forgetting(samples: Iterable[Sequence[Any]],
                   default_decay: float = DEFAULT_PARAMETERS[20]) -> Forgetting | None:
    """The learner's forgetting curve: the (scale, decay, gamma, levels, firsts) of `Forgetting`
    with the highest posterior given their reviews.

    `samples` are `Sample`s (or plain (stability, days, recalled) tuples). The prior is centred
    on FSRS's own curve (scale 1, gamma 1, the parameters' decay, every factor 1) with standard
    deviations PRIOR_SD (log scale, gamma, log decay), LEVEL_PRIOR_SD (log factor per authored
    difficulty) and FIRST_PRIOR_SD (log factor per first rating), weak enough that a few dozen
    reviews of a learner who forgets much faster (or slower) than FSRS' population defaults
    move it, weeks before the 400 reviews the full optimiser needs; with a handful it stays
    near FSRS. A level factor pools every review of a difficulty level, and a first-rating
    factor every second answer after that first rating (FSRS's optimiser likewise fits the
    initial stabilities first, from second answers), so each has dozens of outcomes behind
    it (a factor per card would have two or three). The curve and the factors are fitted in
    turns (coordinate ascent of the joint posterior; the curve's second turn searches the
    neighbourhood of its first). None without any sample: the FSRS model stands.
    """
    data = [Sample(*d) for d in samples if d[0] and d[0] > 0 and d[1] is not None and d[1] > 0]
    if len(data) < MIN_CALIBRATION:
        return None
    import numpy as np

    log_s = np.log(np.array([d.stability for d in data]))
    t = np.array([d.days for d in data])
    ok = np.array([bool(d.recalled) for d in data])
    level = _groups([d.difficulty for d in data], LEVELS)  # 0 = unknown
    first = _groups([d.first_rating for d in data], 4)  # 0 = not a second answer
    log_levels, log_firsts = np.zeros(LEVELS + 1), np.zeros(5)  # index 0: no factor
    curve = _fit_curve(log_s, t, ok, np.zeros(len(data)), float(default_decay))
    if not level.any() and not first.any():
        return curve
    for round_ in range(FIT_ROUNDS):
        if round_:
            curve = _fit_curve(log_s, t, ok, log_levels[level] + log_firsts[first], float(default_decay), curve)
        log_levels = _fit_groups(curve, log_s, t, ok, level, log_firsts[first], LEVELS, LEVEL_PRIOR_SD)
        log_firsts = _fit_groups(curve, log_s, t, ok, first, log_levels[level], 4, FIRST_PRIOR_SD)
    return Forgetting(curve.scale, curve.decay, curve.gamma,
                      tuple(math.exp(x) for x in log_levels[1:]) if level.any() else (),
                      tuple(math.exp(x) for x in log_firsts[1:]) if first.any() else ())


def _groups(values: list[Any], n: int) -> Any:
    """`_group` of each value, as a numpy array (each distinct value is read once)."""
    import numpy as np

    index = {v: _group(v, n) for v in set(values)}
    return np.array([index[v] for v in values], dtype=int)


def _group(value: Any, n: int) -> int:
    """1..n for a valid group (an authored difficulty, a rating), 0 otherwise."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        return 0
    return v if 1 <= v <= n else 0


def _fit_curve(log_s: Any, t: Any, ok: Any, log_factor: Any, default_decay: float,
               near: Forgetting | None = None) -> Forgetting:
    """The MAP (scale, decay, gamma) on the grid, each sample's stability times its factors;
    with `near` (the previous round's curve), only its neighbours on the decay and gamma grid.

    R = (1 + F t / (scale factors S ** gamma)) ** -decay = (1 + (F / scale) x) ** -decay with
    x = t / (factors S ** gamma) computed once per gamma, so each grid point costs one log per
    sample (and an exp and a log more for a lapse). For a given decay and gamma the log
    posterior is concave in log scale (log R and log(1 - R) are, and so is the prior), so
    the scales are searched coarse to fine: every other one, then the two beside the best
    of those, where the best of all must be. Every decay is scored at once. A whole fit of 400
    reviews (`fit_forgetting`) took 36 ms with log1p and expm1 in double precision over every
    point of the grid, one decay at a time, and takes 7 ms; the fits came out the same on 300
    random histories."""
    import numpy as np

    decays, gammas = sorted({default_decay, *DECAYS}), list(GAMMAS)
    if near is not None:
        decays, gammas = _neighbours(decays, near.decay), _neighbours(gammas, near.gamma)
    log_scales = np.array(LOG_SCALES)
    n_scales = len(log_scales)
    g = np.array(gammas)
    # (gamma, sample); the grid's logs and their sums over samples in single precision (five
    # times as fast as double here), the log posterior in double
    x = (t[None, :] * np.exp(-(g[:, None] * log_s[None, :] + log_factor[None, :]))).astype(np.float32)
    x_ok, x_miss = x[:, ok][None, :, None, :], x[:, ~ok][None, :, None, :]  # (1, gamma, 1, sample)
    ones_ok, ones_miss = np.ones(x_ok.shape[3], np.float32), np.ones(x_miss.shape[3], np.float32)
    # the prior of (gamma, scale); ties go to the first decay, then gamma, then scale on the grid
    prior = -0.5 * ((log_scales[None, :] / PRIOR_SD[0]) ** 2 + ((g[:, None] - 1) / PRIOR_SD[1]) ** 2)
    coarse = np.arange(0, n_scales, 2)
    decay = np.array(decays)
    # the logs for every decay at once, in buffers reused by both steps' shapes: fresh arrays cost
    # as much as the logs
    buffers: dict[tuple[int, ...], Any] = {}
    cap = np.float32(20.7) / decay.astype(np.float32)[:, None, None, None]  # -log R of a recall, at most
    minus_decay = (-decay).astype(np.float32)[:, None, None, None]

    def log_lik(mult: Any) -> Any:
        """Log likelihood per (decay, gamma, scale) for F / scale = mult (decay, gamma or 1, scales, 1)."""
        k = mult.shape[2]
        ok_buf = buffers.setdefault((k, 0), np.empty((len(decays), len(gammas), k, x_ok.shape[3]), np.float32))
        miss_buf = buffers.setdefault((k, 1), np.empty((len(decays), len(gammas), k, x_miss.shape[3]), np.float32))
        # a recall: log R = -decay log(1 + F x / scale), at least -20.7 (a recall the curve gives
        # 1e-9 counts as that); the sums over samples by a matrix product
        np.multiply(mult, x_ok, out=ok_buf)
        ok_buf += 1
        np.log(ok_buf, out=ok_buf)
        np.minimum(ok_buf, cap, out=ok_buf)
        out = (ok_buf @ ones_ok).astype(np.float64) * -decay[:, None, None]
        # a lapse: log(1 - R), R at most 1 - 1e-7 and 1 - R at least 1e-9
        np.multiply(mult, x_miss, out=miss_buf)
        miss_buf += 1
        np.log(miss_buf, out=miss_buf)
        miss_buf *= minus_decay
        np.minimum(miss_buf, np.float32(-1e-7), out=miss_buf)
        np.exp(miss_buf, out=miss_buf)
        np.subtract(np.float32(1), miss_buf, out=miss_buf)
        np.maximum(miss_buf, np.float32(1e-9), out=miss_buf)
        np.log(miss_buf, out=miss_buf)
        return out + (miss_buf @ ones_miss).astype(np.float64)

    f_over_scale = (0.9 ** (-1 / decay) - 1)[:, None] * np.exp(-log_scales)[None, :]  # (decay, scale)
    lp = np.full((len(decays), len(gammas), n_scales), -np.inf)
    lp[:, :, coarse] = log_lik(f_over_scale[:, coarse].astype(np.float32)[:, None, :, None]) + prior[None, :, coarse]
    top = coarse[np.argmax(lp[:, :, coarse], axis=2)]  # (decay, gamma)
    beside = np.stack([np.maximum(top - 1, 0), np.minimum(top + 1, n_scales - 1)], axis=2)  # (decay, gamma, 2)
    d_index = np.arange(len(decays))[:, None, None]
    g_index = np.arange(len(gammas))[None, :, None]
    lp[d_index, g_index, beside] = (log_lik(f_over_scale[d_index, beside].astype(np.float32)[..., None])
                                    + prior[g_index, beside])
    lp -= 0.5 * (np.log(decay / default_decay) / PRIOR_SD[2])[:, None, None] ** 2
    i = int(np.argmax(lp))  # the first of equals: decay, then gamma, then scale in grid order
    di, rest = divmod(i, len(gammas) * n_scales)
    gi, si = divmod(rest, n_scales)
    return Forgetting(math.exp(float(log_scales[si])), float(decays[di]), float(g[gi]))


def _neighbours(grid: list[float], value: float) -> list[float]:
    i = min(range(len(grid)), key=lambda j: abs(grid[j] - value))
    return grid[max(0, i - 1): i + 2]


def _fit_groups(curve: Forgetting, log_s: Any, t: Any, ok: Any, group: Any, log_other: Any, n: int,
                sd: float) -> Any:
    """The MAP log stability factor of groups 1..n given the curve and each sample's other
    factors (the groups' samples are disjoint, so each is a one-dimensional search); index 0
    and groups without samples: 0. Every group's grid is scored in one pass over the samples,
    the sums per group by a product with the samples' group membership."""
    import numpy as np

    grid = np.array(LOG_GROUP_FACTORS)
    out = np.zeros(n + 1)
    mine = group > 0
    if not mine.any():
        return out
    factor = 0.9 ** (-1 / curve.decay) - 1
    base = factor * t[mine] / (curve.scale * np.exp(curve.gamma * log_s[mine] + log_other[mine]))
    # log R per grid factor and sample (single precision, as in _fit_curve), R within
    # [1e-9, 1 - 1e-7]; a lapse counts log(1 - R)
    log_r = np.float32(-curve.decay) * np.log(1 + np.exp(-grid).astype(np.float32)[:, None]
                                              * base.astype(np.float32)[None, :])
    np.clip(log_r, np.float32(math.log(1e-9)), np.float32(-1e-7), out=log_r)
    recalled = ok[mine]
    log_r[:, ~recalled] = np.log(1 - np.exp(log_r[:, ~recalled]))
    members = (group[mine][:, None] == np.arange(1, n + 1)[None, :]).astype(np.float32)  # (sample, group)
    lp = (log_r @ members).astype(np.float64) - 0.5 * (grid[:, None] / sd) ** 2  # (grid, group)
    found = members.any(axis=0)
    out[1:][found] = grid[np.argmax(lp, axis=0)][found]
    return out


RATING_PRIOR_WEIGHT = 20.0
LEVEL_RATING_WEIGHT = 10.0  # pseudo-counts of the learner's overall first-rating mix in each level's


def _rating_level(r: Any) -> tuple[int, int]:
    """(rating, authored difficulty level or 0) from a rating or a (rating, difficulty) pair."""
    if isinstance(r, (tuple, list)):
        return int(r[0]), _group(r[1], LEVELS)
    return int(r), 0


def _tally(ratings: Iterable[Any]) -> "Counter[tuple[int, int]]":
    """How many of each (rating, authored difficulty level or 0) (see `_rating_level`); each
    distinct item is read once (the planner tallies 400 of them at every plan)."""
    items = Counter(tuple(r) if isinstance(r, list) else r for r in ratings)
    out: Counter[tuple[int, int]] = Counter()
    for item, n in items.items():
        out[_rating_level(item)] += n
    return out


def rating_mix(first_ratings: Iterable[Any], review_ratings: Iterable[int],
               weight: float | None = None) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The learner's rating frequencies: (p(Again..Easy) on first sight, p(Hard|Good|Easy) given
    recall), each the FSRS simulator default (FIRST_RATING, REVIEW_SPLIT) updated by the
    learner's own ratings as `weight` pseudo-counts (a Dirichlet posterior mean). A first
    rating may be a (rating, authored difficulty) pair."""
    weight = RATING_PRIOR_WEIGHT if weight is None else weight
    first = [weight * p for p in FIRST_RATING]
    for (r, _lv), n in _tally(first_ratings).items():
        if 1 <= r <= 4:
            first[r - 1] += n
    split = [weight * p for p in REVIEW_SPLIT]
    for (r, _lv), n in _tally(review_ratings).items():
        if 2 <= r <= 4:
            split[r - 2] += n
    return tuple(x / sum(first) for x in first), tuple(x / sum(split) for x in split)


def first_rating_by_level(first_ratings: Iterable[Any], overall: Sequence[float],
                          weight: float = LEVEL_RATING_WEIGHT) -> dict[int, tuple[float, ...]]:
    """p(Again..Easy) of the learner's first answers per authored difficulty level: their first
    ratings of that level's questions, shrunk towards their overall mix (`overall`, itself
    shrunk towards FIRST_RATING) by `weight` pseudo-counts -- a harder level is failed more
    often at first sight, and a level with few answers stays near the learner's average."""
    counts = {lv: [weight * p for p in overall] for lv in range(1, LEVELS + 1)}
    for (r, lv), n in _tally(first_ratings).items():
        if lv and 1 <= r <= 4:
            counts[lv][r - 1] += n
    return {lv: tuple(x / sum(c) for x in c) for lv, c in counts.items()}


def learner_model(parameters: Sequence[float], samples: Sequence[Sequence[Any]],
                  first_ratings: Iterable[Any] = (), review_ratings: Iterable[int] = (),
                  forgetting: Forgetting | None = None) -> FSRSModel:
    """The interview-date model of one learner from what the app observes: their FSRS
    parameters, the forgetting curve fitted to their reviews (with a stability factor per
    authored difficulty when the samples carry it), their rating frequencies (first ratings as
    (rating, authored difficulty) pairs give a first-rating mix per difficulty level).
    `forgetting`: `fit_forgetting(samples, parameters[20])` if the caller has it already."""
    first_ratings = list(first_ratings)
    first, split = rating_mix(first_ratings, review_ratings)
    by_level = first_rating_by_level(first_ratings, first)
    if forgetting is None:
        forgetting = fit_forgetting(samples, parameters[20])
    return FSRSModel(parameters, forgetting, first, split, by_level)


def forgetting_samples(reviews: Iterable[Any], difficulty_of: Optional[dict[str, int]] = None,
                       first_ids: Optional[set[int]] = None) -> list[Sample]:
    """A `Sample` from each pair of consecutive Review rows of a card: the difficulty from
    `difficulty_of` (question id -> Question.difficulty), the first rating when the earlier row's
    id is in `first_ids` (the ids of the cards' first reviews); None when unknown."""
    difficulty_of = difficulty_of or {}
    first_ids = first_ids or set()
    by_card: dict[int, list[Any]] = {}
    for r in reviews:
        by_card.setdefault(r.card_id, []).append(r)
    out: list[Sample] = []
    for rows in by_card.values():
        rows.sort(key=lambda r: r.reviewed_at)
        for prev, cur in zip(rows, rows[1:]):
            if prev.stability:
                out.append(Sample(prev.stability, (cur.reviewed_at - prev.reviewed_at).total_seconds() / 86400.0,
                                  cur.rating > 1, difficulty_of.get(cur.question_id),
                                  prev.rating if prev.id in first_ids else None))
    return out


def gain_on(c: Candidate, now: datetime, target: datetime, model: MemoryModel) -> float:
    """Expected recall on `target` if practised now, minus expected recall without it."""
    after = model.recall_after_review(c, now, target)
    return after if c.is_new else after - model.recall(c, target)


@dataclass(frozen=True)
class PlannedItem:
    candidate: Candidate
    priority: float  # gain per minute (interview mode) or -R(now) / new rank (plain mode)

    @property
    def question_id(self) -> str:
        return self.candidate.question_id

    @property
    def is_new(self) -> bool:
        return self.candidate.is_new


@dataclass
class Plan:
    items: list[PlannedItem]
    due_count: int  # reviews in today's plan
    new_count: int
    backlog: int  # due reviews that did not fit today's budget
    seconds_planned: float
    budget_seconds: float
    interview_mode: bool


def new_order(candidates: Iterable[Candidate]) -> list[Candidate]:
    """New questions interleaved across areas then topics, easier first within a topic."""
    by_area: dict[str, dict[str, list[Candidate]]] = {}
    for c in candidates:
        by_area.setdefault(c.area, {}).setdefault(c.topic, []).append(c)
    area_queues: list[list[Candidate]] = []
    for area in sorted(by_area):
        topics = [sorted(v, key=lambda c: (c.difficulty, c.question_id)) for _, v in sorted(by_area[area].items())]
        area_queues.append(_round_robin(topics))
    return _round_robin(area_queues)


def _round_robin(queues: list[list[Any]]) -> list[Any]:
    """The first of every queue, then the second of every queue that has one, and so on."""
    out: list[Any] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        out.extend(q[depth] for q in queues if depth < len(q))
    return out


def interleave(items: list[PlannedItem]) -> list[PlannedItem]:
    """Round robin across areas, each area keeping its own order, areas by their best item."""
    by_area: dict[str, list[PlannedItem]] = {}
    for it in items:
        by_area.setdefault(it.candidate.area, []).append(it)
    return _round_robin(list(by_area.values()))


def plan_day(candidates: Sequence[Candidate], *, now: datetime, budget_seconds: float, new_quota: int,
             interview_date: date | None = None, model: MemoryModel | None = None) -> Plan:
    """Today's queue from the learner's candidates (pure: same input, same plan).

    `budget_seconds` is what is left of today's minutes; `new_quota` how many new questions
    may still be introduced today. See the module docstring for the policy.
    """
    now = utc(now)
    model = model or FSRSModel()
    today = now.date()
    seen: list[Candidate] = []
    new: list[Candidate] = []
    for c in candidates:
        last = c.memory.last_review if c.memory is not None else None
        if last is None:  # Candidate.is_new
            new.append(c)
        elif last.date() < today:  # a card answered today waits for tomorrow
            seen.append(c)
    due = {c.question_id for c in seen if c.memory.due is not None  # type: ignore[union-attr]
           and c.memory.due.date() <= today}  # type: ignore[union-attr]
    fresh = new_order(new)
    new_rank = {c.question_id: i for i, c in enumerate(fresh)}
    budget = max(0.0, float(budget_seconds))
    quota = max(0, int(new_quota))
    interview_mode = interview_date is not None and today < interview_date

    ranked: list[PlannedItem] = []
    if interview_mode:
        target = interview_instant(interview_date)  # type: ignore[arg-type]
        # new questions compete within a window of the plain order, so that coverage of areas
        # and easier-first still hold and the quickest questions do not crowd out the rest
        window = fresh[: max(quota * NEW_WINDOW, 30)] if quota else []
        batch = getattr(model, "gains", None)
        gains = (batch(seen + window, now, target) if batch is not None
                 else [gain_on(c, now, target, model) for c in seen + window])
        scored = [(gain / _minutes(c), int(c.is_new), new_rank[c.question_id] if c.is_new else 0, c)
                  for c, gain in zip(seen + window, gains)]
        scored.sort(key=lambda t: (-t[0], t[1], t[2], t[3].question_id))
        ranked = [PlannedItem(c, prio) for prio, _, _, c in scored]
    else:
        reviews = sorted((c for c in seen if c.question_id in due),
                         key=lambda c: (model.recall(c, now), c.memory.due if c.memory else now, c.question_id))
        ranked = [PlannedItem(c, -model.recall(c, now)) for c in reviews]
        ranked += [PlannedItem(c, -float(new_rank[c.question_id])) for c in fresh]

    chosen: list[PlannedItem] = []
    used = 0.0
    n_new = 0
    for it in ranked:
        c = it.candidate
        if c.is_new and n_new >= quota:
            continue
        if used + c.seconds > budget:
            continue
        chosen.append(it)
        used += c.seconds
        n_new += c.is_new
    n_due = sum(1 for it in chosen if it.candidate.question_id in due)
    return Plan(items=interleave(chosen), due_count=sum(1 for it in chosen if not it.is_new), new_count=n_new,
                backlog=len(due) - n_due, seconds_planned=used, budget_seconds=budget,
                interview_mode=interview_mode)


def _minutes(c: Candidate) -> float:
    return max(c.seconds, 5.0) / 60.0


def kind_ratios(samples: Iterable[tuple[str, float, float]]) -> dict[str, float]:
    """Median seconds_taken / time_limit per kind, from (kind, seconds, time_limit) samples."""
    per_kind: dict[str, list[float]] = {}
    for kind, seconds, limit in samples:
        if seconds is not None and limit and limit > 0:
            per_kind.setdefault(kind, []).append(float(seconds) / float(limit))
    return {k: statistics.median(v) for k, v in per_kind.items() if len(v) >= MIN_KIND_SAMPLES}


def estimate_seconds(kind: str, time_limit: float, ratios: dict[str, float]) -> float:
    """How long this learner will likely take: own median ratio for the kind, else a default."""
    return max(5.0, float(time_limit) * ratios.get(kind, DEFAULT_TIME_FRACTION))


# ---------------------------------------------------------------------------- the DB queue


@dataclass(frozen=True)
class QueueItem:
    question_id: str
    is_new: bool
    seconds: float
    area: str
    priority: float


@dataclass
class Queue:
    items: list[QueueItem]
    due_count: int
    new_count: int
    backlog: int
    minutes_left: float  # of today's budget, before this queue
    minutes_planned: float
    interview_mode: bool
    new_introduced_today: int = 0
    spent_minutes_today: float = 0.0

    def __len__(self) -> int:
        return len(self.items)


def _today_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = day_start(now.date())
    return start, start + timedelta(days=1)


def _matches_filters(user: User, area: str, topics: list) -> bool:
    if user.areas and area not in user.areas:
        return False
    if user.topics and not set(topics or ()) & set(user.topics):
        return False
    return True


def active_questions(session: Session, user: User) -> list[tuple[str, str, list, str, int, int]]:
    """(id, area, topics, kind, difficulty, time_limit) of active questions in the learner's filters."""
    return [r for r in catalog.active_index(session) if _matches_filters(user, r[1], r[2])]


def learner_ratios(session: Session, user_id: int) -> dict[str, float]:
    rows = session.exec(select(Question.kind, Attempt.seconds_taken, Question.time_limit)
                        .join(Question, Question.id == Attempt.question_id)
                        .where(Attempt.user_id == user_id, Attempt.seconds_taken.is_not(None),  # type: ignore[union-attr]
                               Attempt.mock_item_id.is_(None))  # type: ignore[union-attr]
                        .order_by(Attempt.created_at.desc()).limit(ATTEMPTS_FOR_MEDIANS)).all()  # type: ignore[attr-defined]
    return kind_ratios(rows)  # type: ignore[arg-type]


def seconds_spent_today(session: Session, user_id: int, now: datetime) -> float:
    """Practice time already used today (mock interviews have their own clock)."""
    start, end = _today_bounds(now)
    total = session.exec(select(sa.func.coalesce(sa.func.sum(Attempt.seconds_taken), 0.0))
                         .where(Attempt.user_id == user_id, Attempt.created_at >= start, Attempt.created_at < end,
                                Attempt.mock_item_id.is_(None))).one()  # type: ignore[union-attr]
    return float(total or 0.0)


_MODELS: FingerprintCache[FSRSModel] = FingerprintCache(512)


def learner_model_cached(session: Session, user_id: int, parameters: Sequence[float]) -> FSRSModel:
    """`learner_model_from_db`, refitted only when the learner has reviewed since the last fit.

    The fit reads 400 reviews and searches a grid (about 15 ms); the reviews are append-only
    (deleted only with the account), so the learner's last review id says whether anything
    changed: one index seek, where a count walked all of their reviews."""
    fingerprint = session.exec(select(sa.func.max(Review.id)).where(Review.user_id == user_id)).one()
    key = (catalog.database_key(session), user_id, tuple(parameters))
    model = _MODELS.get(key, fingerprint)
    if model is None:
        model = _MODELS.put(key, fingerprint, learner_model_from_db(session, user_id, parameters))
    return model


def learner_model_from_db(session: Session, user_id: int, parameters: Sequence[float]) -> FSRSModel:
    """`learner_model` from the learner's last CALIBRATION_REVIEWS reviews (forgetting curve,
    ratings of later answers) and the ratings of their latest first answers, each with its
    question's authored difficulty."""
    rows = session.exec(select(Review, Question.difficulty).join(Question, Question.id == Review.question_id)
                        .where(Review.user_id == user_id)
                        .order_by(Review.reviewed_at.desc()).limit(CALIBRATION_REVIEWS)).all()  # type: ignore[attr-defined]
    recent = [r for r, _d in rows]
    difficulty_of = {r.question_id: d for r, d in rows}
    first_ids = (select(sa.func.min(Review.id)).where(Review.user_id == user_id)
                 .group_by(Review.card_id))  # type: ignore[arg-type]  (reviews are append-only: min id = first)
    first_rows = session.exec(select(Review.id, Review.rating, Question.difficulty)
                              .join(Question, Question.id == Review.question_id)
                              .where(Review.id.in_(first_ids))  # type: ignore[union-attr]
                              .order_by(Review.id.desc()).limit(CALIBRATION_REVIEWS)).all()  # type: ignore[union-attr]
    first_ratings = [(rating, difficulty) for _id, rating, difficulty in first_rows]
    firsts = {rid for rid, _rating, _d in first_rows}
    later = [r.rating for r in recent if r.id not in firsts]
    return learner_model(parameters, forgetting_samples(recent, difficulty_of, firsts), first_ratings, later)


@dataclass(frozen=True)
class _DayPlan:
    plan: Plan
    introduced: int
    spent: float
    budget: float
    made_at: datetime
    valid_until: datetime


_PLANS: FingerprintCache[_DayPlan] = FingerprintCache(4096)
PLAN_MAX_AGE = timedelta(minutes=10)


def _activity_statement() -> Any:
    """The last id of a learner's reviews and of their attempts, as two subqueries of one
    SELECT, built once: building the statement cost more than running it. A maximum over the
    user's index is a single index seek; a count (which this once also read) walks all of a
    learner's rows, and told nothing more, since neither table has a row deleted but with the
    account."""
    def last(model: Any) -> Any:
        return sa.select(sa.func.max(model.id)).where(model.user_id == sa.bindparam("uid")).scalar_subquery()

    return sa.select(last(Review), last(Attempt))


_ACTIVITY = _activity_statement()


def _plan_fingerprint(session: Session, user: User) -> tuple:
    """Everything a day's plan depends on besides the clock (the plan itself ends with its day):
    the learner's settings and parameters, the active questions, and their reviews and attempts
    (both append-only, so the last id says whether anything happened)."""
    row = session.connection().execute(_ACTIVITY, {"uid": user.id}).one()
    return (user.minutes_per_day, user.new_per_day, user.interview_date, tuple(user.areas or ()),
            tuple(user.topics or ()), tuple(scheduler.parameters_of(user)), catalog.index_fingerprint(session),
            tuple(row))


def daily_queue(session: Session, user: User, now: datetime) -> Queue:
    """Today's queue for this learner at `now` (see the module docstring for the policy).

    Planning reads every card and scores every question (most of a practice page's cost), so a
    learner's plan is kept until anything it depends on changes (see `_plan_fingerprint`: any
    answer, review or settings change, a question edit, a new day), a card of theirs falls due,
    or ten minutes pass. The queue is then the same one a fresh plan would give."""
    now = utc(now)
    fingerprint = _plan_fingerprint(session, user)
    key = (catalog.database_key(session), user.id)
    day = _PLANS.get(key, fingerprint, lambda d: d.made_at <= now < d.valid_until)
    if day is None:
        day = _PLANS.put(key, fingerprint, _plan_today(session, user, now))
    plan = day.plan
    items = [QueueItem(it.question_id, it.is_new, it.candidate.seconds, it.candidate.area, it.priority)
             for it in plan.items]
    return Queue(items, plan.due_count, plan.new_count, plan.backlog, day.budget / 60.0, plan.seconds_planned / 60.0,
                 plan.interview_mode, day.introduced, day.spent / 60.0)


def _plan_today(session: Session, user: User, now: datetime) -> _DayPlan:
    start, end = _today_bounds(now)
    questions = active_questions(session, user)
    # Plain rows, not ORM objects: building 200 Card instances was a third of the page's cost.
    memories = {}
    introduced = 0
    for qid, state, step, stability, difficulty, due, last_review, created_at in session.exec(
            select(Card.question_id, Card.state, Card.step, Card.stability, Card.difficulty, Card.due,
                   Card.last_review, Card.created_at).where(Card.user_id == user.id)).all():
        if last_review is None:
            continue
        memories[qid] = MemoryState(state, step, stability, difficulty, due, last_review)
        introduced += created_at is not None and start <= created_at < end
    ratios = learner_ratios(session, user.id)
    spent = seconds_spent_today(session, user.id, now)
    candidates = []
    for qid, area, topics, kind, difficulty, time_limit in questions:
        candidates.append(Candidate(qid, area, (topics or ["general"])[0], int(difficulty),
                                    estimate_seconds(kind, time_limit, ratios), memories.get(qid)))
    budget = max(0.0, user.minutes_per_day * 60.0 - spent)
    params = scheduler.parameters_of(user)
    model = FSRSModel(params)
    if user.interview_date is not None and now.date() < user.interview_date:
        model = learner_model_cached(session, user.id, params)
    plan = plan_day(candidates, now=now, budget_seconds=budget,
                    new_quota=max(0, (user.new_per_day or 0) - introduced),
                    interview_date=user.interview_date, model=model)
    # The plan stands until the next card falls due (it would join today's reviews) or it ages.
    upcoming = [due for due in (utc(m.due) for m in memories.values() if m.due is not None) if due > now]
    valid_until = min([now + PLAN_MAX_AGE, end, *upcoming])
    return _DayPlan(plan, introduced, spent, budget, now, valid_until)


def next_item(session: Session, user: User, now: datetime) -> QueueItem | None:
    """The question the practice page should show now, or None when today's work is done."""
    queue = daily_queue(session, user, now)
    return queue.items[0] if queue.items else None
