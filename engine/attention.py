"""Scaled dot-product attention, plain and causal (write-up section 2.1).

For queries ``q`` (B, k, h), keys ``K`` and values ``V`` (B, S, h) and learned
projections ``W_q, W_k, W_v`` (``nn.Linear(h, h)`` named ``Q``, ``K``, ``V``)::

    scores  = (W_q q) (W_k K)^T / sqrt(h)            (B, k, S)   "unnormalized attention"
    alpha   = softmax_S(scores + mask)                (B, k, S)   rows sum to 1
    context = alpha (W_v V)                           (B, k, h)

(Vaswani et al. 2017, eq. 1.) The causal mask lets query ``i`` see keys ``j <= i + (S - k)``:
the queries are taken to be the *last* k positions of the S-long sequence, so for
k == S it is the usual lower triangle and for k < S (decoding with a cache) query i sits
at absolute position S - k + i. Masked entries are set to ``-inf`` before the softmax,
so their weights are exactly 0, not a small number. This is the bottom-right aligned
convention; ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)`` uses
top-left alignment, so for k != S the tests compare against an explicit boolean mask.

Index convention: ``attention_weights[b, i, j]`` is the weight query i puts on key j.
(The write-up's causal code returns the transpose, (B, S, k); we keep one convention for
both modules and say so on the page.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


def causal_mask(k: int, s: int, device=None) -> torch.Tensor:
    """Boolean (k, S) mask, True where query i may attend key j: ``j <= i + (S - k)``."""
    i = torch.arange(k, device=device).unsqueeze(1)
    j = torch.arange(s, device=device).unsqueeze(0)
    return j <= i + (s - k)


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    scale: float,
    allowed: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``softmax(q k^T * scale, masked) v`` with explicit weights.

    ``q`` (..., k, d), ``k``/``v`` (..., S, d); ``allowed`` a boolean mask broadcastable
    to (..., k, S), True = may attend. Masked scores become ``-inf`` (exact zeros after
    softmax). A row with no allowed key (only possible with padding masks) gets all-zero
    weights instead of NaN.
    """
    scores = torch.matmul(q, k.transpose(-2, -1)) * scale
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if allowed is not None:
        weights = torch.nan_to_num(weights, nan=0.0)
    return torch.matmul(weights, v), weights


class ScaledDotAttention(nn.Module):
    """Single-head scaled dot-product attention (write-up 2.1.1).

    Parameters
    ----------
    hidden_size : int
        h; ``Q``, ``K``, ``V`` are ``nn.Linear(h, h)`` and ``scaling_factor = 1/sqrt(h)``.

    ``forward(queries (B, k, h), keys (B, S, h), values (B, S, h))`` returns
    ``(context (B, k, h), attention_weights (B, k, S))``.
    """

    causal = False

    def __init__(self, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.Q = nn.Linear(hidden_size, hidden_size)
        self.K = nn.Linear(hidden_size, hidden_size)
        self.V = nn.Linear(hidden_size, hidden_size)
        self.scaling_factor = 1.0 / math.sqrt(hidden_size)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor):
        batch = queries.size(0)
        q = self.Q(queries.reshape(batch, -1, self.hidden_size))  # (B, k, h)
        k = self.K(keys)  # (B, S, h)
        v = self.V(values)  # (B, S, h)
        allowed = causal_mask(q.size(1), k.size(1), device=q.device) if self.causal else None
        # context = softmax(q k^T / sqrt(h) [+ mask]) v
        return attend(q, k, v, self.scaling_factor, allowed)


class CausalScaledDotAttention(ScaledDotAttention):
    """Scaled dot-product attention where query i sees only keys j <= i + (S - k)
    (write-up 2.1.2); future weights are exactly 0. Same interface as
    :class:`ScaledDotAttention`."""

    causal = True


class MultiHeadAttention(nn.Module):
    """``num_heads`` scaled dot-product heads of size d = h / num_heads, concatenated and
    projected (Vaswani et al. 2017, eq. 4): head_i = attend(q W_i^Q, K W_i^K, V W_i^V),
    out = concat(head_1..head_H) W^O. Uses :func:`attend` (the same math as
    :class:`ScaledDotAttention`) when weights are wanted and PyTorch's fused kernel otherwise.

    ``forward(queries, keys, values, key_padding=None, need_weights=False)`` returns
    ``(out (B, k, h), weights (B, H, k, S) or None)``; ``key_padding`` (B, S) True = pad.
    """

    def __init__(self, hidden_size: int, num_heads: int, causal: bool = False):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size {hidden_size} is not divisible by num_heads {num_heads}")
        self.hidden_size, self.num_heads, self.causal = hidden_size, num_heads, causal
        self.head_dim = hidden_size // num_heads
        self.Q = nn.Linear(hidden_size, hidden_size)
        self.K = nn.Linear(hidden_size, hidden_size)
        self.V = nn.Linear(hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, hidden_size)
        self.scaling_factor = 1.0 / math.sqrt(self.head_dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, n, d)

    def forward(self, queries, keys, values, key_padding=None, need_weights: bool = False):
        q, k, v = self._split(self.Q(queries)), self._split(self.K(keys)), self._split(self.V(values))
        n_q, n_k = q.size(2), k.size(2)
        allowed = None
        if self.causal:
            allowed = causal_mask(n_q, n_k, device=q.device)[None, None]
        if key_padding is not None:
            keep = (~key_padding)[:, None, None, :]
            allowed = keep if allowed is None else (allowed & keep)
            if n_q == n_k:
                # a padded query may always see itself, so no row is fully masked (a fully
                # masked row would give NaN in the fused kernel, and 0 * NaN leaks into others)
                allowed = allowed | torch.eye(n_q, dtype=torch.bool, device=q.device)[None, None]
        if need_weights:
            ctx, weights = attend(q, k, v, self.scaling_factor, allowed)
        else:
            ctx = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed, scale=self.scaling_factor)
            weights = None
        b = ctx.size(0)
        ctx = ctx.transpose(1, 2).reshape(b, n_q, self.hidden_size)
        return self.out(ctx), weights


# ---------------------------------------------------------------------------
# Step-by-step view for the Attention page
# ---------------------------------------------------------------------------
@dataclass
class AttentionSteps:
    """Every intermediate of one attention call (numpy, batch dimension dropped).

    ``qk`` = (W_q q)(W_k K)^T, ``scaled`` = qk / (sqrt(h) * temperature), ``masked`` with
    -inf where not allowed, ``weights`` = softmax rows, ``context`` = weights (W_v V).
    """

    tokens: list[str]
    queries: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    qk: np.ndarray
    scale: float
    scaled: np.ndarray
    mask: np.ndarray  # bool, True = allowed
    masked: np.ndarray
    weights: np.ndarray
    context: np.ndarray
    entropy: np.ndarray  # nats per query row
    row_sums: np.ndarray
    key_tokens: list[str] | None = None  # column labels when keys differ from queries (cross-attention)
    source: str = "random"  # "random": a fresh ScaledDotAttention; else the trained layer it came from

    @property
    def keys_shown(self) -> list[str]:
        """Labels of the key axis (the tokens themselves for self-attention)."""
        return self.key_tokens if self.key_tokens is not None else self.tokens


def embed_tokens(tokens: list[str], hidden_size: int, seed: int = 0) -> np.ndarray:
    """A fixed random embedding per distinct token (same token -> same vector), N(0, 1)."""
    table: dict[str, np.ndarray] = {}
    out = np.zeros((len(tokens), hidden_size))
    for i, t in enumerate(tokens):
        if t not in table:
            # a per-token generator so a token's vector does not depend on the others
            h = sum((j + 1) * ord(c) for j, c in enumerate(t)) % (2**31)
            table[t] = np.random.default_rng([seed, h]).normal(0, 1, hidden_size)
        out[i] = table[t]
    return out


def attention_steps(
    tokens: list[str],
    hidden_size: int = 8,
    causal: bool = False,
    temperature: float = 1.0,
    seed: int = 0,
) -> AttentionSteps:
    """Self-attention of ``tokens`` through a randomly initialised :class:`ScaledDotAttention`
    (or the causal one), exposing every step. ``temperature`` T divides the scaled scores:
    softmax(q k^T / (sqrt(h) T)); T -> 0 approaches argmax, T -> inf uniform."""
    if not tokens:
        raise ValueError("need at least one token")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    torch.manual_seed(seed)
    module = (CausalScaledDotAttention if causal else ScaledDotAttention)(hidden_size).double()
    x = torch.tensor(embed_tokens(tokens, hidden_size, seed))[None]
    with torch.no_grad():
        q, k, v = module.Q(x)[0], module.K(x)[0], module.V(x)[0]
    return steps_from_projections(q, k, v, module.scaling_factor, temperature, causal, list(tokens))


def steps_from_projections(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    scaling_factor: float,
    temperature: float,
    causal: bool,
    tokens: list[str],
    key_tokens: list[str] | None = None,
    source: str = "random",
) -> AttentionSteps:
    """Every step of one head from its projections q (n_q x d), k and v (n_k x d)::

        S = q k^T * scaling_factor / T,   S_ij = -inf where the causal mask hides j > i,
        A = softmax(S) row-wise,   context = A v,   H_i = -sum_j A_ij ln A_ij.

    ``scaling_factor`` is the module's 1/sqrt(d) (write-up 2.1.1); ``T`` the temperature.
    Shared by the random layer (:func:`attention_steps`) and a trained model's layer
    (``engine.nmt.steps``)."""
    with torch.no_grad():
        q, k, v = q.detach(), k.detach(), v.detach()
        qk = q @ k.T
        scale = scaling_factor / temperature  # 1 / (sqrt(d) T)
        scaled = qk * scale
        n_q, n_k = qk.shape
        mask = causal_mask(n_q, n_k) if causal else torch.ones(n_q, n_k, dtype=torch.bool)
        masked = scaled.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(masked, dim=-1)
        context = weights @ v
        logw = torch.where(weights > 0, weights.log(), torch.zeros_like(weights))
        entropy = -(weights * logw).sum(-1)
    return AttentionSteps(
        tokens=list(tokens), queries=q.numpy(), keys=k.numpy(), values=v.numpy(), qk=qk.numpy(), scale=float(scale),
        scaled=scaled.numpy(), mask=mask.numpy(), masked=masked.numpy(), weights=weights.numpy(),
        context=context.numpy(), entropy=entropy.numpy(), row_sums=weights.sum(-1).numpy(),
        key_tokens=key_tokens, source=source,
    )
