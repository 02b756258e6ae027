"""`code` questions: the learner writes a Python function; it runs against tests in the sandbox.

One sandbox run per submission (starting a sandbox costs more than running a test): the
harness (`graders/_harness.py`) forks a child per test with its own time limit and sends back
only the returned values, serialised as JSON. Whether they are right is decided here, outside
the sandbox, so expected values never reach the learner's process. Visible tests get full
feedback (input, expected, got); hidden ones only counts and the first failing category.
An optional complexity check times the function at growing sizes (CPU time, garbage collector
off, best of several calls) and speaks up only when the growth is clearly worse than expected:
the fitted slope must exceed the expected model's by a margin, and then a second opinion must
agree: the reference solution is timed on the same machine at the same sizes, and the learner's
time must grow at least n^0.5 faster than the reference's (memory effects and load cancel out).
"""
from __future__ import annotations

import ast
import json
import math
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from graders import sandbox
from graders.types import Grade, Variant

if TYPE_CHECKING:
    from graders.question import Question

MAX_TESTS = 40
SHOW_CHARS = 300
TOO_SLOW_CREDIT = 0.75
TIMING_LIMIT = 1.0  # seconds per size in the complexity check (with make_input)


def _check_defines(source: str, name: str, what: str) -> None:
    """Parse (never run) author code and check it defines `name` at top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"{what} does not parse: line {exc.lineno}: {exc.msg}") from None
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    if name not in names:
        raise ValueError(f"{what} does not define '{name}'")


class TestCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    __test__ = False  # not a pytest class

    args: list[Any]
    expected: Any


class Tests(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    visible: list[TestCase] = Field(min_length=1)
    hidden: list[TestCase] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_too_many(self) -> "Tests":
        if len(self.visible) + len(self.hidden) > MAX_TESTS:
            raise ValueError(f"at most {MAX_TESTS} tests in all")
        return self


GROWTH: dict[str, Any] = {
    "1": lambda n: np.ones_like(n),
    "log n": np.log,
    "n": lambda n: n,
    "n log n": lambda n: n * np.log(n),
    "n^2": lambda n: n ** 2,
    "n^3": lambda n: n ** 3,
}
ORDER = list(GROWTH)
_ALIASES = {"o(1)": "1", "logn": "log n", "nlogn": "n log n", "n**2": "n^2", "n**3": "n^3", "n2": "n^2",
            "n3": "n^3", "constant": "1", "linear": "n", "quadratic": "n^2", "cubic": "n^3"}


class Complexity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    make_input: str
    sizes: list[int] = Field(min_length=3, max_length=8)
    expected: str

    @field_validator("expected", mode="before")
    @classmethod
    def _growth(cls, v: Any) -> str:
        text = " ".join(str(v).strip().lower().split())
        text = text.removeprefix("o(").removesuffix(")") if text.startswith("o(") else text
        text = _ALIASES.get(text.replace(" ", ""), text)
        if text not in GROWTH:
            raise ValueError(f"expected growth must be one of {', '.join(ORDER)}")
        return text

    @field_validator("sizes")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if any(b <= a for a, b in zip(v, v[1:])) or v[0] < 2:
            raise ValueError("sizes must be increasing and at least 2")
        if v[-1] / v[0] < 8:
            raise ValueError("sizes must span at least a factor of 8 to show growth")
        return v

    @field_validator("make_input")
    @classmethod
    def _defines(cls, v: str) -> str:
        _check_defines(v, "make_input", "complexity.make_input")
        return v


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    function: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    starter: str = ""
    reference: str
    tests: Tests
    compare: Literal["exact", "close", "unordered"] = "exact"
    rtol: float = Field(1e-6, ge=0, le=0.5)
    atol: float = Field(1e-9, ge=0)
    array_args: bool = False
    test_time_limit: float = Field(2.0, gt=0, le=10)
    memory_mb: int = Field(512, ge=256, le=4096)
    complexity: Complexity | None = None
    keep_inputs: bool = False  # the prompt forbids modifying the arguments: every test checks them

    @model_validator(mode="after")
    def _sources(self) -> "Answer":
        _check_defines(self.reference, self.function, "reference")
        if self.starter.strip():
            try:
                ast.parse(self.starter)
            except SyntaxError as exc:
                raise ValueError(f"starter does not parse: line {exc.lineno}: {exc.msg}") from None
        return self


def prepare(question: "Question", params: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    spec: Answer = question.spec
    return {"function": spec.function, "starter": spec.starter,
            "visible": [{"args": t.args, "expected": t.expected} for t in spec.tests.visible],
            "hidden_count": len(spec.tests.hidden), "compare": spec.compare}


def reference_answer(question: "Question", variant: Variant) -> str:
    return question.spec.reference


@lru_cache(maxsize=1)
def _harness_source() -> str:
    return (Path(__file__).with_name("_harness.py")).read_text()


# --- comparison (outside the sandbox) ---------------------------------------------------------

def _normal(x: Any) -> Any:
    """Expected values in the shape the harness sends: tuples -> lists, arrays -> lists."""
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (list, tuple)):
        return [_normal(v) for v in x]
    if isinstance(x, dict):
        return {"__dict__": [[_normal(k), _normal(v)] for k, v in x.items()]}
    return x


def _exact(got: Any, exp: Any) -> bool:
    if isinstance(got, bool) or isinstance(exp, bool):
        return type(got) is type(exp) and got == exp
    if isinstance(got, (int, float)) and isinstance(exp, (int, float)):
        both_nan = isinstance(got, float) and isinstance(exp, float) and math.isnan(got) and math.isnan(exp)
        return both_nan or got == exp
    if isinstance(got, list) and isinstance(exp, list):
        return len(got) == len(exp) and all(_exact(g, e) for g, e in zip(got, exp))
    if isinstance(got, dict) and isinstance(exp, dict):
        return _dict_eq(got, exp, _exact)
    return type(got) is type(exp) and got == exp


def _close(got: Any, exp: Any, rtol: float, atol: float) -> bool:
    if isinstance(got, bool) or isinstance(exp, bool):
        return got == exp and isinstance(got, bool) == isinstance(exp, bool)
    if isinstance(got, (int, float)) and isinstance(exp, (int, float)):
        if math.isnan(got) or math.isnan(exp):
            return math.isnan(got) and math.isnan(exp)
        if math.isinf(got) or math.isinf(exp):
            return got == exp
        return abs(got - exp) <= atol + rtol * abs(exp)
    if isinstance(got, list) and isinstance(exp, list):
        return len(got) == len(exp) and all(_close(g, e, rtol, atol) for g, e in zip(got, exp))
    if isinstance(got, dict) and isinstance(exp, dict):
        return _dict_eq(got, exp, lambda a, b: _close(a, b, rtol, atol))
    return type(got) is type(exp) and got == exp


def _dict_eq(got: dict, exp: dict, eq: Any) -> bool:
    g, e = got.get("__dict__"), exp.get("__dict__")
    if g is None or e is None or len(g) != len(e):
        return False
    gm = {json.dumps(k, sort_keys=True): v for k, v in g}
    em = {json.dumps(k, sort_keys=True): v for k, v in e}
    return gm.keys() == em.keys() and all(eq(gm[k], em[k]) for k in em)


def _unordered(got: Any, exp: Any) -> bool:
    if not isinstance(got, list) or not isinstance(exp, list):
        return _exact(got, exp)
    key = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731 - hashable canonical form
    return Counter(map(key, got)) == Counter(map(key, exp))


def matches(got: Any, expected: Any, spec: Answer) -> bool:
    """Whether a returned value (as JSON data) matches the expected one under the spec's mode."""
    exp = _normal(expected)
    if spec.compare == "close":
        return _close(got, exp, spec.rtol, spec.atol)
    if spec.compare == "unordered":
        return _unordered(got, exp)
    return _exact(got, exp)


def _show(x: Any) -> str:
    if isinstance(x, dict) and "__object__" in x:
        text = f"a {x['__object__']} object ({x.get('repr', '')})"
    elif isinstance(x, dict) and "__dict__" in x:
        text = "{" + ", ".join(f"{_show(k)}: {_show(v)}" for k, v in x["__dict__"]) + "}"
    else:
        text = _python_text(x)
    return text if len(text) <= SHOW_CHARS else text[:SHOW_CHARS] + "…"


def _python_text(x: Any) -> str:
    """Values as a Python programmer writes them (None, True, 'text'), not as JSON (null, true)."""
    if isinstance(x, list):
        return "[" + ", ".join(_show(v) for v in x) + "]"
    if isinstance(x, str):
        return repr(x)
    return repr(x)


def _call_text(function: str, args: list[Any]) -> str:
    return f"{function}({', '.join(_show(_normal(a)) for a in args)})"


# --- complexity -------------------------------------------------------------------------------

MIN_SECONDS = 5e-4  # below this a timing is mostly call overhead and noise
MEASURE_SECONDS = 0.01  # a fast call is repeated in one timed child until a measurement lasts this long
MAX_CALLS = 200_000     # the most calls one measurement repeats
MARGIN = 0.5  # how far (in log-log slope) above the expected growth counts as clearly slower


def _slope(name: str, n0: float, n1: float) -> float:
    """The log-log slope of a growth model between two sizes (n log n is a bit above 1)."""
    f = GROWTH[name]
    return math.log(float(f(np.float64(n1))) / float(f(np.float64(n0)))) / math.log(n1 / n0)


def judge_growth(sizes: list[int], seconds: list[float | None], expected: str,
                 budget: float, floor: float = MIN_SECONDS) -> tuple[str | None, bool]:
    """(growth that fits the timings or None if inconclusive, whether clearly slower than expected).

    The observed log-log slope is fitted over the timings above MIN_SECONDS (constant call
    overhead and noise only flatten it, so errors lean towards "not slower"). A size that ran
    out of time counts as a lower bound: `budget` seconds at least. A verdict needs the
    slope to exceed the expected model's by MARGIN (e.g. n^1.5 against n), so noise of tens
    of percent per timing never flips it; n against n log n is never called. `floor` is the
    shortest per-call time that counts (0 when every call was repeated into a long measurement).
    A timeout at the smallest size is clearly slower whatever the growth: (None, True).
    """
    measured = [(n, t) for n, t in zip(sizes, seconds) if t is not None and t >= floor]
    timed_out = [n for n, t in zip(sizes, seconds) if t is None]
    if timed_out and sizes and timed_out[0] == sizes[0]:
        return None, True
    before = [t for n, t in zip(sizes, seconds) if t is not None and n < timed_out[0]] if timed_out else []
    if len(before) == 1 and before[0] >= budget / 4:
        # one size that used most of the budget, then a timeout: the bound says little about
        # growth, but a solution this slow at the smallest size is no match for the one asked
        return None, True
    slope: float | None = None
    lower_bound = False
    if len(measured) >= 2 and measured[-1][0] / measured[0][0] >= 4:
        x = np.log([m[0] for m in measured])
        y = np.log([m[1] for m in measured])
        slope = float(np.polyfit(x, y, 1)[0])
        n0, n1 = measured[0][0], measured[-1][0]
    if timed_out:
        base = [(n, t) for n, t in zip(sizes, seconds) if t is not None and n < timed_out[0]]
        if base:
            nb, tb = base[-1]
            lb = math.log(budget / max(tb, 1e-6)) / math.log(timed_out[0] / nb)
            if slope is None or lb > slope:
                slope, lower_bound, n0, n1 = lb, True, nb, timed_out[0]
    if slope is None:
        return None, False
    model_slopes = {name: _slope(name, n0, n1) for name in ORDER}
    if lower_bound:
        fitting = [name for name in ORDER if model_slopes[name] <= slope + 0.25]
        best = fitting[-1] if fitting else ORDER[0]
    else:
        best = min(ORDER, key=lambda k: abs(model_slopes[k] - slope))
    clear = slope >= model_slopes[expected] + MARGIN and ORDER.index(best) > ORDER.index(expected)
    return best, clear


# --- grading ----------------------------------------------------------------------------------

HARNESS_FORKS = 2  # the harness runs a test child, or a timing worker and its timed child, at once


def _frame(data: Any) -> bytes:
    """A length-prefixed JSON frame, as graders/_harness.py reads them from stdin."""
    body = json.dumps(data).encode()
    return f"{len(body)}\n".encode() + body


def run_submission(spec: Answer, source: str, unsafe_plain: bool = False,
                   timing_only: bool = False) -> tuple[sandbox.Result, dict[str, Any] | None]:
    """One sandbox run for all tests (and timings); the report if the harness delivered one.

    `unsafe_plain` runs without bwrap: only for the benchmark's baseline. `timing_only` skips
    the tests, to time a solution again before calling it too slow.
    """
    visible = [] if timing_only else [t.args for t in spec.tests.visible]
    hidden = [] if timing_only else [t.args for t in spec.tests.hidden]
    nonce = sandbox.new_nonce()
    job: dict[str, Any] = {
        "nonce": nonce, "source": source, "function": spec.function, "visible": visible,
        "hidden_count": len(hidden), "array_args": spec.array_args, "test_time_limit": spec.test_time_limit,
        "compare": spec.compare, "keep_inputs": spec.keep_inputs,
    }
    wall = 2.0 + spec.test_time_limit * (len(visible) + len(hidden))
    if spec.complexity:
        job.update(make_input=spec.complexity.make_input, sizes=spec.complexity.sizes, time_budget=0.05,
                   timing_limit=TIMING_LIMIT, measure=MEASURE_SECONDS, max_calls=MAX_CALLS)
        # the timed sizes are bounded in CPU time (TIMING_LIMIT each, in the harness); the run's
        # wall limit leaves room for a machine busy with other work before it cuts a size short
        wall += (2 * TIMING_LIMIT + 1) * len(spec.complexity.sizes)
    limits = sandbox.Limits(wall_seconds=wall, cpu_seconds=int(math.ceil(spec.test_time_limit)) + 2,
                            memory_mb=spec.memory_mb, output_bytes=256 * 1024)
    # Two frames: the harness reads the hidden tests only after the visible ones and the timings
    # have run, so no process whose output the learner sees ever holds them (graders/_harness.py).
    stdin = _frame(job) + (_frame({"tests": hidden}) if hidden else b"")
    result = sandbox.run(_harness_source(), stdin=stdin, limits=limits, report=True, unsafe_plain=unsafe_plain,
                         forks=HARNESS_FORKS)
    report = None
    if result.report:
        try:
            data = json.loads(result.report)
            if isinstance(data, dict) and data.get("nonce") == nonce:
                report = data
        except ValueError:
            report = None
    return result, report


_CATEGORY = {"wrong": "wrong answer", "error": "runtime error", "timeout": "time limit exceeded",
             "memory": "memory limit exceeded", "crash": "crashed", "output": "printed too much output",
             "skipped": "not run after repeated timeouts"}


def _outcome(r: dict[str, Any], expected: Any, spec: Answer) -> str:
    status = r.get("status")
    if status == "ok":
        return "passed" if matches(r.get("value"), expected, spec) else "wrong"
    return status if status in _CATEGORY else "crash"


def _error_text(r: dict[str, Any]) -> str:
    status = r.get("status")
    if status == "error":
        where = f" (line {r['line']}: `{r['text']}`)" if r.get("line") else ""
        msg = f": {r['message']}" if r.get("message") else ""
        return f"{r.get('type', 'Error')}{msg}{where}"
    if status == "timeout":
        return f"took longer than the time limit ({r.get('seconds', 0):.1f} s)"
    if status == "memory":
        return "ran out of memory"
    if status == "output":
        return "printed too much output"
    if status == "skipped":
        return "was not run: earlier tests ran out of time"
    return f"crashed ({r.get('message', 'no result')})"


def grade(question: "Question", variant: Variant, answer: str) -> Grade:
    spec: Answer = question.spec
    if not answer.strip():
        return Grade.invalid("The answer is empty: write the function.")
    result, report = run_submission(spec, answer)
    if result.status == "blocked":
        return Grade.invalid(result.message)
    if report is None:
        reason = {"timeout": "the run took too long as a whole", "memory_limit": "it ran out of memory",
                  "output_limit": "it printed too much"}.get(result.status, "the program ended the test run early")
        return Grade.from_score(0.0, [f"Your code could not be tested: {reason}. {result.message}".strip()],
                                status=result.status if result.status != "ok" else "runtime_error")
    if "syntax_error" in report:
        se = report["syntax_error"]
        where = f"line {se['line']}" + (f": `{se['text'].strip()}`" if se.get("text") else "") if se.get("line") else "your code"
        return Grade.from_score(0.0, [f"Syntax error at {where}: {se['message']}."], status="runtime_error",
                                line=se.get("line"))
    results: list[dict[str, Any]] = report.get("results", [])
    if results and results[-1].get("status") == "missing":
        return Grade.from_score(0.0, [f"Your code does not define a function named `{spec.function}`."],
                                status="runtime_error")
    tests = list(spec.tests.visible) + list(spec.tests.hidden)
    n_vis = len(spec.tests.visible)
    feedback: list[str] = []
    rows: list[dict[str, Any]] = []
    outcomes = []
    oom = int(result.details.get("oom_kills", 0) or 0) > 0
    for i, test in enumerate(tests):
        r = results[i] if i < len(results) else {"status": "crash", "message": "not run"}
        if oom and r.get("status") == "crash" and r.get("signal") == 9:
            r = {**r, "status": "memory"}  # the run's cgroup OOM-killed a test's process
        outcome = _outcome(r, test.expected, spec)
        outcomes.append(outcome)
        if i < n_vis:
            row = {"test": i + 1, "status": outcome, "input": _call_text(spec.function, test.args),
                   "expected": _show(_normal(test.expected)), "seconds": round(float(r.get("seconds") or 0), 4)}
            if r.get("status") == "ok":
                row["got"] = _show(r.get("value"))
            if r.get("output"):
                row["output"] = r["output"]
            rows.append(row)
            if outcome == "wrong":
                feedback.append(f"Test {i + 1}: {row['input']} returned {row['got']}, expected {row['expected']}.")
            elif outcome != "passed":
                feedback.append(f"Test {i + 1}: {row['input']} {_error_text(r)}.")
    vis_pass = sum(o == "passed" for o in outcomes[:n_vis])
    hid = outcomes[n_vis:]
    hid_pass = sum(o == "passed" for o in hid)
    passed = vis_pass + hid_pass
    summary = f"Visible tests: {vis_pass} of {n_vis} passed."
    if hid:
        first_bad = next((o for o in hid if o != "passed"), None)
        summary += f" Hidden tests: {hid_pass} of {len(hid)} passed" + (
            f"; first failure: {_CATEGORY.get(first_bad, first_bad)}." if first_bad else ".")
    feedback.insert(0, summary)
    score = passed / len(tests)
    details: dict[str, Any] = {"status": "passed" if passed == len(tests) else _status_of(outcomes),
                               "passed": passed, "total": len(tests), "tests": rows,
                               "hidden": {"passed": hid_pass, "total": len(hid)}}
    if spec.complexity and "timings" in report:
        sizes, secs = _timings(report, spec)
        floor = _floor(report)
        best, slow = judge_growth(sizes, secs, spec.complexity.expected, TIMING_LIMIT, floor)
        retimed, relative, ref_report = 0, None, None
        if slow:
            # Confirm before taking credit away: time the reference solution on this machine now,
            # then the learner's again. Cache and memory effects and a busy machine slow both alike,
            # so the verdict rests on how much faster the learner's time grows than the reference's.
            _r, ref_report = run_submission(spec, spec.reference, timing_only=True)
            _r, again = run_submission(spec, answer, timing_only=True)
            retimed = 1
            if again and "timings" in again:
                sizes, secs = _fastest(sizes, secs, *_timings(again, spec))
                floor = max(floor, _floor(again))
                best, slow = judge_growth(sizes, secs, spec.complexity.expected, TIMING_LIMIT, floor)
            if ref_report and "timings" in ref_report:
                mine = _calls_of(sizes, secs, [report] + ([again] if again else []))
                theirs = _calls_of(*_timings(ref_report, spec), [ref_report])
                relative = relative_growth(sizes, secs, *_timings(ref_report, spec), TIMING_LIMIT,
                                           max(floor, _floor(ref_report)),
                                           same_calls={n for n in mine if mine[n] == theirs.get(n)})
            if relative is None:  # the reference's run was lost or timed nothing (a busy machine):
                ref = _reference_timings(spec)  # its remembered timings, or a fresh run of it
                if ref:
                    relative = relative_growth(sizes, secs, sorted(ref), [ref[n][1] for n in sorted(ref)],
                                               TIMING_LIMIT, floor)
            # Without a comparison the learner's own two runs decide: both looked clearly slower.
            # (Giving full credit whenever the reference could not be timed let a cubic solution
            # through on a loaded machine.)
            slow = slow and (relative is None or relative >= MARGIN)
        if ref_report and "timings" in ref_report:
            _remember_reference(spec, ref_report)
        if answer == spec.reference:
            _remember_reference(spec, report)
        unverified = None if slow else _unverified(spec, report)
        # which limit ended each timed-out size ("cpu": the call's CPU limit, "wall": the backstop,
        # a sign of a machine too busy to time it), for whoever reads a surprising verdict
        stops = {t["n"]: t.get("limit") for t in report.get("timings", []) if t.get("status") == "timeout"}
        details["complexity"] = {"sizes": sizes, "seconds": secs, "fit": best, "expected": spec.complexity.expected,
                                 "too_slow": slow, "retimed": retimed, "unverified": unverified, "timeouts": stops,
                                 "growth_vs_reference": None if relative is None or math.isinf(relative) else round(relative, 2)}
        if slow and best is None:
            first_out = next((n for n, t in zip(sizes, secs) if t is None), sizes[0])
            feedback.append(f"Correct on the tests, but it ran out of time at n = {first_out}, among the smallest "
                            f"timed sizes; expected O({spec.complexity.expected}).")
            score = min(score, TOO_SLOW_CREDIT)
        elif slow:
            feedback.append(f"Correct, but the running time grows like {best}; expected {spec.complexity.expected}.")
            score = min(score, TOO_SLOW_CREDIT)
        elif unverified:
            feedback.append(f"Correct on the tests, but the running time could not be checked: {unverified}.")
            score = min(score, TOO_SLOW_CREDIT)
    return Grade.from_score(score, feedback, **details)


# --- are the timed calls real? -----------------------------------------------------------------
# A timing is only worth something if the timed call did the work. Each timed call's returned
# value is fingerprinted inside the sandbox (graders/_harness.py `_digest`); a call that did
# not return (os._exit, an exception) voids the timing. A fingerprint that differs from the
# reference's at the same size voids it only when the call was also much faster than the
# reference's there: a right answer that breaks a tie differently costs about as much time
# as the reference, a skipped computation does not. `close` comparisons cannot be
# fingerprinted; there only "it returned" is checked.

FASTER_THAN_REFERENCE = 4.0  # a different result this many times faster than the reference: void

_REF_TIMINGS: dict[str, dict[int, tuple[str, float]]] = {}


def _digest_key(spec: Answer) -> str:
    c = spec.complexity
    return json.dumps([spec.reference, spec.function, spec.compare, spec.array_args,
                       c.make_input if c else "", c.sizes if c else []])


def _remember_reference(spec: Answer, report: dict[str, Any]) -> None:
    found = {t["n"]: (t["digest"], float(t["seconds"])) for t in report.get("timings", [])
             if t.get("status") == "ok" and t.get("digest") and t.get("seconds") is not None}
    if found:
        if len(_REF_TIMINGS) > 512:
            _REF_TIMINGS.clear()
        _REF_TIMINGS.setdefault(_digest_key(spec), {}).update(found)


def _reference_timings(spec: Answer) -> dict[int, tuple[str, float]]:
    """The reference's (fingerprint, seconds) per size: one timing run of it, then remembered."""
    key = _digest_key(spec)
    if key not in _REF_TIMINGS:
        _r, ref_report = run_submission(spec, spec.reference, timing_only=True)
        if ref_report and "timings" in ref_report:
            _remember_reference(spec, ref_report)
    return _REF_TIMINGS.get(key, {})


def _unverified(spec: Answer, report: dict[str, Any]) -> str | None:
    """Why the learner's timings do not count, or None when they do."""
    timings = report.get("timings", [])
    bad = next((t for t in timings if t.get("type") in ("TimedCallDidNotReturn", "TimedCallFailed")), None)
    if bad is not None:
        if bad["type"] == "TimedCallDidNotReturn":
            return f"at size {bad['n']} your function did not return"
        message = str(bad.get("message") or "")
        return f"at size {bad['n']} your function failed" + (
            f" ({message.removeprefix('raised ')})" if message.startswith("raised ") else "")
    mine = {t["n"]: (t["digest"], float(t.get("seconds") or 0.0)) for t in timings
            if t.get("status") == "ok" and t.get("digest")}
    if not mine or spec.compare == "close":
        return None
    ref = _reference_timings(spec)
    for n, (digest, seconds) in sorted(mine.items()):
        # per-call times come from measurements of at least MEASURE_SECONDS (calls repeated), so
        # even a microsecond reference time is a real figure to compare with
        if n in ref and ref[n][0] != digest and ref[n][1] > 0 and \
                seconds * FASTER_THAN_REFERENCE < ref[n][1]:
            return (f"at size {n} it returns a different result from the reference's, "
                    f"{ref[n][1] / max(seconds, 1e-6):.0f} times faster")
    return None


def relative_growth(sizes: list[int], seconds: list[float | None], ref_sizes: list[int],
                    ref_seconds: list[float | None], budget: float, floor: float = MIN_SECONDS,
                    same_calls: set[int] | None = None) -> float | None:
    """Log-log slope of (learner's time / reference's time) over the sizes both timed.

    0 means the learner's code grows like the reference; n^2 against an n reference gives about
    1. A learner's timeout at a size the reference ran in a tenth of the budget is clear: inf.
    None when there is too little to compare (then no verdict is given).

    `same_calls`: the sizes both were timed with the same number of calls per measurement. A
    call repeated in one child no longer pays the first call's costs (the input's pages copied
    on write, fresh memory), so a size timed once against a size timed 16 times compares two
    different things: the same code measured 15 times apart at n = 1000. Those sizes are
    compared alone when they span enough."""
    ref_all = {n: t for n, t in zip(ref_sizes, ref_seconds) if t is not None}
    if any(t is None and n in ref_all and ref_all[n] < budget / 10 for n, t in zip(sizes, seconds)):
        return math.inf
    ref = {n: t for n, t in ref_all.items() if t >= floor}
    ratios = [(n, t / ref[n]) for n, t in zip(sizes, seconds) if n in ref and t is not None and t >= floor]
    alike = [r for r in ratios if same_calls is not None and r[0] in same_calls]
    for group in (alike, ratios):
        if len(group) >= 2 and group[-1][0] / group[0][0] >= 4:
            return float(np.polyfit(np.log([r[0] for r in group]), np.log([r[1] for r in group]), 1)[0])
    return None


def _calls_of(sizes: list[int], secs: list[float | None], reports: list[dict[str, Any]]) -> dict[int, int]:
    """Per timed size, the calls per measurement of the run whose time was kept."""
    out: dict[int, int] = {}
    for n, t in zip(sizes, secs):
        for rep in reports:
            hit = next((x for x in rep.get("timings", []) if x.get("n") == n and x.get("seconds") == t
                        and x.get("status") == "ok"), None)
            if hit is not None:
                out[n] = int(hit.get("calls") or 1)
                break
    return out


def _floor(report: dict[str, Any]) -> float:
    """0 when every timing was repeated into a measurement of at least MIN_SECONDS (a per-call
    time of microseconds is then as good as any), else MIN_SECONDS per call."""
    ok = [t for t in report.get("timings", []) if t.get("status") == "ok"]
    if ok and all((t.get("measured") or 0.0) >= MIN_SECONDS for t in ok):
        return 0.0
    return MIN_SECONDS


def _timings(report: dict[str, Any], spec: Answer) -> tuple[list[int], list[float | None]]:
    """Sizes and best seconds (None for a timeout) from a harness report; a size cut short by
    the run's end (neither a time nor a timeout) is dropped."""
    timings = report["timings"]
    sizes = [t["n"] for t in timings]
    secs = [t["seconds"] if t["status"] == "ok" else None for t in timings]
    if len(timings) < len(spec.complexity.sizes) and timings and timings[-1]["status"] != "timeout":  # type: ignore[union-attr]
        sizes, secs = sizes[:-1], secs[:-1]
    return sizes, secs


def _fastest(sizes: list[int], secs: list[float | None], sizes2: list[int],
             secs2: list[float | None]) -> tuple[list[int], list[float | None]]:
    """Per size, the faster of two runs (a timeout loses to any time), over the sizes either run
    reached, up to the first size every run that reached it ran out of time (a bound on the
    growth). A run that timed out at a size the other measured does not hide the other's
    later sizes: a loaded machine can cut either run short."""
    first, second = dict(zip(sizes, secs)), dict(zip(sizes2, secs2))
    out_sizes: list[int] = []
    out_secs: list[float | None] = []
    for n in sorted(set(first) | set(second)):
        times = [t for t in (first.get(n), second.get(n)) if t is not None]
        out_sizes.append(n)
        out_secs.append(min(times) if times else None)
        if not times:
            break
    return out_sizes, out_secs


def _status_of(outcomes: list[str]) -> str:
    first = next(o for o in outcomes if o != "passed")
    return {"wrong": "wrong_answer", "error": "runtime_error", "timeout": "timeout", "memory": "memory_limit",
            "crash": "runtime_error", "output": "output_limit", "skipped": "timeout"}.get(first, "runtime_error")
