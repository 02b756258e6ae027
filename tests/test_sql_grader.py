"""The `sql` kind: right, equivalent, wrong, malformed and hostile queries."""
from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

import graders
from graders import sql
from interview import bank




DAU = """\
id: daily-active-users
title: Daily active users from an event log
area: coding
topics: [sql]
difficulty: 2
kind: sql
time_limit: 600
prompt: Return each day (`day`, as `YYYY-MM-DD`) with its number of distinct active users (`dau`), oldest first.
answer:
  schema: |
    CREATE TABLE events (user_id INTEGER NOT NULL, event TEXT NOT NULL, ts TEXT NOT NULL);
  rows:
    events:
      - [1, "click", "2024-03-01 10:00:00"]
      - [1, "view", "2024-03-01 11:00:00"]
      - [2, "click", "2024-03-01 12:00:00"]
      - [2, "click", "2024-03-02 09:30:00"]
  hidden_rows:
    events:
      - [7, "click", "2024-04-01 00:00:01"]
      - [8, "click", "2024-04-01 23:59:59"]
      - [7, "view", "2024-04-03 08:00:00"]
  reference: |
    SELECT date(ts) AS day, COUNT(DISTINCT user_id) AS dau
    FROM events GROUP BY date(ts) ORDER BY day
  ordered: %s
explanation: "Group by the calendar day and count distinct users, not events."
"""


def load(ordered: bool = True):
    q = bank.load_text(DAU % ("true" if ordered else "false"))
    return q, graders.instantiate(q, 1)


def grade(answer: str, ordered: bool = True) -> graders.Grade:
    q, v = load(ordered)
    return graders.grade(q, v, answer)


pytestmark = pytest.mark.sandbox


def test_reference_and_equivalent_queries() -> None:
    q, v = load()
    assert graders.grade(q, v, graders.reference_answer(q, v)).score == 1.0
    g = grade("select substr(ts, 1, 10) as day, count(distinct user_id) as dau from events group by 1 order by 1;")
    assert (g.score, g.verdict) == (1.0, "correct"), g.feedback
    g = grade("SELECT d, COUNT(*) FROM (SELECT DISTINCT date(ts) AS d, user_id FROM events) GROUP BY d ORDER BY d")
    assert g.score == 1.0 and any("named" in f for f in g.feedback)  # different names: a note, no deduction
    assert v.data["rows"]["events"][0] == [1, "click", "2024-03-01 10:00:00"] and v.data["hidden"] is True


def test_order_matters_only_when_the_question_says_so() -> None:
    desc = "select date(ts) day, count(distinct user_id) dau from events group by 1 order by 1 desc"
    g = grade(desc)
    assert g.score == 0.0 and "wrong order" in g.feedback[1]
    assert grade(desc, ordered=False).score == 1.0


def test_wrong_results_are_explained() -> None:
    g = grade("select date(ts) day, count(*) dau from events group by 1 order by 1")
    assert g.score == 0.0 and g.details["status"] == "wrong_answer"
    assert "Missing rows, e.g. ('2024-03-01', 2)" in " ".join(g.feedback)
    assert "Unexpected rows, e.g. ('2024-03-01', 3)" in " ".join(g.feedback)
    g = grade("select date(ts) from events group by 1")
    assert "returns 1 column(s) (date(ts)); expected 2 (day, dau)" in g.feedback[1]
    g = grade("select date(ts) day, 1 dau from events group by 1 order by 1 limit 1")
    assert "returns 1 row(s); expected 2" in " ".join(g.feedback)


def test_hidden_rows_catch_a_query_fitted_to_the_sample() -> None:
    g = grade("select '2024-03-01' day, 2 dau union all select '2024-03-02', 1")
    assert g.verdict == "partial" and g.score == sql.PARTIAL_HIDDEN
    assert "hidden data set" in g.feedback[0] and "2024-04" not in " ".join(g.feedback)


def test_malformed_queries() -> None:
    assert grade("   ;").verdict == "invalid"
    g = grade("selec day from events")
    assert g.score == 0.0 and "syntax error" in g.feedback[0]
    g = grade("select nope from events")
    assert "no such column: nope" in g.feedback[0]
    assert grade("select 1; select 2").verdict == "invalid"


@pytest.mark.parametrize("query", [
    "delete from events",
    "insert into events values (1, 'x', 'y')",
    "drop table events",
    "create table t (x)",
    "attach database '/etc/passwd' as p",
    "pragma query_only = off",
    "update events set user_id = 0",
    "select load_extension('/usr/lib/x86_64-linux-gnu/libc.so.6')",
])
def test_writes_attach_and_pragma_are_blocked(query: str) -> None:
    g = grade(query)
    assert g.score == 0.0 and g.verdict in ("invalid", "incorrect"), g.feedback
    assert g.details.get("status") in ("blocked", "runtime_error")


def test_runaway_queries_end_quickly() -> None:
    start = time.perf_counter()
    g = grade("with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c")
    assert g.score == 0.0 and "longer than" in g.feedback[0]
    assert time.perf_counter() - start < sql.TIME_LIMIT + 2
    g = grade("with recursive c(x) as (select 1 union all select x + 1 from c limit 20000) select x, x from c")
    assert "more than" in g.feedback[0]
    g = grade("select randomblob(1000000000)")
    assert g.score == 0.0


def test_question_validation_runs_the_reference() -> None:
    good = {"schema": "CREATE TABLE t (x INTEGER);", "rows": {"t": [[1], [2]]}, "reference": "SELECT x FROM t"}
    assert sql.Answer.model_validate(good).ordered is False
    with pytest.raises(ValidationError, match="schema does not load"):
        sql.Answer.model_validate(good | {"schema": "CREATE TABEL t (x);"})
    with pytest.raises(ValidationError, match="reference query fails"):
        sql.Answer.model_validate(good | {"reference": "SELECT y FROM t"})
    with pytest.raises(ValidationError, match="do not load"):
        sql.Answer.model_validate(good | {"rows": {"t": [[1, 2]]}})
    with pytest.raises(ValidationError, match="different lengths"):
        sql.Answer.model_validate(good | {"rows": {"t": [[1], [1, 2]]}})


def test_compare_treats_numbers_by_value() -> None:
    assert sql.compare(["a"], [[2.0], [0.1 + 0.2]], ("a",), ((2,), (0.3,)), ordered=True) == []
    assert sql.compare(["a"], [[1], [1]], ("a",), ((1,),), ordered=False)  # multisets: duplicates count


# --- the question's own SQL is untrusted too (issue 13 item 2) --------------------------------

def _question(schema: str, reference: str = "SELECT x FROM t") -> str:
    indent = lambda text: "\n".join("    " + line for line in text.splitlines())  # noqa: E731
    return (DAU % "false").replace(
        "  schema: |\n    CREATE TABLE events (user_id INTEGER NOT NULL, event TEXT NOT NULL, ts TEXT NOT NULL);\n",
        "  schema: |\n" + indent(schema) + "\n").replace(
        "  reference: |\n    SELECT date(ts) AS day, COUNT(DISTINCT user_id) AS dau\n    FROM events GROUP BY date(ts) ORDER BY day\n",
        "  reference: |\n" + indent(reference) + "\n").replace("      - [", "      - [").replace(
        "  rows:\n    events:\n", "  rows:\n    t:\n").replace("  hidden_rows:\n    events:\n", "  hidden_rows:\n    t:\n")


def _problems(text: str) -> list[str]:
    from interview import authoring
    item, problems = authoring.check(text, seeds=1)
    return [f"{p.field}: {p.message}" for p in problems]


def test_instructor_schema_cannot_attach_the_app_database(session, sqlite_url: str) -> None:
    """The editor's check of a schema that ATTACHes the app's SQLite file and rewrites a
    password hash: refused, the database untouched, the error names the field."""
    import hashlib
    from pathlib import Path
    from interview import accounts
    from interview.models import User
    user = accounts.create_user(session, "victim", "correct horse battery")
    before = user.password_hash
    db_path = sqlite_url.removeprefix("sqlite:///")
    digest = hashlib.sha256(Path(db_path).read_bytes()).hexdigest()
    schema = (f"CREATE TABLE t (x INTEGER, y TEXT, z TEXT);\nATTACH DATABASE '{db_path}' AS app;\n"
              "UPDATE app.user SET password_hash = 'pwned';")
    problems = _problems(_question(schema))
    assert problems and any("schema" in p and "not allowed" in p for p in problems), problems
    session.expire_all()
    assert session.get(User, user.id).password_hash == before
    assert hashlib.sha256(Path(db_path).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("how", ["attach", "vacuum", "pragma"])
def test_instructor_schema_cannot_create_files(how: str) -> None:
    import os
    import tempfile
    outside = tempfile.mkdtemp(prefix="sql-outside-")
    os.chmod(outside, 0o777)
    target = os.path.join(outside, "made.db")
    schema = {"attach": f"CREATE TABLE t (x INTEGER, y TEXT, z TEXT);\nATTACH DATABASE '{target}' AS e;\n"
                        "CREATE TABLE e.stolen (x);",
              "vacuum": f"CREATE TABLE t (x INTEGER, y TEXT, z TEXT);\nVACUUM INTO '{target}';",
              "pragma": f"PRAGMA temp_store_directory = '{outside}';\nCREATE TEMP TABLE big AS SELECT 1;\n"
                        "CREATE TABLE t (x INTEGER, y TEXT, z TEXT);"}[how]
    problems = _problems(_question(schema))
    assert problems and any(p.startswith("answer: schema") for p in problems), problems
    assert os.listdir(outside) == []


def test_harmless_pragmas_still_load() -> None:
    problems = _problems(_question("PRAGMA foreign_keys = ON;\nCREATE TABLE t (x INTEGER, y TEXT, z TEXT);"))
    assert problems == []


def test_endless_recursive_reference_is_stopped_quickly() -> None:
    endless = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c"
    start = time.perf_counter()
    problems = _problems(_question("CREATE TABLE t (x INTEGER, y TEXT, z TEXT);", endless))
    assert time.perf_counter() - start < 10
    assert any("reference" in p and f"stopped after {sql.TIME_LIMIT:g} s" in p for p in problems), problems


def test_endless_schema_is_stopped_too() -> None:
    endless = ("CREATE TABLE t AS WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) "
               "SELECT n AS x, '' AS y, '' AS z FROM c;")
    start = time.perf_counter()
    problems = _problems(_question(endless))
    assert time.perf_counter() - start < 10
    assert any("schema" in p and "stopped after" in p or "memory" in p for p in problems), problems


def test_loading_a_bank_runs_its_sql_in_one_sandbox_run(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid
    calls: list[int] = []
    real = sql.run_batch
    monkeypatch.setattr(sql, "run_batch", lambda items: calls.append(len(items)) or real(items))
    for i in range(3):
        tag = uuid.uuid4().hex[:8]  # fresh SQL: nothing remembered from other tests
        text = (DAU % "true").replace("daily-active-users", f"daily-active-users-{i}").replace(
            "AS dau\n", f"AS dau, '{tag}' AS tag\n")
        (tmp_path / f"daily-active-users-{i}.yaml").write_text(text)
    loaded, problems = bank.load_bank([tmp_path])
    assert len(loaded) == 3 and not problems
    assert calls == [3]
