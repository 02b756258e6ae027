"""Daily practice pages: the queue, one question at a time, the grade, the self-rating."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for

from interview import catalog, grading_queue, jobs, planner, practice, study_more
from interview.models import utcnow
from interview.web import get_session, limiter
from interview.web.auth import _user_key, login_required

# The visible-tests "Run": a sandbox run per click, recorded nowhere; per learner.
RUN_LIMIT = "20 per minute; 200 per hour"

bp = Blueprint("practice", __name__, url_prefix="/practice")


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


@bp.get("/")
@login_required
def today() -> Any:
    db, now = get_session(), utcnow()
    summary = planner.daily_queue(db, g.user, now)
    shown = practice.present(db, g.user, _secret(), now, queue=summary)
    more = study_more.summary(db, g.user, now) if shown is None else None
    return render_template("practice/question.html", shown=shown, summary=summary, more=more)


@bp.get("/more")
@login_required
def more() -> Any:
    """Study beyond today's plan: the next new question, or the next review ahead of time."""
    db, now = get_session(), utcnow()
    mode = request.args.get("mode", "")
    if mode not in study_more.MODES:
        abort(400, "Study more of what: mode=new or mode=ahead.")
    extra = study_more.extra_items(db, g.user, now, mode, limit=1)
    summary = planner.daily_queue(db, g.user, now)
    if not extra:
        return render_template("practice/question.html", shown=None, summary=summary,
                               more=study_more.summary(db, g.user, now), more_mode=mode)
    shown = practice.present(db, g.user, _secret(), now, question_id=extra[0].question_id)
    return render_template("practice/question.html", shown=shown, summary=summary, more_mode=mode,
                           extra=extra[0])


@bp.get("/q/<question_id>")
@login_required
def one(question_id: str) -> Any:
    """Practise a chosen question (from the bank browser); it counts like a review."""
    db, now = get_session(), utcnow()
    try:
        shown = practice.present(db, g.user, _secret(), now, question_id=question_id)
    except catalog.NotFound:
        abort(404, f"There is no question '{question_id}'.")
    return render_template("practice/question.html", shown=shown, summary=planner.daily_queue(db, g.user, now))


@bp.post("/answer")
@login_required
def answer() -> Any:
    db, now = get_session(), utcnow()
    kind = request.form.get("kind", "")
    text = ", ".join(request.form.getlist("answer")) if kind == "multi" else request.form.get("answer", "")
    queue = grading_queue.current()
    token, hint_used = request.form.get("token", ""), request.form.get("hint_used") == "1"
    try:
        if request.form.get("dont_know") == "1":  # "I don't know — show me" beside Submit
            outcome = practice.give_up(db, g.user, _secret(), token, hint_used, now)
        else:
            outcome = practice.submit(db, g.user, _secret(), token, text, hint_used, now,
                                      grade_later=lambda attempt: jobs.queue_attempt(queue, attempt),
                                      admit=lambda: queue.admits(f"user:{g.user.id}"))
    except practice.PracticeError as exc:
        abort(exc.status, str(exc))
    except grading_queue.Refused as exc:
        abort(exc.status, str(exc))
    except catalog.NotFound:
        abort(404, "That question no longer exists.")
    if outcome.pending or outcome.failed:  # code and SQL: graded on the queue, the page waits for it
        return redirect(url_for("practice.attempt", attempt_id=outcome.attempt.id), 303)
    return render_template("practice/result.html", outcome=outcome)


@bp.get("/attempt/<int:attempt_id>")
@login_required
def attempt(attempt_id: int) -> Any:
    """An answer's result; "Grading…" while it waits on the queue (the page's script swaps the
    verdict in when it lands; without JavaScript a refresh shows it)."""
    try:
        outcome = practice.attempt_outcome(get_session(), g.user, attempt_id)
    except practice.PracticeError as exc:
        abort(exc.status, str(exc))
    if outcome.pending or outcome.failed:
        return render_template("practice/pending.html", outcome=outcome)
    return render_template("practice/result.html", outcome=outcome)


@bp.get("/attempt/<int:attempt_id>/status")
@login_required
def attempt_status(attempt_id: int) -> Any:
    """Polled by the "Grading…" page: pending, graded or failed."""
    try:
        outcome = practice.attempt_outcome(get_session(), g.user, attempt_id)
    except practice.PracticeError as exc:
        return jsonify(error=str(exc)), exc.status
    return jsonify(state=outcome.attempt.status, verdict=None if outcome.pending else outcome.attempt.verdict)


@bp.post("/attempt/<int:attempt_id>/regrade")
@login_required
def regrade(attempt_id: int) -> Any:
    """"Could not be graded, try again": queue the same answer once more."""
    db = get_session()
    try:
        att = practice.retry_failed(db, g.user, attempt_id)
        jobs.queue_attempt(grading_queue.current(), att)
    except practice.PracticeError as exc:
        abort(exc.status, str(exc))
    except grading_queue.Refused as exc:
        practice.mark_failed(db, attempt_id, str(exc))
        abort(exc.status, str(exc))
    if att.mock_item_id is not None:
        from interview.models import MockItem

        item = db.get(MockItem, att.mock_item_id)
        if item is not None:
            return redirect(url_for("mock.report", mock_id=item.mock_id), 303)
    return redirect(url_for("practice.attempt", attempt_id=attempt_id), 303)


@bp.post("/run")
@login_required
@limiter.limit(RUN_LIMIT, key_func=_user_key)
def run() -> Any:
    """Run the visible tests of the shown question on the learner's code: nothing is recorded
    and it is not an attempt. Answers a job to poll at /jobs/<id>."""
    try:
        data = practice.read_token(_secret(), request.form.get("token", ""), g.user, utcnow())
        _row, spec = catalog.get(get_session(), data["q"], include_retired=True)
    except practice.PracticeError as exc:
        return jsonify(error=str(exc)), exc.status
    except catalog.NotFound:
        return jsonify(error="That question no longer exists."), 404
    if spec.kind not in practice.QUEUED_KINDS:
        return jsonify(error="Only code and SQL answers can be run."), 400
    try:
        job_id = grading_queue.current().submit(
            "run_visible", {"question_id": spec.id, "seed": int(data["s"]), "answer": request.form.get("answer", "")},
            owner=f"user:{g.user.id}")
    except grading_queue.Refused as exc:
        return jsonify(error=str(exc)), exc.status
    return jsonify(job=job_id, status_url=url_for("jobs.status", job_id=job_id)), 202


@bp.post("/rate/<int:attempt_id>")
@login_required
def rate(attempt_id: int) -> Any:
    raw = request.form.get("rating", "")
    try:  # an unreadable rating is refused by the service, after it checked whose attempt this is
        practice.rate(get_session(), g.user, attempt_id, int(raw) if raw.strip().isdigit() else 0, utcnow())
    except practice.PracticeError as exc:
        abort(exc.status, str(exc))
    return redirect(url_for("practice.today"))


@bp.post("/preview")
@login_required
def preview() -> Any:
    """How an expression answer was read, for the live preview under the input."""
    from graders import expression

    try:
        _row, spec = catalog.get(get_session(), request.form.get("question_id", ""))
    except catalog.NotFound:
        return jsonify(error="unknown question"), 404
    if spec.kind != "expression":
        return jsonify(error="not an expression question"), 400
    return jsonify(expression.preview(spec, request.form.get("text", "")))


@bp.route("/again/<int:attempt_id>", methods=["GET", "POST"])
@login_required
def again(attempt_id: int) -> Any:
    """The question again with the learner's answer to edit (a POST carries the retried answer)."""
    db, now = get_session(), utcnow()
    answer = _answer_text() if request.method == "POST" else None
    try:
        a = practice.again(db, g.user, _secret(), attempt_id, now, answer=answer)
    except practice.PracticeError as exc:
        abort(exc.status, str(exc))
    except catalog.NotFound:
        abort(404, "That question no longer exists.")
    return render_template("practice/question.html", shown=a.shown, answer=a.answer, retry_of=attempt_id,
                           counts=a.counts, hint_used=a.hint_used, summary=planner.daily_queue(db, g.user, now))


# A retry reuses its signed form as often as the learner likes and may run code in the sandbox,
# so retries are counted per learner.
RETRY_LIMIT = "20 per minute"


@bp.post("/retry/<int:attempt_id>")
@login_required
@limiter.limit(RETRY_LIMIT, key_func=_user_key)
def retry(attempt_id: int) -> Any:
    """Grade a retry; nothing is recorded (the first attempt's review stands). Code and SQL
    retries go to the grading queue like answers; the browser waits on the retry's page."""
    owner = f"user:{g.user.id}"

    def grade_later(question_id: str, seed: int, answer: str) -> str:
        return grading_queue.current().submit("grade_retry", {"question_id": question_id, "seed": seed,
                                                              "answer": answer}, owner=owner)

    try:
        outcome = practice.practise(get_session(), g.user, _secret(), request.form.get("token", ""),
                                    _answer_text(), utcnow(), grade_later=grade_later, retry_of=attempt_id)
    except practice.PracticeError as exc:
        abort(exc.status, str(exc))
    except grading_queue.Refused as exc:
        abort(exc.status, str(exc))
    except catalog.NotFound:
        abort(404, "That question no longer exists.")
    if isinstance(outcome, str):
        return redirect(url_for("practice.retry_result", attempt_id=attempt_id, job_id=outcome), 303)
    return render_template("practice/result.html", outcome=outcome, retry_of=attempt_id)


@bp.get("/retry/<int:attempt_id>/<job_id>")
@login_required
def retry_result(attempt_id: int, job_id: str) -> Any:
    """A queued retry: a page that refreshes itself until a grader worker has run it, then its result."""
    from graders import Grade

    info = grading_queue.current().get(job_id)
    if info is None or info.owner != f"user:{g.user.id}" or info.name != "grade_retry":
        abort(404, "There is no such retry of yours (finished runs are kept a day).")
    if info.state in ("queued", "running"):
        return render_template("jobs/wait.html", info=info), 202
    if info.state == "failed" or not info.result:
        abort(503, "This retry could not be graded: go back and try again.")
    done = info.result
    outcome = practice.retry_outcome(get_session(), g.user, done["question_id"], int(done["seed"]), done["answer"],
                                     Grade(**done["grade"]), utcnow())
    return render_template("practice/result.html", outcome=outcome, retry_of=attempt_id)


@bp.post("/dont-know/<int:attempt_id>")
@login_required
def dont_know(attempt_id: int) -> Any:
    try:
        outcome = practice.dont_know(get_session(), g.user, attempt_id, utcnow())
    except practice.PracticeError as exc:
        abort(exc.status, str(exc))
    except catalog.NotFound:
        abort(404, "That question no longer exists.")
    return render_template("practice/result.html", outcome=outcome)


def _answer_text() -> str:
    if request.form.get("kind", "") == "multi":
        return ", ".join(request.form.getlist("answer"))
    return request.form.get("answer", "")
