"""Accounts: creation, sign-in checks, the local learner, deletion, and moving your data.

Passwords are hashed with werkzeug (scrypt); a user's whole history can be exported as
JSON and imported into a fresh instance with nothing lost.
"""
from __future__ import annotations

import re
import secrets
import typing
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import delete
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from interview.models import (Attempt, Card, CohortMember, MockInterview, MockItem, Question, Review, User,
                              utcnow)

LOCAL_USER = "me"
ROLES = ("learner", "instructor")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")
MIN_PASSWORD = 8
EXPORT_FORMAT = "interview-export/1"


class AccountError(ValueError):
    pass


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_PATTERN.match(name):
        raise AccountError("A user name is 2 to 40 letters, digits, '.', '_' or '-', starting with a letter or digit.")
    return name


def create_user(session: Session, name: str, password: str | None = None, role: str = "learner") -> User:
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


SETTINGS_FIELDS = ("interview_date", "minutes_per_day", "new_per_day", "areas", "topics")


def update_settings(session: Session, user: User, interview_date: date | None, minutes_per_day: int,
                    new_per_day: int, areas: list[str] | None, topics: list[str] | None) -> User:
    if not 5 <= minutes_per_day <= 600:
        raise AccountError("Minutes per day must be between 5 and 600.")
    if not 0 <= new_per_day <= 200:
        raise AccountError("New questions per day must be between 0 and 200.")
    user.interview_date, user.minutes_per_day, user.new_per_day = interview_date, minutes_per_day, new_per_day
    user.areas = areas or None
    user.topics = topics or None
    session.add(user)
    session.commit()
    return user


def delete_user(session: Session, user: User) -> None:
    """Remove a learner and everything that is theirs (history of other learners is untouched)."""
    mock_ids = [m.id for m in session.exec(select(MockInterview).where(MockInterview.user_id == user.id)).all()]
    session.exec(delete(Review).where(Review.user_id == user.id))  # type: ignore[call-overload]
    session.exec(delete(Attempt).where(Attempt.user_id == user.id))  # type: ignore[call-overload]
    if mock_ids:
        session.exec(delete(MockItem).where(MockItem.mock_id.in_(mock_ids)))  # type: ignore[call-overload,attr-defined]
    session.exec(delete(MockInterview).where(MockInterview.user_id == user.id))  # type: ignore[call-overload]
    session.exec(delete(Card).where(Card.user_id == user.id))  # type: ignore[call-overload]
    session.exec(delete(CohortMember).where(CohortMember.user_id == user.id))  # type: ignore[call-overload]
    session.delete(user)
    session.commit()


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
        "user": _row(user, drop=("id", "password_hash")),
        "cards": [_row(c, drop=("user_id",)) for c in cards],
        "reviews": [_row(r, drop=("user_id",)) for r in reviews],
        "attempts": [_row(a, drop=("user_id",)) for a in attempts],
        "mocks": [_row(m, drop=("user_id", "assignment_id")) for m in mocks],
        "mock_items": [_row(i) for i in items],
    }


def _parse_times(row: dict[str, Any], model: type) -> dict[str, Any]:
    """ISO strings back to datetimes and dates, by each field's declared type."""
    out = dict(row)
    for key, field in model.model_fields.items():  # type: ignore[attr-defined]
        value = out.get(key)
        if not isinstance(value, str):
            continue
        types = typing.get_args(field.annotation) or (field.annotation,)
        if datetime in types:
            out[key] = datetime.fromisoformat(value)
        elif date in types:
            out[key] = date.fromisoformat(value)
    return out


def _copy_rows(session: Session, model: type, rows: list[dict[str, Any]],
               remap: dict[str, Callable[[Any], Any]] | None = None, keep_ids: bool = True,
               **fixed: Any) -> dict[int, int]:
    """Insert exported rows of one table under new ids; returns old id -> new id.

    `remap` turns old foreign keys into new ones; `fixed` sets columns for every row (the new
    owner, a replay token that is not carried over)."""
    ids: dict[int, int] = {}
    for raw in rows:
        row = _parse_times(raw, model)
        old = row.pop("id")
        for column, new_of in (remap or {}).items():
            row[column] = new_of(row.get(column))
        row.update(fixed)
        obj = model(**row)
        session.add(obj)
        if keep_ids:  # other tables point at this one: learn the new id now
            session.flush()
            ids[old] = obj.id  # type: ignore[attr-defined]
    return ids


def import_user(session: Session, data: dict[str, Any], name: str | None = None, password: str | None = None) -> User:
    """Recreate an exported learner; ids are remapped, nothing is lost. All or nothing."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise AccountError(f"This is not an interview export (expected format '{EXPORT_FORMAT}').")
    missing = sorted({c["question_id"] for c in data.get("cards", [])} - {q for q in session.exec(select(Question.id)).all()})
    if missing:
        raise AccountError(f"The export refers to questions this instance does not have: {', '.join(missing[:10])}")
    profile = _parse_times(data["user"], User)
    name = check_name(name or profile["name"])
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise AccountError(f"The name '{name}' is taken: choose another name for the imported account.")
    try:
        profile.update(name=name, password_hash=generate_password_hash(password) if password else None)
        user = User(**profile)
        session.add(user)
        session.flush()
        card_ids = _copy_rows(session, Card, data.get("cards", []), user_id=user.id)
        mock_ids = _copy_rows(session, MockInterview, data.get("mocks", []), user_id=user.id)
        item_ids = _copy_rows(session, MockItem, data.get("mock_items", []),
                              remap={"mock_id": lambda old: mock_ids[old]})
        attempt_ids = _copy_rows(session, Attempt, data.get("attempts", []), user_id=user.id, submit_token=None,
                                 remap={"mock_item_id": lambda old: item_ids.get(old) if old else None})
        _copy_rows(session, Review, data.get("reviews", []), user_id=user.id, keep_ids=False,
                   remap={"card_id": lambda old: card_ids[old],
                          "attempt_id": lambda old: attempt_ids.get(old) if old else None})
        session.commit()
    except (KeyError, TypeError, ValueError) as exc:
        session.rollback()
        raise AccountError(f"The export is damaged ({type(exc).__name__}: {exc}); nothing was imported.") from None
    session.refresh(user)
    return user
