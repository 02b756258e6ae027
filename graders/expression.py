"""Expression answers: a formula in the question's variables, checked by evaluation.

Learners type math the way people write it (`2x e^(x^2)`, `(x-1)(x+1)`, `|x|`, `ln x`, `x²`,
`3·x`); a small tokenizer of our own reads that, inserts the multiplications people leave
out and hands plain Python syntax to `ast` and `graders.formula` (the one safe evaluator).
Nothing learners type is ever given to `eval` or `sympify`.

Two expressions are equivalent when they agree at every one of many random points of the
declared domains (one vectorised NumPy evaluation). Points where the reference is undefined
are never drawn; the learner's answer must be finite wherever the reference is (a couple of
exceptions are tolerated for removable singularities) and agree within a relative tolerance
of 1e-6, so a near miss that happens to agree at a few points is still wrong.
"""
from __future__ import annotations

import ast
import difflib
import keyword
import math
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from graders import formula
from graders.types import Grade, QuestionError, Variant

if TYPE_CHECKING:
    from graders.question import Question

MAX_INPUT_CHARS = 1000
MAX_TOKENS = 400
MAX_AST_DEPTH = 100
RTOL = 1e-6
ATOL_REL_MEDIAN = 1e-8   # absolute floor, relative to the typical size of the reference
ATOL_FLOOR = 1e-12
DEFAULT_POINTS = 50

# what learners may call; the reference's own functions are added per question
LEARNER_FUNCTIONS = frozenset({
    "sqrt", "exp", "log", "ln", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan",
    "sinh", "cosh", "tanh", "abs", "sign", "sigmoid", "erf", "min", "max", "floor", "ceil",
})
ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "sgn": "sign"}
ARITY: dict[str, tuple[int, int]] = {"log": (1, 2), "min": (2, 20), "max": (2, 20)}
CONSTANTS = ("pi", "e")
GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "θ": "theta", "μ": "mu",
         "σ": "sigma", "π": "pi", "τ": "tau", "φ": "phi", "ε": "epsilon", "ρ": "rho", "ω": "omega"}
SUPERSCRIPTS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7",
                "⁸": "8", "⁹": "9", "⁻": "-"}
TIMES = "*·×⋅∗•"
MINUS = "-−–"
OPEN, CLOSE = "([{", ")]}"
NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LHS = re.compile(r"^\s*(?:[A-Za-z]\w*'*\s*(?:\([^()=]*\))?|d\w*\s*/\s*d\w+)\s*$")


class Answer(BaseModel):
    """`expr` is the reference formula over `vars` and the params; `vars` maps each variable
    the learner may use to the interval its sample points are drawn from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    expr: str = Field(description="the reference, a formula over vars and params")
    vars: dict[str, tuple[float, float]] = Field(min_length=1, max_length=8)
    points: int = Field(DEFAULT_POINTS, ge=10, le=500)

    @field_validator("expr", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @field_validator("expr")
    @classmethod
    def _parses(cls, v: str) -> str:
        try:
            formula.parse(v)
        except formula.FormulaError as exc:
            raise ValueError(f"formula '{v}' does not parse: {exc.message}") from None
        return v

    @model_validator(mode="after")
    def _check_vars(self) -> "Answer":
        for name, (lo, hi) in self.vars.items():
            if not IDENT.fullmatch(name) or keyword.iskeyword(name):
                raise ValueError(f"variable name '{name}' must be a letter or underscore followed by letters, digits, underscores")
            if name in formula.FUNCTIONS or name in ALIASES:
                raise ValueError(f"variable name '{name}' is a function name; pick another")
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
                raise ValueError(f"vars.{name}: the domain [{lo}, {hi}] needs finite ends with the low end below the high end")
        return self


class ReadError(ValueError):
    """A learner's expression that cannot be read; `pos` is a 0-based offset into their text."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass
class _Tok:
    kind: str   # num var const func op lpar rpar comma bar
    text: str   # Python text (canonical name, operator)
    pos: int    # offset in the learner's text
    src: str = ""  # what the learner typed, for messages


@dataclass
class Reading:
    """How an answer was read: Python text for the evaluator and a display form for the echo."""

    python: str
    display: str
    formula: formula.Formula
    notes: list[str] = field(default_factory=list)   # spots where the reading is often not what was meant


# ---------------------------------------------------------------- tokenizer


def _tokenize(text: str, variables: Iterable[str], functions: frozenset[str], offset: int = 0) -> list[_Tok]:
    variables = set(variables)
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        pos = i + offset
        if ch.isspace():
            i += 1
            continue
        if "0" <= ch <= "9" or (ch == "." and i + 1 < n and "0" <= text[i + 1] <= "9"):
            m = NUMBER.match(text, i)
            assert m is not None
            toks.append(_Tok("num", m.group(0), pos, m.group(0)))
            i = m.end()
            continue
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            m = IDENT.match(text, i)
            assert m is not None
            word = m.group(0)
            nxt = text[m.end():].lstrip()[:1]
            toks += _resolve(word, pos, variables, functions, called=bool(nxt) and nxt in OPEN)
            i = m.end()
            continue
        if ch in GREEK:
            toks += _resolve(GREEK[ch], pos, variables, functions, called=False, src=ch)
            i += 1
            continue
        if ch == "*" and text.startswith("**", i):
            toks.append(_Tok("op", "^", pos, "**"))
            i += 2
            continue
        if ch in TIMES:
            toks.append(_Tok("op", "*", pos, ch))
        elif ch in MINUS:
            toks.append(_Tok("op", "-", pos, ch))
        elif ch in "+/^":
            toks.append(_Tok("op", ch, pos, ch))
        elif ch == "÷":
            toks.append(_Tok("op", "/", pos, ch))
        elif ch in OPEN:
            toks.append(_Tok("lpar", "(", pos, ch))
        elif ch in CLOSE:
            toks.append(_Tok("rpar", ")", pos, ch))
        elif ch == ",":
            toks.append(_Tok("comma", ",", pos, ch))
        elif ch == "|":
            toks.append(_Tok("bar", "|", pos, ch))
        elif ch == "√":
            toks.append(_Tok("func", "sqrt", pos, ch))
        elif ch in SUPERSCRIPTS:
            j = i
            while j < n and text[j] in SUPERSCRIPTS:
                j += 1
            digits = "".join(SUPERSCRIPTS[c] for c in text[i:j])
            if not re.fullmatch(r"-?\d+", digits):
                raise ReadError(f"could not read the superscript '{text[i:j]}'", pos)
            toks.append(_Tok("op", "^", pos, text[i:j]))
            if digits.startswith("-"):
                toks.append(_Tok("op", "-", pos, "⁻"))
                digits = digits[1:]
            toks.append(_Tok("num", digits, pos, text[i:j]))
            i = j
            continue
        elif ch in "'\"":
            raise ReadError("quotes are not part of a formula", pos)
        elif ch == "=":
            raise ReadError("'=' is not allowed: type only the expression (the right-hand side)", pos)
        elif ch == ".":
            raise ReadError("'.' here is not part of a number", pos)
        else:
            raise ReadError(f"unexpected character '{ch}'", pos)
        i += 1
        if len(toks) > MAX_TOKENS:
            raise ReadError(f"the answer is too long (more than {MAX_TOKENS} symbols)", pos)
    return toks


def _resolve(word: str, pos: int, variables: set[str], functions: frozenset[str], called: bool, src: str = "") -> list[_Tok]:
    """One identifier as variables, constants and functions; `xy` is x*y when both are variables."""
    src = src or word
    if word in variables:
        return [_Tok("var", word, pos, src)]
    canon = ALIASES.get(word, word)
    if canon in functions:
        return [_Tok("func", canon, pos, src)]
    if word in CONSTANTS:
        return [_Tok("const", word, pos, src)]
    pieces = _split(word, variables, functions if called else frozenset())
    if pieces:
        out, at = [], pos
        for p in pieces:
            canon = ALIASES.get(p, p)
            kind = "var" if p in variables else "func" if canon in functions else "const"
            out.append(_Tok(kind, canon if kind == "func" else p, at, p))
            at += len(p)
        return out
    raise ReadError(_unknown_name(word, variables, functions, called), pos)


def _split(word: str, variables: set[str], functions: frozenset[str]) -> list[str] | None:
    """Fewest pieces, each a variable or constant (the last may be a called function)."""
    if not word.isalpha() or len(word) > 40:
        return None
    names = variables | set(CONSTANTS)
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 1, n + 1):
            piece = word[i:j]
            ok = piece in names or (j == n and i > 0 and ALIASES.get(piece, piece) in functions)
            if ok and (best[j] is None or len(best[i]) + 1 < len(best[j])):  # type: ignore[arg-type]
                best[j] = best[i] + [piece]  # type: ignore[operator]
    return best[n] if best[n] and len(best[n]) > 1 else None


def _unknown_name(word: str, variables: set[str], functions: frozenset[str], called: bool) -> str:
    use = _use_vars(variables)
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", word)
    if m and (m.group(1) in variables or _split(m.group(1), variables, frozenset())):
        base, k = m.groups()
        return f"'{word}' is not a variable of this question; write {base}^{k} for a power or {k}{base} for a product"
    if called:
        close = difflib.get_close_matches(word.lower(), sorted(functions | set(ALIASES)), n=1, cutoff=0.75)
        if close:
            return f"'{word}' is not a known function (did you mean {close[0]}?)"
        return f"'{word}' is not a function this question knows"
    if len(word) <= 2 or word.lower() in {"alpha", "beta", "theta", "mu", "sigma", "lambda"}:
        return f"'{word}' is not a variable of this question; {use}"
    return f"'{word}' is not a variable or function of this question; {use}"


def _use_vars(variables: Iterable[str]) -> str:
    names = sorted(variables)
    if len(names) == 1:
        return f"use {names[0]}"
    return "use " + ", ".join(names[:-1]) + " and " + names[-1]


# ---------------------------------------------------------------- implicit multiplication


_ENDS = {"num", "var", "const", "rpar", "barclose"}
_STARTS = {"num", "var", "const", "func", "lpar", "baropen"}


def _assemble(toks: list[_Tok], text_len: int) -> tuple[list[tuple[str, str, int]], list[str]]:
    """Python pieces (python, display, pos): explicit `*`, `abs(...)` for bars and parentheses
    for function arguments typed without them (`sin 2x` -> sin(2*x))."""
    out: list[tuple[str, str, int]] = []
    notes: list[str] = []
    stack: list[tuple[str, int, int]] = []   # (kind, pos, tokens so far in an implicit argument)
    prev: str | None = None                  # kind of the previous emitted unit
    prev_tok: _Tok | None = None
    after_pow_num = after_div_num = False

    def emit(py: str, disp: str, pos: int) -> None:
        out.append((py, disp, pos))

    def close_implicit(pos: int) -> None:
        nonlocal prev
        while stack and stack[-1][0] == "implicit":
            kind, start, count = stack.pop()
            if count == 0:
                raise ReadError("a function needs an argument, e.g. sin(x)", start)
            emit(")", ")", pos)
            prev = "rpar"

    def bump() -> None:
        if stack and stack[-1][0] == "implicit":
            k, p, c = stack[-1]
            stack[-1] = (k, p, c + 1)

    def depth_check(pos: int) -> None:
        if len(stack) > formula.MAX_DEPTH:
            raise ReadError(f"the answer is nested too deeply (more than {formula.MAX_DEPTH} levels)", pos)

    for idx, t in enumerate(toks):
        kind = t.kind
        if kind == "bar":
            in_abs = any(s[0] == "abs" for s in stack)
            if prev in _ENDS and in_abs:
                close_implicit(t.pos)
                if not stack or stack[-1][0] != "abs":
                    raise ReadError("'|' closes an absolute value that is not open here", t.pos)
                stack.pop()
                emit(")", "|", t.pos)
                prev = "barclose"
                prev_tok = t
                continue
            kind = "baropen"
        implicit_top = bool(stack) and stack[-1][0] == "implicit"
        # an argument typed without parentheses ends at a binary operator, comma, closing bracket
        # or another function once it has begun
        if implicit_top and stack[-1][2] > 0 and (
            (kind == "op" and t.text in "+-*/") or kind in ("comma", "rpar") or kind == "func"
        ):
            close_implicit(t.pos)
        if kind in _STARTS and prev in _ENDS:
            if kind == "num" and prev == "num":
                raise ReadError("two numbers in a row: is an operator missing?", t.pos)
            emit("*", "*", t.pos)
            if after_pow_num and prev == "num":
                notes.append(f"'{prev_tok.src if prev_tok else ''}{t.src}' after '^' reads as a power times {t.src}; "
                             "put the whole exponent in parentheses, e.g. e^(2x)")
            if after_div_num and prev == "num":
                notes.append(f"'/{prev_tok.src if prev_tok else ''}{t.src}' reads as (1/{prev_tok.src if prev_tok else ''})*{t.src}; "
                             "write 1/(2x) to divide by the product")
        if kind == "op":
            unary = t.text in "+-" and (prev is None or prev in ("op", "lpar", "comma", "baropen"))
            if not unary and (prev is None or prev in ("op", "lpar", "comma", "baropen")):
                before = f"'{prev_tok.src}'" if prev_tok is not None and prev == "op" else None
                if before:
                    raise ReadError(f"'{t.src}' cannot follow {before}", t.pos)
                raise ReadError(f"'{t.src}' needs something on its left", t.pos)
            if idx == len(toks) - 1:
                raise ReadError(f"the answer ends with '{t.src}': something is missing after it", t.pos)
            py = "**" if t.text == "^" else t.text
            disp = t.text if (unary or t.text in "*/^") else f" {t.text} "
            emit(py, disp, t.pos)
            after_pow_num = t.text == "^"
            after_div_num = t.text == "/"
            prev, prev_tok = "op", t
            continue
        if kind == "func":
            nxt = toks[idx + 1] if idx + 1 < len(toks) else None
            if nxt is None:
                raise ReadError(f"'{t.src}' needs an argument, e.g. {t.text}(x)", t.pos)
            if nxt.kind == "op" and nxt.text == "^":
                raise ReadError(f"write powers of functions after the argument, e.g. {t.text}(x)^2", nxt.pos)
            bump()
            if nxt.kind == "lpar":
                emit(t.text, t.text, t.pos)
                prev, prev_tok = "funcname", t
                continue
            emit(t.text + "(", t.text + "(", t.pos)
            stack.append(("implicit", t.pos, 0))
            depth_check(t.pos)
            prev, prev_tok = "lpar", t
            continue
        if kind == "lpar" or kind == "baropen":
            bump()
            is_call = prev == "funcname"
            stack.append(("call" if is_call else "abs" if kind == "baropen" else "paren", t.pos, 0))
            depth_check(t.pos)
            emit("abs(" if kind == "baropen" else "(", "|" if kind == "baropen" else "(", t.pos)
            prev, prev_tok = kind if kind == "baropen" else "lpar", t
            continue
        if kind == "rpar":
            close_implicit(t.pos)
            if not stack:
                raise ReadError(f"'{t.src}' has no matching opening bracket", t.pos)
            if stack[-1][0] == "abs":
                raise ReadError(f"'{t.src}' closes a bracket while an absolute value '|' is still open", t.pos)
            if prev == "lpar":
                raise ReadError("empty brackets", t.pos)
            if prev in ("op", "comma"):
                raise ReadError(f"something is missing before '{t.src}'", t.pos)
            stack.pop()
            emit(")", t.src if t.src in CLOSE else ")", t.pos)
            prev, prev_tok = "rpar", t
            continue
        if kind == "comma":
            if not stack or stack[-1][0] != "call":
                raise ReadError("a comma is only used between a function's arguments (write decimals with a point)", t.pos)
            if prev in ("op", "lpar", "comma"):
                raise ReadError("something is missing before ','", t.pos)
            emit(",", ", ", t.pos)
            prev, prev_tok = "comma", t
            continue
        # operands: num, var, const
        bump()
        emit(t.text, t.text, t.pos)
        if kind != "num":
            after_pow_num = after_div_num = False
        prev, prev_tok = kind, t
    close_implicit(text_len)
    if stack:
        kind, pos, _ = stack[-1]
        raise ReadError("this '|' is never closed" if kind == "abs" else "this bracket is never closed", pos)
    return out, notes


# ---------------------------------------------------------------- reading an answer


def read(text: str, variables: Iterable[str], extra_functions: Iterable[str] = ()) -> Reading:
    """Read a learner's expression into a checked formula; raises ReadError with a position."""
    variables = list(variables)
    functions = LEARNER_FUNCTIONS | frozenset(extra_functions)
    if len(text) > MAX_INPUT_CHARS:
        raise ReadError(f"the answer is too long ({len(text):,} characters; at most {MAX_INPUT_CHARS})")
    offset = 0
    if "=" in text:
        left, _, right = text.rpartition("=")
        if LHS.match(left) and right.strip():
            offset = len(left) + 1
            text = right
        else:
            raise ReadError("'=' is not allowed: type only the expression (the right-hand side)", text.index("="))
    if not text.strip():
        raise ReadError("the answer is empty: type an expression such as 2*x + 1")
    toks = _tokenize(text, variables, functions, offset)
    pieces, notes = _assemble(toks, offset + len(text))
    python = "".join(p[0] for p in pieces)
    display = "".join(p[1] for p in pieces)
    try:
        tree = ast.parse(python, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        col = getattr(exc, "offset", None)
        raise ReadError("could not read this expression", _source_pos(pieces, (col - 1) if col else None)) from None
    _check_tree(tree, functions)
    try:
        checked = formula.parse_tree(tree, python)
    except formula.FormulaError as exc:
        raise ReadError(exc.message) from None
    return Reading(python, display.strip(), checked, list(dict.fromkeys(notes)))


def _source_pos(pieces: list[tuple[str, str, int]], col: int | None) -> int | None:
    if col is None:
        return None
    at = 0
    for py, _, pos in pieces:
        at += len(py)
        if col < at:
            return pos
    return pieces[-1][2] if pieces else None


def _check_tree(tree: ast.Expression, functions: frozenset[str]) -> None:
    """Numbers become floats (no giant exact integers), arities are checked, depth is bounded."""
    todo: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while todo:
        node, depth = todo.pop()
        if depth > MAX_AST_DEPTH:
            raise ReadError(f"the answer is nested too deeply (more than {MAX_AST_DEPTH} levels)")
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            node.value = float(node.value)
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else "?"
            if name not in functions:
                raise ReadError(f"unknown function '{name}'")
            lo, hi = ARITY.get(name, (1, 1)) if name in LEARNER_FUNCTIONS else (0, 20)
            if not lo <= len(node.args) <= hi:
                want = f"{lo}" if lo == hi else f"{lo} to {hi}"
                raise ReadError(f"{name} takes {want} argument(s), got {len(node.args)}")
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def caret(text: str, pos: int | None, width: int = 60) -> str:
    """The learner's text with a caret under `pos` (a window of it when the text is long)."""
    line = text.replace("\n", " ").replace("\t", " ")
    if pos is None:
        return line if len(line) <= 2 * width else line[: 2 * width] + "..."
    pos = max(0, min(pos, len(line)))
    start = max(0, pos - width)
    end = min(len(line), pos + width)
    prefix = "..." if start > 0 else ""
    snippet = prefix + line[start:end] + ("..." if end < len(line) else "")
    return snippet + "\n" + " " * (len(prefix) + pos - start) + "^"


# ---------------------------------------------------------------- reference and sampling


def _substitute(tree: ast.Expression, params: dict[str, Any], variables: set[str]) -> ast.Expression:
    """Params as literal numbers; branches and other author-only syntax folded to values."""
    class Sub(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in variables or node.id not in params:
                return node
            return _literal(params[node.id], node)

    new = Sub().visit(ast.parse(ast.unparse(tree), mode="eval"))

    class Fold(ast.NodeTransformer):
        def generic_visit(self, node: ast.AST) -> ast.AST:
            node = super().generic_visit(node)
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
                    and isinstance(node.operand, ast.UnaryOp) and isinstance(node.operand.op, ast.USub):
                return node.operand.operand   # y = -1 in -y*x0 reads as 1*x0, not --1*x0
            if isinstance(node, ast.IfExp):
                test = _const_value(node.test, variables, params)
                if test is not None:
                    return node.body if bool(np.all(test)) else node.orelse
            if isinstance(node, (ast.Subscript, ast.Compare, ast.BoolOp, ast.List, ast.Tuple, ast.Attribute)) \
                    or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in LEARNER_FUNCTIONS):
                value = _const_value(node, variables, params)
                if value is not None and np.ndim(value) == 0:
                    return _literal(float(value), node)
            return node

    return ast.fix_missing_locations(Fold().visit(new))


def _literal(value: Any, like: ast.AST) -> ast.AST:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            value = int(value)
        node: ast.AST = ast.Constant(abs(value))
        if value < 0:
            node = ast.UnaryOp(ast.USub(), node)
        return ast.copy_location(node, like)
    return ast.copy_location(ast.parse(repr(formula.to_plain(value)), mode="eval").body, like)


def _const_value(node: ast.AST, variables: set[str], params: dict[str, Any]) -> Any:
    if any(isinstance(n, ast.Name) and n.id in variables for n in ast.walk(node)):
        return None
    try:
        value = formula.parse_tree(ast.Expression(node), "").evaluate(params)
    except formula.FormulaError:
        return None
    return value if np.ndim(value) == 0 or isinstance(value, np.ndarray) else None


def prepare(question: "Question", params: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Sample points where the reference is defined, and the reference's values there."""
    spec: Answer = question.spec
    ref = formula.parse(spec.expr)
    names = list(spec.vars)
    unknown = sorted(ref.names - set(names) - set(params))
    if unknown:
        raise QuestionError(f"answer.expr uses {', '.join(unknown)}, which are neither vars nor params")
    n = spec.points
    lo = np.array([spec.vars[v][0] for v in names], dtype=float)
    hi = np.array([spec.vars[v][1] for v in names], dtype=float)
    cand = rng.uniform(lo, hi, size=(4 * n, len(names)))
    env = dict(params)
    env.update({v: cand[:, k] for k, v in enumerate(names)})
    try:
        values = np.asarray(ref.evaluate(env), dtype=float)
    except (formula.FormulaError, TypeError, ValueError) as exc:
        raise QuestionError(f"answer.expr '{spec.expr}' cannot be evaluated: {exc}") from None
    values = np.broadcast_to(values, (4 * n,)) if values.ndim == 0 else values
    if values.shape != (4 * n,):
        raise QuestionError(f"answer.expr '{spec.expr}' does not give one number per point (shape {values.shape})")
    keep = np.flatnonzero(np.isfinite(values))[:n]
    if len(keep) < max(10, n // 2):
        raise QuestionError(f"answer.expr '{spec.expr}' is undefined at most points of the domain {dict(spec.vars)}")
    tree = _substitute(ref.tree, params, set(names))
    reference = ast.unparse(tree)
    functions = sorted({c.func.id for c in ast.walk(tree) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)})
    return {
        "vars": names,
        "points": {v: [float(x) for x in cand[keep, k]] for k, v in enumerate(names)},
        "expected": [float(x) for x in values[keep]],
        "reference": reference,
        "functions": functions,
    }


# ---------------------------------------------------------------- grading


def grade(question: "Question", variant: Variant, answer: str) -> Grade:
    """Read the answer, evaluate it at the variant's points and compare with the reference."""
    data = variant.data
    names: list[str] = data["vars"]
    extra = [f for f in data.get("functions", []) if f in formula.FUNCTIONS]
    try:
        reading = read(answer, names, extra)
    except ReadError as exc:
        return Grade.invalid(f"Could not read your answer: {exc.message}.", caret(answer, exc.pos), position=exc.pos)
    expected = np.asarray(data["expected"], dtype=float)
    pts = {v: np.asarray(data["points"][v], dtype=float) for v in names}
    got = _values(reading, pts, len(expected))
    read_as = f"read as: {reading.display}"
    if isinstance(got, str):
        return Grade.invalid(got, read_as, read_as=reading.display)
    if not np.isfinite(got).any():
        return Grade.invalid("Your answer is undefined or infinite at every point tested "
                             "(a huge power, or a division by zero?).", read_as, read_as=reading.display)
    return _compare(got, expected, pts, names, reading, read_as, answer)


def _values(reading: Reading, pts: dict[str, np.ndarray], n: int) -> np.ndarray | str:
    try:
        raw = reading.formula.evaluate({k: v.copy() for k, v in pts.items()})
        got = np.asarray(raw, dtype=float)
    except (formula.FormulaError, TypeError, ValueError, OverflowError) as exc:
        return f"Could not evaluate your answer: {getattr(exc, 'message', exc)}."
    if got.ndim == 0:
        return np.full(n, float(got))
    if got.shape != (n,):
        return "Your answer does not give a single number for each value of the variables."
    return got


def _compare(got: np.ndarray, expected: np.ndarray, pts: dict[str, np.ndarray], names: list[str],
             reading: Reading, read_as: str, answer: str) -> Grade:
    n = len(expected)
    scale = float(np.median(np.abs(expected)))
    tol = RTOL * np.abs(expected) + (ATOL_FLOOR + ATOL_REL_MEDIAN * scale)
    finite = np.isfinite(got)
    with np.errstate(all="ignore"):
        err = np.abs(got - expected)
    agree = finite & (err <= tol)
    mismatch = finite & ~agree
    undefined = ~finite
    details: dict[str, Any] = {"read_as": reading.display, "points": n, "agree": int(agree.sum())}
    allowed_undefined = max(1, n // 25)
    if not mismatch.any() and undefined.sum() <= allowed_undefined:
        feedback = ["Correct."]
        if _compact(reading.display) != _compact(answer):
            feedback.append(read_as)
        return Grade.from_score(1.0, feedback, **details)
    if mismatch.any():
        k = _representative(np.flatnonzero(mismatch), pts, names)
        at = _at(pts, names, k)
        yours, want = _pair(float(got[k]), float(expected[k]))
        feedback = [f"Not equivalent: at {at}, yours is {yours}, expected {want}."]
    else:
        k = _representative(np.flatnonzero(undefined), pts, names)
        at = _at(pts, names, k)
        feedback = [f"Not equivalent: at {at}, yours is undefined ({_num(got[k])}), expected {_num(expected[k])}."]
    feedback.append(read_as)
    feedback += _mistake_hints(got, expected, tol, finite)
    feedback += reading.notes
    details["at"] = {v: float(pts[v][k]) for v in names}
    return Grade.from_score(0.0, feedback, **details)


def _mistake_hints(got: np.ndarray, expected: np.ndarray, tol: np.ndarray, finite: np.ndarray) -> list[str]:
    """The slips that are worth naming: sign, a constant factor, a constant term, rounding."""
    if finite.sum() < 5:
        return []
    g, e, t = got[finite], expected[finite], tol[finite]
    with np.errstate(all="ignore"):
        if np.all(np.abs(g + e) <= t) and np.any(np.abs(e) > t):
            return ["Off by a sign: yours is the negative of the expected expression."]
        scale = max(float(np.median(np.abs(e))), 1e-300)
        if float(np.max(np.abs(g - e))) <= 1e-3 * scale:
            return ["Very close but not equal (within 0.1%): did you round a constant? Type exact values such as ln(2) or 1/3."]
        nz = np.abs(e) > 1e-9 * max(1.0, float(np.max(np.abs(e))))
        if nz.sum() >= 5:
            ratio = g[nz] / e[nz]
            r = float(np.median(ratio))
            if r != 0 and math.isfinite(r) and np.all(np.abs(ratio - r) <= 1e-6 * abs(r)) and abs(r - 1) > 1e-6:
                return [f"Off by a constant factor: yours is {_pair(r, 1.0)[0]} times the expected expression."]
        d = g - e
        d0 = float(np.median(d))
        if np.all(np.abs(d - d0) <= t) and abs(d0) > 0:
            return [f"Off by a constant: yours is the expected expression {'+' if d0 > 0 else '-'} {_num(abs(d0))}."]
    return []


def _representative(idx: np.ndarray, pts: dict[str, np.ndarray], names: list[str]) -> int:
    """The failing point nearest the middle of the sampled values: usually the easiest to check."""
    coords = np.stack([pts[v][idx] for v in names], axis=1)
    mid = np.stack([np.median(pts[v]) for v in names])
    return int(idx[int(np.argmin(np.abs(coords - mid).sum(axis=1)))])


def _at(pts: dict[str, np.ndarray], names: list[str], k: int) -> str:
    return ", ".join(f"{v} = {_num(pts[v][k])}" for v in names)


def _pair(x: float, y: float) -> tuple[str, str]:
    """Both numbers with just enough digits to tell them apart (4 significant at least)."""
    if not (math.isfinite(x) and math.isfinite(y)):
        return _num(x), _num(y)
    for digits in range(4, 16):
        a, b = f"{x:.{digits}g}", f"{y:.{digits}g}"
        if a != b:
            return a, b
    return a, b


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "undefined" if math.isnan(x) else ("infinite" if x > 0 else "-infinite")
    return f"{x:.4g}"


def _compact(s: str) -> str:
    return re.sub(r"\s+", "", s).replace("**", "^")


def reference_answer(question: "Question", variant: Variant) -> str:
    """The reference with the variant's params written in as numbers (the learner parser reads it)."""
    return variant.data["reference"]


def time_grade(question: "Question", variant: Variant, answer: str, repeat: int = 200) -> float:
    """Median milliseconds of one `graders.grade` call on this answer (for bench/graders.py)."""
    import graders

    graders.grade(question, variant, answer)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        graders.grade(question, variant, answer)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


# ---------------------------------------------------------------- live preview


def preview(question: "Question", text: str) -> dict[str, str]:
    """How an answer would be read, for the live echo under the input: never grades, never raises."""
    spec: Answer = question.spec
    names = list(spec.vars)
    try:
        used = {c.func.id for c in ast.walk(formula.parse(spec.expr).tree)
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
    except formula.FormulaError:
        used = set()
    try:
        reading = read(text, names, sorted(used & set(formula.FUNCTIONS)))
    except ReadError as exc:
        return {"error": exc.message, "caret": caret(text, exc.pos)}
    result = {"read_as": reading.display, "latex": to_latex(reading.formula.tree)}
    if reading.notes:
        result["notes"] = "; ".join(reading.notes)
    return result


_LATEX_FUNCS = {"sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "log": r"\ln", "ln": r"\ln", "exp": r"\exp",
                "log2": r"\log_2", "log10": r"\log_{10}", "sinh": r"\sinh", "cosh": r"\cosh", "tanh": r"\tanh",
                "arcsin": r"\arcsin", "arccos": r"\arccos", "arctan": r"\arctan"}
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "kappa", "lambda", "mu", "nu", "xi", "pi",
          "rho", "sigma", "tau", "phi", "chi", "psi", "omega"}
_PREC = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 4}


def to_latex(node: ast.AST) -> str:
    """LaTeX for a checked formula tree, so the learner sees 2x^2/(x+1) typeset as it was read."""
    if isinstance(node, ast.Expression):
        return to_latex(node.body)
    if isinstance(node, ast.Constant):
        return _num(float(node.value)) if isinstance(node.value, float) else str(node.value)
    if isinstance(node, ast.Name):
        if node.id in _GREEK:
            return "\\" + node.id
        return node.id if len(node.id) == 1 or node.id == "e" else rf"\mathrm{{{node.id}}}"
    if isinstance(node, ast.UnaryOp):
        inner = to_latex(node.operand)
        if isinstance(node.operand, ast.BinOp) and _PREC.get(type(node.operand.op), 5) <= 1:
            inner = rf"\left({inner}\right)"
        return ("-" if isinstance(node.op, ast.USub) else "+") + inner
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Div):
            return rf"\frac{{{to_latex(node.left)}}}{{{to_latex(node.right)}}}"
        prec = _PREC.get(type(node.op), 5)
        left, right = to_latex(node.left), to_latex(node.right)
        if isinstance(node.left, ast.BinOp) and _PREC.get(type(node.left.op), 5) < prec and not isinstance(node.left.op, ast.Div) \
                or (isinstance(node.op, ast.Pow) and isinstance(node.left, (ast.BinOp, ast.UnaryOp))):
            left = rf"\left({left}\right)"
        if isinstance(node.op, ast.Pow):
            return rf"{{{left}}}^{{{right}}}"
        if isinstance(node.right, ast.BinOp) and _PREC.get(type(node.right.op), 5) <= prec and not isinstance(node.right.op, (ast.Div, ast.Pow)) \
                or isinstance(node.right, ast.UnaryOp):
            right = rf"\left({right}\right)"
        op = {ast.Add: " + ", ast.Sub: " - ", ast.Mult: r" \cdot "}.get(type(node.op), " ? ")
        return left + op + right
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [to_latex(a) for a in node.args]
        name = node.func.id
        if name == "sqrt" and len(args) == 1:
            return rf"\sqrt{{{args[0]}}}"
        if name == "abs" and len(args) == 1:
            return rf"\left|{args[0]}\right|"
        head = _LATEX_FUNCS.get(name, rf"\operatorname{{{name}}}")
        return head + r"\left(" + ", ".join(args) + r"\right)"
    return ast.unparse(node)
