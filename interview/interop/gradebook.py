"""A cohort's gradebook: one row per learner, a column per assigned mock, their other mocks, and
mastery per area, as CSV or XLSX (openpyxl) for the course platform's grade import.

Learner names are untrusted and the file is opened in a spreadsheet: a cell that would start
a formula (`=`, `+`, `-`, `@`, tab, CR) is written as text (CSV: a leading apostrophe, the OWASP
advice; XLSX: a string cell), so a name can never run as a formula.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session, select

from graders.topics import AREAS
from interview import cohorts, mastery
from interview.models import Cohort, CohortAssignment, MockInterview, User

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Gradebook:
    header: list[str]
    rows: list[list[Any]]  # numbers are percentages (0-100, one decimal) or None when not sat


def build(session: Session, cohort: Cohort, now: datetime) -> Gradebook:
    """The cohort's learners by name: assigned mocks (the latest submitted sitting), other
    mocks (count and mean), overall and per-area mastery today, in percent."""
    assignments = list(session.exec(select(CohortAssignment).where(CohortAssignment.cohort_id == cohort.id)
                                    .order_by(CohortAssignment.due, CohortAssignment.id)).all())
    area_names = list(AREAS)
    header = ["learner"] + [f"{a.format_slug} (due {a.due:%Y-%m-%d}) %" for a in assignments]
    header += ["other mocks", "other mocks mean %", "mastery %"] + [f"mastery {a} %" for a in area_names]
    rows: list[list[Any]] = []
    users = [u for u in (session.get(User, uid) for uid in cohorts.member_ids(session, cohort)) if u is not None]
    for user in sorted(users, key=lambda u: u.name.lower()):
        mocks = list(session.exec(select(MockInterview).where(MockInterview.user_id == user.id,
                                                              MockInterview.status == "submitted")
                                  .order_by(MockInterview.started_at)).all())
        assigned_ids = {a.id for a in assignments}
        row: list[Any] = [user.name]
        for a in assignments:
            sat = [m for m in mocks if m.assignment_id == a.id]
            row.append(_pct(sat[-1].score) if sat else None)
        other = [m.score or 0.0 for m in mocks if m.assignment_id not in assigned_ids]
        row += [len(other), _pct(sum(other) / len(other)) if other else None]
        report = mastery.mastery_report(session, user, now)
        by_area = {a.area: a.today for a in report.areas}
        row.append(_pct(report.overall_today))
        row += [_pct(by_area[a]) if a in by_area else None for a in area_names]
        rows.append(row)
    return Gradebook(header, rows)


def _pct(score: Optional[float]) -> Optional[float]:
    return None if score is None else round(100 * score, 1)


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(book: Gradebook) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(book.header)
    for row in book.rows:
        writer.writerow(["" if v is None else _safe(v) for v in row])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8 names right


def to_xlsx(book: Gradebook, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "".join(c for c in title if c not in "[]:*?/\\")[:31] or "gradebook"
    ws.append(book.header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(book.rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the name starts with
    ws.freeze_panes = "B2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
