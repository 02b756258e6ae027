"""Instructor pages: write and version questions, import and export files, cohorts, item
analysis and mock formats. Every route needs the instructor (or admin) role; who may change
which question or format is `interview.permissions`'s answer."""
from __future__ import annotations

import base64
import io
import json
import tempfile
import zipfile
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from sqlmodel import select

from graders.question import KINDS
from graders.topics import AREAS, TOPICS, topics_of
from interview import authoring, bank, catalog, cohorts, grading_queue, item_analysis, mock, permissions
from interview.models import MockFormat, Question, User, utcnow
from interview.web import access, get_session
from interview.web.auth import instructor_required

bp = Blueprint("instructor", __name__, url_prefix="/instructor")
access.blueprint_rule(bp, access.INSTRUCTOR)  # enforced by _guard below
STARTERS = Path(__file__).resolve().parent.parent / "starters"


@bp.before_request
@instructor_required
def _guard() -> None:
    """Every route of this blueprint is for instructors only (learners get 403)."""


@bp.get("/")
def home() -> Any:
    db = get_session()
    # an admin's list is every question written in the browser or imported, whoever owns it
    stmt = select(Question).where(Question.origin != "bank") if permissions.is_admin(g.user) else \
        select(Question).where(Question.author_id == g.user.id)
    mine = db.exec(stmt.order_by(Question.updated_at.desc())).all()  # type: ignore[attr-defined]
    return render_template("instructor/home.html", questions=mine, cohorts=cohorts.of_instructor(db, g.user),
                           kinds=KINDS, areas=AREAS, topics=TOPICS, all_questions=permissions.is_admin(g.user))


def starter_yaml(kind: str, title: str, area: str, topic: str) -> str:
    """A valid skeleton for a kind, so nobody starts from a blank page."""
    if kind not in KINDS:
        abort(400, f"Unknown kind '{kind}'.")
    if area not in AREAS or topic not in topics_of(area):
        abort(400, f"Choose a topic of the area '{area}'.")
    slug = "-".join("".join(ch if ch.isalnum() else " " for ch in title.lower()).split())[:60] or f"new-{kind}-question"
    title = title.strip() or f"New {kind} question"
    return (STARTERS / f"{kind}.yaml").read_text().format(id=slug, title=json.dumps(title), area=area, topic=topic)


@bp.route("/questions/new", methods=["GET", "POST"])
def new_question() -> Any:
    if request.method == "GET":
        text = starter_yaml(request.args.get("kind", "numeric"), request.args.get("title", ""),
                            request.args.get("area", "ml"), request.args.get("topic", "fundamentals"))
        return render_template("instructor/editor.html", text=text, problems=[], variant=None, spec=None, editing=None)
    return _editor_post(editing=None)


@bp.route("/questions/<question_id>/edit", methods=["GET", "POST"])
def edit_question(question_id: str) -> Any:
    db = get_session()
    row = db.get(Question, question_id)
    if row is None:
        abort(404, f"There is no question '{question_id}'.")
    if not permissions.can_edit_question(g.user, row):
        if permissions.is_bundled_question(row):
            abort(403, "Bundled bank questions are edited as files in question_bank/; copy it under a new id to adapt it.")
        abort(403, "This is another instructor's question: only its owner or an admin may change it.")
    if request.method == "GET":
        return render_template("instructor/editor.html", text=row.yaml_text, problems=[], variant=None, spec=None,
                               editing=row)
    return _editor_post(editing=row)


def _editor_post(editing: Question | None) -> Any:
    """Check or save: the reference answer runs on the grading queue (instructor lane); the
    browser goes to the job's page, which shows the editor with its result when it lands."""
    text = request.form.get("yaml", "")
    action = request.form.get("action", "check")
    if action == "save":
        name, args = "save_question", {"yaml": text, "author_id": g.user.id,
                                       "expected_id": editing.id if editing else None}
    else:
        name, args = "check_question", {"yaml": text}
    try:
        job_id = grading_queue.current().submit(name, args, owner=f"user:{g.user.id}", lane="bulk")
    except grading_queue.Refused as exc:
        abort(exc.status, str(exc))
    return redirect(url_for("instructor.job", job_id=job_id, editing=editing.id if editing else None), 303)


EDITOR_JOBS = ("check_question", "save_question", "import_questions")  # what this page shows


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> Any:
    """An editor check or save, or a zip import, as it stands: a waiting page (202, refreshes
    itself) until a grader worker has run it, then its result."""
    info = grading_queue.current().get(job_id)
    if info is None or info.owner != f"user:{g.user.id}" or info.name not in EDITOR_JOBS:
        abort(404, "There is no such job of yours (finished jobs are kept a day).")
    if info.state in ("queued", "running"):
        return render_template("jobs/wait.html", info=info), 202
    result = info.result or {}
    problems = [authoring.Problem(**p) for p in result.get("problems", [])]
    if info.state == "failed":
        what = "the import failed unexpectedly; nothing was imported" if info.name == "import_questions" \
            else "the check could not be completed; nothing was saved"
        problems = [authoring.Problem("job", "", f"{what}: try again")]
    if info.name == "import_questions":
        report = authoring.ImportReport(result.get("added", []), result.get("changed", []), result.get("unchanged", []),
                                        result.get("notes", []))
        return render_template("jobs/import_done.html", problems=problems, report=report), (400 if problems else 200)
    if result.get("saved"):
        flash(f"Saved '{result['saved']}' as version {result['version']}.")
        return redirect(url_for("instructor.history", question_id=result["saved"]))
    text = result.get("yaml", "")
    editing = get_session().get(Question, request.args.get("editing", "")) if request.args.get("editing") else None
    spec = variant = None
    if not problems:
        spec = bank.load_text(text, "editor")
        variant = authoring.preview(spec, catalog.new_seed())
    return render_template("instructor/editor.html", text=text, problems=problems, variant=variant, spec=spec,
                           editing=editing, checked=info.name == "check_question" and not problems), \
        (int(result.get("status", 400)) if problems else 200)  # 403: another's question or a bundled one


@bp.get("/questions/<question_id>/history")
def history(question_id: str) -> Any:
    db = get_session()
    row = db.get(Question, question_id)
    if row is None:
        abort(404, f"There is no question '{question_id}'.")
    versions = authoring.history(db, question_id)
    diffs = [authoring.diff(a.yaml_text, b.yaml_text, f"version {a.version}", f"version {b.version}")
             for a, b in zip(versions, versions[1:])]
    return render_template("instructor/history.html", row=row, versions=versions, diffs=diffs,
                           can_edit=permissions.can_edit_question(g.user, row))


@bp.post("/questions/<question_id>/retire")
def retire(question_id: str) -> Any:
    try:
        authoring.retire(get_session(), g.user, question_id, utcnow())
    except authoring.AuthoringError as exc:
        abort(exc.status, str(exc))
    flash(f"'{question_id}' is retired: hidden from new practice, history kept.")
    return redirect(url_for("instructor.home", retired=question_id))


@bp.post("/questions/<question_id>/restore")
def restore(question_id: str) -> Any:
    """Undo a retirement."""
    try:
        authoring.restore(get_session(), g.user, question_id, utcnow())
    except authoring.AuthoringError as exc:
        abort(exc.status, str(exc))
    flash(f"'{question_id}' is active again.")
    return redirect(url_for("instructor.home"))


@bp.get("/import")
def import_form() -> Any:
    return render_template("instructor/import.html")


@bp.post("/import")
def import_upload() -> Any:
    """Queue the import (every reference answer runs in the sandbox: bulk work, behind learners'
    answers) and go to its page, which shows the progress and then the outcome."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, "Choose a .zip of question files, a single .yaml file, a Moodle XML (.xml) or a GIFT (.gift) file.")
    args = {"name": Path(upload.filename).name, "data": base64.b64encode(upload.read()).decode(),
            "author_id": g.user.id}
    try:
        job_id = grading_queue.current().submit("import_questions", args, owner=f"user:{g.user.id}", lane="bulk")
    except grading_queue.Refused as exc:
        abort(exc.status, str(exc))
    return redirect(url_for("instructor.job", job_id=job_id), 303)


@bp.get("/export")
def export() -> Response:
    db = get_session()
    mine = request.args.get("scope") == "mine"
    with tempfile.TemporaryDirectory() as tmp:
        paths = authoring.export_questions(db, Path(tmp), author=g.user if mine else None)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in paths:
                z.write(p, p.relative_to(tmp))
    return Response(buf.getvalue(), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="questions-{"mine" if mine else "all"}.zip"'})


@bp.post("/cohorts")
def create_cohort() -> Any:
    try:
        c = cohorts.create(get_session(), g.user, request.form.get("name", ""))
    except cohorts.CohortError as exc:
        abort(exc.status, str(exc))
    flash(f"Cohort '{c.name}' created: learners join with code {c.join_code}.")
    return redirect(url_for("instructor.cohort", cohort_id=c.id))


def _mastery_by_area(user: Any) -> dict[str, float]:
    from interview import mastery as mastery_mod

    report = mastery_mod.mastery_report(get_session(), user, utcnow())
    return {a.area: a.today for a in report.areas}


@bp.get("/cohorts/<int:cohort_id>")
def cohort(cohort_id: int) -> Any:
    db = get_session()
    try:
        c = cohorts.owned(db, g.user, cohort_id)
    except cohorts.CohortError as exc:
        abort(exc.status, str(exc))
    rows = cohorts.overview(db, c, utcnow(), mastery_of=_mastery_by_area)
    mock.ensure_formats(db)
    return render_template("instructor/cohort.html", cohort=c, rows=rows, areas=AREAS,
                           formats=mock.list_formats(db))


@bp.post("/cohorts/<int:cohort_id>/assign")
def assign(cohort_id: int) -> Any:
    db = get_session()
    try:
        c = cohorts.owned(db, g.user, cohort_id)
        due_day = date.fromisoformat(request.form.get("due", ""))
        cohorts.assign_mock(db, c, request.form.get("format", ""), datetime.combine(due_day, time(23, 59), timezone.utc))
    except ValueError:
        abort(400, "Give the due date as YYYY-MM-DD.")
    except cohorts.CohortError as exc:
        abort(exc.status, str(exc))
    flash("Mock assigned.")
    return redirect(url_for("instructor.cohort", cohort_id=cohort_id))


@bp.get("/items")
def items() -> Any:
    db = get_session()
    cohort_id = request.args.get("cohort", type=int)
    # "everyone" is every learner for an admin, and the learners of your own cohorts otherwise:
    # an instructor sees nothing of learners who never joined them
    scope = "everyone" if permissions.is_admin(g.user) else "learners of your cohorts"
    user_ids = item_analysis.learners_visible_to(db, g.user)
    if cohort_id is not None:
        try:
            c = cohorts.owned(db, g.user, cohort_id)
        except cohorts.CohortError as exc:
            abort(exc.status, str(exc))
        user_ids, scope = cohorts.member_ids(db, c), c.name
    stats = item_analysis.analyse_for(db, user_ids)
    titles = {q.id: q.title for q in db.exec(select(Question)).all()}
    return render_template("instructor/items.html", stats=stats, titles=titles, scope=scope,
                           cohorts=cohorts.of_instructor(db, g.user))


@bp.get("/formats")
def formats() -> Any:
    db = get_session()
    mock.ensure_formats(db)
    rows = mock.list_formats(db)
    return render_template("instructor/formats.html", formats=rows,
                           editable={f.slug for f in rows if permissions.can_edit_format(g.user, f)})


@bp.route("/formats/<slug>", methods=["GET", "POST"])
def edit_format(slug: str) -> Any:
    """Anyone may read a format; only its owner (or an admin) saves over it, and bundled
    formats change through mock_formats.yaml. A new slug creates a format owned by the user."""
    db = get_session()
    mock.ensure_formats(db)
    row = db.get(MockFormat, slug)
    error = None
    if request.method == "POST":
        try:
            fmt = mock.save_format(db, g.user, slug, request.form.get("yaml", ""))
        except mock.MockError as exc:
            if exc.status == 403:
                abort(403, str(exc))
            error = str(exc)
        else:
            flash(f"Format '{fmt.name}' saved.")
            return redirect(url_for("instructor.formats"))
    if row is not None:
        text = yaml.safe_dump({"name": row.name, "minutes": row.minutes, "sections": row.sections}, sort_keys=False)
    else:
        text = "name: New format\nminutes: 30\nsections:\n  - {name: ML concepts, areas: [ml], count: 3}\n"
    read_only = row is not None and not permissions.can_edit_format(g.user, row)
    return render_template("instructor/format_edit.html", slug=slug, text=request.form.get("yaml", text),
                           error=error, read_only=read_only,
                           bundled=row is not None and permissions.is_bundled_format(row)), (400 if error else 200)
