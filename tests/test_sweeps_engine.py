"""engine.sweeps: planning with C = 6 N D, backends (serial, process pool, real local Ray)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from engine import scaling as sc
from engine import sweeps as sw

BUDGETS = (1e9, 1e10, 1e11)
SIZES = (8, 16, 32, 64, 128)


def _count(h, nl):
    return sw.transformer_params(h, nl)


def _jobs(budgets=BUDGETS, sizes=SIZES):
    return sw.plan_sweep(budgets, sizes, num_layers=2, count_params=_count)


def failing_train(job):
    if job.hidden_size == 16:
        raise RuntimeError("boom")
    return {"val_loss": 1.0, "params": job.params, "tokens": job.max_tokens}


def test_plan_spends_the_budget():
    jobs, skipped = _jobs()
    assert len(jobs) + len(skipped) == len(BUDGETS) * len(SIZES)
    for j in jobs:
        assert j.params == 12 * 2 * j.hidden_size**2
        assert j.max_tokens == int(j.budget // (6 * j.params))
        assert 6 * j.params * j.max_tokens <= j.budget < 6 * j.params * (j.max_tokens + 1)


def test_plan_skips_configs_the_budget_cannot_train():
    jobs, skipped = sw.plan_sweep((1e5,), (8, 64), count_params=_count, min_tokens=10)
    # N(64) = 98304: 1e5 FLOPs buy 0 tokens
    assert [j.hidden_size for j in jobs] == [8]
    assert "hidden 64" in skipped[0]


def test_serial_sweep_with_law_trainer_recovers_law():
    law = sc.HOFFMANN_2022
    jobs, _ = sw.plan_sweep((1e12, 1e13, 1e14, 1e15), tuple(2 ** np.arange(4, 12)), num_layers=2,
                            count_params=_count)
    seen = []
    res = sw.run_sweep(jobs, backend="serial", train_fn=sw.LawTrainer(law), progress=lambda d, t, r: seen.append(d))
    assert seen == list(range(1, len(jobs) + 1))
    runs = res.to_runs()
    assert np.allclose(runs.flops, 6 * runs.params * runs.tokens)
    assert (runs.flops <= np.repeat([1e12, 1e13, 1e14, 1e15], [sum(j.budget == c for j in jobs)
                                                               for c in (1e12, 1e13, 1e14, 1e15)])).all()
    fit = sc.fit_isoflop(runs.flops, runs.params, runs.loss, tolerance=0.1)
    assert fit.ok and abs(fit.exponent - law.exponent) < 0.05


def test_failed_runs_are_reported_not_fatal():
    jobs, _ = _jobs()
    res = sw.run_sweep(jobs, backend="serial", train_fn=failing_train)
    bad = [r for r in res.runs if r.error]
    assert bad and all(r.hidden_size == 16 and "boom" in r.error and math.isnan(r.val_loss) for r in bad)
    assert res.to_runs().flops.size == len(jobs) - len(bad)


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown backend"):
        sw.run_sweep([], backend="slurm")


@pytest.mark.slow
def test_local_process_pool_matches_serial():
    jobs, _ = _jobs(budgets=(1e10,), sizes=(8, 16, 32))
    trainer = sw.LawTrainer(sc.BESIROGLU_2024, noise=0.01)
    pooled = sw.run_sweep(jobs, backend="local", max_workers=2, train_fn=trainer)
    serial = sw.run_sweep(jobs, backend="serial", train_fn=trainer)
    assert [r.val_loss for r in pooled.runs] == [r.val_loss for r in serial.runs]
    assert pooled.backend == "local"


@pytest.mark.slow
def test_ray_backend_on_a_real_local_instance():
    """ray.init() of a local instance, in the sweep's own driver process (kept small)."""
    pytest.importorskip("ray")
    jobs, _ = _jobs(budgets=(1e10,), sizes=(8, 16, 32))
    trainer = sw.LawTrainer(sc.HOFFMANN_2022)
    done = []
    res = sw.run_sweep(jobs, backend="ray", address="local", max_workers=1, train_fn=trainer,
                       progress=lambda d, t, r: done.append((d, t)), connect_timeout_s=120)
    assert res.backend == "ray" and done[-1] == (len(jobs), len(jobs)) and not res.stopped
    serial = sw.run_sweep(jobs, backend="serial", train_fn=trainer)
    assert [r.val_loss for r in res.runs] == [r.val_loss for r in serial.runs]
    assert all(len(r.curve) == 8 for r in res.runs)


@pytest.mark.parametrize("address", ["127.0.0.1:1", "not an address", "ray://:"])
def test_unreachable_ray_address_fails_fast_with_a_message(address):
    pytest.importorskip("ray")
    jobs, _ = _jobs(budgets=(1e10,), sizes=(8,))
    with pytest.raises(sw.RayUnavailable) as err:
        sw.run_sweep(jobs, backend="ray", address=address, train_fn=sw.LawTrainer(sc.HOFFMANN_2022))
    assert address in str(err.value) or "host:port" in str(err.value)


def slow_train(job):
    import time

    time.sleep(30)
    return {"val_loss": 1.0, "params": job.params, "tokens": job.max_tokens}


@pytest.mark.parametrize("backend", ["local", "serial"])
def test_should_stop_cancels_and_kills_workers(backend):
    import time

    jobs, _ = _jobs(budgets=(1e10,), sizes=(8, 16, 32))
    pools, pids = [], []
    stop_at = time.monotonic() + (3.0 if backend == "local" else 0.0)
    train = slow_train if backend == "local" else sw.LawTrainer(sc.HOFFMANN_2022)

    def should_stop():
        if time.monotonic() <= stop_at:
            return False
        if pools and pools[0]._processes:
            pids.extend(p.pid for p in pools[0]._processes.values())
        return True

    res = sw.run_sweep(jobs, backend=backend, max_workers=1, train_fn=train, should_stop=should_stop,
                       on_pool=pools.append)
    assert res.stopped == "stopped" and len(res.runs) < len(jobs)
    if backend == "local":
        assert pids
        for pid in pids:  # the worker sleeping in slow_train was terminated and reaped
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)


@pytest.mark.slow
def test_nmt_sweep_spends_its_budget():
    if not sw.nmt_available():
        pytest.skip("engine.nmt is not available")
    from engine.nmt import TrainConfig, non_embedding_params

    jobs, _ = sw.plan_sweep((2e8,), (16,), num_layers=1)
    job = jobs[0]
    assert job.params == non_embedding_params(TrainConfig(arch="decoder", hidden_size=16, num_layers=1))
    res = sw.run_sweep(jobs, backend="serial")
    run = res.runs[0]
    assert not run.error, run.error
    assert math.isfinite(run.val_loss) and run.val_loss > 0
    assert run.params == job.params
    # training stops at the budget: at most one batch past max_tokens
    assert job.max_tokens <= run.tokens < job.max_tokens + 3000
    assert run.flops == pytest.approx(6 * run.params * run.tokens)


def test_run_sweep_script_writes_and_appends(tmp_path):
    import json
    import sys

    import pandas as pd

    sys.path.insert(0, str(sc.ASSETS.parents[1] / "scripts"))
    import run_sweep

    out = tmp_path / "s.csv"
    base = ["--trainer", "law", "--backend", "serial", "--layers", "2", "--out", str(out)]
    assert run_sweep.main(base + ["--budgets", "1e10", "1e11", "--hidden-sizes", "8", "16", "32", "64"]) == 0
    assert run_sweep.main(base + ["--budgets", "1e12", "--hidden-sizes", "16", "32", "64", "128", "--append"]) == 0
    df = pd.read_csv(out)
    assert len(df) == 12 and sorted(df["budget"].unique()) == [1e10, 1e11, 1e12]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert [c["budgets"] for c in meta["calls"]] == [[1e10, 1e11], [1e12]]


def test_run_sweep_script_replays_its_json(tmp_path):
    import sys

    import pandas as pd

    sys.path.insert(0, str(sc.ASSETS.parents[1] / "scripts"))
    import run_sweep

    out = tmp_path / "s.csv"
    base = ["--trainer", "law", "--backend", "serial", "--layers", "2", "--out", str(out)]
    assert run_sweep.main(base + ["--budgets", "1e10", "--hidden-sizes", "8", "16", "32"]) == 0
    assert run_sweep.main(base + ["--budgets", "1e11", "--hidden-sizes", "16", "32", "64", "--append"]) == 0
    again = tmp_path / "again.csv"
    assert run_sweep.main(["--replay", str(out.with_suffix(".json")), "--out", str(again)]) == 0
    a, b = pd.read_csv(out), pd.read_csv(again)
    assert a["val_loss"].tolist() == b["val_loss"].tolist() and a["budget"].tolist() == b["budget"].tolist()
    curves = pd.read_csv(tmp_path / "again_curves.csv")
    assert sorted(curves["run"].unique()) == list(range(len(b)))  # appended runs keep their own ids
