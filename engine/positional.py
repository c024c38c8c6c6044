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


def properties(n_train: int = 32, dim: int = 32, k: int = 3, n_beyond: int = 16,
               base: float = 10000.0) -> PositionalProperties:
    """Evaluate the three properties for sinusoidal vs one-hot (one-hot has ``n_train`` dims).

    The shift check PE[p + k] = M_k PE[p] is evaluated at every shown position
    p = 0 .. n_train + n_beyond - 1, so the table is built k rows longer than what is shown;
    it therefore never runs on an empty set of positions, whatever k is (with L = 4, k = 16
    and no extra positions the old check compared 0 rows and returned 0/0 = NaN).
    """
    if n_train < 2 or dim < 2 or k < 1 or n_beyond < 0:
        raise ValueError("need n_train >= 2, dim >= 2, k >= 1 and n_beyond >= 0")
    n_shown = n_train + max(n_beyond, 1)
    sin_all = sinusoidal(n_shown + k, dim, base)
    oh_all = one_hot(n_shown + k, n_train)
    sin_tr, oh_tr = sin_all[:n_train], oh_all[:n_train]

    def dist_std(pe):
        g = pe @ pe.T
        return max(float(np.diagonal(g, offset=d).std()) for d in range(len(pe)))

    m = shift_matrix(dim, k, base)
    # PE[p + k] vs M_k PE[p] for p = 0 .. n_shown - 1 (n_shown >= 3 rows, never empty)
    target, source = sin_all[k : k + n_shown], sin_all[:n_shown]
    sin_res = float(np.linalg.norm(target - source @ m.T) / np.linalg.norm(target))
    a_oh, oh_res = fit_shift_map(oh_all[: n_shown + k], k)
    oh_rank = int(np.linalg.matrix_rank(a_oh, tol=1e-8))

    def adjacent(pe):
        a, b = pe[:-1], pe[1:]
        return float(np.mean(np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))

    def beyond(all_, tr):
        extra = all_[n_train:n_shown]
        norms = np.linalg.norm(extra, axis=1)
        trn = tr / np.maximum(np.linalg.norm(tr, axis=1, keepdims=True), 1e-300)
        cos = (extra @ trn.T) / np.maximum(norms[:, None], 1e-300)
        return float(norms.min()), float(cos.max(axis=1).min())

    sb, sc = beyond(sin_all, sin_tr)
    ob, oc = beyond(oh_all, oh_tr)
    return PositionalProperties(n_train, dim, dist_std(sin_tr), dist_std(oh_tr), sin_res, oh_res, oh_rank,
                                adjacent(sin_tr), adjacent(oh_tr), sb, ob, sc, oc)


# A relative error below this counts as "exact" (float64 round-off on tables of <= 200 rows).
EXACT_TOL = 1e-9


@dataclass
class Verdict:
    """One computed verdict on a 2.1.3 claim: ``verdict`` in {"holds", "holds with caveat",
    "fails", "undetermined"}; ``undetermined`` whenever a number it rests on is NaN or
    infinite (``reason`` then names it), so no verdict ever rests on a NaN."""

    claim: str
    verdict: str
    reason: str


def _finite(**values: float) -> str | None:
    bad = [name for name, v in values.items() if v is None or not np.isfinite(v)]
    return ", ".join(bad) if bad else None


def verdicts(p: PositionalProperties) -> dict[str, Verdict]:
    """Verdicts on the write-up's three 2.1.3 claims, from the computed properties.

    * ``distance``: sinusoidal PE_p . PE_q depends on p - q only (spread over p below
      EXACT_TOL * d) and neighbours are similar (cosine > 0) while one-hot neighbours are
      orthogonal (cosine 0).
    * ``shift``: a fixed linear map takes PE_p to PE_(p+k) at every shown p (relative error
      below EXACT_TOL); it exists for one-hot too but is singular (rank < L), hence "holds
      with caveat" for the write-up's contrast.
    * ``longer``: sinusoidal codes past L are non-zero and close to a trained one; one-hot
      codes past L are zero. Existing is not generalising: "holds with caveat".
    """
    out: dict[str, Verdict] = {}
    bad = _finite(sin_distance_std=p.sin_distance_std, sin_adjacent_cosine=p.sin_adjacent_cosine,
                  onehot_adjacent_cosine=p.onehot_adjacent_cosine)
    if bad:
        out["distance"] = Verdict("distance", "undetermined", f"not a finite number: {bad}")
    else:
        ok = p.sin_distance_std <= EXACT_TOL * p.dim and p.sin_adjacent_cosine > 0 and p.onehot_adjacent_cosine == 0
        out["distance"] = Verdict("distance", "holds" if ok else "fails",
                                  "sinusoidal similarity depends on the distance only; one-hot neighbours are "
                                  "orthogonal" if ok else "the sinusoidal dot product varies with p at a fixed distance")
    bad = _finite(sin_shift_residual=p.sin_shift_residual, onehot_shift_residual=p.onehot_shift_residual)
    if bad:
        out["shift"] = Verdict("shift", "undetermined", f"not a finite number: {bad}")
    elif p.sin_shift_residual <= EXACT_TOL:
        caveat = p.onehot_shift_rank < p.n_train
        out["shift"] = Verdict("shift", "holds with caveat" if caveat else "holds",
                               "an exact rotation M_k for sinusoidal at every position; one-hot's shift map is "
                               f"singular (rank {p.onehot_shift_rank} of {p.n_train})" if caveat else
                               "an exact rotation M_k for sinusoidal at every position")
    else:
        out["shift"] = Verdict("shift", "fails", f"relative error {p.sin_shift_residual:.3g} > {EXACT_TOL:g}")
    bad = _finite(sin_beyond_norm=p.sin_beyond_norm, onehot_beyond_norm=p.onehot_beyond_norm,
                  sin_beyond_max_cosine=p.sin_beyond_max_cosine)
    if bad:
        out["longer"] = Verdict("longer", "undetermined", f"not a finite number: {bad}")
    else:
        ok = p.sin_beyond_norm > 0 and p.onehot_beyond_norm == 0
        out["longer"] = Verdict("longer", "holds with caveat" if ok else "fails",
                                "sinusoidal codes exist past L, one-hot codes do not; whether a model uses them "
                                "is a separate question" if ok else "the codes past L do not differ as claimed")
    return out


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
