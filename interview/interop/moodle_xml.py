"""Moodle XML (https://docs.moodle.org/en/Moodle_XML_format) to and from bank questions.

Kinds: `multichoice` (single -> choice, several -> multi), `truefalse` -> choice, `numerical`
-> numeric, `calculated`/`calculatedsimple` -> numeric with params (dataset ranges become
parameter ranges, the formula `answer.value`), `shortanswer` -> numeric when its answer is a
number, else a rubric whose phrases are the accepted answers, `essay` -> rubric (the grader
information is the model answer), CodeRunner `python3` -> code (the answer is the reference,
test cases `print(f(...))` the visible and hidden tests). The file is untrusted: it is parsed
with defusedxml (no DTDs, no entities, no external references) after a size check.
"""
from __future__ import annotations

import ast
import html
import json
import math
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterable

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

import graders
from graders import formula as bank_formula
from graders.question import NAME_PATTERN, Question
from interview.interop import ImportFormatError, MAX_IMPORT_BYTES, common
from interview.interop import Converted

# Moodle's formula functions that mean the same in the bank's formulas (PHP `log` is natural).
_SAME_FUNCTIONS = {"sqrt", "exp", "log", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
                   "tanh", "abs", "floor", "ceil", "min", "max", "round"}
_TO_MOODLE_FUNCTIONS = {"ln": "log"}


# ================================================================ import


def parse(data: bytes, source: str) -> list[Converted]:
    """Every question of a Moodle XML file, converted or refused with the reason."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFormatError(f"the file is larger than {MAX_IMPORT_BYTES // 2**20} MiB")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ImportFormatError(f"refused: the XML declares a DTD or entities ({type(exc).__name__}); "
                                "Moodle exports never do") from None
    except ET.ParseError as exc:
        line = getattr(exc, "position", (0, 0))[0]
        raise ImportFormatError(f"not well-formed XML: {exc}", f"line {line}") from None
    if root.tag != "quiz":
        raise ImportFormatError(f"not a Moodle XML quiz: the root element is <{root.tag[:40]}>, not <quiz>")
    out: list[Converted] = []
    taken: set[str] = set()
    category = ""
    for n, q in enumerate(root.findall("question"), 1):
        qtype = q.get("type", "")
        if qtype == "category":
            category = _text(q, "category")
            continue
        name = _text(q, "name") or f"question {n}"
        where = f"question {n} '{common.plain(name)[:60]}' ({qtype})"
        item = Converted(where)
        try:
            fields = _convert(q, qtype, item.notes, category)
        except _Refuse as exc:
            item.refused = str(exc)
            out.append(item)
            continue
        idnumber = _text(q, "idnumber").strip()
        base = idnumber if idnumber and common.slug(idnumber, "") == idnumber else common.slug(common.plain(name))
        if idnumber and base != idnumber:
            item.notes.append(f"the idnumber '{idnumber[:60]}' is not a bank id: used '{base}'")
        item.qid = common.unique_id(base, taken)
        title = common.plain(name)[:160]
        head = {"id": item.qid, "title": title if len(title) >= 3 else f"Question {n}"}
        item.text = common.question_yaml({**head, **fields})
        out.append(item)
    return out


class _Refuse(Exception):
    pass


def _text(el: ET.Element | None, path: str) -> str:
    """The text of `path/text` (Moodle wraps most values in <text>), or of `path` itself."""
    if el is None:
        return ""
    node = el.find(path)
    if node is None:
        return ""
    inner = node.find("text")
    return (inner.text if inner is not None else node.text) or ""


def _html(el: ET.Element, path: str, notes: list[str], literal_braces: bool = True) -> str:
    node = el.find(path)
    if node is None:
        return ""
    fmt = node.get("format", "html")
    raw = _text(el, path)
    if fmt in ("plain_text", "markdown"):
        return raw.strip()
    return common.html_to_markdown(raw, notes, literal_braces)


def _fraction(a: ET.Element) -> float:
    try:
        return float(a.get("fraction", "0"))
    except ValueError:
        raise _Refuse(f"an answer's fraction '{a.get('fraction', '')[:20]}' is not a number") from None


_TEXT_FORMULA = re.compile(r"\{=((?:[^{}]|\{[A-Za-z_][A-Za-z0-9_]*\})+)\}")


def _formula_slots(q: ET.Element, slots: dict[str, str]) -> None:
    """A calculated question's `{=...}` text formulas become formula parameters (`{f1}`): the
    texts of `q` are rewritten in place; `slots` maps each formula to its parameter's name."""
    for node in q.iter("text"):
        if node.text and "{=" in node.text:
            def slot(m: re.Match[str]) -> str:
                expr = html.unescape(m.group(1))
                if expr not in slots:
                    slots[expr] = f"f{len(slots) + 1}"
                return "{" + slots[expr] + "}"
            node.text = _TEXT_FORMULA.sub(slot, node.text)


def _convert(q: ET.Element, qtype: str, notes: list[str], category: str) -> dict[str, Any]:
    calculated = qtype in ("calculated", "calculatedsimple")
    slots: dict[str, str] = {}
    if calculated:
        _formula_slots(q, slots)
    prompt = _html(q, "questiontext", notes, literal_braces=not calculated)
    if len(prompt.strip()) < 10:
        raise _Refuse("the question text is empty or shorter than 10 characters")
    explanation = _html(q, "generalfeedback", notes, literal_braces=not calculated)
    hints = [h for h in (common.html_to_markdown(_text(h, "."), notes, not calculated) for h in q.findall("hint")) if h]
    tags = [t.text or "" for t in q.findall("tags/tag/text")]
    if qtype == "multichoice":
        kind, answer, fallback = _multichoice(q, notes)
    elif qtype == "truefalse":
        kind, answer, fallback = _truefalse(q)
    elif qtype == "numerical":
        kind, answer, fallback = _numerical(q, notes)
    elif calculated:
        kind, answer, fallback = "numeric", *_calculated(q, notes, tags)
    elif qtype == "shortanswer":
        kind, answer, fallback = _shortanswer(q, notes)
    elif qtype == "essay":
        kind, answer, fallback = _essay(q, notes)
    elif qtype == "coderunner":
        kind, answer, fallback = _coderunner(q, notes)
    else:
        raise _Refuse(f"Moodle '{qtype[:40]}' questions have no counterpart in the bank")
    params = answer.pop("_params", None)
    for expr, name in slots.items():
        if name in (params or {}):
            raise _Refuse(f"a text formula's parameter name '{name}' is also a wildcard")
        params = {**(params or {}), name: {"formula": from_moodle_formula(expr)}}
    return common.assemble(kind, prompt, answer, explanation, fallback, hints, tags, category, notes, params)


def _answers(q: ET.Element) -> list[ET.Element]:
    return q.findall("answer")


def _multichoice(q: ET.Element, notes: list[str]) -> tuple[str, dict[str, Any], str]:
    single = _text(q, "single").strip().lower() in ("true", "1")
    options: list[Any] = []
    fractions: list[float] = []
    for a in _answers(q):
        text = common.html_to_markdown(_text(a, "."), notes) if a.get("format", "html") == "html" else _text(a, ".").strip()
        if not text:
            raise _Refuse("an option is empty")
        why = common.html_to_markdown(_text(a, "feedback"), notes)
        options.append({"text": text, "why": why} if why else text)
        fractions.append(_fraction(a))
    if not 2 <= len(options) <= 12:
        raise _Refuse(f"the bank takes 2 to 12 options, not {len(options)}")
    shuffle = _text(q, "shuffleanswers").strip().lower() not in ("0", "false")
    correct = [i for i, f in enumerate(fractions) if f > 0]
    if not correct:
        raise _Refuse("no option has a positive grade")
    option_texts = [o["text"] if isinstance(o, dict) else o for o in options]
    fallback = "The correct answer: " + "; ".join(common.plain(option_texts[i]) for i in correct) + "."
    if single:
        full = [i for i, f in enumerate(fractions) if f >= 99.99]
        if len(full) != 1:
            raise _Refuse("a single-answer question needs exactly one option graded 100%")
        if len(correct) > 1:
            notes.append("options with partial credit count as wrong: the bank's single choice is right or wrong")
        return "choice", {"options": options, "correct": full[0], "shuffle": shuffle}, fallback
    share = 100 / len(correct)
    if any(abs(fractions[i] - share) > 0.01 for i in correct) or any(
            f < 0 and abs(f + share) > 0.01 for f in fractions):
        notes.append("Moodle's grades per option became the bank's scoring: (right - wrong) / number right")
    return "multi", {"options": options, "correct": correct, "shuffle": shuffle}, fallback


def _truefalse(q: ET.Element) -> tuple[str, dict[str, Any], str]:
    truth = None
    for a in _answers(q):
        if _fraction(a) >= 99.99:
            truth = _text(a, ".").strip().lower() == "true"
    if truth is None:
        raise _Refuse("neither 'true' nor 'false' is graded 100%")
    return "choice", {"options": ["True", "False"], "correct": 0 if truth else 1, "shuffle": False}, \
        f"The statement is {'true' if truth else 'false'}."


def _number(text: str, what: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise _Refuse(f"{what} '{text.strip()[:30]}' is not a number") from None
    if not math.isfinite(value):
        raise _Refuse(f"{what} is not finite")
    return value


def _best_answer(q: ET.Element, notes: list[str]) -> ET.Element:
    answers = [a for a in _answers(q) if _text(a, ".").strip() != "*"]
    full = [a for a in answers if _fraction(a) >= 99.99]
    if not full:
        raise _Refuse("no answer is graded 100%")
    if len(answers) > 1:
        notes.append("only the answer graded 100% was kept: other answers and their partial credit were dropped")
    return full[0]


def _numerical(q: ET.Element, notes: list[str]) -> tuple[str, dict[str, Any], str]:
    a = _best_answer(q, notes)
    value = _number(_text(a, "."), "the answer")
    tolerance = abs(_number(_text(a, "tolerance") or "0", "the tolerance"))
    if q.findall("units/unit"):
        notes.append("units were ignored: the learner answers with the number alone")
    answer: dict[str, Any] = {"value": _plain_number(value), "atol": _plain_number(tolerance)}
    return "numeric", answer, f"The answer is {_plain_number(value)}" + (f" (within {_plain_number(tolerance)})." if tolerance else ".")


def _plain_number(v: float) -> float | int:
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else v


def _calculated(q: ET.Element, notes: list[str], tags: list[str]) -> tuple[dict[str, Any], str]:
    a = _best_answer(q, notes)
    value = from_moodle_formula(_text(a, "."))
    tol = abs(_number(_text(a, "tolerance") or "0.01", "the tolerance"))
    ttype = (a.findtext("tolerancetype") or "1").strip()
    answer: dict[str, Any] = {"value": value}
    if ttype == "2":
        answer["atol"] = _plain_number(tol)
    else:
        if ttype == "3":
            notes.append("the geometric tolerance became a relative one")
        answer["rtol"] = _plain_number(tol) if tol <= 0.5 else 0.5
    params: dict[str, Any] = {}
    for d in q.findall("dataset_definitions/dataset_definition"):
        name = _text(d, "name").strip()
        if not NAME_PATTERN.match(name):
            raise _Refuse(f"the wildcard '{name[:30]}' is not a usable parameter name")
        lo, hi = _number(_text(d, "minimum"), f"{{{name}}}'s minimum"), _number(_text(d, "maximum"), f"{{{name}}}'s maximum")
        decimals = int(_number(_text(d, "decimals") or "1", f"{{{name}}}'s decimals"))
        if lo > hi:
            raise _Refuse(f"{{{name}}}'s minimum is above its maximum")
        if _text(d, "distribution").strip() == "loguniform":
            notes.append(f"{{{name}}} was log-uniform in Moodle: the bank draws it uniformly")
        if f"{CHOICE_TAG}{name}" in tags:  # written by this export: Moodle picks among the items, and so do we
            values = [_item_number(i.findtext("value") or "", name) for i in d.findall("dataset_items/dataset_item")]
            if not values:
                raise _Refuse(f"{{{name}}} is a list of values without items")
            params[name] = {"choice": values}
        elif decimals == 0 and lo.is_integer() and hi.is_integer():
            params[name] = {"int": [int(lo), int(hi)]}
        else:
            params[name] = {"float": [lo, hi], "digits": max(0, min(decimals, 8))}
    if not params:
        raise _Refuse("a calculated question without datasets")
    answer["_params"] = params
    return answer, f"The answer is {value}."


CHOICE_TAG = "dataset-items:"  # a tag naming a wildcard drawn from its listed items, not from its range


def _item_number(text: str, name: str) -> float | int:
    value = _number(text, f"an item of {{{name}}}")
    return int(value) if re.fullmatch(r"\s*[+-]?\d+\s*", text) else value


MAX_FORMULA_CHARS = 2000
MAX_CODE_CHARS = 64 * 1024  # of one test case, as of a whole question file


def _parse_expr(text: str, refusal: str) -> ast.Expression:
    """Python expression syntax from an untrusted file: bounded, and never an exception but _Refuse."""
    if len(text) > MAX_CODE_CHARS:
        raise _Refuse(f"{refusal} (longer than {MAX_CODE_CHARS // 1024} KiB)")
    try:
        return ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise _Refuse(refusal) from None


def from_moodle_formula(text: str) -> str:
    """A Moodle formula (`{a}`, `pow(x, y)`, `pi()`) as a bank formula, checked by the bank's parser."""
    source = re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", r"\1", text.strip())
    if "^" in source:
        raise _Refuse("the formula uses '^' (not a power in Moodle either)")
    if len(source) > MAX_FORMULA_CHARS:
        raise _Refuse(f"the formula is longer than {MAX_FORMULA_CHARS} characters")
    tree = _parse_expr(source, f"the formula '{text[:60]}' cannot be read")

    class Rewrite(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> Any:
            self.generic_visit(node)
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            if name == "pi" and not node.args:
                return ast.Name("pi", ast.Load())
            if name == "pow" and len(node.args) == 2:
                return ast.BinOp(node.args[0], ast.Pow(), node.args[1])
            if name == "fmod" and len(node.args) == 2:
                return ast.BinOp(node.args[0], ast.Mod(), node.args[1])
            if name not in _SAME_FUNCTIONS:
                raise _Refuse(f"the formula uses '{name[:30]}', which the bank's formulas lack")
            return node

    try:
        out = ast.unparse(Rewrite().visit(tree))
    except RecursionError:
        raise _Refuse("the formula is nested too deeply") from None
    try:
        bank_formula.parse(out)
    except Exception as exc:  # noqa: BLE001 - any reason the bank refuses it
        raise _Refuse(f"the formula '{text[:60]}' is not a bank formula: {exc}") from None
    return out


def _shortanswer(q: ET.Element, notes: list[str]) -> tuple[str, dict[str, Any], str]:
    accepted = [common.plain(_text(a, ".")) for a in _answers(q) if _fraction(a) >= 99.99]
    accepted = [a for a in accepted if a]
    if not accepted:
        raise _Refuse("no answer is graded 100%")
    try:
        value = float(accepted[0])
    except ValueError:
        value = None
    if value is not None and math.isfinite(value):
        notes.append("a short answer that is a number became a numeric question (exact, within 1e-9)")
        return "numeric", {"value": _plain_number(value), "atol": 1e-9}, f"The answer is {accepted[0]}."
    if any("*" in a for a in accepted):
        notes.append("'*' wildcards in the accepted answers were dropped")
    phrases = [p for p in (a.replace("*", " ").strip() for a in accepted) if re.search(r"[A-Za-z0-9]", p)]
    if not phrases:
        raise _Refuse("no accepted answer has words to match")
    notes.append("a short answer became a rubric: an answer naming one of the accepted answers covers it")
    model = f"The expected answer: {accepted[0]}."
    return "rubric", {"points": [{"text": f"Gives the answer: {accepted[0][:200]}", "weight": 1, "phrases": phrases}],
                      "model_answer": model}, model


_RUBRIC_ITEM = re.compile(r"^(?P<text>.+?) \(weight (?P<w>[0-9.]+); key phrases: (?P<p>.*)\)\s*$", re.DOTALL)
RUBRIC_HEADING = "Rubric"


def _essay(q: ET.Element, notes: list[str]) -> tuple[str, dict[str, Any], str]:
    info = _text(q, "graderinfo")
    points: list[dict[str, Any]] = []
    match = re.search(r"<h4>\s*" + RUBRIC_HEADING + r"\s*</h4>\s*<ol>(.*?)</ol>", info, re.DOTALL)
    if match:
        for li in re.findall(r"<li>(.*?)</li>", match.group(1), re.DOTALL):
            m = _RUBRIC_ITEM.match(common.plain(li))
            if m:
                points.append({"text": m["text"], "weight": _plain_number(float(m["w"])),
                               "phrases": [p.strip() for p in m["p"].split(" | ") if p.strip()]})
        info = info[:match.start()] + info[match.end():]
    model = common.html_to_markdown(info, notes)
    if len(model) < 10:
        raise _Refuse("an essay needs grader information (the model answer) to become a rubric")
    if not points:
        words = sorted({w for w in re.findall(r"[a-z][a-z-]{6,}", model.lower())}, key=lambda w: -len(w))[:8]
        if not words:
            raise _Refuse("the grader information has no words to build a rubric from")
        points = [{"text": "Covers the points of the model answer", "weight": 1, "phrases": words}]
        notes.append("the rubric is one point whose phrases are the model answer's longest words: review it")
    return "rubric", {"points": points, "model_answer": model}, "Compare your answer with the model answer:\n\n" + model


class _NonFinite(ast.NodeTransformer):
    """`inf`, `nan` (as Python prints them) and `float('inf')` as constants for literal_eval."""

    def visit_Name(self, node: ast.Name) -> Any:
        return ast.Constant(float(node.id)) if node.id in ("inf", "nan") else node

    def visit_Call(self, node: ast.Call) -> Any:
        if (isinstance(node.func, ast.Name) and node.func.id == "float" and len(node.args) == 1
                and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).lower().lstrip("+-") in ("inf", "nan", "infinity")):
            return ast.Constant(float(node.args[0].value))
        return self.generic_visit(node)


def _literal(node: ast.AST, what: str = "a test case's arguments") -> Any:
    try:
        return ast.literal_eval(_NonFinite().visit(node))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise _Refuse(f"{what} are not plain values (numbers, strings, lists, dicts)") from None


def _coderunner(q: ET.Element, notes: list[str]) -> tuple[str, dict[str, Any], str]:
    crtype = (q.findtext("coderunnertype") or "").strip()
    if crtype != "python3":
        raise _Refuse(f"CodeRunner '{crtype[:30]}' questions: only python3 maps to the bank's code questions")
    reference = _text(q, "answer")
    starter = _text(q, "answerpreload")
    settings: dict[str, Any] = {}
    try:
        params = json.loads(_text(q, "templateparams") or "{}")
        if isinstance(params, dict) and isinstance(params.get("interview"), dict):
            settings = {k: v for k, v in params["interview"].items()
                        if k in ("compare", "rtol", "atol", "array_args", "test_time_limit", "memory_mb")}
    except json.JSONDecodeError:
        notes.append("the template parameters are not JSON and were ignored")
    function = None
    visible: list[dict[str, Any]] = []
    hidden: list[dict[str, Any]] = []
    for t in q.findall("testcases/testcase"):
        code = _text(t, "testcode").strip()
        if _text(t, "stdin").strip():
            raise _Refuse("a test case reads standard input: the bank's tests call a function")
        tree = _parse_expr(code, f"the test '{code[:50]}' is not one print(function(...)) call")
        call = tree.body
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print"
                and len(call.args) == 1 and not call.keywords):
            raise _Refuse(f"the test '{code[:50]}' is not one print(function(...)) call")
        inner, use_repr = call.args[0], False
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "repr" and len(inner.args) == 1:
            inner, use_repr = inner.args[0], True
        if not (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and not inner.keywords):
            raise _Refuse(f"the test '{code[:50]}' does not call one function with plain arguments")
        if function not in (None, inner.func.id):
            raise _Refuse("the tests call different functions")
        function = inner.func.id
        args = [_literal(a) for a in inner.args]
        shown = _text(t, "expected").rstrip("\n")
        try:
            expected = _literal(_parse_expr(shown.strip(), "not a Python value").body, "the expected output")
        except _Refuse:
            if use_repr:
                raise _Refuse(f"the expected output '{shown[:40]}' is not a Python value") from None
            expected = shown  # print() of a string shows it without quotes
        case = {"args": args, "expected": expected}
        display = _text(t, "display").strip().upper()
        (visible if display == "SHOW" or (t.get("useasexample") == "1" and display != "HIDE") else hidden).append(case)
    if function is None:
        raise _Refuse("a CodeRunner question without test cases")
    if not visible:
        visible, hidden = hidden[:1], hidden[1:]
        notes.append("no test case was shown: the first one became the visible test")
    answer = {"function": function, "starter": starter, "reference": reference,
              "tests": {"visible": visible, **({"hidden": hidden} if hidden else {})}, **settings}
    return "code", answer, f"A reference solution:\n\n```python\n{reference.rstrip()}\n```"


# ================================================================ export


class Unmappable(ValueError):
    pass


def to_moodle_formula(text: str | float, params: Iterable[str] | dict[str, str]) -> str:
    """A bank formula as a Moodle formula (`{a}` wildcards, `pow`, `pi()`); Unmappable otherwise.
    `params` maps a name to its Moodle text (a formula parameter's expression), or lists wildcards."""
    names = dict(params) if isinstance(params, dict) else {n: f"{{{n}}}" for n in params}
    tree = ast.parse(str(text), mode="eval")

    def emit(node: ast.AST) -> str:
        if isinstance(node, ast.Expression):
            return emit(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return repr(node.value)
        if isinstance(node, ast.Name):
            if node.id in names:
                return names[node.id]
            if node.id == "pi":
                return "pi()"
            if node.id == "e":
                return "exp(1)"
            raise Unmappable(f"the name '{node.id}'")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return ("-" if isinstance(node.op, ast.USub) else "+") + f"({emit(node.operand)})"
        if isinstance(node, ast.BinOp):
            a, b = emit(node.left), emit(node.right)
            ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
            if type(node.op) in ops:
                return f"({a} {ops[type(node.op)]} {b})"
            if isinstance(node.op, ast.Pow):
                return f"pow({a}, {b})"
            if isinstance(node.op, ast.FloorDiv):
                return f"floor({a} / {b})"
            raise Unmappable(f"the operator {type(node.op).__name__}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            name = _TO_MOODLE_FUNCTIONS.get(node.func.id, node.func.id)
            if name not in _SAME_FUNCTIONS or (node.func.id == "log" and len(node.args) != 1):
                raise Unmappable(f"the function '{node.func.id}'")
            return f"{name}({', '.join(emit(a) for a in node.args)})"
        raise Unmappable(f"'{ast.unparse(node)[:40]}'")

    return emit(tree)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _texted(parent: ET.Element, tag: str, text: str, fmt: str | None = "html") -> ET.Element:
    el = _el(parent, tag, **({"format": fmt} if fmt else {}))
    _el(el, "text", text)
    return el


def _moodle_params(question: Question) -> dict[str, str]:
    """Each parameter's Moodle text: a number range is a dataset wildcard `{a}`, a formula
    parameter its expression over them; Unmappable for anything else (choices, matrices...)."""
    out: dict[str, str] = {}
    for name, p in question.params.items():
        if p.formula is not None:
            try:
                out[name] = f"({to_moodle_formula(p.formula, out)})"
            except (Unmappable, SyntaxError) as exc:
                raise Unmappable(f"the formula of parameter '{name}' has no Moodle form: {exc}") from None
        elif p.choice is not None and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p.choice) \
                and len(p.choice) <= 100:
            out[name] = f"{{{name}}}"
        elif (p.int_range is not None or p.float_range is not None) and not (p.matrix or p.vector or p.exclude):
            out[name] = f"{{{name}}}"
        else:
            raise Unmappable(f"the parameter {name} is not a number drawn from a range or a formula "
                             "(Moodle datasets are ranges)")
    return out


def _moodle_text(question: Question, text: str, notes: list[str]) -> str:
    """Bank Markdown as Moodle HTML: placeholders of number ranges become wildcards `{a}` and
    those of formula parameters `{=...}` (Moodle computes them); a fixed question's `{{x}}`
    escapes are resolved."""
    if not question.params:
        return common.markdown_to_html(graders.variants.render(text, {}, "text"))
    mapping = _moodle_params(question)

    def slot(m: re.Match[str]) -> str:
        name, spec = m.group(1), m.group(2)
        if name not in mapping:
            return m.group(0)
        if spec and "number formats such as {x:.2f} were dropped: Moodle shows the value" not in notes:
            notes.append("number formats such as {x:.2f} were dropped: Moodle shows the value")
        wildcard = mapping[name]
        return wildcard if wildcard.startswith("{") else "{=" + wildcard[1:-1] + "}"

    return common.markdown_to_html(graders.variants.PLACEHOLDER.sub(slot, text))


def export_question(quiz: ET.Element, question: Question, notes: list[str]) -> None:
    """Append one question to a <quiz>; Unmappable (with the reason) when it has no Moodle form."""
    kind = question.kind
    spec = question.spec
    if question.params and kind != "numeric":
        raise Unmappable(f"a parameterised {kind} question has no Moodle form (only numeric ones become 'calculated')")
    if question.constraints:
        raise Unmappable("Moodle datasets cannot express constraints between parameters")
    qtype = {"choice": "multichoice", "multi": "multichoice", "numeric": "calculated" if question.params else "numerical",
             "rubric": "essay", "code": "coderunner"}.get(kind)
    if qtype is None:
        raise Unmappable(f"Moodle has no '{kind}' question")
    q = ET.Element("question", {"type": qtype})
    name = _el(q, "name")
    _el(name, "text", question.title)
    _texted(q, "questiontext", _moodle_text(question, question.prompt, notes))
    _texted(q, "generalfeedback", _moodle_text(question, question.explanation, notes))
    _el(q, "defaultgrade", "1")
    _el(q, "penalty", "0.3333333")
    _el(q, "hidden", "0")
    _el(q, "idnumber", question.id)
    if kind in ("choice", "multi"):
        _el(q, "single", "true" if kind == "choice" else "false")
        _el(q, "shuffleanswers", "true" if spec.shuffle else "false")
        _el(q, "answernumbering", "ABCD")
        correct = spec.correct_set
        share = 100 / len(correct)
        for i in range(len(spec.options)):
            opt = spec.option(i)
            fraction = (100 if kind == "choice" else share) if i in correct else (0 if kind == "choice" else -share)
            a = _texted(q, "answer", _moodle_text(question, opt.text, notes), "html")
            a.set("fraction", f"{fraction:.7g}")
            _texted(a, "feedback", _moodle_text(question, opt.why, notes) if opt.why else "")
    elif kind == "numeric":
        _numeric_answer(q, question, notes)
    elif kind == "rubric":
        _el(q, "responseformat", "editor")
        _el(q, "responserequired", "1")
        _el(q, "responsefieldlines", "15")
        items = "".join(f"<li>{_esc(p.text)} (weight {p.weight:g}; key phrases: {_esc(' | '.join(p.phrases))})</li>"
                        for p in spec.points)
        info = _moodle_text(question, spec.model_answer, notes) + f"\n<h4>{RUBRIC_HEADING}</h4>\n<ol>{items}</ol>"
        _texted(q, "graderinfo", info)
        _texted(q, "responsetemplate", "")
    elif kind == "code":
        _coderunner_out(q, question, notes)
    for hint in question.hints:
        _texted(q, "hint", _moodle_text(question, hint, notes))
    tags = _el(q, "tags")
    choice_tags = [f"{CHOICE_TAG}{n}" for n, p in question.params.items() if p.choice is not None]
    for t in common.metadata_tags(question) + choice_tags:
        _el(_el(tags, "tag"), "text", t)
    quiz.append(q)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _numeric_answer(q: ET.Element, question: Question, notes: list[str]) -> None:
    spec = question.spec
    if spec.percent:
        notes.append("answers as percentages ('45%') are not accepted by Moodle: the learner types 0.45")
    if not question.params:
        value = float(bank_formula.evaluate(str(spec.value), {}))
        a = _el(q, "answer", fraction="100")
        _el(a, "text", repr(_plain_number(value)))
        _el(a, "tolerance", repr(max(spec.atol, spec.rtol * abs(value))))
        _texted(a, "feedback", "")
        return
    mapping = _moodle_params(question)
    try:
        value = to_moodle_formula(spec.value, mapping)
    except (Unmappable, SyntaxError) as exc:
        raise Unmappable(f"the answer formula has no Moodle form: {exc}") from None
    _el(q, "synchronize", "0")
    _el(q, "single", "0")
    _el(q, "answernumbering", "abc")
    _el(q, "shuffleanswers", "0")
    a = _el(q, "answer", fraction="100")
    _el(a, "text", value)
    if spec.rtol > 0:
        if spec.atol > 0:
            raise Unmappable("Moodle takes one tolerance, relative or absolute; this question uses both "
                             "(the wider applies), which would grade some answers differently")
        tol, ttype = spec.rtol, "1"
    else:
        tol, ttype = spec.atol, "2"
    _el(a, "tolerance", repr(tol))
    _el(a, "tolerancetype", ttype)
    _el(a, "correctanswerformat", "2")
    _el(a, "correctanswerlength", "4")
    _texted(a, "feedback", "")
    defs = _el(q, "dataset_definitions")
    draws = [graders.variants.draw_params(question, graders.variants.rng_for(question.id, s)) for s in range(10)]
    for name, p in question.params.items():
        if p.formula is not None:
            continue
        d = _el(defs, "dataset_definition")
        _el(_el(d, "status"), "text", "private")
        _el(_el(d, "name"), "text", name)
        _el(d, "type", "calculated")
        _el(_el(d, "distribution"), "text", "uniform")
        if p.choice is not None:  # Moodle draws a wildcard from its items: the list itself
            values = list(p.choice)
            lo, hi = min(values), max(values)
            decimals = "0" if all(isinstance(v, int) for v in values) else "6"
        else:
            values = [draw[name] for draw in draws]
            lo, hi = p.int_range or p.float_range  # type: ignore[misc]
            decimals = "0" if p.int_range else str(p.digits)
        _el(_el(d, "minimum"), "text", repr(lo))
        _el(_el(d, "maximum"), "text", repr(hi))
        _el(_el(d, "decimals"), "text", decimals)
        _el(d, "itemcount", str(len(values)))
        items = _el(d, "dataset_items")
        for i, v in enumerate(values, 1):
            item = _el(items, "dataset_item")
            _el(item, "number", str(i))
            _el(item, "value", repr(v) if p.choice is not None else repr(float(v)))
        _el(d, "number_of_items", str(len(values)))


def _coderunner_out(q: ET.Element, question: Question, notes: list[str]) -> None:
    spec = question.spec
    _el(q, "coderunnertype", "python3")
    _el(q, "prototypetype", "0")
    _el(q, "allornothing", "1")
    _el(q, "penaltyregime", "10, 20, ...")
    settings = {"compare": spec.compare, "rtol": spec.rtol, "atol": spec.atol, "array_args": spec.array_args,
                "test_time_limit": spec.test_time_limit, "memory_mb": spec.memory_mb}
    _el(q, "templateparams", json.dumps({"interview": settings}))
    if spec.compare != "exact":
        notes.append(f"CodeRunner compares printed output exactly; the bank compares '{spec.compare}' "
                     "(kept in the template parameters for a re-import)")
    if spec.complexity is not None:
        notes.append("the complexity check has no CodeRunner form and was left out")
    _el(q, "answerpreload", spec.starter)
    _el(q, "answer", spec.reference)
    cases = _el(q, "testcases")
    for hidden, tests in ((False, spec.tests.visible), (True, spec.tests.hidden)):
        for t in tests:
            c = _el(cases, "testcase", testtype="0", useasexample="0" if hidden else "1", hiderestiffail="0",
                    mark="1.0000000")
            args = ", ".join(repr(a) for a in t.args)
            _texted(c, "testcode", f"print(repr({spec.function}({args})))", None)
            _texted(c, "stdin", "", None)
            _texted(c, "expected", repr(t.expected), None)
            _texted(c, "extra", "", None)
            _texted(c, "display", "HIDE" if hidden else "SHOW", None)


def export(questions: Iterable[Question]) -> tuple[bytes, list[tuple[str, str]], list[tuple[str, str]]]:
    """A Moodle XML quiz of `questions`: (the file, notes per id, refusals per id)."""
    quiz = ET.Element("quiz")
    notes: list[tuple[str, str]] = []
    refused: list[tuple[str, str]] = []
    for question in questions:
        mine: list[str] = []
        try:
            export_question(quiz, question, mine)
        except Unmappable as exc:
            refused.append((question.id, str(exc)))
            quiz.append(ET.Comment(f" not exported: {question.id}: {exc} ".replace("--", "- -")))
            continue
        notes += [(question.id, n) for n in mine]
    ET.indent(quiz)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode")).encode("utf-8"), notes, refused
