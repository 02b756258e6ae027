"""Helpers for the grading-queue tests: a code and a SQL question with short sandbox limits, a
learner, and the answer form of a shown question."""
from __future__ import annotations

import time
from typing import Any, Callable

import sqlalchemy as sa
from sqlmodel import Session

from interview import accounts, bank
from interview.bank import LoadedQuestion
from interview.models import utcnow
from interview.sync import apply_question
from tests.test_web_app import csrf_of, field  # noqa: F401 - the one form reader, re-exported for the queue tests

CODE_ID = "queue-total"
SQL_ID = "queue-distinct-users"
CODE_YAML = f"""
id: {CODE_ID}
title: Sum a list
area: coding
topics: [arrays-strings]
difficulty: 1
kind: code
time_limit: 60
prompt: Write `total(nums)` that returns the sum of a list of integers.
answer:
  function: total
  reference: |
    def total(nums):
        return sum(nums)
  tests:
    visible:
      - {{args: [[1, 2, 3]], expected: 6}}
      - {{args: [[]], expected: 0}}
    hidden:
      - {{args: [[10, -10]], expected: 0}}
      - {{args: [[7, 7, 7]], expected: 21}}
  test_time_limit: 1
  memory_mb: 256
explanation: Accumulate in one pass; the built-in sum does it.
"""
SQL_YAML = f"""
id: {SQL_ID}
title: Distinct users
area: coding
topics: [sql]
difficulty: 1
kind: sql
time_limit: 60
prompt: "`events(user_id, event)`: return the number of distinct users as `users`."
answer:
  schema: |
    CREATE TABLE events (user_id INTEGER NOT NULL, event TEXT NOT NULL);
  rows:
    events:
      - [1, "click"]
      - [1, "view"]
      - [2, "click"]
  reference: SELECT COUNT(DISTINCT user_id) AS users FROM events
  ordered: false
explanation: COUNT(DISTINCT ...) counts users, not events.
"""
RIGHT = "def total(nums):\n    return sum(nums)\n"
WRONG = "def total(nums):\n    return 0\n"
FOREVER = "def total(nums):\n    while True:\n        pass\n"


def slow_right(seconds: float) -> str:
    """A right answer whose first test takes `seconds` (to kill a worker mid-run)."""
    return (f"import time\n_first = [True]\ndef total(nums):\n    if _first[0]:\n        _first[0] = False\n"
            f"        time.sleep({seconds})\n    return sum(nums)\n")


def seed_questions(engine: sa.Engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        for text in (CODE_YAML, SQL_YAML):
            q = bank.load_text(text, "<test>")
            apply_question(s, LoadedQuestion(q, text, None), utcnow(), origin="authored")
        s.commit()


def add_learner(engine: sa.Engine, name: str, role: str = "learner") -> None:
    with Session(engine, expire_on_commit=False) as s:
        accounts.create_user(s, name, f"{name} password!", role=role)


def sign_in(client: Any, name: str) -> None:
    page = client.get("/signin")
    resp = client.post("/signin", data={"csrf_token": csrf_of(page.data), "name": name, "password": f"{name} password!"})
    assert resp.status_code == 302, resp.data


def answer_form(client: Any, question_id: str = CODE_ID) -> dict[str, str]:
    page = client.get(f"/practice/q/{question_id}")
    assert page.status_code == 200, page.data
    return {"csrf_token": csrf_of(page.data), "token": field(page.data, "token"), "kind": "code"}


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
