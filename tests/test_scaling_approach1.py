"""Approach 1 (lower envelope of training curves) and the O(n log n) budget clustering."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import scaling as sc
from engine import sweeps as sw

LAW = sc.BESIROGLU_2024


def _law_sweep(budgets=(1e17, 1e18, 1e19, 1e20, 1e21), sizes=None):
    sizes = sizes or tuple(int(h) for h in np.geomspace(16, 32768, 30))
    jobs, _ = sw.plan_sweep(budgets, sizes, num_layers=2, count_params=sw.transformer_params, min_tokens=1000)
    return sw.run_sweep(jobs, backend="serial", train_fn=sw.LawTrainer(LAW))


def test_envelope_of_law_curves_recovers_the_exponent():
    res = _law_sweep()
    curves = res.to_curves()
    assert curves.n_runs == len(res.runs) and curves.flops.size == 8 * len(res.runs)
    fit = sc.fit_envelope(curves, n_boot=100, seed=0)
    assert fit.ok and fit.sizes_on_envelope >= 5
    # discrete sizes (a step of 10**0.1 in N) and the grid's edges: within 0.05 of the law
    assert abs(fit.exponent - LAW.exponent) < 0.05, fit.exponent
    iv = fit.exponent_interval()
    assert iv.low <= iv.high and fit.n_valid > 50
    # every envelope point is the minimum over the curves that reach it
    on = np.isfinite(fit.loss)
    assert on.sum() > 100
    # the envelope is the minimum over the curves covering each C
    ids, sizes, mat = sc._interp_curves(curves, np.log10(fit.flops))
    assert np.allclose(fit.loss[on], np.nanmin(mat[:, on], axis=0))


def test_envelope_point_is_the_lowest_curve():
    # two runs: a small one that wins early, a big one that wins late
    c = np.array([1e10, 1e11, 1e12, 1e10 * 3, 1e11 * 3, 1e12 * 3])
    curves = sc.CurveTable(np.array([0, 0, 0, 1, 1, 1]), np.array([1e3] * 3 + [1e4] * 3),
                           c / (6 * np.array([1e3] * 3 + [1e4] * 3)), c, np.array([3.0, 2.5, 2.4, 3.2, 2.45, 2.0]))
    fit = sc.fit_envelope(curves, grid_points=50, min_cover=2)
    on = np.isfinite(fit.loss)
    assert set(np.unique(fit.params[on])) == {1e3, 1e4}
    assert fit.params[on][0] == 1e3 and fit.params[on][-1] == 1e4
    assert fit.exponent > 0


def test_envelope_without_curves_says_so():
    empty = sc.CurveTable(*(np.zeros(0),) * 5)
    fit = sc.fit_envelope(empty)
    assert not fit.ok and "training curves" in fit.problems[0]


def test_best_per_budget_matches_argmin():
    runs = sc.synthetic_isoflop(LAW, points_per_budget=15, width=2.0)
    fit = sc.fit_best_per_budget(runs.flops, runs.params, runs.loss, n_boot=50)
    assert fit.ok and abs(fit.exponent - LAW.exponent) < 0.05
    for c, n in zip(fit.flops, fit.params):
        sel = np.isclose(runs.flops, c, rtol=0.01)
        assert n == runs.params[sel][np.argmin(runs.loss[sel])]


def test_sweep_curves_frame_round_trip():
    res = _law_sweep(budgets=(1e17, 1e18), sizes=(64, 128, 256))
    frame = res.curves_frame()
    back = sc.curves_from_frame(frame)
    assert back.flops.size == len(frame) and np.allclose(back.flops, 6 * back.params * back.tokens)


# ---------------------------------------------------------------------------
# Budget clustering: same labels as the n x n reference, in O(n log n)
# ---------------------------------------------------------------------------
def _reference_clusters(flops, tolerance):
    """The former n x n implementation (kept here as the specification)."""
    x = np.log10(np.asarray(flops, dtype=float))
    n = x.size
    labels = np.full(n, -1, dtype=int)
    near = np.abs(x[:, None] - x[None, :]) <= tolerance + 1e-12
    free = np.ones(n, dtype=bool)
    centres = []
    while free.any():
        counts = (near & free[None, :]).sum(axis=1)
        counts[~free] = -1
        seed = int(np.argmax(counts))
        centre = float(np.median(x[near[seed] & free]))
        members = free & (np.abs(x - centre) <= tolerance + 1e-12)
        labels[members] = len(centres)
        centres.append(centre)
        free &= ~members
    order = np.argsort(centres)
    remap = np.empty_like(order)
    remap[order] = np.arange(order.size)
    return remap[labels]


@settings(max_examples=60, deadline=None)
@given(xs=st.lists(st.sampled_from(np.round(np.arange(17, 20, 0.05), 2).tolist()), min_size=1, max_size=40),
       tol=st.sampled_from([0.02, 0.05, 0.1, 0.3]), vector_steps=st.sampled_from([0, 1, 48]))
def test_clustering_equals_reference(xs, tol, vector_steps):
    c = 10.0 ** np.array(xs)
    old = sc.VECTOR_STEPS
    try:
        sc.VECTOR_STEPS = vector_steps  # exercise the heap / Fenwick path too
        got = sc.cluster_budgets(c, tol)
    finally:
        sc.VECTOR_STEPS = old
    assert np.array_equal(got, _reference_clusters(c, tol))


def test_clustering_200k_rows_without_quadratic_memory():
    rng = np.random.default_rng(0)
    c = 10.0 ** rng.choice(np.arange(17.0, 22.0, 0.5), 200_000) * np.exp(rng.normal(0, 0.02, 200_000))
    labels = sc.cluster_budgets(c, 0.1)  # the n x n table would need 298 GiB
    assert labels.max() + 1 == 10
    fit = sc.fit_isoflop(c, 10 ** rng.uniform(6, 9, c.size), rng.uniform(2, 3, c.size), n_boot=20)
    assert len(fit.budgets) == 10
