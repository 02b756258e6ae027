"""The one question loader: YAML text, a file or a folder -> validated `Question`s.

Every problem is reported as file, field and a sentence a question author understands
(never a raw pydantic dump), and a folder is read completely so that one run lists every
problem at once.
"""
from __future__ import annotations

import difflib
import hashlib
import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from graders import registry
from graders.question import Question

MAX_FILE_BYTES = 512 * 1024
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class BankError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedQuestion:
    question: Question
    text: str
    path: Path | None

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def bundled(name: str) -> Path:
    """A data directory that ships with the app (`question_bank`, `templates`): inside the
    installed package when installed from a wheel (pyproject maps them in), else at the top
    of the checkout (running from the source tree, or an editable install)."""
    packaged = Path(str(importlib.resources.files("interview"))) / name
    return packaged if packaged.is_dir() else repo_root() / name


def default_bank_path() -> Path:
    return bundled("question_bank")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML would silently keep the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice", key_node.start_mark)
        seen[key] = True
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise BankError([Problem(source, where, f"not valid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise BankError([Problem(source, "", f"not valid YAML: {exc}")]) from None
    if data is None:
        raise BankError([Problem(source, "", "the file is empty")])
    if not isinstance(data, dict):
        raise BankError([Problem(source, "", "the file must hold one question: a mapping of fields such as 'id:', 'title:', 'kind:'")])
    return data


def load_text(text: str, source: str = "<text>", expected_id: str | None = None) -> Question:
    """Validate one question from YAML text; raises BankError listing every problem."""
    data = parse_yaml(text, source)
    try:
        question = Question.model_validate(data)
    except ValidationError as exc:
        raise BankError(_explain(exc, source, Question.model_fields, data)) from None
    problems: list[Problem] = []
    if expected_id is not None and question.id != expected_id:
        problems.append(Problem(source, "id", f"'{question.id}' must equal the file name '{expected_id}'"))
    try:
        answer_model = registry.answer_model(question.kind)
    except registry.UnsupportedKind as exc:
        problems.append(Problem(source, "kind", str(exc)))
    else:
        try:
            answer_model.model_validate(question.answer)
        except ValidationError as exc:
            problems += _explain(exc, source, answer_model.model_fields, question.answer, prefix="answer")
    if problems:
        raise BankError(problems)
    return question


def load_file(path: Path | str) -> LoadedQuestion:
    path = Path(path)
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BankError([Problem(source, "", f"the file is larger than {MAX_FILE_BYTES // 1024} KiB")])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BankError([Problem(source, "", "the file is not UTF-8 text")]) from None
    except OSError as exc:
        raise BankError([Problem(source, "", f"cannot read the file: {exc.strerror}")]) from None
    return LoadedQuestion(load_text(text, source, expected_id=path.stem), text, path)


def question_files(paths: Iterable[Path | str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file())
        else:
            files.append(p)
    return files


def load_bank(paths: Iterable[Path | str] | None = None) -> tuple[list[LoadedQuestion], list[Problem]]:
    """Load every question under `paths` (default: the bundled bank); ids must be unique."""
    loaded: list[LoadedQuestion] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for f in question_files(paths or [default_bank_path()]):
        try:
            item = load_file(f)
        except BankError as exc:
            problems += exc.problems
            continue
        qid = item.question.id
        if qid in seen:
            problems.append(Problem(str(f), "id", f"'{qid}' is already used by {seen[qid]}"))
            continue
        seen[qid] = f
        loaded.append(item)
    return loaded, problems


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("int", "float", "str", "list[...]", "function-after", "tagged-union") or "[" in str(part):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _explain(exc: ValidationError, source: str, fields: dict[str, Any], data: Any, prefix: str = "") -> list[Problem]:
    problems = []
    seen = set()
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = _field_path(((prefix,) if prefix else ()) + loc)
        message = _message(err, fields)
        # union types report once per member; keep the first message per field
        if (path, err["type"]) in seen or (path and any(p[0] == path for p in seen) and err["type"] in ("string_type", "model_type", "model_attributes_type", "dict_type")):
            continue
        seen.add((path, err["type"]))
        problems.append(Problem(source, path or "(question)", message))
    return problems


def _message(err: dict[str, Any], fields: dict[str, Any]) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    loc = err["loc"]
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, list(fields), n=1)
        return "is not a known field" + (f" (did you mean '{close[0]}'?)" if close else "")
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, not {value!r}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number, not {value!r}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number, not {value!r}"
    if kind in ("string_type",):
        return f"must be text, not {type(value).__name__} {value!r}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, not {value!r}"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list, not {type(value).__name__}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of fields, not {type(value).__name__}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, not {value!r}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, not {value!r}"
    if kind == "string_too_short":
        return f"is too short (at least {ctx.get('min_length')} characters)"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"has too many items (at most {ctx.get('max_length')})"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"]
