"""The progress dashboard: mastery, reviews per day, the due forecast, mock history."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template

from interview import mastery, stats
from interview.models import utcnow
from interview.web import get_session
from interview.web.auth import login_required

bp = Blueprint("progress", __name__, url_prefix="/progress")


@bp.get("/")
@login_required
def dashboard() -> Any:
    db, now = get_session(), utcnow()
    return render_template(
        "progress/dashboard.html",
        mastery=mastery.mastery_report(db, g.user, now),
        reviews=stats.reviews_per_day(db, g.user, now),
        forecast=mastery.due_forecast(db, g.user, now, days=30),
        mocks=stats.mock_trend(db, g.user),
    )
