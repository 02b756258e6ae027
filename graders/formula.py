"""A safe evaluator for formulas: Python expression syntax, a whitelist of nodes, names and
functions, evaluated with NumPy. Never `eval`.

Authors write formulas in question files (`value: 2*tp / (2*tp + fp + fn)`); the expression
grader parses learners' math into the same tree shape and evaluates it here, vectorised over
many sample points at once. Work is bounded: long text, deep nesting, big trees and huge
integer powers are refused before they can hang the process.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Any, Callable, Mapping

import numpy as np

MAX_CHARS = 2000
MAX_NODES = 600
MAX_DEPTH = 60
MAX_INT_EXPONENT = 4096
MAX_INT_BITS = 65536  # a larger exact integer power is computed as a float (not finite)
MAX_ARRAY_SIZE = 1_000_000


class FormulaError(ValueError):
    """A formula that cannot be parsed or evaluated; `col` is a 0-based offset when known."""

    def __init__(self, message: str, col: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.col = col


_STD_NORMAL = NormalDist()


def _vectorize(fn: Callable[[float], float]) -> Callable[[Any], Any]:
    vec = np.vectorize(fn, otypes=[float])

    def apply(x: Any) -> Any:
        out = vec(x)
        return float(out) if np.ndim(out) == 0 else out

    return apply


def _norm_cdf(x: Any, mu: Any = 0.0, sigma: Any = 1.0) -> Any:
    z = (np.asarray(x, dtype=float) - mu) / sigma
    return _vectorize(_STD_NORMAL.cdf)(z)


def _norm_ppf(p: Any, mu: Any = 0.0, sigma: Any = 1.0) -> Any:
    def one(q: float) -> float:
        if not 0.0 < q < 1.0:
            return math.nan
        return _STD_NORMAL.inv_cdf(q)

    return mu + sigma * _vectorize(one)(p)


def _sigmoid(x: Any) -> Any:
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


def _extreme(reduce_all: Callable[[Any], Any], pairwise: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def fn(*args: Any) -> Any:
        if len(args) == 1:
            return reduce_all(args[0])
        out = args[0]
        for a in args[1:]:
            out = pairwise(out, a)
        return out

    return fn


def _log(x: Any, base: Any = None) -> Any:
    if base is None:
        return np.log(x)
    return np.log(x) / np.log(base)


def _comb(n: Any, k: Any) -> Any:
    return float(math.comb(_small_int(n), _small_int(k)))


def _perm(n: Any, k: Any) -> Any:
    return float(math.perm(_small_int(n), _small_int(k)))


def _factorial(n: Any) -> Any:
    return float(math.factorial(_small_int(n)))


def _small_int(x: Any) -> int:
    value = float(x)
    if not value.is_integer() or not 0 <= value <= 1000:
        raise FormulaError(f"expected a whole number between 0 and 1000, got {x}")
    return int(value)


def _array(x: Any) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.size > MAX_ARRAY_SIZE:
        raise FormulaError("array too large")
    return arr


def _eigvals_sorted(a: Any) -> np.ndarray:
    vals = np.linalg.eigvals(np.asarray(a, dtype=float))
    if np.all(np.abs(np.imag(vals)) < 1e-12):
        vals = np.real(vals)
    return np.sort(vals)


def _round(x: Any, digits: Any = 0) -> Any:
    return np.round(x, int(digits))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": np.sqrt, "exp": np.exp, "log": _log, "ln": np.log, "log2": np.log2, "log10": np.log10,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
    "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "abs": np.abs, "sign": np.sign, "floor": np.floor, "ceil": np.ceil, "round": _round,
    "min": _extreme(np.min, np.minimum), "max": _extreme(np.max, np.maximum),
    "sum": np.sum, "prod": np.prod, "mean": np.mean, "median": np.median,
    "var": np.var, "std": np.std, "cumsum": np.cumsum, "sort": np.sort,
    "argmax": np.argmax, "argmin": np.argmin, "clip": np.clip, "len": len,
    "comb": _comb, "perm": _perm, "factorial": _factorial,
    "sigmoid": _sigmoid, "erf": _vectorize(math.erf), "norm_cdf": _norm_cdf, "norm_ppf": _norm_ppf,
    "array": _array, "det": np.linalg.det, "inv": np.linalg.inv, "transpose": np.transpose,
    "trace": np.trace, "rank": np.linalg.matrix_rank, "norm": np.linalg.norm, "dot": np.dot,
    "outer": np.outer, "eye": np.eye, "zeros": np.zeros, "ones": np.ones,
    "eigvals": _eigvals_sorted, "solve": np.linalg.solve, "diag": np.diag,
    "float": float, "int": int,
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: np.true_divide(a, b), ast.FloorDiv: lambda a, b: np.floor_divide(a, b),
    ast.Mod: lambda a, b: np.mod(a, b), ast.Pow: lambda a, b: _power(a, b),
    ast.MatMult: lambda a, b: np.matmul(a, b),
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
}
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.USub: lambda a: -a, ast.UAdd: lambda a: +a, ast.Not: lambda a: np.logical_not(a),
}


def _power(a: Any, b: Any) -> Any:
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        if abs(int(b)) > MAX_INT_EXPONENT:
            raise FormulaError(f"exponent {b} is too large")
        if b < 0:
            return float(a) ** int(b) if a != 0 else math.inf
        if abs(int(a)) > 1 and int(b) * int(a).bit_length() > MAX_INT_BITS:
            # ((2**4096)**4096)**4096 would take minutes as an exact integer
            return _float_pow(a, b)
        return a**b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.power(np.asarray(a, dtype=float), b)
    return _float_pow(a, b)


def _float_pow(a: Any, b: Any) -> float:
    try:
        return float(np.power(float(a), float(b)))
    except (OverflowError, ValueError):
        return math.nan


_ALLOWED_NODES: tuple[type, ...] = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Call,
    ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.Subscript, ast.Slice,
    ast.Attribute, ast.And, ast.Or, ast.keyword,
    *_BINOPS, *_CMPOPS, *_UNARY,
)


@dataclass(frozen=True)
class Formula:
    """A parsed, checked formula that can be evaluated many times."""

    text: str
    tree: ast.Expression

    @property
    def names(self) -> set[str]:
        """Free variable names used by the formula (functions and constants excluded)."""
        found = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in CONSTANTS:
                found.add(node.id)
        return found

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        with np.errstate(all="ignore"):
            try:
                return _Evaluator(env).visit(self.tree.body)
            except FormulaError:
                raise
            except (ZeroDivisionError, OverflowError) as exc:
                raise FormulaError(f"cannot evaluate: {exc}") from None
            except (TypeError, ValueError, IndexError, np.linalg.LinAlgError) as exc:
                raise FormulaError(f"cannot evaluate: {exc}") from None


def parse_tree(tree: ast.Expression, text: str) -> Formula:
    """Check an already-built tree against the whitelist (used by the expression grader)."""
    _check(tree)
    return Formula(text, tree)


def parse(text: str) -> Formula:
    """Parse Python-syntax formula text; raises FormulaError with a column on a syntax error.

    A question's formulas (parameters, constraints, answers) are parsed on every variant drawn,
    and checking the tree was 40% of drawing one, so parsed formulas are kept (they are
    immutable); a failure is not kept and is raised afresh."""
    return _parse(text if isinstance(text, str) else str(text))


@lru_cache(maxsize=4096)
def _parse(text: str) -> Formula:
    if len(text) > MAX_CHARS:
        raise FormulaError(f"formula is too long ({len(text)} characters, at most {MAX_CHARS})")
    if _nesting(text) > MAX_DEPTH:
        raise FormulaError(f"formula is nested too deeply (more than {MAX_DEPTH} levels)")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = (exc.offset - 1) if exc.offset else None
        raise FormulaError(f"syntax error: {exc.msg}", col) from None
    return parse_tree(tree, text)


def checked_field(value: Any) -> Any:
    """For question-model validators: a string value must parse as a formula (numbers pass)."""
    if isinstance(value, str):
        try:
            parse(value)
        except FormulaError as exc:
            raise ValueError(f"formula '{value}' does not parse: {exc.message}") from None
    return value


def evaluate(text: str, env: Mapping[str, Any] | None = None) -> Any:
    return parse(text).evaluate(env or {})


def _nesting(text: str) -> int:
    depth = best = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            best = max(best, depth)
        elif ch in ")]}":
            depth -= 1
    return best


def _check(tree: ast.AST) -> None:
    count = 0
    for node in ast.walk(tree):
        count += 1
        if count > MAX_NODES:
            raise FormulaError(f"formula is too long (more than {MAX_NODES} parts)")
        if not isinstance(node, _ALLOWED_NODES):
            raise FormulaError(f"'{type(node).__name__}' is not allowed in a formula", getattr(node, "col_offset", None))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise FormulaError(f"unknown function '{name}'", node.col_offset)
        if isinstance(node, ast.Attribute) and node.attr != "T":
            raise FormulaError(f"attribute '.{node.attr}' is not allowed (only .T)", node.col_offset)
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str, bool)):
            raise FormulaError(f"constant {node.value!r} is not allowed", node.col_offset)
        if isinstance(node, ast.Constant) and isinstance(node.value, complex):
            raise FormulaError("complex numbers are not allowed", node.col_offset)


class _Evaluator:
    def __init__(self, env: Mapping[str, Any]) -> None:
        self.env = env

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__)
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in self.env:
            value = self.env[node.id]
            return np.asarray(value, dtype=float) if isinstance(value, list) else value
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise FormulaError(f"'{node.id}' is a function: call it as {node.id}(...)", node.col_offset)
        raise FormulaError(f"unknown name '{node.id}'", node.col_offset)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        return _BINOPS[type(node.op)](self.visit(node.left), self.visit(node.right))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        return _UNARY[type(node.op)](self.visit(node.operand))

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        result: Any = True
        for op, right_node in zip(node.ops, node.comparators):
            right = self.visit(right_node)
            result = np.logical_and(result, _CMPOPS[type(op)](left, right))
            left = right
        return result

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        values = [self.visit(v) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = values[0]
        for v in values[1:]:
            out = combine(out, v)
        return out

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return np.where(self.visit(node.test), self.visit(node.body), self.visit(node.orelse))

    def visit_Call(self, node: ast.Call) -> Any:
        fn = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
        args = [self.visit(a) for a in node.args]
        kwargs = {k.arg: self.visit(k.value) for k in node.keywords if k.arg}
        return fn(*args, **kwargs)

    def visit_List(self, node: ast.List) -> Any:
        items = [self.visit(e) for e in node.elts]
        if any(isinstance(i, str) for i in items):
            return items
        return _array(items)

    visit_Tuple = visit_List

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        target = self.visit(node.value)
        index = self.visit(node.slice)
        if isinstance(index, np.ndarray):
            index = tuple(int(i) for i in index)
        elif isinstance(index, float) and index.is_integer():
            index = int(index)
        return target[index]

    def visit_Slice(self, node: ast.Slice) -> slice:
        def part(n: ast.AST | None) -> int | None:
            return None if n is None else int(self.visit(n))

        return slice(part(node.lower), part(node.upper), part(node.step))

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        return np.transpose(self.visit(node.value))


def to_plain(value: Any) -> Any:
    """NumPy values to JSON-able Python values (for storing variants)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value
