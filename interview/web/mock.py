"""Mock interview pages: choose a format, answer against the server's clock, read the report."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, url_for

from interview import grading_queue, jobs, mock
from interview.models import utcnow
from interview.web import get_session
from interview.web.auth import login_required

bp = Blueprint("mock", __name__, url_prefix="/mock")


def _grade_later() -> Any:
    """Code and SQL answers of a submitted mock go on the grading queue; never refused (the
    learner's limit is for practice runs: a mock's answers were all given before its deadline)."""
    queue = grading_queue.current()
    return lambda attempt: jobs.queue_attempt(queue, attempt, limited=False)


@bp.get("/")
@login_required
def index() -> Any:
    from interview.cohorts import assignments_for

    db = get_session()
    mock.ensure_formats(db)
    return render_template("mock/index.html", formats=mock.list_formats(db), history=mock.history(db, g.user),
                           assignments=assignments_for(db, g.user))


@bp.post("/start")
@login_required
def start() -> Any:
    try:
        assignment = request.form.get("assignment", "")
        m = mock.start(get_session(), g.user, request.form.get("format", ""), utcnow(),
                       assignment_id=int(assignment) if assignment.isdigit() else None)
    except mock.MockError as exc:
        abort(exc.status, str(exc))
    return redirect(url_for("mock.sit", mock_id=m.id))


@bp.get("/<int:mock_id>")
@login_required
def sit(mock_id: int) -> Any:
    try:
        m, views, seconds_left = mock.view(get_session(), g.user, mock_id, utcnow(), _grade_later())
    except mock.MockError as exc:
        abort(exc.status, str(exc))
    if m.status != "running":
        return redirect(url_for("mock.report", mock_id=m.id))
    try:
        position = int(request.args.get("q", "0"))
    except ValueError:
        abort(400, "The question number is not a number.")
    if position == len(views):  # "save and go on" from the last question (Ctrl+Enter there): stay on it
        return redirect(url_for("mock.sit", mock_id=m.id, q=position - 1))
    if not 0 <= position < len(views):
        abort(404, f"This mock has questions 1 to {len(views)}.")
    return render_template("mock/sit.html", mock=m, views=views, current=views[position], position=position,
                           seconds_left=seconds_left)


@bp.post("/<int:mock_id>/save")
@login_required
def save(mock_id: int) -> Any:
    db, now = get_session(), utcnow()
    try:
        mock.get_mock(db, g.user, mock_id)  # whose mock it is, before anything about the form
    except mock.MockError as exc:
        abort(exc.status, str(exc))
    try:
        position = int(request.form.get("position", ""))
        seconds = float(request.form.get("seconds_spent", "0") or 0)
    except ValueError:
        abort(400, "The form's question number or time is not a number.")
    kind = request.form.get("kind", "")
    text = ", ".join(request.form.getlist("answer")) if kind == "multi" else request.form.get("answer", "")
    finishing = "1" in request.form.getlist("finish")
    try:
        mock.save_answer(db, g.user, mock_id, position, text, seconds, now)
    except mock.MockError as exc:
        if not (finishing and exc.status == 409):
            abort(exc.status, str(exc))
    if finishing:
        mock.finish(db, g.user, mock_id, now, _grade_later())
        return redirect(url_for("mock.report", mock_id=mock_id))
    target = request.form.get("goto", "")
    nxt = int(target) if target.isdigit() else position + 1
    return redirect(url_for("mock.sit", mock_id=mock_id, q=nxt))


@bp.get("/<int:mock_id>/report")
@login_required
def report(mock_id: int) -> Any:
    try:
        rep = mock.report(get_session(), g.user, mock_id, utcnow(), _grade_later())
    except mock.MockError as exc:
        if exc.status == 409:
            return redirect(url_for("mock.sit", mock_id=mock_id))
        abort(exc.status, str(exc))
    return render_template("mock/report.html", rep=rep)


@bp.get("/<int:mock_id>/status")
@login_required
def status(mock_id: int) -> Any:
    """Polled by the report while answers are still being graded."""
    try:
        m = mock.get_mock(get_session(), g.user, mock_id)
    except mock.MockError as exc:
        return jsonify(error=str(exc)), exc.status
    pending = mock.pending_count(get_session(), m)
    return jsonify(state="pending" if pending else m.status, pending=pending)
