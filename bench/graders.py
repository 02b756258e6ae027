"""Grader speed: a code submission in a plain subprocess against the same in the sandbox.

Grades a trivial correct `code` answer (5 tests, one harness run per submission) many times
with each backend and prints, side by side, the median time per submission, sequential
submissions per second and the throughput with concurrent submissions; then the median time
of an `expression` grade (n/a while graders/expression.py does not exist).
Aims: sandbox overhead under 15 ms over the plain subprocess, >= 30 code submissions per
second on two cores, under 5 ms per expression grade.

    python bench/graders.py            # 40 submissions per backend, 120 for throughput
    python bench/graders.py --json     # the same figures as one JSON object
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import graders  # noqa: E402
from graders import code, sandbox  # noqa: E402
from interview import bank  # noqa: E402

CODE_QUESTION = """\
id: add-two-numbers
title: Add two numbers
area: coding
topics: [arrays-strings]
difficulty: 1
kind: code
time_limit: 60
prompt: Write `add(a, b)` returning the sum of two integers.
answer:
  function: add
  reference: |
    def add(a, b):
        return a + b
  tests:
    visible:
      - {args: [1, 2], expected: 3}
      - {args: [-1, 1], expected: 0}
    hidden:
      - {args: [10, 20], expected: 30}
      - {args: [0, 0], expected: 0}
      - {args: [123456789, 1], expected: 123456790}
explanation: "Addition of two integers; the point of this question is the grader's speed."
"""

EXPRESSION_QUESTION = """\
id: derivative-of-gaussian-kernel
title: Derivative of a Gaussian bump
area: math
topics: [calculus]
difficulty: 2
kind: expression
time_limit: 120
prompt: Differentiate $f(x) = e^{-{a} x^2}$ with respect to $x$.
params:
  a: {int: [2, 5]}
answer:
  expr: -2*a*x*exp(-a*x**2)
  vars:
    x: [-2, 2]
explanation: "Chain rule: the outer exp stays, times the derivative of the exponent, -2{a}x."
"""


def _median_ms(fn: Callable[[], Any], n: int) -> float:
    fn()  # warm-up (NumPy copy, caches)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _throughput(fn: Callable[[], Any], n: int, workers: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: fn(), range(n)))
    return n / (time.perf_counter() - start)


def measure(n: int, throughput_n: int, workers: int) -> dict[str, Any]:
    q = bank.load_text(CODE_QUESTION)
    v = graders.instantiate(q, 1)
    spec = q.spec
    source = spec.reference

    def plain() -> None:
        result, report = code.run_submission(spec, source, unsafe_plain=True)
        assert report is not None and all(r["status"] == "ok" for r in report["results"]), result

    def boxed() -> None:
        g = graders.grade(q, v, source)
        assert g.score == 1.0, g.feedback

    out: dict[str, Any] = {"cpus": os.cpu_count(), "workers": workers, "submissions": n,
                           "sandbox_available": sandbox.available()}
    out["plain_ms"] = round(_median_ms(plain, n), 2)
    out["plain_per_s"] = round(1000 / out["plain_ms"], 1)
    out["plain_concurrent_per_s"] = round(_throughput(plain, throughput_n, workers), 1)
    if sandbox.available():
        out["sandbox_ms"] = round(_median_ms(boxed, n), 2)
        out["sandbox_per_s"] = round(1000 / out["sandbox_ms"], 1)
        out["sandbox_concurrent_per_s"] = round(_throughput(boxed, throughput_n, workers), 1)
        out["sandbox_overhead_ms"] = round(out["sandbox_ms"] - out["plain_ms"], 2)
    out["expression_ms"] = _expression_ms()
    return out


def _expression_ms() -> float | None:
    if importlib.util.find_spec("graders.expression") is None:
        return None
    try:
        q = bank.load_text(EXPRESSION_QUESTION)
        v = graders.instantiate(q, 1)
        a = v.params["a"]
        answer = f"-2*{a}*x*e^(-{a}x^2)"
        g = graders.grade(q, v, answer)
        if g.score != 1.0:
            return None
        return round(_median_ms(lambda: graders.grade(q, v, answer), 200), 3)
    except Exception:  # the module is being written concurrently; a broken one is "n/a"
        return None


def _fmt(x: Any, unit: str = "") -> str:
    return "n/a" if x is None else f"{x}{unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="submissions per backend for the median")
    ap.add_argument("--throughput", type=int, default=120, help="submissions for the concurrent throughput")
    ap.add_argument("--workers", type=int, default=max(2, 2 * (os.cpu_count() or 1)))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = measure(args.n, args.throughput, args.workers)
    if args.json:
        print(json.dumps(r))
        return
    print(f"code grader, trivial correct answer (5 tests, one run per submission); {r['cpus']} CPUs, "
          f"{r['workers']} concurrent workers")
    print(f"{'':34}{'plain subprocess':>18}{'sandbox (bwrap)':>18}")
    print(f"{'median ms per submission':34}{_fmt(r['plain_ms']):>18}{_fmt(r.get('sandbox_ms')):>18}")
    print(f"{'submissions/s, one at a time':34}{_fmt(r['plain_per_s']):>18}{_fmt(r.get('sandbox_per_s')):>18}")
    print(f"{'submissions/s, concurrent':34}{_fmt(r['plain_concurrent_per_s']):>18}"
          f"{_fmt(r.get('sandbox_concurrent_per_s')):>18}")
    print(f"sandbox overhead: {_fmt(r.get('sandbox_overhead_ms'), ' ms')} per submission (aim < 15 ms); "
          f"concurrent sandbox throughput aim >= 30/s")
    print(f"expression grade median: {_fmt(r['expression_ms'], ' ms')} (aim < 5 ms)")


if __name__ == "__main__":
    main()
