"""Positional encodings: sinusoidal and one-hot, and the properties the write-up asserts
(section 2.1.3: "sinusoidal encodings are continuous, generalize to longer sequences and
encode token distance, unlike one-hot").

Sinusoidal (Vaswani et al. 2017, section 3.5), position p = 0..n-1, dimension d (even),
frequency index i = 0..d/2-1::

    w_i          = 1 / base^(2i/d)
    PE[p, 2i]    = sin(w_i p)
    PE[p, 2i+1]  = cos(w_i p)

Dot product between positions depends on the distance only::

    PE[p] . PE[q] = sum_i cos(w_i (p - q))

Relative shift is linear: for every offset k there is a fixed block-diagonal rotation
M_k (2x2 blocks [[cos w_i k, sin w_i k], [-sin w_i k, cos w_i k]]) with
PE[p + k] = M_k PE[p] for all p. One-hot: PE[p] = e_p in R^n, so every pair of distinct
positions has dot product 0 (no notion of distance) and a position >= n has no encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def sinusoidal(n_positions: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """(n_positions, dim) sinusoidal table, interleaved sin/cos (see module docstring)."""
    if dim % 2:
        raise ValueError("dim must be even")
    p = np.arange(n_positions)[:, None]
    w = 1.0 / base ** (np.arange(dim // 2) * 2.0 / dim)
    pe = np.zeros((n_positions, dim))
    pe[:, 0::2] = np.sin(p * w)
    pe[:, 1::2] = np.cos(p * w)
    return pe


def one_hot(n_positions: int, dim: int | None = None) -> np.ndarray:
    """(n_positions, dim) one-hot table, row p = e_p. ``dim`` defaults to n_positions;
    positions p >= dim have no one-hot code and get an all-zero row."""
    dim = n_positions if dim is None else dim
    pe = np.zeros((n_positions, dim))
    idx = np.arange(min(n_positions, dim))
    pe[idx, idx] = 1.0
    return pe


def shift_matrix(dim: int, k: int, base: float = 10000.0) -> np.ndarray:
    """M_k with sinusoidal(p + k) = M_k @ sinusoidal(p) for every p (block rotations)."""
    w = 1.0 / base ** (np.arange(dim // 2) * 2.0 / dim)
    m = np.zeros((dim, dim))
    for i, wi in enumerate(w):
        c, s = np.cos(wi * k), np.sin(wi * k)
        # sin(w(p+k)) = sin(wp) cos(wk) + cos(wp) sin(wk);  cos(w(p+k)) = cos(wp) cos(wk) - sin(wp) sin(wk)
        m[2 * i, 2 * i], m[2 * i, 2 * i + 1] = c, s
        m[2 * i + 1, 2 * i], m[2 * i + 1, 2 * i + 1] = -s, c
    return m


def fit_shift_map(pe: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Least-squares linear map A with pe[p + k] ~ A pe[p] over all p, and the relative
    residual ||pe[k:] - pe[:-k] A^T|| / ||pe[k:]||. Near 0 for sinusoidal (a linear map
    exists); for one-hot with n rows the best map still misses (rows are not a shift basis
    past the end)."""
    x, y = pe[: len(pe) - k], pe[k:]
    a_t, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = np.linalg.norm(y - x @ a_t) / max(np.linalg.norm(y), 1e-300)
    return a_t.T, float(resid)


@dataclass
class PositionalProperties:
    """Computed checks of the write-up's 2.1.3 claims for one table size.

    ``distance_std``: largest std of PE[p].PE[p+d] over p, across offsets d (0 when the
    dot product depends only on the distance). ``shift_residual``: relative error of the
    exact M_k (sinusoidal) and of the best least-squares map (one-hot). Both are ~0: a linear
    shift exists for one-hot too (a shift matrix), but it is singular (rank dim - k, it pushes
    the last k positions off the table) while M_k is an orthogonal rotation that works at
    every position, including past the training length. ``extrapolation``:
    for positions past the training length L, the nearest training-row cosine similarity
    (sinusoidal: smooth and bounded; one-hot: 0, there is no code)."""

    n_train: int
    dim: int
    sin_distance_std: float
    onehot_distance_std: float
    sin_shift_residual: float
    onehot_shift_residual: float
    onehot_shift_rank: int  # rank of the one-hot shift map (< dim: it forgets k positions)
    sin_adjacent_cosine: float  # mean cosine similarity of neighbouring positions
    onehot_adjacent_cosine: float
    sin_beyond_norm: float
    onehot_beyond_norm: float
    sin_beyond_max_cosine: float
    onehot_beyond_max_cosine: float


def dot_by_distance(pe: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max of PE[p].PE[p+d] over p, for d = 0..n-1."""
    g = pe @ pe.T
    n = len(pe)
    mean, lo, hi = np.zeros(n), np.zeros(n), np.zeros(n)
    for d in range(n):
        diag = np.diagonal(g, offset=d)
        mean[d], lo[d], hi[d] = diag.mean(), diag.min(), diag.max()
    return mean, lo, hi


def properties(n_train: int = 32, dim: int = 32, k: int = 3, n_beyond: int = 16) -> PositionalProperties:
    """Evaluate the three properties for sinusoidal vs one-hot (one-hot has ``n_train`` dims)."""
    sin_all = sinusoidal(n_train + n_beyond, dim)
    oh_all = one_hot(n_train + n_beyond, n_train)
    sin_tr, oh_tr = sin_all[:n_train], oh_all[:n_train]

    def dist_std(pe):
        g = pe @ pe.T
        return max(float(np.diagonal(g, offset=d).std()) for d in range(len(pe)))

    m = shift_matrix(dim, k)
    sin_res = float(np.linalg.norm(sin_all[k:] - sin_all[:-k] @ m.T) / np.linalg.norm(sin_all[k:]))
    a_oh, oh_res = fit_shift_map(oh_all, k)
    oh_rank = int(np.linalg.matrix_rank(a_oh, tol=1e-8))

    def adjacent(pe):
        a, b = pe[:-1], pe[1:]
        return float(np.mean(np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))

    def beyond(all_, tr):
        extra = all_[n_train:]
        norms = np.linalg.norm(extra, axis=1)
        trn = tr / np.maximum(np.linalg.norm(tr, axis=1, keepdims=True), 1e-300)
        cos = (extra @ trn.T) / np.maximum(norms[:, None], 1e-300)
        return float(norms.min()), float(cos.max(axis=1).min())

    sb, sc = beyond(sin_all, sin_tr)
    ob, oc = beyond(oh_all, oh_tr)
    return PositionalProperties(n_train, dim, dist_std(sin_tr), dist_std(oh_tr), sin_res, oh_res, oh_rank,
                                adjacent(sin_tr), adjacent(oh_tr), sb, ob, sc, oc)


def cosine_matrix(pe: np.ndarray) -> np.ndarray:
    """cos(PE[p], PE[q]) for all pairs; a zero row (no code) has similarity 0 to everything."""
    norms = np.linalg.norm(pe, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    unit = pe / safe[:, None]
    return unit @ unit.T


def cosine_by_distance(pe: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max over p of cos(PE[p], PE[p + d]) for d = 0..n-1."""
    c = cosine_matrix(pe)
    n = len(pe)
    out = np.zeros((3, n))
    for d in range(n):
        diag = np.diagonal(c, offset=d)
        out[:, d] = diag.mean(), diag.min(), diag.max()
    return out[0], out[1], out[2]


def encodings(kind: str, n_positions: int, dim: int, n_train: int, base: float = 10000.0) -> np.ndarray:
    """The table a model trained on ``n_train`` positions would use at positions 0..n-1:
    sinusoidal of width ``dim``; one-hot of width ``n_train`` (later positions: zero rows)."""
    if kind == "sinusoidal":
        return sinusoidal(n_positions, dim, base)
    if kind == "one-hot":
        return one_hot(n_positions, n_train)
    raise ValueError(f"unknown encoding {kind!r}")
