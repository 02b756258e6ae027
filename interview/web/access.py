"""Every route declares who may call it; the app refuses to start with a route that does not.

Why: a rule that lives only in a decorator someone may forget is a hole waiting for the next
route. The decorators in `interview.web.auth` (login_required, instructor_required,
admin_required) both enforce and declare their rule; `public` declares a route open to
anyone; a blueprint whose every route shares one rule declares it once with
`blueprint_rule`. `check_declared` runs in the application factory and the authorisation
matrix test (tests/test_access_matrix.py) calls every route as every kind of account and
compares the status with the declared rule.

Rules, weakest first:
- `public`: anyone, signed in or not (sign-in, sign-up, static files, health checks).
- `learner`: any signed-in account (the objects it touches are checked for ownership by the
  service: another learner's attempt or mock answers 403/404).
- `instructor`: instructors and admins (another instructor's questions, formats and cohorts are
  refused by `interview.permissions`).
- `admin`: admins only (created from the command line, never from a request).
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, Flask

PUBLIC, LEARNER, INSTRUCTOR, ADMIN = "public", "learner", "instructor", "admin"
RULES = (PUBLIC, LEARNER, INSTRUCTOR, ADMIN)
ATTRIBUTE = "access_rule"

_blueprint_rules: dict[str, str] = {}


def declare(view: Callable[..., Any], rule: str) -> Callable[..., Any]:
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}")
    setattr(view, ATTRIBUTE, rule)
    return view


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Open to anyone: say so explicitly, so that 'open' is a decision and not an omission."""
    return declare(view, PUBLIC)


def blueprint_rule(bp: Blueprint, rule: str) -> None:
    """One rule for every route of `bp` (enforced by the blueprint's own before_request)."""
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}")
    _blueprint_rules[bp.name] = rule


def rule_of(app: Flask, endpoint: str) -> str | None:
    """The declared rule of an endpoint (its view's and its blueprint's, the stricter); None if neither."""
    view = app.view_functions.get(endpoint)
    found = [getattr(view, ATTRIBUTE, None)]
    if endpoint == "static" or endpoint.endswith(".static"):
        found.append(PUBLIC)
    if "." in endpoint:
        found.append(_blueprint_rules.get(endpoint.rsplit(".", 1)[0]))
    declared = [rule for rule in found if rule is not None]
    # both apply (the blueprint's guard runs before the view's decorator): the stricter wins
    return max(declared, key=RULES.index) if declared else None


def check_declared(app: Flask) -> None:
    """Refuse to build an app with a route whose access rule nobody declared."""
    missing = sorted(ep for ep in app.view_functions if rule_of(app, ep) is None)
    if missing:
        raise RuntimeError("routes without a declared access rule (see interview/web/access.py): "
                           + ", ".join(missing))
