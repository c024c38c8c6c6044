"""Engine tests for engine.scaling: clustering, parabolas, the line, bootstrap, laws, checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import scaling as sc


# ---------------------------------------------------------------------------
# Real data: Epoch AI's digitisation of Chinchilla Fig. 4, read in place
# ---------------------------------------------------------------------------
@pytest.fixture
def chinchilla(shared_dir):
    path = shared_dir / "data" / "chinchilla_fig4_epoch_extracted.csv"
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return sc.load_chinchilla(path)


def test_chinchilla_exponent_inside_published_interval(chinchilla):
    fit = sc.fit_isoflop(chinchilla.flops, chinchilla.params, chinchilla.loss)
    assert chinchilla.flops.size == 245
    assert 0.462 <= fit.exponent <= 0.534, fit.exponent
    # Gopher's budget: Chinchilla projects 60-70B parameters (Hoffmann et al. 2022, Table 3)
    n_gopher = fit.predict_params(5.76e23)
    assert 55e9 <= n_gopher <= 75e9, n_gopher
    assert len(fit.included) >= 8


@pytest.mark.parametrize("tol", [0.08, 0.12, 0.15])
def test_chinchilla_robust_to_tolerance(chinchilla, tol):
    fit = sc.fit_isoflop(chinchilla.flops, chinchilla.params, chinchilla.loss, tolerance=tol)
    assert 0.462 <= fit.exponent <= 0.534


def test_chinchilla_bootstrap_interval(chinchilla):
    fit = sc.fit_isoflop(chinchilla.flops, chinchilla.params, chinchilla.loss, n_boot=300, seed=1)
    iv = fit.bootstrap.exponent_interval()
    assert iv.low < fit.exponent < iv.high
    assert iv.high - iv.low < 0.1
    lo, hi = fit.bootstrap.params_interval([5.76e23])
    assert lo[0] < fit.predict_params(5.76e23) < hi[0]
    dlo, dhi = fit.bootstrap.tokens_interval([5.76e23])
    assert dlo[0] < fit.predict_tokens(5.76e23) < dhi[0]


# ---------------------------------------------------------------------------
# Synthetic data from a known law
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("law", [sc.HOFFMANN_2022, sc.BESIROGLU_2024])
@pytest.mark.parametrize("noise", [0.0, 0.005])
def test_recovers_known_exponent(law, noise):
    runs = sc.synthetic_isoflop(law, noise=noise, seed=3)
    fit = sc.fit_isoflop(runs.flops, runs.params, runs.loss)
    assert abs(fit.exponent - law.beta / (law.alpha + law.beta)) < 0.02


@settings(max_examples=25, deadline=None)
@given(
    alpha=st.floats(0.2, 0.6),
    beta=st.floats(0.2, 0.6),
    width=st.floats(0.6, 1.6),
)
def test_recovered_exponent_property(alpha, beta, width):
    law = sc.ParametricLaw("t", 1.7, 400.0, 400.0, alpha, beta)
    runs = sc.synthetic_isoflop(law, width=width, points_per_budget=7)
    fit = sc.fit_isoflop(runs.flops, runs.params, runs.loss)
    assert abs(fit.exponent - law.exponent) < 0.02


def test_closed_form_is_the_minimum_on_the_isoflop_curve():
    law = sc.HOFFMANN_2022
    c = 1e21
    n_opt, d_opt = law.compute_optimal(c)
    assert math.isclose(6 * n_opt * d_opt, c, rel_tol=1e-9)
    ns = n_opt * np.logspace(-0.5, 0.5, 2001)
    losses = law.loss(ns, c / (6 * ns))
    assert abs(np.log10(ns[np.argmin(losses)] / n_opt)) < 1e-3
    # k of N = k C^a agrees with G (C/6)^a
    assert math.isclose(law.coefficient * c**law.exponent, n_opt, rel_tol=1e-9)


def test_reference_exponents():
    assert math.isclose(sc.HOFFMANN_2022.exponent, 0.28 / 0.62)
    assert math.isclose(sc.BESIROGLU_2024.exponent, 0.3658 / (0.3478 + 0.3658))
    assert sc.KAPLAN_2020.exponent == 0.73
    # Kaplan's anchor: 1.3e9 parameters at 1 PF-day
    assert math.isclose(sc.KAPLAN_2020.optimal_params(8.64e19), 1.3e9, rel_tol=1e-9)


def test_predict_params_matches_line_through_vertices():
    runs = sc.synthetic_isoflop(sc.BESIROGLU_2024)
    fit = sc.fit_isoflop(runs.flops, runs.params, runs.loss)
    pred = fit.predict_params(fit.budget_flops)
    assert np.allclose(np.log10(pred), np.log10(fit.optimal_params), atol=0.02)
    assert np.allclose(fit.optimal_tokens, fit.budget_flops / (6 * fit.optimal_params))


# ---------------------------------------------------------------------------
# Clustering and exclusions
# ---------------------------------------------------------------------------
def test_cluster_budgets_groups_near_values_not_exact():
    flops = np.array([9.7e18, 1.02e19, 1.0e19, 2.9e19, 3.1e19, 3.0e19, 1e21])
    labels = sc.cluster_budgets(flops, 0.1)
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] == labels[5] != labels[0]
    assert len(set(labels)) == 3
    assert list(labels) == sorted(labels)  # numbered by increasing budget


@given(st.lists(st.floats(10, 25), min_size=1, max_size=60), st.floats(0.01, 0.3))
@settings(max_examples=50, deadline=None)
def test_cluster_width_bounded(log_flops, tol):
    x = np.array(log_flops)
    labels = sc.cluster_budgets(10.0**x, tol)
    assert (labels >= 0).all()
    for j in set(labels.tolist()):
        member = x[labels == j]
        assert member.max() - member.min() <= 2 * tol + 1e-9


def test_exclusion_reasons():
    law = sc.HOFFMANN_2022
    runs = sc.synthetic_isoflop(law, budgets=(1e18, 1e19, 1e20), points_per_budget=7)
    flops, params, loss = list(runs.flops), list(runs.params), list(runs.loss)
    # a budget with 2 runs
    flops += [1e22, 1e22]
    params += [1e9, 2e9]
    loss += [2.0, 2.1]
    # a budget whose loss falls monotonically: vertex outside the sampled range
    flops += [1e23] * 4
    params += [1e8, 2e8, 4e8, 8e8]
    loss += [3.0, 2.8, 2.7, 2.65]
    # a budget whose parabola opens downward
    flops += [1e24] * 3
    params += [1e8, 1e9, 1e10]
    loss += [2.0, 2.5, 2.0]
    fit = sc.fit_isoflop(flops, params, loss)
    reasons = {round(math.log10(b.flops)): b.reason for b in fit.excluded}
    assert "only 2 runs" in reasons[22]
    assert "outside the sampled range" in reasons[23]
    assert "opens downward" in reasons[24]
    assert len(fit.included) == 3
    assert abs(fit.exponent - law.exponent) < 0.02
    msgs = sc.budget_problems(fit)
    assert any("rows" in m and "2 runs" in m for m in msgs)


def test_single_budget_gives_nan_and_message():
    runs = sc.synthetic_isoflop(budgets=(1e19,))
    fit = sc.fit_isoflop(runs.flops, runs.params, runs.loss, n_boot=50)
    assert not fit.ok and math.isnan(fit.exponent)
    assert math.isnan(fit.predict_params(1e15))
    assert any("at least 2 budgets" in p for p in fit.problems)
    assert fit.bootstrap is None


def test_fit_rejects_unclean_input():
    with pytest.raises(ValueError, match="non-positive"):
        sc.fit_isoflop([1e18, -1, 1e18], [1, 2, 3], [1, 2, 3])


# ---------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------
def test_bootstrap_is_seeded_and_shrinks_with_less_noise():
    law = sc.HOFFMANN_2022
    noisy = sc.synthetic_isoflop(law, noise=0.02, seed=0)
    quiet = sc.synthetic_isoflop(law, noise=0.002, seed=0)
    f1 = sc.fit_isoflop(noisy.flops, noisy.params, noisy.loss, n_boot=400, seed=5)
    f2 = sc.fit_isoflop(noisy.flops, noisy.params, noisy.loss, n_boot=400, seed=5)
    assert np.array_equal(f1.bootstrap.exponents, f2.bootstrap.exponents, equal_nan=True)
    fq = sc.fit_isoflop(quiet.flops, quiet.params, quiet.loss, n_boot=400, seed=5)
    w1 = f1.bootstrap.exponent_interval()
    wq = fq.bootstrap.exponent_interval()
    assert (wq.high - wq.low) < (w1.high - w1.low)


def test_bootstrap_matches_loop_reference():
    """The batched bootstrap equals a slow per-resample refit with the same draws."""
    runs = sc.synthetic_isoflop(sc.BESIROGLU_2024, noise=0.01, seed=2, budgets=(1e18, 1e19, 1e20, 1e21))
    fit = sc.fit_isoflop(runs.flops, runs.params, runs.loss)
    boot = sc.bootstrap_isoflop(fit, n_boot=20, seed=9)
    rng = np.random.default_rng(9)
    draws = [rng.integers(0, b.params.size, size=(20, b.params.size)) for b in fit.included]
    for r in range(20):
        xs, cs = [], []
        for b, idx in zip(fit.included, draws):
            x = np.log10(b.params)[idx[r]]
            p = np.polyfit(x, b.loss[idx[r]], 2)
            xv = -p[1] / (2 * p[0])
            if p[0] > 0 and np.log10(b.params).min() <= xv <= np.log10(b.params).max():
                xs.append(xv)
                cs.append(math.log10(b.flops))
        if len(xs) >= 2:
            a = np.polyfit(cs, xs, 1)[0]
            assert abs(a - boot.exponents[r]) < 1e-6


# ---------------------------------------------------------------------------
# Approach 2's biases
# ---------------------------------------------------------------------------
def test_approach2_bias_grows_with_width_when_alpha_ne_beta():
    pts = sc.approach2_bias(sc.HOFFMANN_2022, widths=(0.5, 2.0, 3.0))
    ratios = [abs(math.log10(p.params_ratio)) for p in pts]
    assert ratios[0] < ratios[1] < ratios[2]
    # centred grids: exponent unbiased, intercept biased
    assert all(abs(p.exponent_error) < 1e-3 for p in pts)
    assert ratios[2] > 0.01


def test_approach2_no_bias_when_alpha_equals_beta():
    law = sc.ParametricLaw("sym", 1.7, 400.0, 400.0, 0.3, 0.3)
    pts = sc.approach2_bias(law, widths=(1.0, 3.0))
    assert all(abs(math.log10(p.params_ratio)) < 1e-3 for p in pts)


def test_approach2_drifting_grid_biases_exponent():
    law = sc.ParametricLaw("asym", 1.7, 400.0, 400.0, 0.2, 0.6)
    centred = sc.approach2_bias(law, widths=(1.0, 2.0, 3.0))
    drift = sc.approach2_bias(law, widths=(1.0, 2.0, 3.0), offset_slope=0.1)
    assert all(abs(p.exponent_error) < 1e-3 for p in centred)
    errs = [p.exponent_error for p in drift]
    assert all(e > 0.01 for e in errs) and errs[0] < errs[1] < errs[2]
    # strong asymmetry: a wide centred grid misses N_opt by > 20 %
    assert centred[2].params_ratio < 0.8


# ---------------------------------------------------------------------------
# Write-up checks (2.3.1, 2.3.3, 2.3.4)
# ---------------------------------------------------------------------------
def test_hidden_squared_vs_6nd():
    cmp = sc.hidden_squared_vs_6nd([16, 64], [12 * 2 * 16**2, 12 * 2 * 64**2], 1e6)
    assert np.allclose(cmp.flops_6nd, 6 * np.array([6144, 98304]) * 1e6)
    assert np.allclose(cmp.ratio, cmp.flops_6nd / np.array([256, 4096]))
    assert (cmp.log10_ratio > 7).all()


def test_claimed_optimum_1e10_at_1e15_fails_every_law():
    chk = sc.check_claimed_optimum(1e15, 1e10)
    assert math.isclose(chk.claimed_tokens, 1e15 / 6e10)
    assert chk.tokens_per_param < 1e-5
    for v in chk.verdicts:
        assert v.verdict == "too many parameters"
        assert v.ratio > 100


def test_is_compute_optimal_on_the_optimum_and_off_it():
    law = sc.HOFFMANN_2022
    n, d = law.compute_optimal(1e20)
    chk = sc.is_compute_optimal(float(n), float(d), laws={"h": law})
    assert chk.verdicts[0].verdict == "compute-optimal"
    assert math.isclose(chk.flops, 1e20, rel_tol=1e-9)
    big = sc.is_compute_optimal(float(n) * 10, float(d) / 10, laws={"h": law})
    assert big.verdicts[0].verdict == "too many parameters"
    small = sc.is_compute_optimal(float(n) / 10, float(d) * 10, laws={"h": law})
    assert small.verdicts[0].verdict == "too few parameters"


def test_is_compute_optimal_with_fit():
    runs = sc.synthetic_isoflop(sc.HOFFMANN_2022)
    fit = sc.fit_isoflop(runs.flops, runs.params, runs.loss)
    chk = sc.is_compute_optimal(1e6, 1e9, fit=fit)
    assert chk.verdicts[0].law == "fitted law"
    assert len(chk.verdicts) == 1 + len(sc.REFERENCE_LAWS)


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------
def test_clean_runs_names_rows():
    df = pd.DataFrame(
        {
            "C": [1e18, 1e18, 1e18, np.nan, 1e18, -5, 1e18, "abc"],
            "N": [1e7, 2e7, 4e7, 1e7, 2e7, 1e7, 0, 1e7],
            "L": [3.0, 2.9, 3.1, 3.0, 2.9, 3.0, 3.0, 3.0],
        }
    )
    res = sc.clean_runs(df, {"flops": "C", "params": "N", "loss": "L"})
    text = "\n".join(res.problems)
    assert "Rows 4, 8" in text and "missing" in text
    assert "Row 6: flops must be positive" in text and "Row 7: params must be positive" in text
    assert "Row 5: duplicate" in text
    assert res.runs.flops.size == 3
    assert list(res.runs.row_numbers) == [1, 2, 3]
    assert sorted(res.dropped_rows) == [4, 5, 6, 7, 8]


def test_clean_runs_missing_column_is_fatal():
    res = sc.clean_runs(pd.DataFrame({"a": [1], "b": [2]}), {"flops": "a", "params": "x", "loss": "b"})
    assert res.fatal and res.runs is None
    assert "params (column 'x')" in res.problems[0] and "a, b" in res.problems[0]


def test_clean_runs_tokens_instead_of_flops():
    df = pd.DataFrame({"N": [1e6, 2e6], "D": [1e8, 5e7], "L": [2.0, 2.1]})
    res = sc.clean_runs(df, {"params": "N", "tokens": "D", "loss": "L"})
    assert np.allclose(res.runs.flops, 6e14)


def test_budget_problems_use_source_row_numbers():
    df = pd.DataFrame({"C": [1e18] * 5 + [1e20, 1e20], "N": [1e7, 2e7, 4e7, 8e7, 1.6e8, 1e8, 2e8],
                       "L": [3.0, 2.8, 2.7, 2.75, 2.9, 2.5, 2.4]})
    res = sc.clean_runs(df, {"flops": "C", "params": "N", "loss": "L"})
    fit = sc.fit_isoflop(res.runs.flops, res.runs.params, res.runs.loss)
    msgs = sc.budget_problems(fit, res.runs.row_numbers)
    assert any("rows 6, 7" in m for m in msgs)
    assert any("at least 2 budgets" in m for m in msgs)


def test_table2_asset_and_its_reading():
    t = sc.load_table2()
    assert list(t["hidden_size"]) == [16, 32, 48, 64, 96, 128]
    assert (t["approx_flops"] == t["hidden_size"] ** 2).all()
    # As IsoFLOP data every row is its own budget: no parabola can be fitted.
    res = sc.clean_runs(t, {"flops": "approx_flops", "params": "hidden_size", "loss": "val_loss"})
    fit = sc.fit_isoflop(res.runs.flops, res.runs.params, res.runs.loss)
    assert not fit.ok and len(fit.excluded) == 6
