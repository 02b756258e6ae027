"""The jobs the grading queue runs: every sandboxed run of the app, as idempotent functions over
the database (each opens its own session; a job delivered twice must not write twice).

Graders stay pure: these functions load what a grader needs, call `graders.grade`, and write
or return the result. Registered by name with `grading_queue.job`.
"""
from __future__ import annotations

import base64
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

import graders
from graders import Question as QuestionSpec
from interview import authoring, catalog, practice
from interview.grading_queue import GradingQueue, Progress, job
from interview.models import Attempt, User, utcnow


def _problems(problems: list[Any]) -> list[dict[str, str]]:
    return [{"file": str(p.file), "field": p.field, "message": p.message} for p in problems]


def _attempt_failed(engine: sa.Engine, args: dict[str, Any], reason: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        practice.mark_failed(session, int(args["attempt_id"]), reason)


@job("grade_attempt", on_failure=_attempt_failed)
def grade_attempt(engine: sa.Engine, args: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    """Grade a pending attempt (practice or mock) and write grade + review once."""
    attempt_id = int(args["attempt_id"])
    with Session(engine, expire_on_commit=False) as session:
        attempt = session.get(Attempt, attempt_id)
        if attempt is None:
            return {"state": "gone"}
        if attempt.status != "pending":
            return {"state": attempt.status, "written": False}
        _row, spec = catalog.get(session, attempt.question_id, include_retired=True)
        answer, seed = attempt.answer, attempt.seed
    # the sandbox run happens outside any transaction: it may take seconds
    grade = graders.grade(spec, graders.instantiate(spec, seed), answer)
    with Session(engine, expire_on_commit=False) as session:
        written = practice.record_grade(session, attempt_id, grade)
    return {"state": "graded", "written": written, "verdict": grade.verdict, "score": grade.score}


def visible_only(spec: QuestionSpec) -> QuestionSpec:
    """The question with its hidden tests (and the complexity timing) left out: what "Run" runs."""
    answer = dict(spec.answer)
    if spec.kind == "code":
        answer["tests"] = {"visible": spec.answer["tests"]["visible"], "hidden": []}
        answer.pop("complexity", None)
    elif spec.kind == "sql":
        answer.pop("hidden_rows", None)
    data = spec.model_dump(by_alias=True, exclude_none=True)
    data["answer"] = answer
    return QuestionSpec.model_validate(data)


@job("run_visible")
def run_visible(engine: sa.Engine, args: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    """The learner's "Run": the visible tests only, in the sandbox; records nothing."""
    with Session(engine, expire_on_commit=False) as session:
        _row, spec = catalog.get(session, args["question_id"], include_retired=True)
    if spec.kind not in practice.QUEUED_KINDS:
        return {"feedback": ["Only code and SQL answers can be run."], "tests": []}
    grade = graders.grade(visible_only(spec), graders.instantiate(spec, int(args["seed"])), args["answer"])
    return {"verdict": grade.verdict, "score": grade.score, "feedback": grade.feedback,
            "tests": grade.details.get("tests", []), "status": grade.details.get("status")}


@job("grade_retry")
def grade_retry(engine: sa.Engine, args: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    """A code or SQL "Try again": graded like an answer (hidden tests too), recorded nowhere;
    the page that waits for it shows the result (interview.practice.retry_outcome)."""
    with Session(engine, expire_on_commit=False) as session:
        _row, spec = catalog.get(session, args["question_id"], include_retired=True)
    grade = graders.grade(spec, graders.instantiate(spec, int(args["seed"])), args["answer"])
    return {"grade": grade.to_json(), "question_id": spec.id, "seed": int(args["seed"]), "answer": args["answer"]}


@job("check_question")
def check_question(engine: sa.Engine, args: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    """The editor's check: validate the YAML and grade the reference answer on every seed checked."""
    _item, problems = authoring.check(args["yaml"])
    return {"problems": _problems(problems), "yaml": args["yaml"]}


@job("save_question")
def save_question(engine: sa.Engine, args: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    """The editor's save: the same check, then a new version (a repeated delivery finds the text
    already saved and changes nothing: `apply_question` compares content hashes)."""
    with Session(engine, expire_on_commit=False) as session:
        author = session.get(User, int(args["author_id"]))
        if author is None:
            return {"problems": [{"file": "editor", "field": "", "message": "the author's account is gone"}],
                    "yaml": args["yaml"]}
        try:
            row = authoring.save(session, author, args["yaml"], utcnow(), expected_id=args.get("expected_id"))
        except authoring.AuthoringError as exc:
            return {"problems": _problems(exc.problems), "status": exc.status, "yaml": args["yaml"]}
        return {"problems": [], "saved": row.id, "version": row.version}


@job("import_questions")
def import_questions(engine: sa.Engine, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """A zip, one .yaml, a Moodle XML or a GIFT file: every question checked, then all imported or none."""
    data = base64.b64decode(args["data"])
    name = Path(args["name"]).name
    with tempfile.TemporaryDirectory(prefix="interview-upload-") as tmp, \
            Session(engine, expire_on_commit=False) as session:
        if name.endswith(".zip"):
            source: Any = data
        else:
            target = Path(tmp) / name
            target.write_bytes(data)
            source = [target]
        author = session.get(User, int(args["author_id"])) if args.get("author_id") else None
        try:
            report = authoring.import_questions(session, source, author,
                                                lambda i, total, _qid: progress({"done": i, "total": total}))
        except authoring.AuthoringError as exc:
            return {"problems": _problems(exc.problems)}
        return {"problems": [], "added": report.added, "changed": report.changed, "unchanged": report.unchanged,
                "notes": report.notes}


def grade_job_id(attempt_id: int) -> str:
    """One job id per attempt: a re-sent job is recognised as the same one."""
    return f"attempt-{attempt_id}"


def queue_attempt(queue: GradingQueue, attempt: Attempt, limited: bool = True) -> str:
    """Queue the grading of a pending attempt (the learner's run, counted against their limit)."""
    return queue.submit("grade_attempt", {"attempt_id": attempt.id}, owner=f"user:{attempt.user_id}",
                        job_id=grade_job_id(attempt.id), limited=limited)


def sweep(queue: GradingQueue, older_than: timedelta | None = None) -> int:
    """Queue again the pending attempts whose job is gone (Redis restarted and lost it, or the web
    process died between the commit and the send): nothing committed is lost. Returns how many."""
    if older_than is None:
        older_than = timedelta(seconds=float(os.environ.get("INTERVIEW_QUEUE_SWEEP_AFTER", "60")))
    cutoff = utcnow() - older_than
    with Session(queue.engine, expire_on_commit=False) as session:
        pending = session.exec(select(Attempt).where(Attempt.status == "pending", Attempt.created_at < cutoff)
                               .order_by(Attempt.id).limit(500)).all()
    resent = 0
    for attempt in pending:
        info = queue.get(grade_job_id(attempt.id))
        if info is not None and info.state in ("queued", "running") and time.time() - info.enqueued_at < 3600:
            continue
        if info is not None and info.state == "failed":
            _attempt_failed(queue.engine, {"attempt_id": attempt.id}, info.error or "the queue gave up on it")
            continue
        if info is not None:
            queue.store.release(info.id)  # a finished record of an attempt still pending: run it again
        queue_attempt(queue, attempt, limited=False)
        resent += 1
    return resent


@job("noop")
def noop(_engine: sa.Engine, _args: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    """Nothing: the queue's own cost per job, for the scaling model (bench/grading.py)."""
    return {}
