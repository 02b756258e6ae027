"""Flask application factory: one engine, CSRF on every form, blueprints kept thin."""
from __future__ import annotations

import logging
import os
import secrets
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlmodel import Session
from werkzeug.exceptions import HTTPException

from interview import db
from interview.bank import bundled
from interview.render import format_number, humanize_numbers, markdown_html

log = logging.getLogger(__name__)
csrf = CSRFProtect()
# Counters live where RATELIMIT_STORAGE_URI says: in the process by default (one learner on
# their own machine); a deployment with several worker processes points it at Redis
# (INTERVIEW_RATELIMIT_STORAGE), or each worker would count only the attempts it served.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Any request body is refused past MAX_CONTENT_LENGTH (2 MB) with a 413 page, before it is read;
# these routes take more: an export holds a learner's whole history.
LARGER_BODIES = {"auth.import_data": 16 * 1024 * 1024}


def _secret_key() -> str:
    """A per-installation key kept beside the database, so sessions survive restarts."""
    path = db.data_dir() / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def _from_environment() -> dict[str, Any]:
    """Deployment settings: INTERVIEW_MULTI_USER, INTERVIEW_SECRET_KEY, INTERVIEW_SECURE_COOKIES,
    INTERVIEW_RATELIMIT_STORAGE."""
    out: dict[str, Any] = {}
    if os.environ.get("INTERVIEW_MULTI_USER", "").lower() in ("1", "true", "yes"):
        out["MULTI_USER"] = True
    if os.environ.get("INTERVIEW_SECRET_KEY"):
        out["SECRET_KEY"] = os.environ["INTERVIEW_SECRET_KEY"]
    if os.environ.get("INTERVIEW_SECURE_COOKIES", "").lower() in ("1", "true", "yes"):
        out["SESSION_COOKIE_SECURE"] = True
    if os.environ.get("INTERVIEW_RATELIMIT_STORAGE"):
        out["RATELIMIT_STORAGE_URI"] = os.environ["INTERVIEW_RATELIMIT_STORAGE"]
    return out


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        "interview",
        template_folder=str(bundled("templates")),
        static_folder=str(Path(__file__).resolve().parent.parent / "static"),
    )
    app.config.update(
        ENGINE=None,
        DATABASE_URL=None,
        MULTI_USER=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        RATELIMIT_STORAGE_URI="memory://",
    )
    app.config.update(_from_environment())
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key()
    engine = app.config["ENGINE"] or db.make_engine(app.config["DATABASE_URL"])
    app.extensions["engine"] = engine
    app.before_request(_body_limit)  # before CSRF protection reads the form
    from interview import grading_queue, jobs

    app.extensions["grading_queue"] = grading_queue.from_config(engine, app.config)
    if isinstance(app.extensions["grading_queue"], grading_queue.EmbeddedQueue) and not app.config.get("TESTING"):
        # answers left pending by a previous run of this process are graded now
        threading.Thread(target=jobs.sweep, args=(app.extensions["grading_queue"], timedelta(0)),
                         name="grading-sweep", daemon=True).start()
    csrf.init_app(app)
    limiter.init_app(app)
    app.jinja_env.filters["markdown"] = markdown_html
    app.jinja_env.filters["num"] = format_number
    app.jinja_env.filters["numbers"] = humanize_numbers
    from interview import results

    app.jinja_env.globals["result_view"] = results.view
    app.jinja_env.globals["fixture_tables"] = results.fixture_tables
    app.jinja_env.filters["localtime"] = localtime

    from interview.web import access, auth, browse, instructor, interop, mock, practice, progress
    from interview.web import jobs as jobs_pages

    for blueprint in (auth.bp, browse.bp, practice.bp, mock.bp, progress.bp, instructor.bp, jobs_pages.bp, interop.bp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/", endpoint="index", view_func=access.public(browse.index))
    app.add_url_rule("/healthz", endpoint="healthz", view_func=access.public(lambda: "ok"))
    # browsers ask for /favicon.ico whatever the page links: answer from the static files
    app.add_url_rule("/favicon.ico", endpoint="favicon",
                     view_func=access.public(lambda: app.send_static_file("favicon.ico")))
    _register_errors(app)
    app.teardown_appcontext(_close_session)
    access.check_declared(app)
    return app


def learner_zone() -> Any:
    """The zone this request's learner reads times in (see interview.timezones)."""
    from flask import request

    from interview import timezones

    return timezones.zone_for(g.get("user"), request.cookies.get(timezones.COOKIE))


def localtime(moment: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time in the learner's zone, with the zone's abbreviation unless `fmt` is a date."""
    from interview import timezones

    if moment is None:
        return ""
    zone = learner_zone()
    text = timezones.local(moment, zone).strftime(fmt)
    return text if "%H" not in fmt else f"{text} {timezones.local(moment, zone).tzname()}"


def _body_limit() -> None:
    if request.endpoint in LARGER_BODIES:
        request.max_content_length = LARGER_BODIES[request.endpoint]


def get_session() -> Session:
    """One database session per request, closed when the request ends."""
    if "db_session" not in g:
        from flask import current_app

        g.db_session = Session(current_app.extensions["engine"], expire_on_commit=False)
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        return render_template("error.html", code=400, title="Form expired or tampered",
                               message=f"{exc.description} Reload the page and try again."), 400

    @app.errorhandler(429)
    def too_many(exc: HTTPException) -> tuple[str, int]:
        # the grading queue's refusals say why; the rate limiter's own 429 is about sign-in
        from flask_limiter.errors import RateLimitExceeded

        if not isinstance(exc, RateLimitExceeded):
            message = exc.description
        elif request.endpoint == "practice.run":
            message = "Too many runs: wait a minute, then run again."
        elif request.endpoint == "practice.retry":
            message = "Too many retries in a minute: wait a little, then try again."
        else:
            message = "Too many sign-in attempts from here: wait a minute and try again."
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error=message), 429  # type: ignore[return-value]
        return render_template("error.html", code=429, title="Too many attempts", message=message), 429

    @app.errorhandler(413)
    def too_large(exc: HTTPException) -> tuple[str, int]:
        limit = request.max_content_length or app.config["MAX_CONTENT_LENGTH"]
        return render_template("error.html", code=413, title="Too large",
                               message=f"This server takes at most {limit / 2**20:.0f} MB in one request: "
                                       "nothing was saved. Send something smaller."), 413

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        return render_template("error.html", code=exc.code, title=exc.name, message=exc.description), exc.code or 500

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> tuple[str, int]:
        log.exception("unhandled error")
        return render_template("error.html", code=500, title="Something went wrong",
                               message="The error has been logged; your previous answers are saved."), 500
