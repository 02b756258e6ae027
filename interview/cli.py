"""The `interview` command: serve, worker, validate, sync, show, grade, bank-stats, users, optimize.

`show` and `grade` are the stable grading seam: their flags and JSON fields do not change.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

import graders
from interview import bank, db
from interview.bank import BankError, LoadedQuestion


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group()
def main() -> None:
    """Practice engine for machine-learning engineering interviews."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--multi-user", is_flag=True, help="Require sign-in (a deployed instance).")
@click.option("--no-sync", is_flag=True, help="Do not sync the bundled bank on start.")
def serve(host: str, port: int, multi_user: bool, no_sync: bool) -> None:
    """Migrate the database, sync the bundled bank and serve the app."""
    from werkzeug.serving import run_simple

    from interview.web import create_app

    engine = db.make_engine()
    db.migrate(engine)
    if not no_sync:
        _sync_into(engine, None)
    app = create_app({"ENGINE": engine, "MULTI_USER": multi_user})
    click.echo(f"interview is ready at http://{host}:{port}/  (database: {engine.url.render_as_string(hide_password=True)})")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@main.command()
@click.option("--concurrency", type=click.IntRange(1, 256), default=None,
              help="Sandboxes run at once (default: one per core).")
@click.option("--nice", type=click.IntRange(0, 19), default=10, show_default=True,
              help="CPU niceness of the worker and its sandboxes: on a host shared with the web app, "
                   "pages go first.")
def worker(concurrency: int | None, nice: int) -> None:
    """Run a grader worker: takes code and SQL runs off the shared Redis queue and writes their
    grades to the database (same DATABASE_URL and INTERVIEW_REDIS_URL as the web app)."""
    import os
    import logging

    from interview import grading_queue, jobs  # noqa: F401  (jobs registers the job functions)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        url = grading_queue.redis_url()
    except RuntimeError as exc:
        _fail(str(exc))
    if not url:
        _fail("a worker serves the shared queue: set INTERVIEW_REDIS_URL (e.g. redis://localhost:6379/0); "
              "a plain `interview serve` grades in its own process and needs no worker")
    from graders import sandbox

    if not sandbox.available() and not sandbox.unsafe_allowed():
        _fail("bubblewrap (/usr/bin/bwrap) is missing: a grader worker runs learners' code only in the sandbox")
    engine = db.make_engine()
    try:
        queue = grading_queue.RedisQueue(engine, url)
    except ImportError:
        _fail("the shared queue needs Dramatiq and redis: python3 -m pip install 'interview[deploy]'")
    n = concurrency or grading_queue.default_concurrency()
    if nice:
        os.nice(nice)  # inherited by every sandbox this worker starts
    click.echo(f"grader worker: {n} sandbox(es) at once on {url.split('@')[-1]} "
               f"(database: {engine.url.render_as_string(hide_password=True)})", err=True)
    queue.work(n)


def _sync_into(engine: Any, paths: list[str] | None) -> None:
    from sqlmodel import Session

    from interview.sync import sync_bank

    loaded, problems = bank.load_bank(paths or None)
    for p in problems:
        click.echo(f"skipped: {p}", err=True)
    from interview.mock import ensure_formats

    with Session(engine, expire_on_commit=False) as session:
        report = sync_bank(session, loaded)
        ensure_formats(session)
    click.echo(f"bank synced: {report.summary()}")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--seeds", default=50, show_default=True, help="Variants checked per parameterised question.")
@click.option("--json", "as_json", is_flag=True)
def validate(paths: tuple[str, ...], seeds: int, as_json: bool) -> None:
    """Check question files (default: the bundled bank); exit 1 listing every problem."""
    from interview.validate import validate as run_validate

    from interview.bank_lint import bank_warnings

    loaded, problems = run_validate(list(paths) or None, seeds)
    warnings = bank_warnings(loaded)  # reported, not failing
    if as_json:
        _echo_json({"questions": len(loaded), "problems": [p.__dict__ for p in problems],
                    "warnings": [w.__dict__ for w in warnings]})
    else:
        for p in problems:
            click.echo(str(p))
        for w in warnings:
            click.echo(f"warning: {w}")
        click.echo(f"{len(loaded)} question(s) loaded, {len(problems)} problem(s), {len(warnings)} warning(s)")
    sys.exit(1 if problems else 0)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def sync(paths: tuple[str, ...]) -> None:
    """Upsert the bank into the database by id and content hash."""
    from sqlmodel import Session

    from interview.sync import sync_bank

    engine = db.make_engine()
    db.migrate(engine)
    loaded, problems = bank.load_bank(list(paths) or None)
    if problems:
        for p in problems:
            click.echo(str(p), err=True)
        _fail(f"{len(problems)} problem(s) in the bank; nothing synced (run `interview validate`)", 1)
    with Session(engine, expire_on_commit=False) as session:
        report = sync_bank(session, loaded)
    for label in ("added", "changed", "retired"):
        for qid in getattr(report, label):
            click.echo(f"{label}: {qid}")
    click.echo(report.summary())


def resolve_question(ref: str) -> LoadedQuestion:
    """A question file path, or an id from the bundled bank, or an id in the database."""
    path = Path(ref)
    if path.suffix in bank.SUFFIXES and path.exists():
        return bank.load_file(path)
    for f in bank.question_files([bank.default_bank_path()]):
        if f.stem == ref:
            return bank.load_file(f)
    from sqlmodel import Session

    from interview.models import Question

    engine = db.make_engine()
    if engine.url.get_backend_name() == "sqlite" and not Path(engine.url.database or "").exists():
        raise LookupError(ref)
    with Session(engine) as session:
        row = session.get(Question, ref)
        if row is None:
            raise LookupError(ref)
        return LoadedQuestion(bank.load_text(row.yaml_text, f"<database:{ref}>"), row.yaml_text, None)


def _load_for_cli(ref: str) -> LoadedQuestion:
    try:
        return resolve_question(ref)
    except LookupError:
        _fail(f"no question '{ref}': give a bank id or a path to a .yaml file")
    except BankError as exc:
        _fail(f"the question does not load:\n{exc}")
    raise AssertionError("unreachable")


@main.command()
@click.option("--question", "ref", required=True, help="Bank id or path to a question file.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
def show(ref: str, seed: int, as_json: bool) -> None:
    """Print the variant of a question for a seed."""
    item = _load_for_cli(ref)
    variant = graders.instantiate(item.question, seed)
    if as_json:
        out = variant.for_display().to_json()
        out.update(title=item.question.title, kind=item.question.kind, area=item.question.area,
                   topics=item.question.topics, difficulty=item.question.difficulty, time_limit=item.question.time_limit)
        _echo_json(out)
        return
    q = item.question
    click.echo(f"{q.title}  [{q.area} / {', '.join(q.topics)} / {q.kind} / difficulty {q.difficulty}]")
    click.echo(variant.prompt.rstrip())
    for opt in variant.data.get("options", []):
        click.echo(f"  {opt['label']}. {opt['text']}")


@main.command()
@click.option("--question", "ref", required=True, help="Bank id or path to a question file.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--answer", default=None, help="The answer text.")
@click.option("--answer-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True)
def grade(ref: str, seed: int, answer: str | None, answer_file: str | None, as_json: bool) -> None:
    """Grade an answer to the variant of a question for a seed."""
    if (answer is None) == (answer_file is None):
        _fail("give exactly one of --answer TEXT or --answer-file F")
    if answer_file is not None:
        answer = Path(answer_file).read_text(encoding="utf-8", errors="replace")
    item = _load_for_cli(ref)
    variant = graders.instantiate(item.question, seed)
    result = graders.grade(item.question, variant, answer)
    if as_json:
        out = result.to_json()
        out.update(question=item.question.id, seed=seed)
        _echo_json(out)
        return
    click.echo(f"{result.verdict} ({result.score:.2f})")
    for line in result.feedback:
        click.echo(f"  {line}")


@main.command("bank-stats")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True)
def bank_stats(paths: tuple[str, ...], as_json: bool) -> None:
    """Counts of the bank by area, topic, kind and difficulty, and the share parameterised."""
    from interview.bankstats import bank_stats as compute

    loaded, problems = bank.load_bank(list(paths) or None)
    stats = compute([item.question for item in loaded])
    if problems:
        stats["problems"] = len(problems)
    if as_json:
        _echo_json(stats)
        return
    click.echo(f"{stats['total']} questions, {stats['parameterised_share']:.0%} parameterised")
    for key in ("by_area", "by_kind", "by_difficulty"):
        click.echo(f"\n{key.replace('_', ' ')}:")
        for name, count in stats[key].items():
            click.echo(f"  {name:<22} {count}")
    click.echo("\nby area and topic:")
    for area, topics in stats["by_area_topic"].items():
        click.echo(f"  {area}: " + ", ".join(f"{t} {n}" for t, n in topics.items()))
    click.echo("\nparameterised share by area:")
    for area, share in stats["parameterised_by_area"].items():
        click.echo(f"  {area:<22} {share:.0%}")


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("add")
@click.argument("name")
@click.option("--instructor", is_flag=True, help="Give the instructor role.")
@click.option("--admin", is_flag=True,
              help="Give the admin role: an instructor who may change anyone's questions, formats and cohorts. "
                   "Only this command creates admins.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The password (asked for when not given).")
def user_add(name: str, instructor: bool, admin: bool, password: str) -> None:
    """Create an account."""
    from sqlmodel import Session

    from interview import accounts

    if instructor and admin:
        _fail("give one of --instructor or --admin (an admin is also an instructor)")
    engine = db.make_engine()
    db.migrate(engine)
    role = "admin" if admin else "instructor" if instructor else "learner"
    with Session(engine) as session:
        try:
            created = accounts.create_user(session, name, password, role=role)
        except accounts.AccountError as exc:
            _fail(str(exc), 1)
        click.echo(f"created {created.role} '{created.name}'")


@main.command()
@click.option("--user", "name", required=True, help="The learner whose history to fit.")
def optimize(name: str) -> None:
    """Fit personal FSRS parameters to a learner's review history."""
    from sqlmodel import Session

    from interview import optimizer

    engine = db.make_engine()
    db.migrate(engine)
    with Session(engine) as session:
        try:
            params = optimizer.optimize_user(session, name)
        except optimizer.OptimizerError as exc:
            _fail(str(exc), 1)
    click.echo("personal FSRS parameters saved: " + ", ".join(f"{p:.4f}" for p in params))


def _user_by_name(session: Any, name: str) -> Any:
    from sqlmodel import select

    from interview.models import User

    found = session.exec(select(User).where(User.name == name)).first()
    if found is None:
        _fail(f"no user '{name}'", 1)
    return found


@main.command("export")
@click.argument("dest", type=click.Path())
@click.option("--all", "everything", is_flag=True, default=True, help="Every active question (default).")
@click.option("--mine", "mine_of", default=None, metavar="NAME", help="Only questions authored by this user.")
@click.option("--format", "fmt", type=click.Choice(["yaml", "moodle", "anki"]), default="yaml", show_default=True,
              help="yaml: bank files under DEST; moodle: one Moodle XML file DEST; anki: one .apkg deck DEST.")
@click.option("--area", default=None, help="Only this area (moodle, anki).")
@click.option("--topic", default=None, help="Only this topic (moodle, anki).")
@click.option("--due-for", "due_for", default=None, metavar="NAME", help="Only the cards due for this learner (anki).")
def export_cmd(dest: str, everything: bool, mine_of: str | None, fmt: str, area: str | None, topic: str | None,
               due_for: str | None) -> None:
    """Write questions from the database as bank files (`<area>/<id>.yaml`), a Moodle XML file or an Anki deck."""
    from sqlmodel import Session

    from interview import authoring

    engine = db.make_engine()
    db.migrate(engine)
    with Session(engine) as session:
        author = _user_by_name(session, mine_of) if mine_of else None
        if fmt != "yaml":
            from interview.interop import exports

            learner = _user_by_name(session, due_for) if due_for else None
            selection = exports.Selection(area=area, topic=topic, due_for=learner, author=author)
            result = exports.export_file(session, fmt, selection)
            Path(dest).write_bytes(result.data)
            for qid, note in result.notes:
                click.echo(f"{qid}: {note}")
            for qid, why in result.refused:
                click.echo(f"not exported: {qid}: {why}", err=True)
            click.echo(f"wrote {result.count} question(s) to {dest}")
            return
        with click.progressbar(length=1, label="exporting") as bar:
            def progress(i: int, total: int, _qid: str) -> None:
                bar.length = total
                bar.update(1)

            written = authoring.export_questions(session, Path(dest), author, progress)
    click.echo(f"wrote {len(written)} question file(s) under {dest}")


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--user", "as_user", default=None,
              help="Import as this account: it owns the new questions and may replace only questions it may edit. "
                   "Without it, new questions have no owner (admins edit them in the browser).")
def import_cmd(paths: tuple[str, ...], as_user: str | None) -> None:
    """Import question files (folders or zips): everything validates first, or nothing is imported.

    The owner is the importing account, never a field of a file."""
    from sqlmodel import Session

    from interview import authoring

    engine = db.make_engine()
    db.migrate(engine)
    with Session(engine) as session:
        author = _user_by_name(session, as_user) if as_user else None
        try:
            with click.progressbar(length=1, label="checking and importing") as bar:
                def progress(i: int, total: int, _qid: str) -> None:
                    bar.length = total
                    bar.update(1)

                report = authoring.import_questions(session, [Path(p) for p in paths], author, progress)
        except authoring.AuthoringError as exc:
            for p in exc.problems:
                click.echo(str(p), err=True)
            _fail(f"{len(exc.problems)} problem(s); nothing was imported", 1)
    for note in report.notes:
        click.echo(f"converted with a note: {note}")
    click.echo(f"imported: added {len(report.added)}, changed {len(report.changed)}, unchanged {len(report.unchanged)}")
