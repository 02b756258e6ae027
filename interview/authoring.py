"""Authoring: instructors write questions as YAML in the browser, and move them as files.

Nothing is saved that does not validate and whose reference answer does not grade 1.0 on
every variant checked (code runs in the sandbox). Every save is a new version; history is
kept, and learners' cards follow the question id, so they see the new version next time.
Imports are all or nothing: every file is checked first and nothing is written if any fails.
"""
from __future__ import annotations

import difflib
import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from sqlmodel import Session, select

import graders
from graders import Question as QuestionSpec, Variant
from interview import bank, interop, permissions
from interview.bank import BankError, LoadedQuestion, Problem
from interview.models import Question, QuestionVersion, User, utcnow
from interview.sync import apply_question
from interview.validate import check_question

REFERENCE_SEEDS = 20
MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_ZIP_FILES = 5000

Progress = Callable[[int, int, str], None]


class AuthoringError(Exception):
    def __init__(self, problems: list[Problem], status: int = 400) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems
        self.status = status


def check(text: str, source: str = "editor", seeds: int = REFERENCE_SEEDS) -> tuple[LoadedQuestion | None, list[Problem]]:
    """Validate YAML text and grade the reference answer on `seeds` variants."""
    try:
        question = bank.load_text(text, source)
    except BankError as exc:
        return None, exc.problems
    item = LoadedQuestion(question, text, None)
    return item, [Problem(source, p.field, p.message) for p in check_question(item, seeds)]


def preview(question: QuestionSpec, seed: int) -> Variant:
    return graders.instantiate(question, seed)


def save(session: Session, author: User, text: str, now: datetime | None = None,
         expected_id: str | None = None) -> Question:
    """Save a new question (owned by `author`) or a new version of one `author` may edit,
    after every check passes. The owner stays the account that created the question."""
    item, problems = check(text)
    if problems or item is None:
        raise AuthoringError(problems)
    qid = item.question.id
    if expected_id is not None and qid != expected_id:
        raise AuthoringError([Problem("editor", "id", f"the id must stay '{expected_id}' when editing; create a new question for a new id")])
    existing = session.get(Question, qid)
    if existing is not None:
        _require_edit(author, existing)
    apply_question(session, item, now or utcnow(), origin="authored", author_id=author.id)
    session.commit()
    row = session.get(Question, qid)
    assert row is not None
    return row


def _require_edit(user: User | None, row: Question, source: str = "editor") -> None:
    """AuthoringError 403 unless `user` may change `row` (see interview.permissions)."""
    if permissions.can_edit_question(user, row):
        return
    if permissions.is_bundled_question(row):
        why = f"'{row.id}' belongs to the bundled bank: it changes through its file in question_bank/; copy it under a new id to adapt it"
    else:
        why = f"'{row.id}' is another instructor's question: only its owner or an admin may change it; choose another id"
    raise AuthoringError([Problem(source, "id", why)], 403)


def retire(session: Session, user: User, question_id: str, now: datetime | None = None) -> Question:
    """Hide a question from new practice (history is kept); only what `user` may edit."""
    return _set_status(session, user, question_id, "retired", now)


def restore(session: Session, user: User, question_id: str, now: datetime | None = None) -> Question:
    """Undo a retirement: the question is practised again, its learners' history intact; only
    what `user` may edit (as for retiring)."""
    return _set_status(session, user, question_id, "active", now)


def _set_status(session: Session, user: User, question_id: str, status: str, now: datetime | None) -> Question:
    row = session.get(Question, question_id)
    if row is None:
        raise AuthoringError([Problem(question_id, "id", "no such question")], 404)
    _require_edit(user, row, question_id)
    row.status, row.updated_at = status, now or utcnow()
    session.add(row)
    session.commit()
    return row


def history(session: Session, question_id: str) -> list[QuestionVersion]:
    return list(session.exec(select(QuestionVersion).where(QuestionVersion.question_id == question_id)
                             .order_by(QuestionVersion.version)).all())


def diff(old: str, new: str, old_label: str = "before", new_label: str = "after") -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=old_label, tofile=new_label))


def export_questions(session: Session, dest: Path, author: User | None = None,
                     progress: Progress | None = None) -> list[Path]:
    """Write questions as bank files (`<area>/<id>.yaml`); only `author`'s when given."""
    stmt = select(Question).where(Question.status == "active")
    if author is not None:
        stmt = stmt.where(Question.author_id == author.id)
    rows = session.exec(stmt.order_by(Question.area, Question.id)).all()
    written = []
    for i, row in enumerate(rows, 1):
        path = dest / row.area / f"{row.id}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(row.yaml_text, encoding="utf-8")
        written.append(path)
        if progress:
            progress(i, len(rows), row.id)
    return written


def _extract_zip(data: bytes, dest: Path) -> None:
    """Unpack a zip of question files safely: no paths outside `dest`, bounded size and count."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise AuthoringError([Problem("upload", "", "not a zip file")]) from None
    members = archive.infolist()
    if len(members) > MAX_ZIP_FILES:
        raise AuthoringError([Problem("upload", "", f"the zip holds more than {MAX_ZIP_FILES} files")])
    if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
        raise AuthoringError([Problem("upload", "", f"the zip unpacks to more than {MAX_ZIP_BYTES // 2**20} MiB")])
    root = dest.resolve()
    for m in members:
        target = (dest / m.filename).resolve()
        if not str(target).startswith(str(root)) or m.filename.startswith("/"):
            raise AuthoringError([Problem("upload", m.filename, "path escapes the archive")])
        if m.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(m) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)


def _named_for_source(problem: Problem, converted: dict[str, str], unzipped: dict[str, str] | None = None) -> Problem:
    """A problem of a question converted from Moodle XML or GIFT names that file and the
    question's id, and a file from a zip its path in the zip: never the temporary file."""
    for folder, name in converted.items():
        if problem.file.startswith(folder + "/"):
            qid = Path(problem.file).stem
            return Problem(f"{name}: {qid}", problem.field, problem.message)
    for folder, label in (unzipped or {}).items():
        if problem.file.startswith(folder + "/"):
            return Problem(label + problem.file[len(folder) + 1:], problem.field, problem.message)
    return problem


@dataclass
class ImportReport:
    added: list[str]
    changed: list[str]
    unchanged: list[str]
    notes: list[str] = field(default_factory=list)  # what changed converting Moodle XML or GIFT


def import_questions(session: Session, sources: Iterable[Path] | bytes, author: User | None,
                     progress: Progress | None = None, seeds: int = REFERENCE_SEEDS) -> ImportReport:
    """Validate every file first; import all of them or none (the error lists every problem).

    The owner of a new question is `author`, the importing account (never a field of a file);
    a file may replace only a question `author` may edit. `author` None is the operator at the
    command line without `--user`: new questions get no owner (admins edit them in the
    browser) and any question but a bundled one may be replaced."""
    early_problems: list[Problem] = []
    notes: list[str] = []
    converted: dict[str, str] = {}  # folder of converted files -> the Moodle XML or GIFT file's name
    unzipped: dict[str, str] = {}  # folder a zip was unpacked into -> how its files are named ("" or "x.zip: ")
    with tempfile.TemporaryDirectory(prefix="interview-import-") as tmp:
        paths: list[Path] = []

        def convert(source: Path, name: str) -> None:
            """Moodle XML or GIFT: converted to bank files in a folder of their own."""
            sub = Path(tmp) / f"converted-{len(converted)}"
            converted[str(sub)] = name
            refused, converted_notes = interop.convert_file(source, sub)
            early_problems.extend(Problem(name, p.field, p.message) if p.file == source.name else p for p in refused)
            notes.extend(converted_notes)
            paths.append(sub)

        def unzip(data: bytes, folder: Path, label: str = "") -> None:
            """A zip's YAML files are read in place; its Moodle XML and GIFT files are converted
            (named by their path in the zip) and taken out, so the loader sees only bank files."""
            folder.mkdir(parents=True, exist_ok=True)
            _extract_zip(data, folder)
            for inner in sorted(f for f in folder.rglob("*") if f.is_file()):
                if inner.suffix.lower() in interop.IMPORT_SUFFIXES:
                    convert(inner, label + inner.relative_to(folder).as_posix())
                    inner.unlink()
            paths.append(folder)
            unzipped[str(folder)] = label

        if isinstance(sources, bytes):
            unzip(sources, Path(tmp) / "upload")
        else:
            for p in sources:
                if p.suffix.lower() in interop.IMPORT_SUFFIXES:
                    convert(p, p.name)
                elif p.suffix == ".zip":
                    unzip(p.read_bytes(), Path(tmp) / f"zip-{len(paths)}", f"{p.name}: ")
                else:
                    paths.append(p)
        loaded, problems = bank.load_bank(paths)
        problems = early_problems + problems
        total = len(loaded)
        for i, item in enumerate(loaded, 1):
            problems += check_question(item, seeds)
            row = session.get(Question, item.question.id)
            if row is not None and (permissions.is_bundled_question(row) or
                                    (author is not None and not permissions.can_edit_question(author, row))):
                try:
                    _require_edit(author, row, str(item.path))
                except AuthoringError as exc:
                    problems += exc.problems
            if progress:
                progress(i, total * 2, item.question.id)
        if not loaded and not problems:
            problems.append(Problem("import", "", "no question files (.yaml) found"))
        if problems:
            raise AuthoringError([_named_for_source(p, converted, unzipped) for p in problems])
        report = ImportReport([], [], [], notes)
        now = utcnow()
        for i, item in enumerate(loaded, 1):
            outcome = apply_question(session, item, now, origin="imported", author_id=author.id if author else None)
            getattr(report, outcome).append(item.question.id)
            if progress:
                progress(total + i, total * 2, item.question.id)
        session.commit()
        return report
