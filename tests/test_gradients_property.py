"""Property tests (hypothesis) for issue 3: the bounds hold for random inputs."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import gradients as g

weights = st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=40)
acts = st.sampled_from(["relu", "sigmoid", "tanh"])


@settings(max_examples=60, deadline=None)
@given(x=st.floats(-5, 5, allow_nan=False), w=weights, activation=acts)
def test_chain_gradient_is_product_and_under_bound(x, w, activation):
    r = g.scalar_chain(x, w, activation)
    assert r.log_abs_gradient <= r.log_bound + 1e-9
    assert abs(r.gradient) <= r.bound * (1 + 1e-12) + 1e-300
    assert np.all(np.diff(r.log_bound_path[np.isfinite(r.log_bound_path)]) <= math.log(3) + 1e-12)
    # the gradient is the product of the local derivatives (checked where it is representable)
    prod = float(np.prod(r.local_derivatives))
    if abs(prod) > 1e-250:
        assert math.isclose(r.gradient, prod, rel_tol=1e-9)
    if activation == "relu" and x < 0 and all(wi > 0 for wi in w):
        assert r.gradient == 0.0


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 9),
    steps=st.integers(0, 40),
    scale=st.floats(0.05, 4.0),
    seed=st.integers(0, 1000),
    activation=st.sampled_from(list(g.ACTIVATIONS)),
    family=st.sampled_from(list(g.WEIGHT_FAMILIES)),
)
def test_jacobian_sigma_max_under_bound_and_matches_svd(n, steps, scale, seed, activation, family):
    W = g.make_weights(family, n, scale, seed)
    x = np.random.default_rng(seed).standard_normal(n)
    spec = g.jacobian_spectrum(W, x, steps, activation, track_sigma_max=True)
    assert spec.log_sigma_max <= g.log_sigma_max_bound(W, steps, activation) + 1e-8
    assert np.all(spec.log_sigma_max_path <= spec.log_bound_path + 1e-8)
    assert not np.any(np.isnan(spec.log_singular_values))
    P = g.explicit_jacobian(W, x, steps, activation)
    sv = np.linalg.svd(P, compute_uv=False)
    if sv[0] > 1e-250 and np.all(np.isfinite(sv)):
        ref = np.log(sv[sv > 0])
        window = ref >= ref[0] - 18
        assert np.max(np.abs(spec.log_singular_values[: window.sum()] - ref[window])) < 1e-6
