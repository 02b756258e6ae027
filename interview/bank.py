"""The one question loader: YAML text, a file or a folder -> validated `Question`s.

Every problem is reported as file, field and a sentence a question author understands
(never a raw pydantic dump), and a folder is read completely so that one run lists every
problem at once.
"""
from __future__ import annotations

import difflib
import hashlib
import importlib.resources
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from graders import registry, variants
from graders.question import KINDS, Question
from graders.topics import TOPICS
from graders.types import QuestionError

MAX_FILE_BYTES = 64 * 1024  # the largest bundled question is 12 KB; 64 KiB parse in about 1 s
MAX_DEPTH = 40  # nesting levels of YAML; the deepest bundled question uses 6
MAX_VALUE_CHARS = 60  # of a value quoted back in an error message
MAX_MESSAGE_CHARS = 600  # of any one problem's message
MAX_PROBLEMS = 40  # listed per file; the rest are counted
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __post_init__(self) -> None:
        # a problem goes back to the author's browser: never an unbounded echo of their input
        object.__setattr__(self, "field", _short_text(self.field, 160))
        object.__setattr__(self, "message", _short_text(self.message, MAX_MESSAGE_CHARS))

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


def _short_text(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def _short(value: Any) -> str:
    """A value as an author wrote it, quoted in an error: short, whatever its size.

    A list or mapping is summarised by its length rather than printed, since printing a big
    one (e.g. an expanded alias bomb) is the cost to avoid."""
    if isinstance(value, (list, tuple, dict, set)):
        return f"a {type(value).__name__} of {len(value):,} item(s)"
    return _short_text(repr(value))


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
    """SafeLoader for untrusted question files.

    It refuses a key given twice (PyYAML would silently keep the last), refuses anchors and
    aliases (`&a` / `*a`: question files never need them, and nested aliases expand a 1 KB
    file into gigabytes once anything walks or prints the value), and refuses nesting deeper
    than MAX_DEPTH (the composer recurses: 10,000 `[` would raise RecursionError). All three
    are checked while composing, before any value is constructed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(f"aliases ('*{_short_text(event.anchor)}') are not allowed in question files: "
                           "write the value out in full", event.start_mark)
        if getattr(event, "anchor", None):
            raise _Refused(f"anchors ('&{_short_text(event.anchor)}') are not allowed in question files: "
                           "write each value out in full", event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"the YAML is nested more than {MAX_DEPTH} levels deep", event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that question files do not allow (aliases, anchors, deep nesting)."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{_short_text(str(key))}' appears twice", key_node.start_mark)
        seen[key] = True
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str, source: str) -> Any:
    """Parse untrusted YAML (a question file, a mock format): any value, or BankError.

    Bounded in size, depth and expansion (see `_UniqueKeyLoader`); every error names the line."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_FILE_BYTES:
        raise BankError([Problem(source, "", f"the text is {size // 1024} KiB; a question file may be at most "
                                             f"{MAX_FILE_BYTES // 1024} KiB")])
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _Refused as exc:
        raise BankError([Problem(source, _where(exc.problem_mark), str(exc.problem))]) from None
    except yaml.MarkedYAMLError as exc:
        raise BankError([Problem(source, _where(exc.problem_mark), f"not valid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise BankError([Problem(source, "", f"not valid YAML: {exc}")]) from None
    except RecursionError:  # a belt to the depth check's braces: never a 500
        raise BankError([Problem(source, "", f"the YAML is nested more than {MAX_DEPTH} levels deep")]) from None


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    data = load_yaml(text, source)
    if data is None:
        raise BankError([Problem(source, "", "the file is empty")])
    if not isinstance(data, dict):
        raise BankError([Problem(source, "", "the file must hold one question: a mapping of fields such as 'id:', 'title:', 'kind:'")])
    return data


def load_text(text: str, source: str = "<text>", expected_id: str | None = None) -> Question:
    """Validate one question from YAML text; raises BankError listing every problem.

    One pass finds everything it can: the shared fields, the kind's `answer` section (checked
    whenever the kind is known, even if other fields are wrong) and, when only fields that do
    not shape a variant are wrong (title, difficulty, time limit...), the problems of drawing
    seed 0 (an unknown name in a formula or a text), each under its own field."""
    data = parse_yaml(text, source)
    problems: list[Problem] = []
    question: Question | None = None
    try:
        question = Question.model_validate(data)
    except ValidationError as exc:
        problems += _explain(exc, source, Question.model_fields, data)
    qid = data.get("id")
    if expected_id is not None and isinstance(qid, str) and qid != expected_id:
        problems.append(Problem(source, "id", f"'{_short_text(qid)}' must equal the file name '{expected_id}'"))
    kind, answer = data.get("kind"), data.get("answer")
    answer_valid = False
    if isinstance(kind, str) and kind in KINDS:
        try:
            answer_model = registry.answer_model(kind)
        except registry.UnsupportedKind as exc:
            problems.append(Problem(source, "kind", str(exc)))
        else:
            if isinstance(answer, dict):
                try:
                    answer_model.model_validate(answer)
                    answer_valid = True
                except ValidationError as exc:
                    problems += _explain(exc, source, answer_model.model_fields, answer, prefix="answer")
    if question is None and answer_valid:
        problems += _stand_in_problems(data, problems, source)
    if problems:
        raise BankError(problems)
    assert question is not None
    return question


# Fields a variant is drawn from: when one of them is wrong, no draw can be checked.
_VARIANT_FIELDS = ("params", "constraints", "answer", "kind", "prompt", "explanation", "hints")


def _stand_in_problems(data: dict[str, Any], problems: list[Problem], source: str) -> list[Problem]:
    """Draw seed 0 of the question with its wrong descriptive fields (title, area, difficulty,
    ...) replaced by valid stand-ins, so that a wrong difficulty does not hide an unknown name
    in a formula. Nothing is reported when a field the draw depends on is wrong."""
    wrong = {p.field.split(".")[0].split("[")[0] for p in problems}
    fixed = {k: v for k, v in data.items() if k in Question.model_fields}  # unknown keys are reported already
    for name in ("prompt", "explanation"):  # too short, but its placeholders can still be checked
        if name in wrong and isinstance(data.get(name), str):
            fixed[name] = data[name].ljust(40)
            wrong.discard(name)
    if wrong & set(_VARIANT_FIELDS):
        return []
    topic, area = next(iter(TOPICS.items()))
    stand_ins: dict[str, Any] = {"id": "stand-in", "title": "Stand-in title", "difficulty": 1, "time_limit": 60,
                                 "source": None}
    for name in wrong:
        if name in stand_ins:
            fixed[name] = stand_ins[name]
        elif name in ("area", "topics", "(question)"):
            fixed["area"], fixed["topics"] = area, [topic]
    for name in Question.model_fields:
        if name not in fixed and Question.model_fields[name].is_required():
            fixed[name] = stand_ins.get(name)
    try:
        question = Question.model_validate(fixed)
    except ValidationError:
        return []
    return variant_problems(question, 0, source)


def variant_problems(question: Question, seed: int, source: str) -> list[Problem]:
    """Problems of drawing one variant, each under its own field: the parameters first (nothing
    else can be checked without them), then the answer section and every text separately, so
    an unknown name in `answer.value` and another in the prompt are both reported."""
    rng = variants.rng_for(question.id, seed)
    try:
        params = variants.draw_params(question, rng)
    except QuestionError as exc:
        return [question_error(source, exc, seed, default="params")]
    problems: list[Problem] = []
    try:
        registry.module_for(question.kind).prepare(question, params, rng)
    except QuestionError as exc:
        problems.append(question_error(source, exc, seed, default="answer"))
    texts = [("prompt", question.prompt), ("explanation", question.explanation)]
    texts += [(f"hints[{i}]", h) for i, h in enumerate(question.hints)]
    for where, text in texts:
        try:
            variants.render(text, params, where)
        except QuestionError as exc:  # e.g. a `{name:spec}` format that does not apply to the value
            problems.append(question_error(source, exc, seed, default=where))
    return problems


_FIELD_AT_START = re.compile(r"^([a-z_]+(?:\[[^\]]*\])?(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?)*)(?::\s*|\s+|$)")


def question_error(source: str, exc: Exception, seed: int | None = None, default: str = "(question)") -> Problem:
    """A grader's QuestionError as a problem under the field its message starts with
    ('answer.value ...', 'params.n.formula: ...', 'hints[1]: ...'), else under `default`."""
    message = str(exc)
    field, rest = default, message
    match = _FIELD_AT_START.match(message)
    if match:
        head = match.group(1)
        top = head.split(".")[0].split("[")[0]
        if top in Question.model_fields or top == "constraint":
            field = "constraints" if top == "constraint" else head
            rest = message if top == "constraint" else message[match.end():]
    prefix = f"seed {seed}: " if seed is not None else ""
    return Problem(source, field, prefix + (rest or message))


def load_file(path: Path | str) -> LoadedQuestion:
    path = Path(path)
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BankError([Problem(source, "", f"the file is larger than {MAX_FILE_BYTES // 1024} KiB, "
                                                 "the most a question file may be")])
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
    files = question_files(paths or [default_bank_path()])
    _prefetch_sql(files)
    for f in files:
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


def _prefetch_sql(files: list[Path]) -> None:
    """Every SQL question's schema and reference in one sandbox run instead of one run each."""
    answers = []
    for f in files:
        try:
            if f.stat().st_size > MAX_FILE_BYTES:
                continue
            text = f.read_text(encoding="utf-8")
            if "kind: sql" not in text:
                continue
            data = parse_yaml(text, str(f))
        except (OSError, ValueError, RecursionError, BankError):  # the file's own load reports it
            continue
        if data.get("kind") == "sql" and isinstance(data.get("answer"), dict):
            answers.append(data["answer"])
    if answers:
        registry.module_for("sql").prefetch(answers)


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
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    paths: set[str] = set()
    errors = exc.errors(include_url=False, include_context=True, include_input=True)
    for err in errors:
        loc = tuple(err["loc"])
        path = _field_path(((prefix,) if prefix else ()) + loc)
        # union types report once per member; keep the first message per field
        if (path, err["type"]) in seen or (path in paths and err["type"] in ("string_type", "model_type", "model_attributes_type", "dict_type")):
            continue
        seen.add((path, err["type"]))
        paths.add(path)
        if len(problems) == MAX_PROBLEMS:
            problems.append(Problem(source, "(question)", f"and more problems: the first {MAX_PROBLEMS} are listed"))
            break
        problems.append(Problem(source, path or "(question)", _message(err, fields)))
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
        return f"must be one of {ctx.get('expected')}, not {_short(value)}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number, not {_short(value)}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number, not {_short(value)}"
    if kind in ("string_type",):
        shown = _short(value) if isinstance(value, (list, tuple, dict, set)) else f"{type(value).__name__} {_short(value)}"
        return f"must be text, not {shown}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, not {_short(value)}"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list, not {type(value).__name__}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of fields, not {type(value).__name__}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, not {_short(value)}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, not {_short(value)}"
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
