"""`sql` questions: a single read-only query against fixture tables in SQLite.

The learner's query runs in the sandbox, on an in-memory SQLite built from the question's
schema and rows, under an authorizer that allows only reading (no writes, ATTACH, PRAGMA),
`PRAGMA query_only`, a progress-handler deadline and a row cap. The question's own SQL
(schema, rows, reference) is untrusted input too (an instructor writes it in the browser):
it runs in the same sandbox with the same time and memory limits, never in the web process,
with ATTACH/DETACH, PRAGMA and load_extension refused; it runs once when the question is
loaded or checked (one sandbox run for both data sets), and the reference's results are
kept for grading. Result sets are compared here, as multisets unless the question says
order matters, on the fixture rows and on `hidden_rows`.
"""
from __future__ import annotations

import json
import re
from collections import Counter
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
# Every piece of question-supplied SQL (schema, rows, reference) and the learner's query run
# here, never in the web process: on an in-memory SQLite per data set, with no database to
# attach (SQLITE_LIMIT_ATTACHED = 0, ATTACH/DETACH denied), no PRAGMA but four harmless ones
# (foreign keys, triggers, LIKE), no load_extension, and
# a deadline on everything (schema and query alike). The query itself runs read-only.
HARNESS = r"""
import json, os, sqlite3, sys, time
job = json.loads(sys.stdin.buffer.read())
fd = int(sys.argv[1])
READ = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
NEVER = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}
SAFE_PRAGMAS = {"foreign_keys", "defer_foreign_keys", "recursive_triggers", "case_sensitive_like"}
def setup_authorizer(action, a, b, db, trigger):
    if action in NEVER or (action == sqlite3.SQLITE_FUNCTION and (b or "").lower() == "load_extension"):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and (a or "").lower() not in SAFE_PRAGMAS:
        return sqlite3.SQLITE_DENY  # no pragma that touches files, memory or the database's shape
    return sqlite3.SQLITE_OK
def read_authorizer(action, a, b, db, trigger):
    if action in READ and not (action == sqlite3.SQLITE_FUNCTION and (b or "").lower() == "load_extension"):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY
def cell(v):
    if isinstance(v, bytes):
        return {"__blob__": v.hex()[:200]}
    return v
def failed(phase, exc):
    msg = str(exc)
    status = ("timeout" if msg == "interrupted" else "blocked" if "not authorized" in msg
              or "too many attached" in msg or "readonly" in msg.replace("-", "") or "query_only" in msg else "error")
    if isinstance(exc, sqlite3.Warning) or "one statement" in msg:
        status = "multiple"
    return {"status": status, "phase": phase, "message": msg[:300]}
def run_one(schema, rows, query):
    con = sqlite3.connect(":memory:")
    try:
        con.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        con.set_authorizer(setup_authorizer)
        deadline = time.monotonic() + job["time_limit"]
        con.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
        try:
            con.executescript(schema)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            return failed("schema", exc)
        for table, data in rows.items():
            if data:
                marks = ",".join("?" * len(data[0]))
                try:
                    con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', data)
                except (sqlite3.Error, sqlite3.Warning) as exc:
                    return dict(failed("rows", exc), table=table)
        con.commit()
        con.set_authorizer(None)  # the harness's own pragma, then only reading
        con.execute("PRAGMA query_only = ON")
        con.set_authorizer(read_authorizer)
        try:
            cur = con.execute(query)
            got = cur.fetchmany(job["max_rows"] + 1)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            return failed("query", exc)
        cols = [d[0] for d in cur.description or []]
        if len(got) > job["max_rows"]:
            return {"status": "too_many_rows", "phase": "query"}
        return {"status": "ok", "columns": cols, "rows": [[cell(v) for v in r] for r in got]}
    except MemoryError:
        return {"status": "memory", "phase": "query"}
    finally:
        con.close()
out = []
for item in job["items"]:
    results = []
    for rows in item["datasets"]:
        results.append(run_one(item["schema"], rows, item["query"]))
        if results[-1]["status"] != "ok" and not item.get("all"):
            break
    out.append(results)
data = json.dumps({"nonce": job["nonce"], "results": out}).encode()
view = memoryview(data)
while view:
    view = view[os.write(fd, view):]
"""


def run_batch(items: list[dict[str, Any]]) -> tuple[sandbox.Result, list[list[dict[str, Any]]] | None]:
    """One sandbox run for several (schema, datasets, query) items: a result per data set each.

    An item with `all` set runs every data set even after one fails (author checks)."""
    nonce = sandbox.new_nonce()
    job = {"nonce": nonce, "items": items, "time_limit": TIME_LIMIT, "max_rows": MAX_ROWS}
    runs = sum(len(i["datasets"]) for i in items)
    limits = sandbox.Limits(wall_seconds=3.0 + TIME_LIMIT * runs, cpu_seconds=int(2 + TIME_LIMIT * runs),
                            memory_mb=512, output_bytes=64 * 1024)
    result = sandbox.run(HARNESS, stdin=json.dumps(job).encode(), limits=limits, report=True)
    try:
        data = json.loads(result.report) if result.report else None
        if isinstance(data, dict) and data.get("nonce") == nonce and len(data.get("results", [])) == len(items):
            return result, data["results"]
    except ValueError:
        pass
    return result, None


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
        """The schema, rows and reference run in the sandbox (one run for both data sets),
        under the learners' limits; the results are kept for grading."""
        try:
            check_reference(self.schema_sql, self.datasets, self.reference)
        except SetupError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def datasets(self) -> list[Rows]:
        return [self.rows] + ([self.hidden_rows] if self.hidden_rows is not None else [])


class SetupError(ValueError):
    pass


def _freeze(rows: Rows) -> str:
    return json.dumps(rows, sort_keys=True)


_REFERENCE: dict[tuple[str, str, str], tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]] = {}
_REFERENCE_CAP = 1024
_PHASE = {"schema": "schema", "rows": "rows", "query": "reference"}


def _setup_problem(r: dict[str, Any], label: str) -> str:
    """What went wrong with the author's SQL, starting with the field to fix."""
    phase = r.get("phase", "query")
    field = _PHASE.get(phase, "reference")
    where = f" ({label})" if label != "rows" else ""
    status, msg = r.get("status"), r.get("message", "")
    if status == "timeout":
        return f"{field}{where}: stopped after {TIME_LIMIT:g} s (the learners' time limit); is a recursive query endless?"
    if status == "memory":
        return f"{field}{where}: ran out of memory (the learners' limit)"
    if status == "too_many_rows":
        return f"reference{where}: the query returns more than {MAX_ROWS} rows"
    if status == "blocked" and phase != "query":
        return (f"{field}{where}: not allowed: question SQL runs on its own in-memory database; "
                f"ATTACH, DETACH, load_extension and PRAGMA (but foreign_keys, defer_foreign_keys, "
                f"recursive_triggers, case_sensitive_like) are refused ({msg})")
    if status == "blocked":
        return f"reference{where}: the reference must be a read-only query ({msg})"
    if status == "multiple":
        return f"reference{where}: write a single SQL statement"
    if phase == "schema":
        return f"schema: the schema does not load: {msg}"
    if phase == "rows":
        return f"{label}: rows for table '{r.get('table', '?')}' do not load: {msg}"
    return f"reference{where}: the reference query fails: {msg}"


def check_reference(schema: str, datasets: list[Rows], reference: str) -> None:
    """Run the schema, rows and reference query for every data set in one sandbox run; remember
    the results for grading. Raises SetupError naming the field when any of it fails.

    Without a sandbox here (no bubblewrap), nothing is run and nothing is raised: learners'
    queries cannot be graded there either, and say so."""
    keys = [(schema, _freeze(rows), reference) for rows in datasets]
    if all(k in _REFERENCE for k in keys):
        return
    item = {"schema": schema, "datasets": datasets, "query": _clean(reference), "all": True}
    result, report = run_batch([item])
    if result.status == "blocked":
        return
    if report is None:
        why = {"timeout": f"stopped after {result.wall_time:.0f} s", "memory_limit": "ran out of memory"}.get(
            result.status, result.message or "the run failed")
        raise SetupError(f"schema/reference: the question's SQL could not be run: {why}")
    labels = ["rows", "hidden_rows"]
    for i, (key, r) in enumerate(zip(keys, report[0])):
        if r.get("status") != "ok":
            raise SetupError(_setup_problem(r, labels[min(i, 1)]))
        if len(_REFERENCE) >= _REFERENCE_CAP:
            _REFERENCE.clear()
        _REFERENCE[key] = (tuple(r["columns"]), tuple(tuple(row) for row in r["rows"]))


def prefetch(answers: list[dict[str, Any]]) -> None:
    """Run many questions' SQL in one sandbox run (loading a whole bank): what runs cleanly is
    remembered, so each question's own check finds it; anything else is left to that check,
    which runs the question alone and reports the field to fix."""
    items, keys = [], []
    for raw in answers:
        try:
            schema, reference = raw["schema"], raw["reference"]
            datasets = [raw.get("rows") or {}] + ([raw["hidden_rows"]] if raw.get("hidden_rows") is not None else [])
            ds_keys = [(schema, _freeze(rows), reference) for rows in datasets]
        except (KeyError, TypeError, ValueError):
            continue
        if isinstance(schema, str) and isinstance(reference, str) and not all(k in _REFERENCE for k in ds_keys):
            items.append({"schema": schema, "datasets": datasets, "query": _clean(reference), "all": True})
            keys.append(ds_keys)
    if not items:
        return
    _result, report = run_batch(items)
    for ds_keys, results in zip(keys, report or []):
        if len(results) == len(ds_keys) and all(r.get("status") == "ok" for r in results):
            for key, r in zip(ds_keys, results):
                _REFERENCE[key] = (tuple(r["columns"]), tuple(tuple(row) for row in r["rows"]))


def reference_result(schema: str, rows_json: str, reference: str) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
    """(column names, rows) of the reference query on one data set, run in the sandbox once."""
    key = (schema, rows_json, reference)
    if key not in _REFERENCE:
        check_reference(schema, [json.loads(rows_json)], reference)
    if key not in _REFERENCE:
        raise SetupError("reference: the question's SQL cannot be run here (no sandbox)")
    return _REFERENCE[key]


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
    datasets = spec.datasets
    result, batch = run_batch([{"schema": spec.schema_sql, "datasets": datasets, "query": query}])
    if result.status == "blocked":
        return Grade.invalid(result.message)
    report = batch[0] if batch else None
    if not report:
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
    try:
        exp_cols, exp_rows = reference_result(spec.schema_sql, _freeze(spec.rows), spec.reference)
        if len(report) > 1:
            h_cols, h_rows = reference_result(spec.schema_sql, _freeze(spec.hidden_rows or {}), spec.reference)
    except SetupError as exc:  # e.g. the sandbox was too busy to run the reference just now
        return Grade.invalid(f"The question's reference could not be run, so the query was not graded: {exc}")
    problems = compare(first["columns"], first["rows"], exp_cols, exp_rows, spec.ordered)
    details: dict[str, Any] = {"columns": first["columns"], "rows": first["rows"][:50], "row_count": len(first["rows"])}
    if problems:
        return Grade.from_score(0.0, ["Not quite."] + problems, status="wrong_answer", **details)
    feedback = ["Correct on the sample rows" + (" and on the hidden data set." if len(report) > 1 else ".")]
    score = 1.0
    if len(report) > 1:
        hidden = report[1]
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
