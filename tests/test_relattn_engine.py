"""Engine tests for engine.relattn: the layer, exact convolutions, the write-up's answers,
max pooling errors (write-up 1.3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine import relattn as ra

FAST = settings(max_examples=40, deadline=None)


def naive_layer(x, w_q, w_k, w_v, p):
    """Dense O(n^2) reference: alpha_ij = w_q x_i w_k x_j + p_{i-j}, masked offsets -inf."""
    x = np.asarray(x, dtype=float)
    n = x.size
    out = np.full(n, np.nan)
    for i in range(n):
        scores = np.array([w_q * x[i] * w_k * x[j] + p.get(i - j, -math.inf) for j in range(n)])
        if not np.isfinite(scores).any():
            continue
        e = np.exp(scores - scores[np.isfinite(scores)].max())
        out[i] = w_v * (e / e.sum()) @ x
    return out


# ---------------------------------------------------------------------------
# The layer
# ---------------------------------------------------------------------------
@FAST
@given(
    x=st.lists(st.floats(-3, 3), min_size=1, max_size=20),
    w_q=st.floats(-2, 2), w_k=st.floats(-2, 2), w_v=st.floats(-3, 3),
    p=st.dictionaries(st.integers(-4, 4), st.floats(-3, 3) | st.just(-math.inf), min_size=1, max_size=6),
)
def test_layer_matches_dense_reference(x, w_q, w_k, w_v, p):
    got = ra.rel_attn_layer(x, w_q, w_k, w_v, p)
    want = naive_layer(x, w_q, w_k, w_v, p)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9, atol=1e-9)


def test_index_convention_weight_on_previous_comes_from_p_plus_one():
    x = np.arange(10.0) ** 2
    out = ra.rel_attn_layer(x, 0, 0, 1, {1: 0.0})
    np.testing.assert_allclose(out[1:], x[:-1])   # p_{+1}: offset i - j = 1 -> key j = i - 1
    assert np.isnan(out[0])                        # no key to the left of position 0
    out = ra.rel_attn_layer(x, 0, 0, 1, {-1: 5.0})
    np.testing.assert_allclose(out[:-1], x[1:])


def test_layer_rejects_plus_infinity_and_nan_scores():
    with pytest.raises(ra.RelAttnInputError):
        ra.rel_attn_layer([1.0, 2.0], 0, 0, 1, {0: math.inf})
    with pytest.raises(ra.RelAttnInputError):
        ra.rel_attn_layer([1.0, 2.0], 0, 0, 1, {0: math.nan})


def test_layer_has_no_overflow_for_large_scores():
    x = np.array([0.0, 50.0, 100.0, 30.0])
    out = ra.rel_attn_layer(x, 100.0, 100.0, 1.0, ra.maxpool_p(1))
    assert np.all(np.isfinite(out))
    assert out[2] == pytest.approx(100.0)


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------
taps = st.one_of(st.just(0.0), st.floats(0.01, 5.0), st.floats(-5.0, -0.01))


@settings(max_examples=80, deadline=None)
@given(
    length=st.sampled_from([3, 5, 7]),
    data=st.data(),
    seed=st.integers(0, 10_000),
    method=st.sampled_from(["sign", "per_tap"]),
)
def test_solve_conv_exact_on_interior_for_mixed_sign_kernels(length, data, seed, method):
    kernel = data.draw(st.lists(taps, min_size=length, max_size=length))
    assume(any(w > 0 for w in kernel) and any(w < 0 for w in kernel))   # mixed signs
    x = np.random.default_rng(seed).standard_normal(40) * 3
    heads = ra.solve_conv(kernel, method)
    cmp = ra.compare_conv(x, kernel, heads)
    assert cmp.rel_error <= 1e-9, (kernel, cmp.rel_error)
    scale = np.nanmax(ra.conv1d(np.abs(x), np.abs(kernel)))
    assert np.nanmax(np.where(cmp.interior, cmp.error, np.nan)) <= 1e-9 * scale
    nonzero = sum(w != 0 for w in kernel)
    assert len(heads) == (2 if method == "sign" else nonzero)
    np.testing.assert_allclose(
        ra.effective_kernel(heads).as_dict()[0], kernel[length // 2], atol=1e-12)


@FAST
# subnormal taps are rejected by design (issue 17), so the strategies exclude them
@given(kernel=st.lists(st.floats(0.0, 5.0, allow_subnormal=False), min_size=3, max_size=3)
       | st.lists(st.floats(-5.0, 0.0, allow_subnormal=False), min_size=5, max_size=5))
def test_same_sign_kernels_take_one_head(kernel):
    assume(any(w != 0 for w in kernel))
    heads = ra.solve_conv(kernel)
    assert len(heads) == 1
    w_q, w_k, w_v, p = heads[0]
    assert w_q == 0 and w_k == 0
    assert w_v == pytest.approx(sum(kernel))
    x = np.random.default_rng(0).random(30)
    assert ra.compare_conv(x, kernel, heads).rel_error <= 1e-9


def test_zero_sum_kernel_laplacian_is_exact():
    x = np.sin(np.arange(64) / 5.0)
    heads = ra.solve_conv([1, -2, 1])
    assert len(heads) == 2
    assert sorted(h.w_v for h in heads) == [-2.0, 2.0]
    got = ra.apply_heads(x, heads)[1:-1]
    want = x[:-2] - 2 * x[1:-1] + x[2:]
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_conv1d_follows_writeup_convention():
    x = np.arange(6.0)
    y = ra.conv1d(x, [2, 0, 1])             # y_i = 2 x_{i-1} + x_{i+1}
    np.testing.assert_allclose(y[1:-1], 2 * x[:-2] + x[2:])
    assert np.isnan(y[0]) and np.isnan(y[-1])


@pytest.mark.parametrize("bad, words", [
    ([], "empty"), ([1, 2], "odd"), ([0, 0, 0], "all zeros"), ([1, math.nan, 1], "NaN"),
    ([1e-320, 0, 1e-320], "too small"), ([5e-324, 5e-324, 5e-324], "too small"), ([1, 0, 1e-310], "too small"),
    ([1e308, 0, 1], "too large"), ([1e300, 1e300, 1e300], "too large"),
])
def test_bad_kernels_get_clear_messages(bad, words):
    with pytest.raises(ra.RelAttnInputError, match=words):
        ra.solve_conv(bad)


def test_parse_kernel():
    np.testing.assert_array_equal(ra.parse_kernel("2, 0; 1"), [2, 0, 1])
    np.testing.assert_array_equal(ra.parse_kernel(" 1 -2 1 "), [1, -2, 1])
    with pytest.raises(ra.RelAttnInputError, match="not a number"):
        ra.parse_kernel("1, x, 2")
    with pytest.raises(ra.RelAttnInputError, match="empty"):
        ra.parse_kernel("  ")


# ---------------------------------------------------------------------------
# The write-up's answer for [2, 0, 1]
# ---------------------------------------------------------------------------
def test_writeup_heads_compute_2_4_and_0_6():
    heads = ra.writeup_conv_heads()
    eff = ra.effective_kernel(heads).as_dict()
    assert eff[1] == pytest.approx(2.4, abs=1e-12)     # on x_{i+1}
    assert eff[-1] == pytest.approx(0.6, abs=1e-12)    # on x_{i-1}
    assert eff[0] == 0
    x = np.random.default_rng(3).random(50)
    out = ra.apply_heads(x, heads)
    np.testing.assert_allclose(out[1:-1], 2.4 * x[2:] + 0.6 * x[:-2], atol=1e-12)
    assert ra.compare_conv(x, ra.WRITEUP_KERNEL, heads).max_abs_error > 0.1


def test_audit_writeup_conv_lists_each_mistake_and_the_fix():
    a = ra.audit_writeup_conv()
    assert a.correct_error < 1e-12 and a.writeup_error > 0.1
    assert a.correct_effective.as_dict() == pytest.approx({-1: 2.0, 0: 0.0, 1: 1.0})
    sig = a.mistakes["softmax read as sigmoid (sign fixed)"]
    assert sig[-1] == pytest.approx(2.4) and sig[1] == pytest.approx(0.6)
    flip = a.mistakes["offset sign flipped (softmax fixed)"]
    assert flip[1] == pytest.approx(2.0) and flip[-1] == pytest.approx(1.0)
    p = a.correct_heads[0].p
    assert p[1] == pytest.approx(math.log(2)) and p[-1] == pytest.approx(0.0)


def test_effective_kernel_flags_content_dependence():
    eff = ra.effective_kernel([ra.Head(1.0, 1.0, 1.0, {0: 0.0, 1: 0.0})])
    assert eff.content_dependent
    assert not ra.effective_kernel(ra.solve_conv([1, 2, 3])).content_dependent


# ---------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------
@FAST
@given(
    x=st.lists(st.floats(0.0, 5.0), min_size=12, max_size=40),
    k=st.integers(1, 3),
    betas=st.lists(st.floats(1e-2, 1e4), min_size=2, max_size=8),
)
def test_maxpool_error_non_increasing_in_beta_and_within_bound(x, k, betas):
    x = np.asarray(x)
    betas = np.sort(np.asarray(betas))
    curve = ra.maxpool_error_curve(x, k, betas)
    assert np.all(np.diff(curve.max_error) <= 1e-9)
    assert np.all(np.diff(curve.mean_error) <= 1e-9)
    assert np.all(curve.max_error <= curve.bound + 1e-9)
    r = ra.maxpool_attention(x, k, float(betas[0]))
    assert np.all(r.error[r.interior] >= -1e-9)      # a softmax average never exceeds the max


def test_maxpool_error_strictly_decreases_and_vanishes_for_positive_inputs():
    x = 0.2 + np.random.default_rng(1).random(100)
    curve = ra.maxpool_error_curve(x, 2, [0.1, 1, 10, 100, 1000, 10000])
    assert np.all(np.diff(curve.max_error) < 0)
    assert curve.max_error[-1] < 1e-3
    assert curve.limit_error == 0


def test_zero_query_averages_for_every_beta():
    x = np.zeros(9)
    x[4] = 1.0       # a spike on zeros: queries 3 and 5 see it with x_i = 0
    for beta in (1.0, 1e3, 1e6):
        r = ra.maxpool_attention(x, 1, beta)
        assert r.output[3] == pytest.approx(1 / 3)
        assert r.error[3] == pytest.approx(2 / 3)
    need = ra.beta_for_error(x, 1, 0.01)
    assert not need.achievable and math.isinf(need.beta)
    assert need.limit_error == pytest.approx(2 / 3)
    # the shifted construction fixes it
    assert ra.maxpool_attention(x, 1, 100.0, shift=1.0).max_error < 0.05


def test_beta_for_error_is_the_threshold():
    x = ra.make_input("random non-negative", 80, seed=2) + 0.05
    need = ra.beta_for_error(x, 1, 0.01)
    assert need.achievable
    assert ra.maxpool_attention(x, 1, need.beta).max_error < 0.01
    assert ra.maxpool_attention(x, 1, need.beta / 1.01).max_error >= 0.01
    assert need.bound_beta >= need.beta


def test_negative_inputs_need_x_nonnegative():
    x = np.array([1.0, -0.5, 2.0, 0.3])
    with pytest.raises(ra.RelAttnInputError, match="x_i >= 0"):
        ra.maxpool_attention(x, 1, 1.0)
    with pytest.raises(ra.RelAttnInputError, match="c >= -min"):
        ra.maxpool_attention(x, 1, 1.0, shift=0.2)
    # negative query: soft *minimum*
    r = ra.maxpool_attention(np.array([-1.0, -2.0, -0.1]), 1, 1e3, allow_negative=True)
    assert r.output[1] == pytest.approx(-2.0, abs=1e-3)
    assert ra.maxpool_attention(x, 1, 1e3, shift=1.0).max_error < 0.01


def test_writeup_beta_one_is_far_from_max_pool_on_samples():
    checks = {c.name: c for c in ra.audit_writeup_maxpool(k=1, eps=0.01)}
    assert checks["U[0, 1)"].max_error > 0.3
    assert checks["U[0, 1)"].beta_needed > 1e3
    assert math.isinf(checks["ReLU of N(0, 1) (half zeros)"].beta_needed)
    # the error depends on the input's scale, which a max does not
    assert checks["U[0, 10)"].relative_error < checks["U[0, 0.1)"].relative_error


def test_failure_cases():
    cases = {c.name: c for c in ra.maxpool_failure_cases(k=1, beta=1e3, shift=1.0)}
    z = cases["query x_i = 0"]
    assert z.writeup == pytest.approx(z.window.mean())
    assert z.shifted == pytest.approx(z.target, abs=1e-3)
    t = cases["exact tie of the maximum"]
    assert t.writeup == pytest.approx(t.target, abs=1e-6)
    assert t.writeup_weights.max() == pytest.approx(0.5, abs=1e-6)     # split, not one-hot
    n = cases["negative inputs"]
    assert n.writeup == pytest.approx(n.window.min(), abs=1e-2)
    assert cases["x_i + c = 0 (shifted fails)"].shifted == pytest.approx(
        cases["x_i + c = 0 (shifted fails)"].window.mean())


def test_make_input_and_dense_window():
    for kind in ra.INPUT_KINDS:
        x = ra.make_input(kind, 64, seed=0)
        assert x.shape == (64,) and x.min() >= 0
    r = ra.rel_attn(ra.make_input("sine", 64), 0, 0, 1, {1: 0.0, -1: 0.0})
    rows, cols, mat = ra.attention_window(r, 10, 8)
    assert rows.tolist() == list(range(10, 18))
    np.testing.assert_allclose(mat.sum(axis=1), 1.0)


def test_tiny_and_huge_normal_taps_stay_exact_and_format():
    """Issue 17: the smallest normal taps and large taps solve exactly, and their LaTeX
    (p = ln|w| far beyond ln 1000) formats without under/overflow."""
    from dashboard import plots_relattn as pr

    x = ra.make_input("sine", 32, 0, 0.0)
    for kernel in ([ra.TAP_MIN, 0.0, ra.TAP_MIN], [1e-300, 0.0, 1.0], [1e299, -1e299, 1e299]):
        heads = ra.solve_conv(kernel)
        assert ra.compare_conv(x, kernel, heads).rel_error <= 1e-9
        for h in heads:
            assert "p" in pr.latex_head(h)
    assert pr._p_value(-744.44) == "-744.4" and pr._p_value(800.0) == "800"
    assert pr._p_value(math.log(2.0)).startswith(r"\ln 2")
