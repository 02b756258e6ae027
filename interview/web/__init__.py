"""Flask application factory: one engine, CSRF on every form, blueprints kept thin."""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlmodel import Session
from werkzeug.exceptions import HTTPException

from interview import db
from interview.bank import repo_root
from interview.render import markdown_html

log = logging.getLogger(__name__)
csrf = CSRFProtect()
# Counters live where RATELIMIT_STORAGE_URI says: in the process by default (one learner on
# their own machine); a deployment with several worker processes points it at Redis
# (INTERVIEW_RATELIMIT_STORAGE), or each worker would count only the attempts it served.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


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
        template_folder=str(repo_root() / "templates"),
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
    csrf.init_app(app)
    limiter.init_app(app)
    app.jinja_env.filters["markdown"] = markdown_html

    from interview.web import auth, browse, instructor, interop, mock, practice, progress

    for blueprint in (auth.bp, browse.bp, practice.bp, mock.bp, progress.bp, instructor.bp, interop.bp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/", endpoint="index", view_func=browse.index)
    app.add_url_rule("/healthz", endpoint="healthz", view_func=lambda: "ok")
    _register_errors(app)
    app.teardown_appcontext(_close_session)
    return app


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
        return render_template("error.html", code=429, title="Too many attempts",
                               message="Too many sign-in attempts from here: wait a minute and try again."), 429

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        return render_template("error.html", code=exc.code, title=exc.name, message=exc.description), exc.code or 500

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> tuple[str, int]:
        log.exception("unhandled error")
        return render_template("error.html", code=500, title="Something went wrong",
                               message="The error has been logged; your previous answers are saved."), 500
