"""Instructor pages: write and version questions, import and export files, cohorts, item
analysis and mock formats. Every route needs the instructor (or admin) role; who may change
which question or format is `interview.permissions`'s answer."""
from __future__ import annotations

import io
import json
import queue
import tempfile
import threading
import zipfile
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Iterator

import yaml
from flask import (Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, stream_with_context,
                   url_for)
from sqlmodel import Session, select

from graders.question import KINDS
from graders.topics import AREAS, TOPICS, topics_of
from interview import authoring, catalog, cohorts, item_analysis, mock, permissions
from interview.models import MockFormat, Question, User, utcnow
from interview.web import get_session
from interview.web.auth import instructor_required

bp = Blueprint("instructor", __name__, url_prefix="/instructor")
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
    text = request.form.get("yaml", "")
    action = request.form.get("action", "check")
    item, problems = authoring.check(text)
    variant = authoring.preview(item.question, catalog.new_seed()) if item and not problems else None
    status = 200 if not problems else 400
    if action == "save" and not problems:
        try:
            row = authoring.save(get_session(), g.user, text, utcnow(),
                                 expected_id=editing.id if editing else None)
        except authoring.AuthoringError as exc:
            problems, status = exc.problems, exc.status  # 403: another's question or a bundled one
        else:
            flash(f"Saved '{row.id}' as version {row.version}.")
            return redirect(url_for("instructor.history", question_id=row.id))
    return render_template("instructor/editor.html", text=text, problems=problems, variant=variant,
                           spec=item.question if item else None, editing=editing,
                           checked=action == "check" and not problems), status


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
    return redirect(url_for("instructor.home"))


@bp.get("/import")
def import_form() -> Any:
    return render_template("instructor/import.html")


@bp.post("/import")
def import_upload() -> Any:
    """Streams a live progress bar while every file is checked, then imports all or nothing.

    The import runs in a worker thread with its own database session, so each step reaches the
    browser as it happens rather than all at once at the end."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, "Choose a .zip of question files, a single .yaml file, a Moodle XML (.xml) or a GIFT (.gift) file.")
    data = upload.read()
    name = Path(upload.filename).name
    author_id = g.user.id
    app = current_app._get_current_object()  # type: ignore[attr-defined]  (the worker has no app context)
    engine = app.extensions["engine"]
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def work() -> None:
        try:
            with tempfile.TemporaryDirectory(prefix="interview-upload-") as tmp, \
                    Session(engine, expire_on_commit=False) as db:
                if name.endswith(".zip"):
                    source: Any = data
                else:
                    target = Path(tmp) / name
                    target.write_bytes(data)
                    source = [target]
                report = authoring.import_questions(db, source, db.get(User, author_id),
                                                    lambda i, total, _qid: events.put(("step", (i, total))))
            events.put(("done", report))
        except authoring.AuthoringError as exc:
            events.put(("problems", exc.problems))
        except Exception:  # noqa: BLE001 - reported to the instructor, logged for us
            app.logger.exception("import failed")
            events.put(("problems", [authoring.Problem(name, "", "the import failed unexpectedly; nothing was imported")]))

    worker = threading.Thread(target=work, name="import", daemon=True)

    def run() -> Iterator[str]:
        yield render_template("instructor/import_head.html")
        worker.start()
        while True:
            kind, payload = events.get()
            if kind == "step":
                yield f"<script>step({payload[0]}, {payload[1]});</script>\n"
                continue
            done = kind == "done"
            yield render_template("instructor/import_result.html", problems=[] if done else payload,
                                  report=payload if done else None)
            return

    return Response(stream_with_context(run()), mimetype="text/html")


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
