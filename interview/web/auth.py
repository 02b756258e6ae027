"""Sign up, sign in, sign out, and the account page (settings, your data, deletion)."""
from __future__ import annotations

import json
import re
from datetime import date
from functools import wraps
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import (Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, session,
                   url_for)

from graders.topics import AREAS, TOPICS
from interview import accounts, optimizer, permissions
from interview.models import User, utcnow
from interview.web import access, get_session, limiter

bp = Blueprint("auth", __name__)


@bp.before_app_request
def load_user() -> None:
    """Multi-user: the signed-in user or none. Local: the local learner, no sign-in needed."""
    db = get_session()
    if current_app.config["MULTI_USER"]:
        uid = session.get("user_id")
        user = db.get(User, uid) if isinstance(uid, int) else None
        if uid is not None and not accounts.session_is_current(user, session.get("key")):
            session.clear()  # signed out elsewhere, password changed, or account deleted
            user = None
        g.user = user
    else:
        g.user = accounts.local_user(db)


def _start_session(user: User) -> None:
    """A fresh cookie for `user`, carrying the account's current session key."""
    session.clear()
    session["user_id"] = user.id
    session["key"] = accounts.session_key(get_session(), user)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.signin", next=request.path))
        return view(*args, **kwargs)

    return access.declare(wrapped, access.LEARNER)


def instructor_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not permissions.is_instructor(g.user):
            abort(403, "This page is for instructors.")
        return view(*args, **kwargs)

    return access.declare(wrapped, access.INSTRUCTOR)


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """For admins only (an admin account is created from the command line, never a request)."""
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not permissions.is_admin(g.user):
            abort(403, "This page is for admins.")
        return view(*args, **kwargs)

    return access.declare(wrapped, access.ADMIN)


# Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so
# "/\t/evil.com" or "/\\evil.com" would leave the site: any such character refuses the target.
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x20\x7f\\]")


def _safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else today's practice: never another host."""
    if target and target.startswith("/") and not target.startswith("//") and not _UNSAFE_IN_NEXT.search(target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("practice.today")


# Per client address, for sign-in guesses and for new accounts (sign-up, import).
ACCOUNT_CREATION_LIMIT = "10 per minute; 50 per hour"
# Per learner: a fit costs a fraction of a second of CPU, and is worth repeating only as the history grows.
OPTIMIZE_LIMIT = "5 per hour"


def _user_key() -> str:
    return f"user:{g.user.id}"


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(ACCOUNT_CREATION_LIMIT, methods=["POST"])
@access.public
def signup() -> Any:
    if not current_app.config["MULTI_USER"]:
        return redirect(url_for("practice.today"))
    error = None
    if request.method == "POST":
        try:
            if request.form.get("password") != request.form.get("confirm"):
                raise accounts.AccountError("The two passwords differ.")
            user = accounts.create_user(get_session(), request.form.get("name", ""), request.form.get("password", ""))
        except accounts.AccountError as exc:
            error = str(exc)
        else:
            _start_session(user)
            return redirect(url_for("practice.today"))
    return render_template("auth/signup.html", error=error), (400 if error else 200)


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit(ACCOUNT_CREATION_LIMIT, methods=["POST"])
@access.public
def signin() -> Any:
    if not current_app.config["MULTI_USER"]:
        return redirect(url_for("practice.today"))
    error = None
    if request.method == "POST":
        user = accounts.authenticate(get_session(), request.form.get("name", ""), request.form.get("password", ""))
        if user is None:
            error = "Wrong name or password."
        else:
            _start_session(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/signin.html", error=error), (401 if error else 200)


@bp.post("/signout")
@access.public
def signout() -> Any:
    """Ends every session of the account, not only this browser's: a copied cookie dies too."""
    if current_app.config["MULTI_USER"] and g.user is not None:
        accounts.revoke_sessions(get_session(), g.user)
    session.clear()
    return redirect(url_for("auth.signin") if current_app.config["MULTI_USER"] else url_for("practice.today"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Any:
    error = None
    if request.method == "POST":
        try:
            raw_date = request.form.get("interview_date", "").strip()
            accounts.update_settings(
                get_session(), g.user,
                interview_date=date.fromisoformat(raw_date) if raw_date else None,
                minutes_per_day=int(request.form.get("minutes_per_day", "30")),
                new_per_day=int(request.form.get("new_per_day", "10")),
                areas=[a for a in request.form.getlist("areas") if a in AREAS],
                topics=[t for t in request.form.getlist("topics") if t in TOPICS],
                today=_learner_today(),
                time_zone=request.form.get("time_zone", "").strip() or None,
            )
        except ValueError as exc:  # AccountError is a ValueError; so are bad dates and numbers
            error = str(exc) if isinstance(exc, accounts.AccountError) else f"Could not read the form: {exc}."
        else:
            flash("Settings saved.")
            return redirect(url_for("auth.account"))
    from interview import timezones

    return render_template("auth/account.html", error=error, areas=AREAS, topics=TOPICS, today=_learner_today(),
                           zones=timezones.names(), browser_zone=request.cookies.get(timezones.COOKIE, ""),
                           memory=optimizer.status(get_session(), g.user)), (400 if error else 200)


def _learner_today() -> Any:
    """The learner's own date (their saved zone, else their browser's): an interview date
    before it is in the past."""
    from interview import timezones
    from interview.web import learner_zone

    return timezones.today(utcnow(), learner_zone())


@bp.post("/account/password")
@limiter.limit(ACCOUNT_CREATION_LIMIT)
@login_required
def change_password() -> Any:
    """A new password (the current one required); every other session of the account ends."""
    if not current_app.config["MULTI_USER"]:
        abort(404, "A local instance has no passwords.")
    try:
        if request.form.get("new_password") != request.form.get("confirm"):
            raise accounts.AccountError("The two new passwords differ.")
        key = accounts.change_password(get_session(), g.user, request.form.get("current_password", ""),
                                       request.form.get("new_password", ""))
    except accounts.AccountError as exc:
        abort(400, str(exc))
    session["key"] = key  # this browser stays signed in; every other one is signed out
    flash("Password changed: every other session of this account is signed out.")
    return redirect(url_for("auth.account"))


@bp.post("/account/optimize")
@login_required
@limiter.limit(OPTIMIZE_LIMIT, key_func=_user_key)
def optimize() -> Any:
    """Fit personal FSRS parameters to the learner's own reviews (a fraction of a second for
    thousands of reviews, so in the request)."""
    try:
        optimizer.optimize_user(get_session(), g.user)
    except optimizer.OptimizerError as exc:
        abort(400, f"Could not fit your memory parameters: {exc}.")
    flash(f"Memory parameters fitted to your {optimizer.status(get_session(), g.user).reviews} reviews: "
          "the scheduler uses them from now on.")
    return redirect(url_for("auth.account"))


@bp.get("/account/export")
@login_required
def export() -> Response:
    data = accounts.export_user(get_session(), g.user)
    return Response(json.dumps(data, indent=1), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="interview-{g.user.name}.json"'})


@bp.post("/account/import")
@limiter.limit(ACCOUNT_CREATION_LIMIT)
@access.public
def import_data() -> Any:
    """An export into the signed-in learner's account (multi-user), the local learner's (single
    user), or, signed out, into a new learner account made by the sign-up rules. Never into an
    instructor's account: an import brings a learner's history and settings, nothing else."""
    multi = current_app.config["MULTI_USER"]
    if multi and g.user is not None and g.user.role != "learner":
        abort(403, "Imports bring a learner's history: sign in as a learner (or sign out to import "
                   "into a new learner account).")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, "Choose an export file to import.")
    anonymous = multi and g.user is None
    if anonymous and request.form.get("password", "") != request.form.get("confirm", request.form.get("password", "")):
        abort(400, "The two passwords differ.")
    if anonymous and len(request.form.get("password", "")) < accounts.MIN_PASSWORD:
        abort(400, f"Give the imported account a password of at least {accounts.MIN_PASSWORD} characters.")
    try:
        data = json.loads(upload.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        abort(400, "The file is not a JSON export.")
    try:
        if anonymous:
            user = accounts.import_user(get_session(), data, name=request.form.get("name") or None,
                                        password=request.form.get("password"))
        else:
            user = accounts.import_user(get_session(), data, into=g.user,
                                        replace=request.form.get("replace") == "1")
    except accounts.AccountError as exc:
        abort(400, str(exc))
    if anonymous:
        _start_session(user)
    flash(f"Imported into '{user.name}'.")
    return redirect(url_for("practice.today"))


@bp.post("/account/delete")
@login_required
def delete() -> Any:
    if request.form.get("confirm_name") != g.user.name:
        abort(400, "To delete the account, type its name exactly in the confirmation box.")
    try:
        note = accounts.delete_user(get_session(), g.user)
    except accounts.AccountError as exc:  # an instructor's cohorts with no admin to take them
        abort(409, str(exc))
    session.clear()
    flash(" ".join(filter(None, ["The account and all its data were deleted.", note])))
    return redirect(url_for("auth.signin") if current_app.config["MULTI_USER"] else url_for("practice.today"))


@bp.post("/cohorts/join")
@login_required
def join_cohort() -> Any:
    from interview import cohorts

    try:
        cohort = cohorts.join(get_session(), g.user, request.form.get("code", ""), utcnow())
    except cohorts.CohortError as exc:
        abort(exc.status, str(exc))
    flash(f"You joined '{cohort.name}'.")
    return redirect(url_for("auth.account"))
