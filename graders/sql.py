"""`sql` questions: a single read-only query against fixture tables in SQLite.

The learner's query runs in the sandbox, on an in-memory SQLite built from the question's
schema and rows, under an authorizer that allows only reading (no writes, ATTACH, PRAGMA),
`PRAGMA query_only`, a progress-handler deadline and a row cap. The reference query is the
author's, so it runs here in-process on its own in-memory database (also at load time, to
check that the schema, rows and reference work). Result sets are compared here, as
multisets unless the question says order matters, on the fixture rows and on `hidden_rows`.
"""
from __future__ import annotations

import json
import re
import sqlite3
import time
from collections import Counter
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from graders import sandbox
from graders.types import Grade, Variant

if TYPE_CHECKING:
    from graders.question import Question

MAX_QUERY_CHARS = 20_000
MAX_ROWS = 10_000
TIME_LIMIT = 2.0  # seconds per data set
SAMPLES = 3
PARTIAL_HIDDEN = 0.5
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Runs inside the sandbox (as `python3 -c`). Reads the job on stdin, reports on fd argv[1].
HARNESS = r'''
import json, os, sqlite3, sys, time
job = json.loads(sys.stdin.buffer.read())
fd = int(sys.argv[1])
ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
def authorizer(action, a, b, db, trigger):
    if action in ALLOWED and not (action == sqlite3.SQLITE_FUNCTION and (b or "").lower() == "load_extension"):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY
def cell(v):
    if isinstance(v, bytes):
        return {"__blob__": v.hex()[:200]}
    return v
out = []
for rows in job["datasets"]:
    con = sqlite3.connect(":memory:")
    con.executescript(job["schema"])
    for table, data in rows.items():
        if data:
            marks = ",".join("?" * len(data[0]))
            con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', data)
    con.commit()
    con.execute("PRAGMA query_only = ON")
    con.set_authorizer(authorizer)
    deadline = time.monotonic() + job["time_limit"]
    con.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
    try:
        cur = con.execute(job["query"])
        got = cur.fetchmany(job["max_rows"] + 1)
        cols = [d[0] for d in cur.description or []]
        if len(got) > job["max_rows"]:
            out.append({"status": "too_many_rows"})
        else:
            out.append({"status": "ok", "columns": cols, "rows": [[cell(v) for v in r] for r in got]})
    except sqlite3.Warning as exc:
        out.append({"status": "multiple", "message": str(exc)})
    except sqlite3.ProgrammingError as exc:
        out.append({"status": "multiple" if "one statement" in str(exc) else "error", "message": str(exc)})
    except sqlite3.DatabaseError as exc:
        msg = str(exc)
        status = ("timeout" if msg == "interrupted" else "blocked" if "not authorized" in msg
                  or "readonly" in msg.replace("-", "") or "query_only" in msg else "error")
        out.append({"status": status, "message": msg})
    except MemoryError:
        out.append({"status": "memory"})
    con.close()
    if out[-1]["status"] != "ok":
        break
data = json.dumps({"nonce": job["nonce"], "results": out}).encode()
view = memoryview(data)
while view:
    view = view[os.write(fd, view):]
'''


Rows = dict[str, list[list[Any]]]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_sql: str = Field(alias="schema", min_length=10)
    rows: Rows = Field(default_factory=dict)
    hidden_rows: Rows | None = None
    reference: str = Field(min_length=6)
    ordered: bool = False

    @field_validator("rows", "hidden_rows")
    @classmethod
    def _tables(cls, v: Rows | None) -> Rows | None:
        for table, data in (v or {}).items():
            if not _IDENT.match(table):
                raise ValueError(f"table name '{table}' must be a plain identifier")
            widths = {len(r) for r in data}
            if len(widths) > 1:
                raise ValueError(f"rows of table '{table}' have different lengths {sorted(widths)}")
        return v

    @model_validator(mode="after")
    def _loads_and_runs(self) -> "Answer":
        """Cheap and safe: author SQL on an in-memory SQLite, in-process, with a deadline."""
        for label, rows in (("rows", self.rows), ("hidden_rows", self.hidden_rows)):
            if rows is None:
                continue
            try:
                reference_result(self.schema_sql, _freeze(rows), self.reference)
            except SetupError as exc:
                raise ValueError(f"{label}: {exc}") from None
        return self

    @property
    def datasets(self) -> list[Rows]:
        return [self.rows] + ([self.hidden_rows] if self.hidden_rows is not None else [])


class SetupError(ValueError):
    pass


def _freeze(rows: Rows) -> str:
    return json.dumps(rows, sort_keys=True)


@lru_cache(maxsize=256)
def reference_result(schema: str, rows_json: str, reference: str) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
    """(column names, rows) of the reference query; cached since questions are immutable."""
    rows: Rows = json.loads(rows_json)
    con = sqlite3.connect(":memory:")
    try:
        try:
            con.executescript(schema)
        except sqlite3.Error as exc:
            raise SetupError(f"the schema does not load: {exc}") from None
        for table, data in rows.items():
            if not data:
                continue
            try:
                con.executemany(f'INSERT INTO "{table}" VALUES ({",".join("?" * len(data[0]))})', data)
            except sqlite3.Error as exc:
                raise SetupError(f"rows for table '{table}' do not load: {exc}") from None
        deadline = time.monotonic() + 5
        con.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
        try:
            cur = con.execute(reference)
            got = cur.fetchmany(MAX_ROWS + 1)
        except sqlite3.Error as exc:
            raise SetupError(f"the reference query fails: {exc}") from None
        if len(got) > MAX_ROWS:
            raise SetupError(f"the reference query returns more than {MAX_ROWS} rows")
        cols = tuple(d[0] for d in cur.description or [])
        return cols, tuple(tuple({"__blob__": v.hex()[:200]} if isinstance(v, bytes) else v for v in r) for r in got)
    finally:
        con.close()


def prepare(question: "Question", params: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    spec: Answer = question.spec
    return {"schema": spec.schema_sql, "rows": spec.rows, "ordered": spec.ordered,
            "hidden": spec.hidden_rows is not None}


def reference_answer(question: "Question", variant: Variant) -> str:
    return question.spec.reference


# --- comparison -------------------------------------------------------------------------------

def _cell(v: Any) -> Any:
    """Numbers compare by value (2 == 2.0) and floats to 9 significant digits."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        if v.is_integer():
            return int(v)
        return float(f"{v:.9g}")
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return v


def _row(r: Any) -> tuple[Any, ...]:
    return tuple(_cell(v) for v in r)


def _show_row(r: tuple[Any, ...]) -> str:
    return "(" + ", ".join(repr(v) for v in r) + ")"


def compare(got_cols: list[str], got_rows: list[list[Any]], exp_cols: tuple[str, ...],
            exp_rows: tuple[tuple[Any, ...], ...], ordered: bool, show_rows: bool = True) -> list[str]:
    """Problems with a result set; an empty list means it matches."""
    if len(got_cols) != len(exp_cols):
        return [f"Your query returns {len(got_cols)} column(s) ({', '.join(got_cols)}); expected "
                f"{len(exp_cols)} ({', '.join(exp_cols)})."]
    got = [_row(r) for r in got_rows]
    exp = [_row(r) for r in exp_rows]
    problems = []
    if len(got) != len(exp):
        problems.append(f"Your query returns {len(got)} row(s); expected {len(exp)}.")
    gc, ec = Counter(got), Counter(exp)
    if gc != ec:
        missing = list((ec - gc).elements())
        extra = list((gc - ec).elements())
        if show_rows:
            if missing:
                problems.append("Missing rows, e.g. " + "; ".join(_show_row(r) for r in missing[:SAMPLES]) + ".")
            if extra:
                problems.append("Unexpected rows, e.g. " + "; ".join(_show_row(r) for r in extra[:SAMPLES]) + ".")
        elif not problems:
            problems.append(f"{len(missing)} expected row(s) are missing and {len(extra)} are not expected.")
    elif ordered and got != exp:
        first = next(i for i, (a, b) in enumerate(zip(got, exp)) if a != b)
        msg = "The rows are right but in the wrong order"
        if show_rows:
            msg += f": row {first + 1} is {_show_row(got[first])}, expected {_show_row(exp[first])}"
        problems.append(msg + ".")
    return problems


def _clean(query: str) -> str:
    q = query.strip()
    while q.endswith(";"):
        q = q[:-1].rstrip()
    return q


def grade(question: "Question", variant: Variant, answer: str) -> Grade:
    spec: Answer = question.spec
    query = _clean(answer)
    if not query:
        return Grade.invalid("The answer is empty: write one SELECT query.")
    if len(query) > MAX_QUERY_CHARS:
        return Grade.invalid(f"The query is too long ({len(query):,} characters).")
    nonce = sandbox.new_nonce()
    datasets = spec.datasets
    job = {"nonce": nonce, "schema": spec.schema_sql, "datasets": datasets, "query": query,
           "time_limit": TIME_LIMIT, "max_rows": MAX_ROWS}
    limits = sandbox.Limits(wall_seconds=3.0 + TIME_LIMIT * len(datasets), cpu_seconds=int(2 + TIME_LIMIT * len(datasets)),
                            memory_mb=512, output_bytes=64 * 1024)
    result = sandbox.run(HARNESS, stdin=json.dumps(job).encode(), limits=limits, report=True)
    if result.status == "blocked":
        return Grade.invalid(result.message)
    report = None
    try:
        data = json.loads(result.report) if result.report else None
        if isinstance(data, dict) and data.get("nonce") == nonce:
            report = data["results"]
    except ValueError:
        report = None
    if report is None:
        reason = {"timeout": "it took too long", "memory_limit": "it ran out of memory",
                  "output_limit": "its output was too large"}.get(result.status, "the query run failed")
        return Grade.from_score(0.0, [f"Your query could not be checked: {reason}."], status=result.status)
    first = report[0]
    status = first.get("status")
    if status == "multiple":
        return Grade.invalid("Write a single SQL statement (one SELECT query).", status="blocked")
    if status == "blocked":
        return Grade.invalid("Only a read-only query is allowed: no INSERT/UPDATE/DELETE, CREATE/DROP, ATTACH or PRAGMA.",
                             status="blocked")
    if status != "ok":
        msg = {"timeout": f"The query took longer than {TIME_LIMIT:g} s.",
               "too_many_rows": f"The query returns more than {MAX_ROWS:,} rows.",
               "memory": "The query ran out of memory."}.get(status, f"SQL error: {first.get('message', '')}.")
        return Grade.from_score(0.0, [msg], status={"timeout": "timeout", "memory": "memory_limit"}.get(status, "runtime_error"))
    exp_cols, exp_rows = reference_result(spec.schema_sql, _freeze(spec.rows), spec.reference)
    problems = compare(first["columns"], first["rows"], exp_cols, exp_rows, spec.ordered)
    details: dict[str, Any] = {"columns": first["columns"], "rows": first["rows"][:50], "row_count": len(first["rows"])}
    if problems:
        return Grade.from_score(0.0, ["Not quite."] + problems, status="wrong_answer", **details)
    feedback = ["Correct on the sample rows" + (" and on the hidden data set." if len(report) > 1 else ".")]
    score = 1.0
    if len(report) > 1:
        hidden = report[1]
        h_cols, h_rows = reference_result(spec.schema_sql, _freeze(spec.hidden_rows or {}), spec.reference)
        if hidden.get("status") != "ok":
            hidden_problems = [f"On the hidden data set the query failed ({hidden.get('status')})."]
        else:
            hidden_problems = compare(hidden["columns"], hidden["rows"], h_cols, h_rows, spec.ordered, show_rows=False)
        if hidden_problems:
            score = PARTIAL_HIDDEN
            feedback = ["Right on the sample rows, but not on the hidden data set: the query may rely on "
                        "something true only of the sample."] + hidden_problems
    if [c.lower() for c in first["columns"]] != [c.lower() for c in exp_cols]:
        feedback.append(f"Note: your columns are named {', '.join(first['columns'])}; the reference names them "
                        f"{', '.join(exp_cols)}.")
    return Grade.from_score(score, feedback, status="passed" if score == 1.0 else "wrong_answer", **details)
