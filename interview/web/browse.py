"""Browse the bank by area and topic, open a question, answer a fresh variant."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from graders.question import KINDS
from graders.topics import AREAS, TOPICS
from interview import catalog
from interview.web import get_session
from interview.web.auth import login_required

bp = Blueprint("browse", __name__, url_prefix="/questions")


def index() -> Response:
    """A local instance opens straight into practice."""
    return redirect(url_for("practice.today"))


@bp.get("/")
@login_required
def listing() -> str:
    from flask import g

    from interview import question_search
    from interview.models import utcnow

    try:
        filters = question_search.parse(request.args)
    except question_search.FilterError as exc:
        abort(400, str(exc))
    found = question_search.search(get_session(), g.user, filters, utcnow())
    raw_page = request.args.get("page", "1")
    shown, page, pages = question_search.page_of(found, int(raw_page) if raw_page.isdigit() else 1)
    return render_template("browse/list.html", found=found, shown=shown, page=page, pages=pages, filters=filters,
                           areas=AREAS, topics=TOPICS, kinds=KINDS, statuses=question_search.STATUSES)


@bp.route("/<question_id>", methods=["GET", "POST"])
@login_required
def question(question_id: str) -> str:
    try:
        row, spec = catalog.get(get_session(), question_id)
    except catalog.NotFound:
        abort(404, f"There is no question '{question_id}'.")
    grade = None
    answer = ""
    if request.method == "POST":
        try:
            seed = int(request.form.get("seed", ""))
        except ValueError:
            abort(400, "The form's seed is missing or not a number.")
        if not 0 <= seed < 2**31:
            abort(400, "The form's seed is out of range.")
        answer = _answer_from_form(spec.kind)
        variant, grade = catalog.grade_answer(spec, seed, answer)
    else:
        seed = catalog.new_seed()
        variant = catalog.variant_of(spec, seed)
    return render_template("browse/question.html", row=row, spec=spec, variant=variant, seed=seed,
                           grade=grade, answer=answer)


def _answer_from_form(kind: str) -> str:
    if kind == "multi":
        return ", ".join(request.form.getlist("answer"))
    return request.form.get("answer", "")
