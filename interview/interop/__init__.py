"""Bridges to other formats: Moodle XML and GIFT in, Moodle XML, Anki and gradebooks out.

Every importer converts a file into bank YAML texts (one per question) with a note for what
changed on the way and a reason for what it refused; the files then go through the one loader
and the all-or-nothing import (`interview.authoring.import_questions`), like any YAML file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from interview.bank import Problem

IMPORT_SUFFIXES = (".xml", ".gift")
MAX_IMPORT_BYTES = 20 * 1024 * 1024  # a Moodle export of a large course is a few MB
MAX_QUESTIONS = 2000


@dataclass
class Converted:
    """One question of a foreign file: its bank YAML text, or the reason it cannot be imported."""

    source: str  # where it is in the file: the question's name or line
    qid: str | None = None
    text: str | None = None
    notes: list[str] = field(default_factory=list)
    refused: str | None = None


def convert_file(path: Path, dest: Path) -> tuple[list[Problem], list[str]]:
    """Convert a Moodle XML or GIFT file into bank files under `dest`.

    Returns the problems (refused questions, unreadable file) and one note per converted
    question that changed on the way ("<id>: ..."). Nothing is written for a refused question;
    the caller refuses the whole import when there is any problem."""
    from interview.interop import gift, moodle_xml

    name = path.name
    size = path.stat().st_size
    if size > MAX_IMPORT_BYTES:
        return [Problem(name, "", f"the file is {size // 2**20} MiB; at most {MAX_IMPORT_BYTES // 2**20} MiB may be imported")], []
    data = path.read_bytes()
    try:
        if path.suffix.lower() == ".xml":
            items = moodle_xml.parse(data, name)
        else:
            items = gift.parse(data.decode("utf-8-sig"), name)
    except UnicodeDecodeError:
        return [Problem(name, "", "the file is not UTF-8 text")], []
    except ImportFormatError as exc:
        return [Problem(name, exc.where, exc.message)], []
    if len(items) > MAX_QUESTIONS:
        return [Problem(name, "", f"the file holds {len(items)} questions; at most {MAX_QUESTIONS} at a time")], []
    problems: list[Problem] = []
    notes: list[str] = []
    dest.mkdir(parents=True, exist_ok=True)
    for item in items:
        if item.refused or not item.text or not item.qid:
            problems.append(Problem(name, item.source, f"not imported: {item.refused}"))
            continue
        target = dest / f"{item.qid}.yaml"
        if target.exists():
            problems.append(Problem(name, item.source, f"the id '{item.qid}' is used by another question of the file"))
            continue
        target.write_text(item.text, encoding="utf-8")
        notes += [f"{item.qid}: {n}" for n in item.notes]
    if not items:
        problems.append(Problem(name, "", "the file holds no questions"))
    return problems, notes


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (not XML, too large, a DTD...)."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where
