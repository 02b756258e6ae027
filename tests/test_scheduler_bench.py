"""bench/scheduler.py: its diagnostics (the per-day record, the ours-then-oracle hybrid, the
posterior bound) and the oracle's batched valuations."""
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


def test_the_oracles_batched_valuations_equal_its_one_by_one(bench: ModuleType) -> None:
    import random
    from datetime import timedelta

    from interview import planner
    from interview.scheduler import MemoryState

    now = bench.START + timedelta(days=5, hours=9)
    target = bench.START + timedelta(days=30)
    questions = bench.make_bank()[:150]
    for truth_name in ("fsrs", "hlr"):
        learner = bench.make_learner(3, truth_name)
        truth = bench.TruthFSRS(learner) if truth_name == "fsrs" else bench.TruthHLR(learner)
        oracle = bench.OracleModel(truth, {q.id: q for q in questions})
        rng = random.Random(2)
        cands = []
        for q in questions:
            last = now - timedelta(hours=rng.uniform(1, 200))
            state = None
            if rng.random() < 0.7:
                s = 2.0 ** rng.uniform(-3, 5)
                state = (s, rng.uniform(1, 10), last) if truth_name == "fsrs" else (s, last)
            memory = MemoryState(2, None, 1.0, 5.0, now, last) if state else None
            cands.append(planner.Candidate(q.id, q.area, q.topic, q.difficulty, 60.0, memory, state))
        batched = oracle.gains(cands, now, target)
        assert batched == pytest.approx([planner.gain_on(c, now, target, oracle) for c in cands], rel=1e-12, abs=1e-15)


def test_the_posterior_bound_learns_each_cards_offset_from_its_answers(bench: ModuleType) -> None:
    """PosteriorModel narrows a card's offset with its answers, towards the truth: after many
    answers its recall matches the true memory's; and as a policy it plans for hlr learners only."""
    from datetime import timedelta

    import numpy as np

    from interview import planner

    learner = bench.make_learner(5, "hlr")
    bank = bench.make_bank()
    truth = bench.TruthHLR(learner)
    model = bench.PosteriorModel(learner, {q.id: q for q in bank})
    for q in (min(bank, key=lambda q: learner.offsets[q.index]), max(bank, key=lambda q: learner.offsets[q.index])):
        rng = np.random.default_rng(q.index)
        state, answers, at = None, (), bench.START
        spreads = []
        for k in range(12):
            p = learner.first_success(q) if state is None else truth.recall(state, at)
            recalled = bool(rng.random() < p)
            frac = learner.speed * (bench.PACE_BASE + bench.PACE_SLOPE * (1 - p) + rng.normal(0, bench.PACE_SD))
            answers += ((recalled, at, frac),)
            state = truth.update(state, q, 3 if recalled else 1, at)
            post, _h, _last = model._state(planner.Candidate(q.id, q.area, q.topic, q.difficulty, 60.0, None, answers))
            mean = float((post * model.grid).sum())
            spreads.append(float(np.sqrt((post * (model.grid - mean) ** 2).sum())))
            at += timedelta(days=1)
        assert spreads[-1] < spreads[0]
        true_offset, prior_mean = learner.offsets[q.index], float((model.prior[q.difficulty] * model.grid).sum())
        assert abs(mean - true_offset) < abs(prior_mean - true_offset) - 0.5
        c = planner.Candidate(q.id, q.area, q.topic, q.difficulty, 60.0, None, answers)
        assert model.recall(c, at) == pytest.approx(truth.recall(state, at), abs=0.15)
    with pytest.raises(ValueError, match="hlr"):
        bench.simulate(bench.make_learner(5, "fsrs"), bench.BOUND, HORIZON, [HORIZON], 20)
    run = bench.simulate(learner, bench.BOUND, HORIZON, [HORIZON], 20)
    assert run.seen_at[HORIZON] > 0 and 0 < run.recall_at[HORIZON] < 1


def test_the_table_has_bound_rows_for_the_hlr_learners_only(bench: ModuleType) -> None:
    out = bench.run_all(2, [HORIZON], 20, workers=2, bound=True)
    bound_rows = [r for r in out["rows"] if r["policy"] == bench.BOUND]
    assert out["bound"] is True and [r["truth"] for r in bound_rows] == ["hlr"]
    lo, hi = bound_rows[0]["minus_ours_ci95"][1:]
    assert lo <= bound_rows[0]["minus_ours_ci95"][0] <= hi  # paired with ours on the same learners
    assert not any(r["policy"] == bench.BOUND for r in bench.run_all(1, [HORIZON], 20, workers=1)["rows"])
