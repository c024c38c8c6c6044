"""Engine tests for engine.attention and engine.positional (write-up 2.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import positional
from engine.attention import (
    CausalScaledDotAttention,
    MultiHeadAttention,
    ScaledDotAttention,
    attention_steps,
    causal_mask,
)


def _inputs(b, k, s, h, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, k, h, generator=g, dtype=torch.float64), torch.randn(b, s, h, generator=g, dtype=torch.float64),
            torch.randn(b, s, h, generator=g, dtype=torch.float64))


def test_interface_attributes():
    m = ScaledDotAttention(16)
    assert isinstance(m.Q, torch.nn.Linear) and isinstance(m.K, torch.nn.Linear) and isinstance(m.V, torch.nn.Linear)
    assert m.scaling_factor == pytest.approx(1 / math.sqrt(16))
    assert isinstance(CausalScaledDotAttention(8), torch.nn.Module)


@pytest.mark.parametrize("k,s", [(5, 5), (1, 7), (3, 6), (6, 6)])
def test_plain_matches_torch_sdpa(k, s):
    torch.manual_seed(0)
    m = ScaledDotAttention(8).double()
    q, kk, v = _inputs(2, k, s, 8)
    ctx, w = m(q, kk, v)
    ref = torch.nn.functional.scaled_dot_product_attention(m.Q(q), m.K(kk), m.V(v))
    assert ctx.shape == (2, k, 8) and w.shape == (2, k, s)
    torch.testing.assert_close(ctx, ref)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, k, dtype=torch.float64))


@pytest.mark.parametrize("k,s", [(5, 5), (1, 7), (3, 6), (4, 4)])
def test_causal_matches_torch_sdpa_with_explicit_mask(k, s):
    torch.manual_seed(1)
    m = CausalScaledDotAttention(8).double()
    q, kk, v = _inputs(3, k, s, 8, seed=2)
    ctx, w = m(q, kk, v)
    mask = causal_mask(k, s)
    ref = torch.nn.functional.scaled_dot_product_attention(m.Q(q), m.K(kk), m.V(v), attn_mask=mask)
    torch.testing.assert_close(ctx, ref)
    if k == s:  # square case also equals torch's own is_causal
        ref2 = torch.nn.functional.scaled_dot_product_attention(m.Q(q), m.K(kk), m.V(v), is_causal=True)
        torch.testing.assert_close(ctx, ref2)
    # future weights are exactly zero, not small
    assert torch.all(w[:, ~mask] == 0)
    assert torch.all(w[:, mask] > 0)


def test_causal_mask_dtype_and_device_follow_input():
    m = CausalScaledDotAttention(4).to(torch.float32)
    q, kk, v = (t.float() for t in _inputs(1, 3, 3, 4))
    ctx, w = m(q, kk, v)
    assert ctx.dtype == torch.float32 and w.dtype == torch.float32
    assert w[0, 0, 1] == 0.0 and w[0, 0, 2] == 0.0


def test_causal_first_row_is_one_hot_and_changing_future_does_not_change_past():
    torch.manual_seed(0)
    m = CausalScaledDotAttention(6).double()
    x = torch.randn(1, 5, 6, dtype=torch.float64)
    ctx1, w = m(x, x, x)
    assert w[0, 0, 0] == 1.0
    y = x.clone()
    y[0, 4] += 10.0
    ctx2, _ = m(y, y, y)
    torch.testing.assert_close(ctx1[0, :4], ctx2[0, :4])
    assert not torch.allclose(ctx1[0, 4], ctx2[0, 4])


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 3), k=st.integers(1, 6), s=st.integers(1, 6), h=st.sampled_from([2, 4, 8]),
       causal=st.booleans(), seed=st.integers(0, 1000))
def test_weights_are_distributions(b, k, s, h, causal, seed):
    if causal and k > s:
        k = s
    torch.manual_seed(seed)
    m = (CausalScaledDotAttention if causal else ScaledDotAttention)(h).double()
    q, kk, v = _inputs(b, k, s, h, seed)
    ctx, w = m(q, kk, v)
    assert torch.all(w >= 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(b, k, dtype=torch.float64))
    # context is a convex combination of projected values: inside their per-dim range
    vv = m.V(v)
    assert torch.all(ctx <= vv.max(1, keepdim=True).values + 1e-9)
    assert torch.all(ctx >= vv.min(1, keepdim=True).values - 1e-9)


def test_multihead_weights_path_equals_fused_path():
    torch.manual_seed(0)
    for causal in (False, True):
        m = MultiHeadAttention(16, 4, causal=causal).double()
        x = torch.randn(2, 7, 16, dtype=torch.float64)
        pad = torch.zeros(2, 7, dtype=torch.bool)
        pad[1, 5:] = True
        a, w = m(x, x, x, key_padding=pad, need_weights=True)
        b, _ = m(x, x, x, key_padding=pad, need_weights=False)
        torch.testing.assert_close(a, b)
        assert w.shape == (2, 4, 7, 7)
        assert torch.all(w[1, :, :5, 5:] == 0)  # real queries never read padding
        assert torch.isfinite(a).all()  # padded queries see themselves: no NaN rows
    with pytest.raises(ValueError):
        MultiHeadAttention(10, 4)


def test_attention_steps_temperature_and_mask():
    toks = ["the", "cat", "sat", "on", "the", "mat"]
    s = attention_steps(toks, hidden_size=8, causal=True, temperature=1.0)
    np.testing.assert_allclose(s.row_sums, 1.0)
    assert np.all(s.weights[~s.mask] == 0)
    np.testing.assert_allclose(s.scaled, s.qk * s.scale)
    # same token -> same key vector
    np.testing.assert_allclose(s.keys[0], s.keys[4])
    hot = attention_steps(toks, hidden_size=8, causal=False, temperature=100.0)
    cold = attention_steps(toks, hidden_size=8, causal=False, temperature=0.01)
    assert hot.entropy.mean() > cold.entropy.mean()
    np.testing.assert_allclose(hot.weights, 1 / len(toks), atol=0.02)
    with pytest.raises(ValueError):
        attention_steps([], 8)
    with pytest.raises(ValueError):
        attention_steps(toks, 8, temperature=0)


def test_sinusoidal_dot_depends_on_distance_only_and_shift_is_linear():
    pe = positional.sinusoidal(40, 16)
    g = pe @ pe.T
    for d in range(40):
        diag = np.diagonal(g, offset=d)
        np.testing.assert_allclose(diag, diag[0], atol=1e-9)
    for k in (1, 5, 13):
        m = positional.shift_matrix(16, k)
        np.testing.assert_allclose(pe[k:], pe[:-k] @ m.T, atol=1e-9)
    assert np.allclose(np.linalg.norm(pe, axis=1), math.sqrt(8))


def test_properties_contrast_sinusoidal_and_one_hot():
    p = positional.properties(n_train=24, dim=24, k=3, n_beyond=8)
    assert p.sin_shift_residual < 1e-9
    assert p.onehot_shift_residual < 1e-9 and p.onehot_shift_rank == 24 - 3  # exists, but forgets k positions
    assert p.sin_adjacent_cosine > 0.5 and p.onehot_adjacent_cosine == 0.0
    assert p.onehot_beyond_norm == 0.0 and p.sin_beyond_norm > 1
    assert p.sin_beyond_max_cosine > 0.5
    mean, lo, hi = positional.dot_by_distance(positional.one_hot(10))
    assert mean[0] == 1 and np.all(mean[1:] == 0)
    with pytest.raises(ValueError):
        positional.sinusoidal(4, 3)


@pytest.mark.parametrize("n_train,k,beyond", [(4, 16, 0), (4, 16, 1), (2, 1, 0), (64, 16, 64), (5, 7, 2)])
def test_properties_finite_when_the_shift_exceeds_the_table(n_train, k, beyond):
    # issue 15: L = 4, k = 16 compared 0 rows and gave 0/0 = NaN, next to a "holds"
    p = positional.properties(n_train, 16, k, beyond)
    for name, value in vars(p).items():
        assert np.isfinite(value), name
    assert p.sin_shift_residual < 1e-9
    assert p.onehot_shift_rank == max(n_train - k, 0)
    assert {v.verdict for v in positional.verdicts(p).values()} <= {"holds", "holds with caveat"}


def test_no_verdict_rests_on_a_nan():
    p = positional.properties(8, 16, 3, 4)
    for field in ("sin_shift_residual", "sin_distance_std", "sin_beyond_norm"):
        broken = positional.PositionalProperties(**{**vars(p), field: float("nan")})
        v = positional.verdicts(broken)
        undetermined = [c for c, x in v.items() if x.verdict == "undetermined"]
        assert len(undetermined) == 1 and field in v[undetermined[0]].reason


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 64), st.integers(1, 16), st.integers(0, 64), st.sampled_from([8, 16, 64]),
       st.sampled_from([10.0, 10000.0]))
def test_properties_never_nan(n_train, k, beyond, dim, base):
    p = positional.properties(n_train, dim, k, beyond, base)
    assert all(np.isfinite(v) for v in vars(p).values())
    assert all(v.verdict != "undetermined" for v in positional.verdicts(p).values())
