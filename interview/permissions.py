"""Who may change what: the one place that answers it, for routes, services and templates.

Roles: a `learner` practises; an `instructor` writes questions and mock formats and runs
cohorts; an `admin` (created only from the command line, `interview user add NAME --admin`)
may do everything an instructor may, to anyone's work. Ownership is server-set: a question's
owner is the account that created it (`Question.author_id`), a format's the account that
created it (`MockFormat.owner_id`); never a field of a request or a file.

Bundled work has no owner and is read-only in the browser for everyone, admins included: a
bank question changes through its file in question_bank/ (and `interview sync`), a bundled
mock format through interview/mock_formats.yaml. Work whose owner was deleted also has no
owner; only an admin may change it.
"""
from __future__ import annotations

from interview.models import MockFormat, Question, User

LEARNER, INSTRUCTOR, ADMIN = "learner", "instructor", "admin"
ROLES = (LEARNER, INSTRUCTOR, ADMIN)


def is_admin(user: User | None) -> bool:
    return user is not None and user.role == ADMIN


def is_instructor(user: User | None) -> bool:
    """May use the instructor pages (an admin is an instructor with more rights)."""
    return user is not None and user.role in (INSTRUCTOR, ADMIN)


def is_bundled_question(row: Question) -> bool:
    return row.origin == "bank"


def is_bundled_format(row: MockFormat) -> bool:
    from interview.mock import bundled_format_slugs

    return row.owner_id is None and row.slug in bundled_format_slugs()


def can_edit_question(user: User | None, row: Question) -> bool:
    """Save a new version of, or retire, this question."""
    if is_bundled_question(row) or not is_instructor(user):
        return False
    assert user is not None
    return is_admin(user) or (row.author_id is not None and row.author_id == user.id)


def can_edit_format(user: User | None, row: MockFormat) -> bool:
    """Overwrite this mock format."""
    if is_bundled_format(row) or not is_instructor(user):
        return False
    assert user is not None
    return is_admin(user) or (row.owner_id is not None and row.owner_id == user.id)


def owner_label(owner_id: int | None, user: User | None, bundled: bool) -> str:
    """Whose work it is, as an instructor page says it."""
    if bundled:
        return "bundled"
    if owner_id is None:
        return "no owner (admins only)"
    if user is not None and owner_id == user.id:
        return "yours"
    return "another instructor's"
