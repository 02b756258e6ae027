"""Downloads for other tools: Anki decks for learners, Moodle XML and cohort gradebooks for
instructors. Thin: the selection and the files come from `interview.interop`."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, render_template, request

from graders.topics import AREAS, TOPICS
from interview import cohorts
from interview.interop import exports, gradebook
from interview.models import utcnow
from interview.web import get_session
from interview.web.auth import instructor_required, login_required

bp = Blueprint("interop", __name__)


def _selection() -> exports.Selection:
    area = request.args.get("area") or None
    topic = request.args.get("topic") or None
    if area is not None and area not in AREAS:
        abort(400, f"There is no area '{area[:40]}'.")
    if topic is not None and topic not in TOPICS:
        abort(400, f"There is no topic '{topic[:40]}'.")
    return exports.Selection(area=area, topic=topic)


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/export")
@login_required
def export_page() -> Any:
    return render_template("interop/export.html", areas=AREAS, topics=TOPICS)


@bp.get("/export/anki")
@login_required
def anki_deck() -> Response:
    """The learner's selection (area, topic, all or only what is due for them) as an .apkg."""
    selection = _selection()
    if request.args.get("scope") == "due":
        selection.due_for = g.user
    name = "interview" + "".join(f" - {p}" for p in (selection.area, selection.topic) if p)
    result = exports.export_file(get_session(), "anki", selection, deck_name=name)
    return _download(result.data, "application/apkg", "interview.apkg")


@bp.get("/instructor/export/moodle")
@instructor_required
def moodle_file() -> Response:
    """Questions as Moodle XML; what cannot be expressed is listed as comments in the file."""
    selection = _selection()
    if request.args.get("scope") == "mine":
        selection.author = g.user
    result = exports.export_file(get_session(), "moodle", selection)
    return _download(result.data, "application/xml", "questions-moodle.xml")


@bp.get("/instructor/cohorts/<int:cohort_id>/gradebook.<fmt>")
@instructor_required
def cohort_gradebook(cohort_id: int, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    db = get_session()
    try:
        cohort = cohorts.owned(db, g.user, cohort_id)
    except cohorts.CohortError as exc:
        abort(exc.status, str(exc))
    book = gradebook.build(db, cohort, utcnow())
    filename = f"gradebook-{cohort.id}.{fmt}"
    if fmt == "csv":
        return _download(gradebook.to_csv(book), "text/csv; charset=utf-8", filename)
    return _download(gradebook.to_xlsx(book, cohort.name),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename)
