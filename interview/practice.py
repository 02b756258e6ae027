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
from typing import Any, Callable

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

import graders
from graders import Grade, Question as QuestionSpec, Variant
from interview import catalog, planner, scheduler
from interview.models import Attempt, Question, Review, User

TOKEN_MAX_AGE = 24 * 3600
# Kinds whose grading runs the learner's code in the sandbox: graded on the grading queue,
# never in the request (interview/grading_queue.py).
QUEUED_KINDS = frozenset({"code", "sql"})
GradeLater = Callable[[Attempt], None]

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
    practice_only: bool = False  # a retry: graded, recorded nowhere (the first attempt's review stands)
    revealed: bool = False  # "I don't know": the answer shown, the card reviewed as Again

    @property
    def pending(self) -> bool:
        """Waiting on the grading queue: no grade yet."""
        return self.attempt.status == "pending"

    @property
    def failed(self) -> bool:
        """The queue gave up on it: "could not be graded, try again"."""
        return self.attempt.status == "failed"

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
           now: datetime, grade_later: GradeLater | None = None,
           admit: Callable[[], None] | None = None) -> Outcome:
    """Record and grade an answer. With `grade_later`, a code or SQL answer is recorded as a
    `pending` attempt and handed to it (the grading queue) instead of being graded here; if the
    queue refuses it, the attempt is removed again and the refusal propagates. `admit` raises
    the queue's refusal early, before anything is written (a double submit is replayed first)."""
    data = read_token(secret, token, user, now)
    existing = session.exec(select(Attempt).where(Attempt.submit_token == data["n"])).first()
    if existing is not None:
        return _replay(session, existing)
    row, spec = catalog.get(session, data["q"], include_retired=True)
    if row.version != data["v"]:
        raise PracticeError("This question was edited since it was shown: open it again to see the new version.", 409)
    variant = graders.instantiate(spec, int(data["s"]))
    seconds = max(0.0, min(now.timestamp() - float(data["t"]), 4.0 * spec.time_limit + 60))
    if grade_later is not None and spec.kind in QUEUED_KINDS:
        if admit is not None:
            admit()
        return _submit_pending(session, user, row, spec, variant, data, answer, hint_used, seconds, now, grade_later)
    grade = graders.grade(spec, variant, answer)
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


PENDING = Grade(0.0, "incorrect", ["Grading…"])


def _submit_pending(session: Session, user: User, row: Question, spec: QuestionSpec, variant: Variant,
                    data: dict[str, Any], answer: str, hint_used: bool, seconds: float, now: datetime,
                    grade_later: GradeLater) -> Outcome:
    attempt = Attempt(user_id=user.id, question_id=row.id, question_version=row.version, seed=int(data["s"]),
                      answer=answer[:graders.MAX_ANSWER_CHARS + 1], score=0.0, verdict="incorrect", grade=None,
                      seconds_taken=seconds, hint_used=hint_used, submit_token=data["n"], created_at=now,
                      status="pending")
    session.add(attempt)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.exec(select(Attempt).where(Attempt.submit_token == data["n"])).first()
        if existing is None:
            raise
        return _replay(session, existing)
    try:
        grade_later(attempt)
    except Exception:
        session.delete(attempt)  # refused (the learner's limit, a full queue): as if never posted
        session.commit()
        raise
    return Outcome(attempt, spec, variant, PENDING, None, 0, duplicate=False)


def record_grade(session: Session, attempt_id: int, grade: Grade) -> bool:
    """Write a queued attempt's grade and its review in one transaction, only if the attempt is
    still pending: a job delivered twice (a worker killed mid-run) writes once. True if written.

    The review is dated when the answer was posted (a mock answer before the deadline counts
    even when it is graded after); practice rates like `submit`, a mock like `mock.finish`."""
    from interview import mock

    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.status != "pending":
        return False
    written = session.execute(sa_update(Attempt).where(col(Attempt.id) == attempt_id, col(Attempt.status) == "pending")
                              .values(status="graded", score=grade.score, verdict=grade.verdict,
                                      grade=grade.to_json()))
    if written.rowcount != 1:
        session.rollback()
        return False
    row, spec = catalog.get(session, attempt.question_id, include_retired=True)
    card = scheduler.card_for(session, attempt.user_id, attempt.question_id, attempt.created_at)
    at = max(attempt.created_at, card.last_review) if card.last_review else attempt.created_at
    if attempt.mock_item_id is not None:
        rating = scheduler.rating_from(grade, attempt.seconds_taken or spec.time_limit, spec.time_limit, False)
        scheduler.review(session, card, int(rating), at, seconds_taken=attempt.seconds_taken, attempt_id=attempt.id)
        session.flush()
        mock.settle(session, attempt.mock_item_id)
    elif grade.verdict != "invalid":
        rating = scheduler.rating_from(grade, attempt.seconds_taken, spec.time_limit, attempt.hint_used)
        scheduler.review(session, card, int(rating), at, seconds_taken=attempt.seconds_taken, attempt_id=attempt.id)
    session.commit()
    return True


def mark_failed(session: Session, attempt_id: int, reason: str) -> bool:
    """The queue gave up on this attempt: it shows "could not be graded, try again", no review."""
    from interview import mock

    written = session.execute(sa_update(Attempt).where(col(Attempt.id) == attempt_id, col(Attempt.status) == "pending")
                              .values(status="failed", grade={"feedback": ["This answer could not be graded: " + reason],
                                                              "details": {}}))
    attempt = session.get(Attempt, attempt_id)
    if written.rowcount == 1 and attempt is not None and attempt.mock_item_id is not None:
        mock.settle(session, attempt.mock_item_id)
    session.commit()
    return written.rowcount == 1


def retry_failed(session: Session, user: User, attempt_id: int) -> Attempt:
    """Put a failed attempt back to pending (the caller queues it again)."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise PracticeError("There is no such attempt of yours.", 404)
    if attempt.status != "failed":
        raise PracticeError("Only an answer that could not be graded can be graded again.", 409)
    attempt.status = "pending"
    session.add(attempt)
    session.commit()
    return attempt


def attempt_outcome(session: Session, user: User, attempt_id: int) -> Outcome:
    """One of the learner's attempts as its result page shows it (pending, failed or graded)."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise PracticeError("There is no such attempt of yours.", 404)
    if attempt.status == "graded":
        return _replay(session, attempt)
    _row, spec = catalog.get(session, attempt.question_id, include_retired=True)
    return Outcome(attempt, spec, graders.instantiate(spec, attempt.seed), PENDING, None, 0, duplicate=True)


def rate(session: Session, user: User, attempt_id: int, rating: int, now: datetime) -> Attempt:
    """The learner's self-rating of a rubric answer; a second rating changes nothing."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:  # first: a stranger learns nothing, not even the form's rules
        raise PracticeError("There is no such attempt of yours.", 404)
    if rating not in (1, 2, 3, 4):
        raise PracticeError("A rating is 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy).")
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



# --- retrying and giving up (issue 15): no dead ends after a wrong or unreadable answer ---


@dataclass
class Again:
    """A question shown again with the learner's last answer in the input."""

    shown: Presented
    answer: str
    counts: bool  # True: the answer form records an attempt (the first was unreadable and counted for nothing)
    hint_used: bool = False  # the unreadable first answer was written with a hint: the resubmission was too


def _own_attempt(session: Session, user: User, attempt_id: int) -> Attempt:
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != user.id or attempt.mock_item_id is not None:
        raise PracticeError("There is no such practice attempt of yours.", 404)
    return attempt


def _reviewed(session: Session, attempt: Attempt) -> bool:
    return session.exec(select(Review.id).where(Review.attempt_id == attempt.id)).first() is not None


def again(session: Session, user: User, secret: str, attempt_id: int, now: datetime,
          answer: str | None = None) -> Again:
    """The attempt's question and variant (same seed) with its answer, to edit. An unreadable
    answer changed nothing, so its resubmission is a real attempt; after a graded answer the
    retry is practice: its form goes to `practise`, which records nothing."""
    attempt = _own_attempt(session, user, attempt_id)
    row, spec = catalog.get(session, attempt.question_id, include_retired=True)
    variant = graders.instantiate(spec, attempt.seed).for_display(explanation=False)
    counts = attempt.verdict == "invalid" and not _reviewed(session, attempt) and row.version == attempt.question_version
    token = issue_token(secret, user, row, attempt.seed, now)
    shown = Presented(row, spec, variant, token, is_new=False)
    return Again(shown, attempt.answer if answer is None else answer, counts, hint_used=counts and bool(attempt.hint_used))


def practise(session: Session, user: User, secret: str, token: str, answer: str, now: datetime,
             grade_later: Callable[[str, int, str], str] | None = None, retry_of: int | None = None) -> Outcome | str:
    """Grade a retry on the variant in the signed token and record nothing: no attempt, no review.

    Code and SQL retries run the sandbox, so with `grade_later` (question id, seed, answer ->
    job id) they go to the grading queue and the job id comes back instead of an outcome.
    `retry_of`, the attempt retried, must be the learner's own (checked before the form)."""
    if retry_of is not None:
        _own_attempt(session, user, retry_of)
    data = read_token(secret, token, user, now)
    row, spec = catalog.get(session, data["q"], include_retired=True)
    if grade_later is not None and spec.kind in QUEUED_KINDS:
        return grade_later(row.id, int(data["s"]), answer)
    variant = graders.instantiate(spec, int(data["s"]))
    return retry_outcome(session, user, row.id, int(data["s"]), answer, graders.grade(spec, variant, answer), now)


def retry_outcome(session: Session, user: User, question_id: str, seed: int, answer: str, grade: Grade,
                  now: datetime) -> Outcome:
    """A retry's result page, from its grade (computed here or by a grader worker): nothing stored."""
    row, spec = catalog.get(session, question_id, include_retired=True)
    variant = graders.instantiate(spec, seed)
    attempt = Attempt(user_id=user.id, question_id=row.id, question_version=row.version, seed=seed,
                      answer=answer, score=grade.score, verdict=grade.verdict, grade=grade.to_json(),
                      hint_used=False, created_at=now)
    suggested = scheduler.rating_from(grade, None, spec.time_limit, False)
    return Outcome(attempt, spec, variant, grade, None, int(suggested), duplicate=False, practice_only=True)


def give_up(session: Session, user: User, secret: str, token: str, hint_used: bool, now: datetime) -> Outcome:
    """"I don't know — show me" before answering: an empty answer is recorded (unreadable, so it
    changes nothing by itself), then handled as `dont_know`: Again, once, and the answer shown.
    The form's token makes a double click or a second tab replay the first result."""
    outcome = submit(session, user, secret, token, "", hint_used, now)
    if outcome.attempt.verdict != "invalid":  # the form was already answered: its result stands
        return outcome
    return dont_know(session, user, outcome.attempt.id, now)


def dont_know(session: Session, user: User, attempt_id: int, now: datetime) -> Outcome:
    """Anki's Again after an unreadable answer: the card is reviewed as Again (once, however often
    this is asked) and the result shows the answer and the explanation."""
    attempt = _own_attempt(session, user, attempt_id)
    if attempt.verdict != "invalid":
        raise PracticeError("This answer was graded: its result already shows the answer.", 409)
    if not _reviewed(session, attempt):
        scheduler.review(session, scheduler.card_for(session, user.id, attempt.question_id, now), 1, now,
                         seconds_taken=attempt.seconds_taken, attempt_id=attempt.id)
        session.commit()
    outcome = _replay(session, attempt)
    outcome.rating, outcome.revealed, outcome.duplicate = 1, True, False
    return outcome
