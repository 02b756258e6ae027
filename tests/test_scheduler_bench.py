"""bench/scheduler.py's diagnostics: the per-day record and the ours-then-oracle hybrid."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "scheduler.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scheduler", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


HORIZON = 3


def test_days_record_what_the_run_totals(bench: ModuleType) -> None:
    learner = bench.make_learner(2, "hlr")
    run = bench.simulate(learner, "ours", HORIZON, [HORIZON], 20)
    assert len(run.days) == HORIZON
    assert sum(new for new, _rev, _min in run.days) == run.seen_at[HORIZON]
    assert sum(minutes for _new, _rev, minutes in run.days) == pytest.approx(run.minutes_at[HORIZON])
    assert run.days[0][0] == 20 and run.days[0][1] == 0  # day 0: the quota of new questions, nothing to review
    assert all(rev > 0 for _new, rev, _min in run.days[1:])


def test_hybrid_is_ours_before_its_day_and_the_oracle_from_it(bench: ModuleType) -> None:
    learner = bench.make_learner(3, "hlr")
    ours = bench.simulate(learner, "ours", HORIZON, [HORIZON], 20)
    oracle = bench.simulate(learner, "oracle", HORIZON, [HORIZON], 20)
    assert ours.days != oracle.days  # otherwise the test below tells nothing
    from_start = bench.simulate(learner, bench.HYBRID, HORIZON, [HORIZON], 20, oracle_from=0)
    never = bench.simulate(learner, bench.HYBRID, HORIZON, [HORIZON], 20, oracle_from=HORIZON)
    assert from_start.days == oracle.days and from_start.recall_at == oracle.recall_at
    assert never.days == ours.days and never.recall_at == ours.recall_at
    middle = bench.simulate(learner, bench.HYBRID, HORIZON, [HORIZON], 20, oracle_from=1)
    assert middle.days[0] == ours.days[0]
    assert middle.recall_at != ours.recall_at


def test_the_trace_lists_every_day_for_both_truths(bench: ModuleType) -> None:
    out = bench.trace(4, HORIZON, 20).splitlines()
    assert [line.split(",")[0] for line in out if "learner" in line] == ["fsrs learner 4", "hlr learner 4"]
    assert sum(1 for line in out if line.split() and line.split()[0].isdigit()) == 2 * HORIZON
