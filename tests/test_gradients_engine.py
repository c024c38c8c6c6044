"""Engine tests for issue 3: single-neuron chains, RNN Jacobian spectra, counterexamples, theory."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine import gradients as g
from engine import spectra as sp


# ---------------------------------------------------------------------------
# 1.1 single neuron
# ---------------------------------------------------------------------------
def _torch_chain(x, weights, activation):
    xt = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    h = xt
    act = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[activation]
    for w in weights:
        h = act(w * h)
    h.backward()
    return h.item(), xt.grad.item()


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("x", [-1.3, 0.4, 2.0])
def test_chain_matches_autograd(activation, x):
    weights = [1.5, -0.7, 2.2, 0.9, -1.1, 1.3]
    r = g.scalar_chain(x, weights, activation)
    value, grad = _torch_chain(x, weights, activation)
    assert r.value == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert r.gradient == pytest.approx(grad, rel=1e-10, abs=1e-300)
    gamma = 0.25 if activation == "sigmoid" else 1.0
    assert r.bound == pytest.approx(np.prod(gamma * np.abs(weights)))
    assert abs(r.gradient) <= r.bound
    assert r.hidden[0] == x and len(r.hidden) == 7 and len(r.local_derivatives) == 6
    assert np.prod(r.local_derivatives) == pytest.approx(grad, rel=1e-10, abs=1e-300)


def test_relu_chain_contract_and_write_up_cases():
    r = g.relu_chain(1.0, [1.0] * 10)
    assert (r.value, r.gradient, r.bound) == (1.0, 1.0, 1.0)
    dead = g.relu_chain(-0.5, [2.0] * 10)  # every w > 1, yet the gradient is exactly 0
    assert dead.gradient == 0.0 and dead.log_abs_gradient == -math.inf and dead.first_dead_layer == 1
    assert dead.bound == 2.0**10 and dead.bound_holds


def test_deep_chain_stays_in_log_space():
    r = g.sigmoid_chain(0.3, [0.5] * 200)
    assert r.log_abs_gradient < -400 and math.isfinite(r.log_abs_gradient)
    assert r.log_bound == pytest.approx(200 * math.log(0.125))
    big = g.relu_chain(1.0, [3.0] * 200)
    assert big.log_abs_gradient == pytest.approx(200 * math.log(3.0))
    with pytest.raises(ValueError):
        g.relu_chain(float("nan"), [1.0])


# ---------------------------------------------------------------------------
# 1.2 bound and spectrum
# ---------------------------------------------------------------------------
def test_write_up_bound_is_one_sixteenth_power():
    W = g.rescale_to_sigma_max(g.gaussian_weights(16, 1.0, 0), 0.25)
    for n in (2, 5, 40):
        assert g.log_sigma_max_bound(W, n - 1, "sigmoid") == pytest.approx((n - 1) * math.log(1 / 16))
    assert g.log_sigma_max_bound(W, 0, "sigmoid") == 0.0
    assert g.log_sigma_max_bound(np.zeros((3, 3)), 4, "tanh") == -math.inf


@pytest.mark.parametrize("activation", g.ACTIVATIONS)
@pytest.mark.parametrize("n,steps,scale", [(8, 7, 1.3), (12, 40, 1.0), (20, 25, 2.0)])
def test_spectrum_matches_explicit_svd(activation, n, steps, scale):
    rng = np.random.default_rng(n + steps)
    W = g.gaussian_weights(n, scale, n)
    x = rng.standard_normal(n)
    ours = g.jacobian_log_singular_values(W, x, steps, activation)
    sv = np.linalg.svd(g.explicit_jacobian(W, x, steps, activation), compute_uv=False)
    assert np.all(ours[:-1] >= ours[1:])  # descending (-inf last)
    with np.errstate(divide="ignore"):
        ref = np.log(sv)
    window = ref >= ref[0] - 18
    assert np.max(np.abs(ours[window] - ref[window])) < 1e-6


def test_relu_spectrum_computes_few_steps_twice(monkeypatch):
    """ReLU products lose rank, so blocks get redone shorter; after a redo the block length grows
    back by doubling (before, 100 steps at the RNN page's defaults computed 2,173 steps). The
    values still match the explicit product."""
    calls = []
    real = g.log_derivative
    monkeypatch.setattr(g, "log_derivative", lambda h, a: calls.append(1) or real(h, a))
    n, steps = 32, 60
    W = g.make_weights("orthogonal", n, 0.25, 0)
    x = np.random.default_rng(7).standard_normal(n)
    spec = g.jacobian_spectrum(W, x, steps, "relu", track_sigma_max=True)
    assert spec.n_qr > 10  # the product did lose rank: blocks were cut short
    assert len(calls) < 4 * steps
    sv = np.linalg.svd(g.explicit_jacobian(W, x, steps, "relu"), compute_uv=False)
    with np.errstate(divide="ignore"):
        ref = np.log(sv)
    window = ref >= ref[0] - 18
    assert np.max(np.abs(spec.log_singular_values[window] - ref[window])) < 1e-6


def test_untied_and_callable_weights_match_explicit():
    n, steps = 10, 30
    stack = np.stack([g.gaussian_weights(n, 1.4, s) for s in range(steps)])
    x = np.ones(n)
    a = g.jacobian_spectrum(stack, x, steps, "tanh", track_sigma_max=True)
    b = g.jacobian_spectrum(lambda t: stack[t], x, steps, "tanh")
    ref = np.log(np.linalg.svd(g.explicit_jacobian(stack, x, steps, "tanh"), compute_uv=False))
    w = ref >= ref[0] - 18
    assert np.max(np.abs(a.log_singular_values[w] - ref[w])) < 1e-6
    r = a.resolved & b.resolved
    assert r.sum() >= 5 and np.allclose(a.log_singular_values[r], b.log_singular_values[r])
    # sigma_max path: every depth, compared with the explicit product at a few depths
    for t in (1, 5, 17, 30):
        P = g.explicit_jacobian(stack, x, t, "tanh")
        exact = math.log(np.linalg.norm(P, 2))
        assert exact - 2e-3 <= a.log_sigma_max_path[t] <= exact + 1e-9  # power iteration: a close lower bound
    assert np.all(a.log_sigma_max_path <= a.log_bound_path + 1e-9)


def test_long_products_stay_finite_and_match_lyapunov_baseline():
    n = 16
    W = g.gaussian_weights(n, 1.0, 3)
    x = np.random.default_rng(0).standard_normal(n)
    spec = g.jacobian_spectrum(W, x, 10_000, "tanh")
    assert np.all(np.isfinite(spec.log_singular_values))
    assert spec.log_singular_values[-1] < -1000  # the naive product would underflow
    assert spec.n_qr < 10_000 / 2  # re-orthonormalised every few steps, not every step
    base = g.per_step_qr_lyapunov(W, x, 2000, "tanh") / 2000
    short = g.jacobian_spectrum(W, x, 2000, "tanh")
    assert np.max(np.abs(short.lyapunov_exponents - base)) < 1e-3
    # in the Lyapunov regime the finite-product singular values approach the R-diagonal sums
    assert np.max(np.abs(short.log_singular_values / 2000 - short.lyapunov_exponents)) < 0.01


def test_degenerate_inputs():
    one = g.jacobian_spectrum(np.array([[0.5]]), np.array([0.2]), 30, "linear")
    assert one.log_singular_values[0] == pytest.approx(30 * math.log(0.5))
    ident = g.jacobian_spectrum(g.gaussian_weights(5, 1.0, 0), np.ones(5), 0, "sigmoid")
    assert np.all(ident.log_singular_values == 0.0)
    zero = g.jacobian_spectrum(np.zeros((4, 4)), np.ones(4), 10, "tanh", track_sigma_max=True)
    assert np.all(zero.log_singular_values == -np.inf) and zero.log_bound == -math.inf
    huge = g.jacobian_spectrum(g.gaussian_weights(6, 1e6, 1), np.ones(6), 50, "tanh")
    assert np.isfinite(huge.log_singular_values[0]) and huge.log_singular_values[0] < -1e5
    with pytest.raises(ValueError):
        g.jacobian_spectrum(np.ones((2, 3)), np.ones(2), 3, "tanh")
    with pytest.raises(ValueError):
        g.jacobian_spectrum(np.eye(2), np.ones(2), 3, "softplus")


def test_weight_families():
    Q = g.make_weights("orthogonal", 9, 1.5, 2)
    assert np.allclose(Q.T @ Q, 2.25 * np.eye(9))
    assert g.sigma_max(g.make_weights("sigma_max", 9, 0.25, 2)) == pytest.approx(0.25)
    J = g.make_weights("jordan", 5, 0.25, 0)
    assert g.sigma_max(J) == pytest.approx(0.25)
    assert not np.allclose(J @ J.T, J.T @ J)
    G = g.make_weights("gaussian", 400, 1.0, 0)
    assert np.var(G) * 400 == pytest.approx(1.0, rel=0.05)


def test_non_normal_counterexample():
    cx = g.non_normal_counterexample(n=4, sigma_max_target=0.25, k=30)
    assert not cx.identity_holds and cx.bound_holds and not cx.is_normal
    assert cx.log_sigma_max_Wk < cx.log_sigma_max_W_pow_k - 5  # orders of magnitude below (1/4)^k
    ref = math.log(np.linalg.norm(np.linalg.matrix_power(cx.W, 30), 2))
    assert cx.log_sigma_max_Wk == pytest.approx(ref, abs=1e-6)
    # a normal W satisfies the identity
    S = g.make_weights("orthogonal", 4, 0.25, 1)
    assert math.log(np.linalg.norm(np.linalg.matrix_power(S, 7), 2)) == pytest.approx(7 * math.log(0.25))


def test_pascanu_counterexample():
    px = g.pascanu_counterexample(depth=30)
    assert px.spectral_radius_W == 0.0 and px.sigma_max_W == pytest.approx(16.0)
    assert np.allclose(px.J, [[8, 6], [-8, -6]]) and px.J_squared_equals_2J
    assert px.fixed_point_residual < 1e-12
    assert px.eigen_condition_predicts_vanishing
    assert px.growth_rate == pytest.approx(math.log(2), abs=1e-9)
    Jl = np.linalg.matrix_power(px.J, 10)
    assert px.log_sigma_max_Jl[9] == pytest.approx(math.log(np.linalg.norm(Jl, 2)), abs=1e-9)


# ---------------------------------------------------------------------------
# theory (engine/spectra.py)
# ---------------------------------------------------------------------------
def test_yamamoto_limit():
    W = g.gaussian_weights(6, 1.0, 2)
    y = sp.yamamoto(W, 3000)
    assert y.max_abs_error < 5e-3
    assert sp.yamamoto(W, 30).max_abs_error > y.max_abs_error  # it is a limit


def test_fuss_catalan_moments_edge_and_density():
    assert [sp.fuss_catalan_moment(2, k) for k in (1, 2, 3)] == [1, 3, 12]
    assert sp.fuss_catalan_edge(1) == 4 and sp.fuss_catalan_edge(2) == pytest.approx(27 / 4)
    d = sp.fuss_catalan_density(3, 2000)
    assert np.trapezoid(d.density, d.x) == pytest.approx(1.0, abs=0.01)
    assert np.trapezoid(d.x**2 * d.density, d.x) == pytest.approx(sp.fuss_catalan_moment(3, 2), rel=0.01)
    ps = sp.gaussian_product_spectrum(150, 3, seed=0, samples=2)
    assert ps.moments[0] == pytest.approx(1.0, abs=0.05)
    assert ps.moments[1] == pytest.approx(ps.theory_moments[1], rel=0.12)
    assert 0.85 * ps.edge < ps.max_value < 1.1 * ps.edge


def test_newman_exponents():
    assert np.allclose(sp.newman_lyapunov(4), [-0.1352, -0.3283, -0.6352, -1.3283], atol=1e-4)
    T, n = 20_000, 4
    rng = np.random.default_rng(0)
    stack = rng.standard_normal((T, n, n)) / math.sqrt(n)
    norms = np.linalg.norm(stack, 2, axis=(1, 2))
    spec = g.jacobian_spectrum(lambda t: stack[t], np.ones(n), T, "linear", layer_sigma_max=lambda t: norms[t])
    # sampling sd of each exponent ~ 0.7 / sqrt(T) = 0.005
    assert np.max(np.abs(spec.lyapunov_exponents - sp.newman_lyapunov(n))) < 0.03


def test_mean_field_chi_and_edge():
    mf = sp.mean_field(1.0, 0.0, "tanh")
    assert mf.q_star == 0.0 and mf.chi == pytest.approx(1.0)
    assert sp.mean_field(0.8, 0.0).chi < 1 < sp.mean_field(1.5, 0.0).chi
    s_edge = sp.tanh_critical_sigma_w(math.sqrt(0.05))
    assert 1.0 < s_edge < 1.6 and sp.mean_field(s_edge, math.sqrt(0.05)).chi == pytest.approx(1.0, abs=1e-8)
    # measured: the top Lyapunov exponent of a wide untied tanh net tends to ln(chi)/2
    n, T = 120, 150
    mf = sp.mean_field(2.0, 0.0, "tanh")
    x = np.random.default_rng(1).standard_normal(n) * math.sqrt(mf.q_star)
    spec = g.jacobian_spectrum(lambda t: g.gaussian_weights(n, 2.0, 1000 + t), x, T, "tanh")
    assert spec.lyapunov_exponents[0] == pytest.approx(0.5 * math.log(mf.chi), abs=0.05)


def test_dynamical_isometry():
    relu_g = [sp.measure_isometry(200, 6, "relu", "gaussian", math.sqrt(2), seed=s) for s in (0, 1)]
    relu_o = [sp.measure_isometry(200, 6, "relu", "orthogonal", math.sqrt(2), seed=s) for s in (0, 1)]
    tanh_o = sp.measure_isometry(200, 6, "tanh", "orthogonal", 1.0, seed=0)
    for r in relu_g + relu_o:
        assert r.p == pytest.approx(0.5, abs=0.05)
        assert r.normalized_variance == pytest.approx(r.theory_variance, rel=0.35)
    assert np.mean([r.normalized_variance for r in relu_g]) > np.mean([r.normalized_variance for r in relu_o])
    assert tanh_o.normalized_variance < 0.05 and tanh_o.mean == pytest.approx(1.0, abs=0.05)


def test_sampled_sigma_max_path_matches_explicit_products_and_progress_can_stop():
    """track_every > 1 (the page's cheap tracking past t = 50): sampled entries agree with the
    explicit product, skipped ones are NaN; the progress callback sees every block and may stop."""
    n, steps = 12, 240
    W = g.gaussian_weights(n, 1.2, 3)
    x = np.random.default_rng(1).standard_normal(n)
    seen = []
    a = g.jacobian_spectrum(W, x, steps, "tanh", track_sigma_max=True, track_every=7,
                            progress=lambda t, total: seen.append((t, total)))
    path = a.log_sigma_max_path
    assert path[0] == 0.0 and np.all(np.isfinite(path[:51]))
    assert np.isnan(path[52]) and np.isfinite(path[56]) and np.isfinite(path[steps])
    for t in (20, 56, 119, 203, steps):
        exact = math.log(np.linalg.norm(g.explicit_jacobian(W, x, t, "tanh"), 2))
        assert exact - 2e-3 <= path[t] <= exact + 1e-9
    assert seen and seen[-1] == (steps, steps) and all(t1 <= t2 for (t1, _), (t2, _) in zip(seen, seen[1:]))

    class Stop(Exception):
        pass

    def stop(t, total):
        raise Stop

    with pytest.raises(Stop):
        g.jacobian_spectrum(W, x, steps, "tanh", progress=stop)
