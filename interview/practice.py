"""Daily practice: present the next card's fresh variant, grade the answer, update the card.

The answer form carries a signed token (user, question, version, seed, when shown, nonce):
a tampered or foreign form is refused, the time taken is measured by the server, and the
nonce is the attempt's unique `submit_token`, so a double submit records one attempt and one
review however the two requests interleave.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import graders
from graders import Grade, Question as QuestionSpec, Variant
from interview import catalog, planner, scheduler
from interview.models import Attempt, Question, Review, User

TOKEN_MAX_AGE = 24 * 3600
# What is kept of one answer: graded in full, but a 2 MB paste is not stored 2 MB at a time.
ANSWER_KEPT_BYTES = 64 * 1024


def kept_answer(answer: str) -> str:
    """`answer` as stored: whole up to 64 KiB, else its start and a line saying it was cut."""
    raw = answer.encode("utf-8")
    if len(raw) <= ANSWER_KEPT_BYTES:
        return answer
    head = raw[:ANSWER_KEPT_BYTES].decode("utf-8", errors="ignore")
    return f"{head}\n[answer cut: {len(raw):,} bytes, the first {ANSWER_KEPT_BYTES:,} kept]"


class PracticeError(Exception):
    """A request that cannot be honoured; `status` is the HTTP status it deserves."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Presented:
    row: Question
    spec: QuestionSpec
    variant: Variant
    token: str
    is_new: bool


@dataclass
class Outcome:
    attempt: Attempt
    spec: QuestionSpec
    variant: Variant
    grade: Grade
    rating: int | None  # None while a rubric answer waits for the learner's self-rating
    suggested_rating: int
    duplicate: bool

    @property
    def reference(self) -> str | None:
        """A correct answer to show after a miss (rubric questions show their model answer instead)."""
        if self.grade.verdict == "correct" or self.spec.kind == "rubric":
            return None
        return graders.reference_answer(self.spec, self.variant)


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="interview-practice")


def issue_token(secret: str, user: User, row: Question, seed: int, now: datetime) -> str:
    return _serializer(secret).dumps({"u": user.id, "q": row.id, "v": row.version, "s": seed,
                                      "t": now.timestamp(), "n": secrets.token_hex(16)})


def read_token(secret: str, token: str, user: User, now: datetime | None = None) -> dict[str, Any]:
    """The signed form's contents; refused if altered, another learner's, or shown over a day
    before `now` (the time it was shown travels inside the signed token)."""
    try:
        data = _serializer(secret).loads(token)
    except BadSignature:
        raise PracticeError("The answer form was altered or is not from this server.") from None
    if data.get("u") != user.id:
        raise PracticeError("This answer form belongs to another learner.", 403)
    if now is not None and now.timestamp() - float(data.get("t", 0)) > TOKEN_MAX_AGE:
        raise PracticeError("This question was shown more than a day ago: open practice again for a fresh one.")
    return data


def present(session: Session, user: User, secret: str, now: datetime, question_id: str | None = None,
            queue: planner.Queue | None = None) -> Presented | None:
    """The next card of today's queue (or a chosen question), as a fresh variant.

    Pass the `queue` the page already computed: planning the day is the page's main cost."""
    if question_id is None:
        if queue is None:
            queue = planner.daily_queue(session, user, now)
        if not queue.items:
            return None
        item = queue.items[0]
        question_id, is_new = item.question_id, item.is_new
    else:
        is_new = scheduler.find_card(session, user.id, question_id) is None
    row, spec = catalog.get(session, question_id)
    seed = catalog.new_seed()
    variant = graders.instantiate(spec, seed).for_display(explanation=False)
    return Presented(row, spec, variant, issue_token(secret, user, row, seed, now), is_new)


def submit(session: Session, user: User, secret: str, token: str, answer: str, hint_used: bool,
           now: datetime) -> Outcome:
    data = read_token(secret, token, user, now)
    existing = session.exec(select(Attempt).where(Attempt.submit_token == data["n"])).first()
    if existing is not None:
        return _replay(session, existing)
    row, spec = catalog.get(session, data["q"], include_retired=True)
    if row.version != data["v"]:
        raise PracticeError("This question was edited since it was shown: open it again to see the new version.", 409)
    variant = graders.instantiate(spec, int(data["s"]))
    grade = graders.grade(spec, variant, answer)
    seconds = max(0.0, min(now.timestamp() - float(data["t"]), 4.0 * spec.time_limit + 60))
    suggested = scheduler.rating_from(grade, seconds, spec.time_limit, hint_used)
    for retry in (False, True):
        attempt = Attempt(user_id=user.id, question_id=row.id, question_version=row.version, seed=int(data["s"]),
                          answer=kept_answer(answer), score=grade.score, verdict=grade.verdict,
                          grade=grade.to_json(), seconds_taken=seconds, hint_used=hint_used,
                          submit_token=data["n"], created_at=now)
        session.add(attempt)
        try:
            session.flush()
            rating = None
            if grade.verdict == "invalid":
                # an unreadable answer is not a memory lapse: record it, leave the card alone
                rating = 0
            elif not grade.needs_self_rating:
                rating = int(suggested)
                scheduler.review(session, scheduler.card_for(session, user.id, row.id, now), rating, now,
                                 seconds_taken=seconds, attempt_id=attempt.id)
            session.commit()
            break
        except IntegrityError:
            session.rollback()
            existing = session.exec(select(Attempt).where(Attempt.submit_token == data["n"])).first()
            if existing is not None:  # the other of two simultaneous submits of this form won: its result
                return _replay(session, existing)
            if retry:
                raise PracticeError("This answer collided with another one being saved: submit it again.", 409) from None
            # another tab created this question's card at the same moment: record again, onto that card
    return Outcome(attempt, spec, variant, grade, rating or None, int(suggested), duplicate=False)


def rate(session: Session, user: User, attempt_id: int, rating: int, now: datetime) -> Attempt:
    """The learner's self-rating of a rubric answer; a second rating changes nothing."""
    if rating not in (1, 2, 3, 4):
        raise PracticeError("A rating is 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy).")
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise PracticeError("There is no such attempt of yours.", 404)
    if attempt.self_rating is not None:
        return attempt
    attempt.self_rating = rating
    session.add(attempt)
    scheduler.review(session, scheduler.card_for(session, user.id, attempt.question_id, now), rating, now,
                     seconds_taken=attempt.seconds_taken, attempt_id=attempt.id)
    session.commit()
    return attempt


def _replay(session: Session, attempt: Attempt) -> Outcome:
    row, spec = catalog.get(session, attempt.question_id, include_retired=True)
    variant = graders.instantiate(spec, attempt.seed)
    g = attempt.grade or {}
    grade = Grade(score=attempt.score, verdict=attempt.verdict, feedback=g.get("feedback", []),
                  details=g.get("details", {}), needs_self_rating=g.get("needs_self_rating", False))
    # the rating the first submit applied (its Review row; none for an invalid answer or a rubric
    # answer still waiting for its self-rating) and the suggestion it showed
    rating = session.exec(select(Review.rating).where(Review.attempt_id == attempt.id)).first()
    if grade.needs_self_rating:
        rating = attempt.self_rating
    suggested = rating if rating is not None and not grade.needs_self_rating else \
        scheduler.rating_from(grade, attempt.seconds_taken, spec.time_limit, attempt.hint_used)
    return Outcome(attempt, spec, variant, grade, rating, int(suggested), duplicate=True)

