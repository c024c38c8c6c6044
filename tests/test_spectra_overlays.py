"""Theory overlays of the RNN Jacobian page (issue 15): the Fuss-Catalan density keeps its
mass at every depth, and the dynamical-isometry theory says where it applies at finite N."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import spectra as sp


@pytest.mark.parametrize("L", [1, 10, 500, 10_000])
def test_fuss_catalan_mass_is_one_at_every_depth(L):
    # the linear-space sin^L form had mass 0.02 at L = 500
    d = sp.fuss_catalan_density(L)
    assert d.mass == pytest.approx(1.0, abs=0.01)
    assert np.all(np.isfinite(d.log_x)) and np.all(np.isfinite(d.density_log_x))
    assert d.log_x.max() == pytest.approx(math.log(d.edge), abs=1e-3)
    grid, dens = sp.fuss_catalan_log10_sigma(L, g=1.3)
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=0.01)
    # the g rescaling shifts log10 sigma by L log10 g
    assert grid.max() == pytest.approx(0.5 * math.log10(d.edge) + L * math.log10(1.3), abs=1e-3)


@pytest.mark.parametrize("L", [1, 10, 500])
def test_fuss_catalan_first_moment_and_marchenko_pastur(L):
    d = sp.fuss_catalan_density(L, 3000)
    m1 = np.trapezoid(np.exp(d.log_x) * d.density_log_x, d.log_x)
    assert m1 == pytest.approx(sp.fuss_catalan_moment(L, 1), rel=1e-3)
    if L == 1:  # Marchenko-Pastur, ratio 1: rho(x) = sqrt((4 - x) / x) / (2 pi)
        x = d.x[(d.x > 0.05) & (d.x < 3.9)]
        rho = d.density[(d.x > 0.05) & (d.x < 3.9)]
        np.testing.assert_allclose(rho, np.sqrt((4 - x) / x) / (2 * np.pi), rtol=1e-9)


def test_isometry_finite_n_recursion_limits():
    # L = 1, p = 1: Wishart moments q = 2N + 1, s = N^2 + 2
    for n in (3, 5, 32):
        assert sp.isometry_variance_finite_n(n, 1, 1.0) == pytest.approx(n * (2 * n + 1) / (n**2 + 2) - 1)
    # N -> inf: Pennington et al.'s L / p
    assert sp.isometry_variance_finite_n(10**8, 50, 0.5) == pytest.approx(100.0, rel=1e-4)
    # never above the ceiling N - 1, even at depth 10,000
    assert sp.isometry_variance_finite_n(32, 10_000, 0.5) <= 31 + 1e-9
    with pytest.raises(ValueError):
        sp.isometry_variance_finite_n(32, 5, 0.0)


def test_isometry_defaults_are_flagged_outside_the_theory_regime():
    # the page's old defaults N = 32, L = 50: theory 99.5 but N - 1 = 31 bounds any measurement
    r = sp.measure_isometry(32, 50, "relu", "gaussian", math.sqrt(2), seed=0)
    assert r.theory_variance > 90 and r.ceiling == 31
    assert r.normalized_variance <= r.ceiling + 1e-9
    assert not r.in_regime
    assert abs(r.finite_n_variance - r.normalized_variance) < abs(r.theory_variance - r.normalized_variance)
    # inside the regime (L / N <= 0.1) the theory is close
    r = sp.measure_isometry(128, 10, "relu", "gaussian", math.sqrt(2), seed=0)
    assert r.in_regime
    assert r.normalized_variance == pytest.approx(r.theory_variance, rel=0.35)
    o = sp.measure_isometry(64, 5, "relu", "orthogonal", math.sqrt(2), seed=0)
    assert o.in_regime and math.isnan(o.finite_n_variance)
