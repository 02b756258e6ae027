"""Accounts: creation, sign-in checks, the local learner, deletion, and moving your data.

Passwords are hashed with werkzeug (scrypt); a user's whole history can be exported as
JSON and imported into another instance: an import reads back only what a learner owns
(`export_format`), never a role, an id or a score's standing.
"""
from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from interview import export_format
from interview.export_format import EXPORT_FORMAT
from interview.models import (Attempt, Card, Cohort, CohortMember, MockFormat, MockInterview, MockItem, Question,
                              QuestionVersion, Review, User, utcnow)

LOCAL_USER = "me"
ROLES = ("learner", "instructor", "admin")  # admin: only from the command line (see interview.permissions)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")
MIN_PASSWORD = 8


class AccountError(ValueError):
    pass


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_PATTERN.match(name):
        raise AccountError("A user name is 2 to 40 letters, digits, '.', '_' or '-', starting with a letter or digit.")
    return name


def create_user(session: Session, name: str, password: str | None = None, role: str = "learner",
                commit: bool = True) -> User:
    name = check_name(name)
    if role not in ROLES:
        raise AccountError(f"Unknown role '{role}'.")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"Choose a password of at least {MIN_PASSWORD} characters.")
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise AccountError(f"The name '{name}' is taken.")
    user = User(name=name, role=role, password_hash=generate_password_hash(password) if password else None,
                session_key=secrets.token_hex(32))
    session.add(user)
    if not commit:  # part of a larger change (an import) that commits or rolls back as a whole
        session.flush()
        return user
    session.commit()
    session.refresh(user)
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.name == (name or "").strip())).first()
    if user is None or not user.password_hash:
        # spend the same time as a real check so that names cannot be probed by timing
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def session_key(session: Session, user: User) -> str:
    """The key a new session cookie of `user` carries (made on first use for accounts older than keys)."""
    if not user.session_key:
        return revoke_sessions(session, user)
    return user.session_key


def session_is_current(user: User | None, key: Any) -> bool:
    """Whether a cookie's key is the account's current one: false once it signed out, changed its
    password, or was deleted."""
    return (user is not None and bool(user.session_key) and isinstance(key, str)
            and secrets.compare_digest(key, user.session_key))  # type: ignore[arg-type]


def revoke_sessions(session: Session, user: User) -> str:
    """End every session of `user` (all devices) by replacing its key; returns the new key."""
    user.session_key = secrets.token_hex(32)
    session.add(user)
    session.commit()
    return user.session_key


def change_password(session: Session, user: User, current: str, new: str) -> str:
    """Set a new password after checking the current one; every other session of the account
    ends. Returns the new session key for the cookie of the request that made the change."""
    if not user.password_hash or not check_password_hash(user.password_hash, current or ""):
        raise AccountError("The current password is wrong.")
    if len(new or "") < MIN_PASSWORD:
        raise AccountError(f"Choose a password of at least {MIN_PASSWORD} characters.")
    user.password_hash = generate_password_hash(new)
    return revoke_sessions(session, user)


def local_user(session: Session) -> User:
    """The learner of a single-user local instance: no sign-up needed."""
    user = session.exec(select(User).where(User.name == LOCAL_USER)).first()
    if user is None:
        user = User(name=LOCAL_USER, role="instructor")
        session.add(user)
        session.commit()
        session.refresh(user)
    return user


SETTINGS_FIELDS = ("interview_date", "minutes_per_day", "new_per_day", "areas", "topics", "time_zone")


def update_settings(session: Session, user: User, interview_date: date | None, minutes_per_day: int,
                    new_per_day: int, areas: list[str] | None, topics: list[str] | None,
                    today: date | None = None, time_zone: str | None = None) -> User:
    """Save the learner's settings. `today` is the learner's own date (their time zone): a new
    interview date before it is refused, while one already saved may stay as it is so that
    the other settings can still be changed after the interview has passed."""
    today = today or utcnow().date()
    if interview_date is not None and interview_date < today and interview_date != user.interview_date:
        raise AccountError(f"The interview date {interview_date.isoformat()} is in the past: "
                           f"choose today ({today.isoformat()}) or a later day, or leave it empty.")
    if not 5 <= minutes_per_day <= 600:
        raise AccountError("Minutes per day must be between 5 and 600.")
    if not 0 <= new_per_day <= 200:
        raise AccountError("New questions per day must be between 0 and 200.")
    from interview import timezones

    if time_zone and not timezones.valid(time_zone):
        raise AccountError(f"'{time_zone}' is not a time zone name (such as Europe/Paris).")
    user.interview_date, user.minutes_per_day, user.new_per_day = interview_date, minutes_per_day, new_per_day
    user.time_zone = time_zone or None
    user.areas = areas or None
    user.topics = topics or None
    session.add(user)
    session.commit()
    return user


def delete_user(session: Session, user: User) -> str:
    """Remove an account and everything that is only theirs; returns a note for the page.

    A learner's history goes with them (other learners' history is untouched). An
    instructor's work outlives the account: their questions stay (learners' cards and
    attempts point at them) and their mock formats stay (cohort assignments point at them),
    both with no owner, so only an admin can change them from then on. Their cohorts are
    handed to an admin rather than deleted, so that the learners in them keep their group and
    assignments; with no admin to take them, the deletion is refused with the cohorts named
    (create one with `interview user add NAME --admin`, then delete again). Nothing is left
    pointing at the deleted id, so no foreign key fails."""
    cohorts = list(session.exec(select(Cohort).where(Cohort.instructor_id == user.id).order_by(Cohort.name)).all())
    heir = None
    if cohorts:
        heir = session.exec(select(User).where(User.role == "admin", User.id != user.id).order_by(User.id)).first()
        if heir is None:
            names = ", ".join(f"'{c.name}'" for c in cohorts)
            raise AccountError(f"'{user.name}' runs the cohort(s) {names}, and there is no admin to hand them to: "
                               "an admin must exist first (`interview user add NAME --admin`), "
                               "or the cohorts' learners would lose their group. Nothing was deleted.")
    uid = user.id
    _delete_history(session, user)
    session.exec(delete(CohortMember).where(CohortMember.user_id == uid))  # type: ignore[call-overload]
    session.exec(update(Question).where(Question.author_id == uid).values(author_id=None))  # type: ignore[call-overload,arg-type]
    session.exec(update(QuestionVersion).where(QuestionVersion.author_id == uid).values(author_id=None))  # type: ignore[call-overload,arg-type]
    session.exec(update(MockFormat).where(MockFormat.owner_id == uid).values(owner_id=None))  # type: ignore[call-overload,arg-type]
    for cohort in cohorts:
        assert heir is not None
        cohort.instructor_id = heir.id  # type: ignore[assignment]
        session.add(cohort)
    session.flush()  # every row off the account before the account goes
    session.delete(user)
    session.commit()
    if not cohorts:
        return ""
    assert heir is not None
    return f"Cohort(s) {', '.join(repr(c.name) for c in cohorts)} were handed to the admin '{heir.name}'."


def _delete_history(session: Session, user: User) -> None:
    """The account's cards, reviews, attempts and mocks, gone (not committed)."""
    mock_ids = [m.id for m in session.exec(select(MockInterview).where(MockInterview.user_id == user.id)).all()]
    session.exec(delete(Review).where(Review.user_id == user.id))  # type: ignore[call-overload]
    session.exec(delete(Attempt).where(Attempt.user_id == user.id))  # type: ignore[call-overload]
    if mock_ids:
        session.exec(delete(MockItem).where(MockItem.mock_id.in_(mock_ids)))  # type: ignore[call-overload,attr-defined]
    session.exec(delete(MockInterview).where(MockInterview.user_id == user.id))  # type: ignore[call-overload]
    session.exec(delete(Card).where(Card.user_id == user.id))  # type: ignore[call-overload]


def _row(obj: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {}
    for key, value in obj.model_dump().items():
        if key in drop:
            continue
        out[key] = value.isoformat() if isinstance(value, (datetime, date)) else value
    return out


def export_user(session: Session, user: User) -> dict[str, Any]:
    """Everything that is the learner's, as one JSON-able document."""
    cards = session.exec(select(Card).where(Card.user_id == user.id).order_by(Card.id)).all()
    reviews = session.exec(select(Review).where(Review.user_id == user.id).order_by(Review.id)).all()
    attempts = session.exec(select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.id)).all()
    mocks = session.exec(select(MockInterview).where(MockInterview.user_id == user.id).order_by(MockInterview.id)).all()
    items = session.exec(select(MockItem).where(MockItem.mock_id.in_([m.id for m in mocks])).order_by(MockItem.id)).all() if mocks else []  # type: ignore[attr-defined]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(),
        "user": _row(user, drop=("id", "password_hash", "session_key")),
        "cards": [_row(c, drop=("user_id",)) for c in cards],
        "reviews": [_row(r, drop=("user_id",)) for r in reviews],
        "attempts": [_row(a, drop=("user_id",)) for a in attempts],
        "mocks": [_row(m, drop=("user_id", "assignment_id")) for m in mocks],
        "mock_items": [_row(i) for i in items],
    }


def has_history(session: Session, user: User) -> bool:
    """Whether the account holds any cards, reviews, attempts or mocks."""
    return any(session.exec(select(model.id).where(model.user_id == user.id).limit(1)).first() is not None  # type: ignore[attr-defined]
               for model in (Card, Review, Attempt, MockInterview))


def import_user(session: Session, data: Any, name: str | None = None, password: str | None = None, *,
                into: User | None = None, replace: bool = False, now: datetime | None = None) -> User:
    """Bring an export's history into an account; all or nothing.

    `into`: an existing account (the signed-in learner, the local learner): its settings become the
    file's and the history is added, which needs an empty account or `replace` (its history is
    deleted first). Without `into`, a new learner account is made by the sign-up rules (`name`,
    else the exported name; `password`). Only learner-owned fields are read (`export_format`);
    rows get fresh ids and the importer as owner. Mocks come in as finished history, status
    "imported", with no cohort assignment: an instructor's cohort page and assignment list count
    only mocks sat on this instance, so a file cannot claim a submitted assignment or a running
    mock with a far deadline."""
    try:
        doc = export_format.parse(data)
    except export_format.ExportError as exc:
        raise AccountError(str(exc)) from None
    now = now or utcnow()
    known = set(session.exec(select(Question.id)).all())
    missing = [f"'{qid[:80]}' ({where})" for qid, where in doc.question_ids().items() if qid not in known]
    if missing:
        raise AccountError(f"The export refers to questions this instance does not have: {', '.join(missing[:10])}"
                           + (f" and {len(missing) - 10} more" if len(missing) > 10 else "") + ".")
    if into is not None and has_history(session, into) and not replace:
        raise AccountError(f"The account '{into.name}' already has history: import into an empty account, "
                           "or choose to replace its history with the file's.")
    try:
        if into is None:
            try:
                user = create_user(session, name or doc.user.name or "", password, commit=False)
            except AccountError as exc:
                raise AccountError(f"{exc} Choose another name for the imported account."
                                   if "taken" in str(exc) else str(exc)) from None
        else:
            user = into
            if replace:
                _delete_history(session, user)
        _store_history(session, user, doc, now)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.refresh(user)
    return user


def _store_history(session: Session, user: User, doc: export_format.Export, now: datetime) -> None:
    """The file's settings and rows under `user`, every row with a fresh id."""
    p = doc.user
    user.interview_date, user.minutes_per_day, user.new_per_day = p.interview_date, p.minutes_per_day, p.new_per_day
    user.areas, user.topics = p.areas or None, p.topics or None
    user.fsrs_parameters, user.desired_retention = p.fsrs_parameters, p.desired_retention
    session.add(user)
    session.flush()
    uid = user.id

    def added(obj: Any) -> int:
        session.add(obj)
        session.flush()
        return obj.id  # type: ignore[no-any-return]

    cards = {c.id: added(Card(user_id=uid, question_id=c.question_id, state=c.state, step=c.step,
                              stability=c.stability, difficulty=c.difficulty, due=c.due, last_review=c.last_review,
                              reps=c.reps, lapses=c.lapses, created_at=c.created_at or now))
             for c in doc.cards}
    mocks = {}
    for m in doc.mocks:
        deadline = min(m.deadline, now)  # finished history: its clock has stopped
        mocks[m.id] = added(MockInterview(user_id=uid, format_slug=m.format_slug, format=m.format,
                                          started_at=min(m.started_at, deadline), deadline=deadline,
                                          submitted_at=min(m.submitted_at or deadline, now), status="imported",
                                          score=m.score, assignment_id=None))
    items = {i.id: added(MockItem(mock_id=mocks[i.mock_id], position=i.position, section=i.section,
                                  question_id=i.question_id, seed=i.seed, answer=i.answer, saved_at=i.saved_at,
                                  seconds_spent=i.seconds_spent))
             for i in doc.mock_items}
    attempts = {a.id: added(Attempt(user_id=uid, question_id=a.question_id, question_version=a.question_version,
                                    seed=a.seed, answer=a.answer, score=a.score, verdict=a.verdict, grade=a.stored_grade(),
                                    seconds_taken=a.seconds_taken, hint_used=a.hint_used, self_rating=a.self_rating,
                                    submit_token=None, created_at=a.created_at,
                                    mock_item_id=items[a.mock_item_id] if a.mock_item_id else None))
                for a in doc.attempts}
    for r in doc.reviews:
        session.add(Review(card_id=cards[r.card_id], user_id=uid, question_id=r.question_id, rating=r.rating,
                           reviewed_at=r.reviewed_at, seconds_taken=r.seconds_taken, stability=r.stability,
                           difficulty=r.difficulty, due_after=r.due_after,
                           attempt_id=attempts[r.attempt_id] if r.attempt_id else None))
