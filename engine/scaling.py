"""IsoFLOP analysis: from training runs to a compute-optimal law, with its uncertainty.

Write-up section 2.3 (IsoFLOP profiles), following Hoffmann et al. 2022, "Training
Compute-Optimal Large Language Models" (Chinchilla), Approach 2:

1. Group runs into FLOP budgets C. Real runs never hit a budget exactly, so budgets are
   found by clustering ``log10 C`` with a tolerance (:func:`cluster_budgets`).
2. Per budget, fit a quadratic in ``x = log10 N`` to the final loss (write-up 2.3.2)::

       L(x) ~= p2 x^2 + p1 x + p0,        x_opt = -p1 / (2 p2)

   and take ``N_opt(C) = 10**x_opt``. A budget is excluded, with a stated reason, when it
   has fewer than 3 runs, when its parabola opens downward (p2 <= 0), or when the vertex
   lies outside the sampled range of ``log10 N``.
3. Fit the log-log line (write-up 2.3.3)::

       log10 N_opt = a log10 C + log10 k      i.e.  N_opt = k C^a

   and, with the C = 6 N D rule (Kaplan et al. 2020, eq. 2.1), ``D_opt = C / (6 N_opt)``.
4. Bootstrap: resample runs with replacement within each budget, refit every parabola
   and the line, and read percentile intervals for ``a`` and for ``N_opt`` at any C
   (:func:`bootstrap_isoflop`; vectorised over resamples).

Reference laws (:data:`HOFFMANN_2022`, :data:`BESIROGLU_2024`, :data:`KAPLAN_2020`) give
the closed-form compute-optimal allocation to compare a fit against; the synthetic
generator (:func:`synthetic_isoflop`) draws IsoFLOP profiles from a parametric law, and
:func:`approach2_bias` shows when the parabola fit misleads (Besiroglu et al.'s and
arXiv 2603.22339, "Problems with Chinchilla Approach 2").

Checks used by the audit (write-up 2.3.1-2.3.4): :func:`flops_6nd`,
:func:`hidden_squared_vs_6nd`, :func:`check_claimed_optimum`, :func:`is_compute_optimal`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "scaling"
DEFAULT_TOLERANCE = 0.1  # half-width of a budget cluster, in decades of FLOPs
MIN_RUNS = 3


# ---------------------------------------------------------------------------
# FLOP counting
# ---------------------------------------------------------------------------
def flops_6nd(params, tokens):
    """Training compute C = 6 N D (Kaplan et al. 2020, eq. 2.1; Hoffmann et al. 2022).

    ``N`` counts non-embedding parameters, ``D`` training tokens; 2 N D FLOPs for the
    forward pass and 4 N D for the backward pass.
    """
    return 6.0 * np.asarray(params, dtype=float) * np.asarray(tokens, dtype=float)


def tokens_for_budget(flops, params):
    """Tokens that spend a budget: D = C / (6 N)."""
    return np.asarray(flops, dtype=float) / (6.0 * np.asarray(params, dtype=float))


@dataclass
class FlopsComparison:
    """Write-up 2.3.1's "Approx. FLOPs = hidden^2" against C = 6 N D."""

    hidden_size: np.ndarray
    approx_flops: np.ndarray  # hidden_size ** 2, the write-up's column
    params: np.ndarray  # non-embedding parameters N
    tokens: np.ndarray  # training tokens D
    flops_6nd: np.ndarray  # 6 N D
    ratio: np.ndarray  # 6 N D / hidden^2  (how far the write-up's count is off)
    log10_ratio: np.ndarray


def hidden_squared_vs_6nd(hidden_size, params, tokens) -> FlopsComparison:
    """Compare the write-up's FLOP count ``hidden^2`` with ``6 N D``.

    ``hidden^2`` is (up to a constant) the cost of one matrix-vector product of one
    layer for one token; the training compute of a run multiplies by every weight
    matrix (N ~ 12 L h^2 for a transformer, Kaplan et al. 2020 Table 1) and by the
    number of tokens D, i.e. C = 6 N D. The ratio shows by how many decades the
    write-up's count undercounts, and that the ratio is not constant across hidden sizes
    when D is fixed, so even the ordering along the C axis is distorted.
    """
    h = np.atleast_1d(np.asarray(hidden_size, dtype=float))
    n = np.broadcast_to(np.asarray(params, dtype=float), h.shape).copy()
    d = np.broadcast_to(np.asarray(tokens, dtype=float), h.shape).copy()
    approx = h**2
    c = flops_6nd(n, d)
    ratio = c / approx
    return FlopsComparison(h, approx, n, d, c, ratio, np.log10(ratio))


# ---------------------------------------------------------------------------
# Reference laws
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ParametricLaw:
    """L(N, D) = E + A / N^alpha + B / D^beta  (Hoffmann et al. 2022, eq. 2).

    Minimising L under C = 6 N D gives (Hoffmann et al. 2022, eq. 4)::

        N_opt(C) = G (C/6)^(beta/(alpha+beta)),  D_opt(C) = G^-1 (C/6)^(alpha/(alpha+beta)),
        G = (alpha A / (beta B))^(1/(alpha+beta)).
    """

    name: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str = ""

    def loss(self, params, tokens):
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        return self.E + self.A * n ** (-self.alpha) + self.B * d ** (-self.beta)

    @property
    def exponent(self) -> float:
        """a = beta / (alpha + beta), the exponent of N_opt = G (C/6)^a."""
        return self.beta / (self.alpha + self.beta)

    @property
    def G(self) -> float:
        return (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))

    @property
    def coefficient(self) -> float:
        """k of N_opt = k C^a: k = G 6^-a."""
        return self.G * 6.0 ** (-self.exponent)

    def compute_optimal(self, flops):
        """(N_opt, D_opt) at budget(s) ``flops`` in closed form (log space, no overflow)."""
        c = np.asarray(flops, dtype=float)
        a = self.exponent
        log_n = math.log10(self.G) + a * (np.log10(c) - math.log10(6.0))
        n = 10.0**log_n
        return n, c / (6.0 * n)

    def optimal_params(self, flops):
        return self.compute_optimal(flops)[0]


@dataclass(frozen=True)
class PowerLaw:
    """N_opt = k C^a only (no loss model): e.g. Kaplan et al. 2020's a = 0.73."""

    name: str
    coefficient: float
    exponent: float
    source: str = ""

    def compute_optimal(self, flops):
        c = np.asarray(flops, dtype=float)
        n = 10.0 ** (math.log10(self.coefficient) + self.exponent * np.log10(c))
        return n, c / (6.0 * n)

    def optimal_params(self, flops):
        return self.compute_optimal(flops)[0]


HOFFMANN_2022 = ParametricLaw(
    "Hoffmann 2022 (Approach 3)", 1.69, 406.4, 410.7, 0.34, 0.28,
    "Hoffmann et al. 2022, Training Compute-Optimal LLMs, eq. 10",
)
BESIROGLU_2024 = ParametricLaw(
    "Besiroglu 2024 (refit)", 1.8172, 482.01, 2085.43, 0.3478, 0.3658,
    "Besiroglu et al. 2024, Chinchilla Scaling: A replication attempt, eq. 3",
)
# Kaplan et al. 2020, Fig. 14 / eq. 6.6 (N_opt ~ 1.3e9 C_min^0.73 with C in PF-days,
# 1 PF-day = 8.64e19 FLOPs); converted to C in FLOPs: k = 1.3e9 * (8.64e19)^-0.73.
KAPLAN_2020 = PowerLaw(
    "Kaplan 2020 (a = 0.73)", 1.3e9 * 8.64e19 ** (-0.73), 0.73,
    "Kaplan et al. 2020, Scaling Laws for Neural Language Models, Fig. 14",
)
REFERENCE_LAWS: dict[str, ParametricLaw | PowerLaw] = {
    "hoffmann": HOFFMANN_2022,
    "besiroglu": BESIROGLU_2024,
    "kaplan": KAPLAN_2020,
}
PARAMETRIC_LAWS: dict[str, ParametricLaw] = {"hoffmann": HOFFMANN_2022, "besiroglu": BESIROGLU_2024}


# ---------------------------------------------------------------------------
# Budget clustering
# ---------------------------------------------------------------------------
def cluster_budgets(flops, tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """Label each run with a budget index by clustering ``log10 C`` (densest first).

    Repeatedly: among unassigned runs, take the one with the most unassigned neighbours
    within ``tolerance`` decades (ties: the earliest run), centre a cluster at the median
    ``log10 C`` of those neighbours and assign every unassigned run within ``tolerance`` of
    that centre. Labels are renumbered in increasing order of budget. Exact equality is
    never required, so digitised or achieved FLOPs (e.g. 9.7e18 for a 1e19 budget) group
    together, while budgets further apart than ~2 x tolerance stay separate.

    Cost O(n log n) in the number of runs (issue 17: the former n x n neighbour table needed
    72.9 GiB at 100k rows): runs are sorted once; neighbour windows are index ranges found
    by binary search; a Fenwick tree counts unassigned runs in a window and finds the k-th
    one (for the median); a max-heap with lazy updates picks the densest run (counts only
    ever fall, so a popped entry whose count is still current is the true maximum); a
    "next unassigned" pointer array visits each run once when it is assigned. The first
    ``VECTOR_STEPS`` budgets are found with whole-array numpy steps (O(n) each, fast when
    budgets are few, as in real sweeps); the structures above take over after that.
    """
    x = np.log10(np.asarray(flops, dtype=float)).ravel()
    n = x.size
    labels = np.full(n, -1, dtype=int)
    if n == 0:
        return labels
    tol = tolerance + 1e-12
    order = np.argsort(x, kind="stable")
    xs = x[order]
    lo = np.searchsorted(xs, xs - tol, side="left")
    hi = np.searchsorted(xs, xs + tol, side="right")
    centres: list[float] = []
    sorted_labels = np.empty(n, dtype=int)
    free = np.ones(n, dtype=bool)
    rank_of = order  # tie-break: the earliest run (original index) among equal counts
    # Few budgets (the usual case): whole-array steps, O(n) each, for up to VECTOR_STEPS clusters.
    for _ in range(VECTOR_STEPS):
        if not free.any():
            break
        cs = np.concatenate([[0], np.cumsum(free)])
        counts = np.where(free, cs[hi] - cs[lo], -1)
        top = np.flatnonzero(counts == counts.max())
        p = int(top[np.argmin(rank_of[top])])
        window = xs[lo[p]:hi[p]][free[lo[p]:hi[p]]]
        centre = float(np.median(window))
        a = int(np.searchsorted(xs, centre - tol, side="left"))
        b = int(np.searchsorted(xs, centre + tol, side="right"))
        members = np.flatnonzero(free[a:b]) + a
        sorted_labels[members] = len(centres)
        free[members] = False
        centres.append(centre)
    if free.any():
        _cluster_rest(xs, lo, hi, order, free, tol, centres, sorted_labels)
    labels[order] = sorted_labels
    rank = np.argsort(centres, kind="stable")
    remap = np.empty_like(rank)
    remap[rank] = np.arange(rank.size)
    return remap[labels]


VECTOR_STEPS = 48


def _cluster_rest(xs, lo, hi, order, free_mask, tol, centres, sorted_labels) -> None:
    """The rest of :func:`cluster_budgets` once many budgets exist: O(log n) per step."""
    import heapq

    n = xs.size
    tree = [0] + free_mask.astype(int).tolist()  # Fenwick tree over sorted positions: 1 where unassigned
    for i in range(1, n + 1):
        j = i + (i & -i)
        if j <= n:
            tree[j] += tree[i]
    logn = 1 << (n.bit_length() - 1)

    def prefix(i: int) -> int:  # unassigned among sorted positions [0, i)
        s = 0
        while i > 0:
            s += tree[i]
            i -= i & -i
        return s

    def remove(i: int) -> None:
        i += 1
        while i <= n:
            tree[i] -= 1
            i += i & -i

    def kth(k: int) -> int:  # sorted position of the k-th (1-based) unassigned run
        pos, step = 0, logn
        while step:
            nxt = pos + step
            if nxt <= n and tree[nxt] < k:
                pos = nxt
                k -= tree[nxt]
            step >>= 1
        return pos

    nxt_free = list(range(n + 1))  # union-find: next unassigned sorted position >= i (n: none)
    for q in np.flatnonzero(~free_mask).tolist():
        nxt_free[q] = q + 1

    def find(i: int) -> int:
        root = i
        while nxt_free[root] != root:
            root = nxt_free[root]
        while nxt_free[i] != root:
            nxt_free[i], i = root, nxt_free[i]
        return root

    lo_l, hi_l, ord_l = lo.tolist(), hi.tolist(), order.tolist()
    cs = np.concatenate([[0], np.cumsum(free_mask)])
    counts = (cs[hi] - cs[lo]).tolist()
    assigned = (~free_mask).tolist()
    heap = [(-counts[p], ord_l[p], p) for p in range(n) if not assigned[p]]
    heapq.heapify(heap)
    while heap:
        negc, oi, p = heapq.heappop(heap)
        if assigned[p]:
            continue
        count = prefix(hi_l[p]) - prefix(lo_l[p])
        if count != -negc:  # stale: counts only fall; re-queue with the current one
            heapq.heappush(heap, (-count, oi, p))
            continue
        before = prefix(lo_l[p])
        m1 = kth(before + (count + 1) // 2)
        m2 = kth(before + count // 2 + 1)
        centre = 0.5 * (float(xs[m1]) + float(xs[m2]))
        a = int(np.searchsorted(xs, centre - tol, side="left"))
        b = int(np.searchsorted(xs, centre + tol, side="right"))
        label = len(centres)
        q = find(a)
        if q >= b:  # pragma: no cover - the seed itself is always within tolerance of the centre
            a, b, q = p, p + 1, p
        while q < b:
            assigned[q] = True
            sorted_labels[q] = label
            remove(q)
            nxt_free[q] = q + 1
            q = find(q + 1)
        centres.append(centre)


# ---------------------------------------------------------------------------
# Parabolas (batched weighted least squares)
# ---------------------------------------------------------------------------
def _quad_fit(x, y, w):
    """Weighted quadratic fits, batched over leading axes.

    x, y, w: (..., n). Returns (p2, p1, p0) each (...,) of y ~= p2 x^2 + p1 x + p0
    from the normal equations (x is centred by the caller for conditioning); singular
    systems give NaN.
    """
    s = [np.sum(w * x**k, axis=-1) for k in range(5)]
    t = [np.sum(w * y * x**k, axis=-1) for k in range(3)]
    m = np.stack(
        [np.stack([s[4], s[3], s[2]], -1), np.stack([s[3], s[2], s[1]], -1), np.stack([s[2], s[1], s[0]], -1)], -2
    )
    rhs = np.stack([t[2], t[1], t[0]], -1)
    det = np.linalg.det(m)
    scale = np.maximum(np.abs(s[0]) ** 3, 1e-300)
    bad = ~(np.abs(det) > 1e-10 * scale)
    m = np.where(bad[..., None, None], np.eye(3), m)
    p = np.linalg.solve(m, rhs[..., None])[..., 0]
    p[bad] = np.nan
    return p[..., 0], p[..., 1], p[..., 2]


def _line_fit(x, y, w):
    """Weighted least-squares line y ~= a x + b, batched; NaN if < 2 distinct points."""
    sw = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (w * x).sum(-1) / sw
        my = (w * y).sum(-1) / sw
        dx = x - mx[..., None]
        sxx = (w * dx * dx).sum(-1)
        a = (w * dx * (y - my[..., None])).sum(-1) / sxx
        a = np.where(sxx > 1e-12, a, np.nan)
    return a, my - a * mx


# ---------------------------------------------------------------------------
# The IsoFLOP fit
# ---------------------------------------------------------------------------
@dataclass
class BudgetFit:
    """One FLOP budget: its runs, its parabola in log10 N and its vertex."""

    index: int
    flops: float  # representative budget 10**mean(log10 C) of its runs
    rows: np.ndarray  # indices of its runs in the input arrays
    params: np.ndarray
    loss: np.ndarray
    coeffs: tuple[float, float, float]  # (p2, p1, p0) of L ~= p2 x^2 + p1 x + p0, x = log10 N
    optimal_params: float  # 10**x_opt, NaN when no usable vertex
    optimal_loss: float
    included: bool
    reason: str = ""  # why it is excluded ("" when included)

    @property
    def optimal_tokens(self) -> float:
        return self.flops / (6.0 * self.optimal_params)

    def parabola(self, params):
        """The fitted loss at ``params`` (NaN when there is no parabola)."""
        x = np.log10(np.asarray(params, dtype=float))
        p2, p1, p0 = self.coeffs
        return p2 * x**2 + p1 * x + p0


@dataclass
class Interval:
    low: float
    high: float
    level: float


@dataclass
class BootstrapResult:
    """Percentile bootstrap over runs resampled within budgets (n_boot resamples)."""

    exponents: np.ndarray  # (n_boot,) a per resample (NaN where < 2 usable budgets)
    intercepts: np.ndarray  # (n_boot,) log10 k per resample
    level: float
    seed: int

    @property
    def n_valid(self) -> int:
        return int(np.isfinite(self.exponents).sum())

    def exponent_interval(self, level: float | None = None) -> Interval:
        lv = self.level if level is None else level
        lo, hi = np.nanpercentile(self.exponents, [50 * (1 - lv), 50 * (1 + lv)]) if self.n_valid else (np.nan,) * 2
        return Interval(float(lo), float(hi), lv)

    def log10_params_samples(self, flops) -> np.ndarray:
        """(n_boot, len(flops)) samples of log10 N_opt(C)."""
        lc = np.log10(np.atleast_1d(np.asarray(flops, dtype=float)))
        return self.exponents[:, None] * lc[None, :] + self.intercepts[:, None]

    def params_interval(self, flops, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise (low, high) of N_opt at each C (arrays)."""
        lv = self.level if level is None else level
        s = self.log10_params_samples(flops)
        if not self.n_valid:
            nan = np.full(s.shape[1], np.nan)
            return nan, nan
        lo, hi = np.nanpercentile(s, [50 * (1 - lv), 50 * (1 + lv)], axis=0)
        return 10.0**lo, 10.0**hi

    def tokens_interval(self, flops, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """D_opt = C / (6 N_opt): the interval bounds swap."""
        c = np.atleast_1d(np.asarray(flops, dtype=float))
        lo, hi = self.params_interval(c, level)
        return c / (6.0 * hi), c / (6.0 * lo)


@dataclass
class IsoFlopFit:
    """Result of :func:`fit_isoflop`.

    ``budgets`` lists every budget found (included or not); ``budget_flops`` and
    ``optimal_params`` are the included budgets' C and N_opt(C), in increasing C,
    which enter the line ``N_opt = coefficient * C**exponent``.
    """

    budgets: list[BudgetFit]
    exponent: float
    coefficient: float
    tolerance: float
    n_runs: int
    problems: list[str] = field(default_factory=list)
    bootstrap: BootstrapResult | None = None

    @property
    def included(self) -> list[BudgetFit]:
        return [b for b in self.budgets if b.included]

    @property
    def excluded(self) -> list[BudgetFit]:
        return [b for b in self.budgets if not b.included]

    @property
    def budget_flops(self) -> np.ndarray:
        return np.array([b.flops for b in self.included])

    @property
    def optimal_params(self) -> np.ndarray:
        return np.array([b.optimal_params for b in self.included])

    @property
    def optimal_tokens(self) -> np.ndarray:
        """D_opt = C / (6 N_opt) per included budget."""
        return self.budget_flops / (6.0 * self.optimal_params)

    @property
    def ok(self) -> bool:
        return math.isfinite(self.exponent)

    @property
    def intercept(self) -> float:
        """log10 k."""
        return math.log10(self.coefficient) if self.coefficient > 0 else math.nan

    def predict_params(self, flops):
        """N_opt(C) = k C^a (computed as 10**(a log10 C + log10 k)); NaN when not ok."""
        c = np.asarray(flops, dtype=float)
        if not self.ok:
            return np.full(c.shape, np.nan) if c.shape else math.nan
        out = 10.0 ** (self.exponent * np.log10(c) + self.intercept)
        return out if c.shape else float(out)

    def predict_tokens(self, flops):
        """D_opt(C) = C / (6 N_opt(C))."""
        return np.asarray(flops, dtype=float) / (6.0 * self.predict_params(flops))


def _vertex(p2, p1, lo, hi):
    """x_opt = -p1 / (2 p2), and whether it is usable (p2 > 0, lo <= x_opt <= hi)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        xv = -p1 / (2.0 * p2)
    ok = np.isfinite(xv) & (p2 > 0) & (xv >= lo) & (xv <= hi)
    return xv, ok


def fit_isoflop(
    flops,
    params,
    loss,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    min_runs: int = MIN_RUNS,
    n_boot: int = 0,
    level: float = 0.8,
    seed: int = 0,
) -> IsoFlopFit:
    """Chinchilla Approach 2 on runs (C_i, N_i, L_i): per-budget parabolas, then N_opt = k C^a.

    Parameters
    ----------
    flops, params, loss : array-like, one entry per run (C in FLOPs, N parameters, final loss).
    tolerance : half-width in decades of log10 C for grouping runs into budgets
        (:func:`cluster_budgets`).
    min_runs : budgets with fewer runs are excluded (a parabola needs 3 points).
    n_boot : if > 0, also run :func:`bootstrap_isoflop` with ``level`` and ``seed``.

    Returns
    -------
    IsoFlopFit with ``budgets`` (each with its parabola, vertex and exclusion reason),
    ``exponent`` a, ``coefficient`` k, ``predict_params(C)`` and ``optimal_params``.
    ``exponent`` is NaN (with a message in ``problems``) when fewer than 2 budgets survive.
    """
    c = np.asarray(flops, dtype=float).ravel()
    n = np.asarray(params, dtype=float).ravel()
    y = np.asarray(loss, dtype=float).ravel()
    if not (c.size == n.size == y.size):
        raise ValueError("flops, params and loss must have the same length")
    good = np.isfinite(c) & np.isfinite(n) & np.isfinite(y) & (c > 0) & (n > 0)
    if not good.all():
        raise ValueError(
            f"runs {np.flatnonzero(~good).tolist()} have missing or non-positive values; clean them first "
            "(see engine.scaling.clean_runs)"
        )
    labels = cluster_budgets(c, tolerance)
    budgets: list[BudgetFit] = []
    x_all = np.log10(n)
    by_label = np.argsort(labels, kind="stable")  # O(n log n): rows grouped by budget
    starts = np.searchsorted(labels[by_label], np.arange(int(labels.max()) + 2 if labels.size else 1))
    for j in range(int(labels.max()) + 1 if labels.size else 0):
        rows = by_label[starts[j]:starts[j + 1]]
        order = rows[np.argsort(n[rows], kind="stable")]
        cb = float(10.0 ** np.mean(np.log10(c[order])))
        xb, yb = x_all[order], y[order]
        nan3 = (math.nan, math.nan, math.nan)
        if order.size < min_runs:
            budgets.append(BudgetFit(j, cb, order, n[order], yb, nan3, math.nan, math.nan, False,
                                     f"only {order.size} run{'s' if order.size != 1 else ''} (a parabola needs {min_runs})"))
            continue
        if np.unique(xb).size < 3:
            budgets.append(BudgetFit(j, cb, order, n[order], yb, nan3, math.nan, math.nan, False,
                                     "fewer than 3 distinct model sizes"))
            continue
        x0 = xb.mean()
        p2, p1, p0 = (float(v) for v in _quad_fit(xb - x0, yb, np.ones_like(xb)))
        # back to uncentred coefficients in x = log10 N
        coeffs = (p2, p1 - 2 * p2 * x0, p2 * x0**2 - p1 * x0 + p0)
        xv, ok = _vertex(np.array(p2), np.array(p1), xb.min() - x0, xb.max() - x0)
        xv = float(xv) + x0
        reason = ""
        if not p2 > 0:
            reason = "parabola opens downward (no minimum)"
        elif not ok:
            reason = (f"vertex at N = {10**xv:.3g} lies outside the sampled range "
                      f"{10**xb.min():.3g}-{10**xb.max():.3g}")
        lv = float(np.polyval(coeffs, xv)) if reason == "" else math.nan
        budgets.append(BudgetFit(j, cb, order, n[order], yb, coeffs, 10.0**xv if not reason else math.nan,
                                 lv, reason == "", reason))
    inc = [b for b in budgets if b.included]
    problems = []
    if len(inc) >= 2:
        lc = np.log10([b.flops for b in inc])
        ln = np.log10([b.optimal_params for b in inc])
        a, b0 = _line_fit(lc, ln, np.ones_like(lc))
        a, b0 = float(a), float(b0)
    else:
        a, b0 = math.nan, math.nan
        problems.append(
            f"only {len(inc)} budget{'s' if len(inc) != 1 else ''} with a usable parabola: a line N_opt = k C^a "
            "needs at least 2 budgets"
        )
    fit = IsoFlopFit(budgets, a, 10.0**b0 if math.isfinite(b0) else math.nan, tolerance, int(c.size), problems)
    if n_boot > 0 and fit.ok:
        fit.bootstrap = bootstrap_isoflop(fit, n_boot=n_boot, level=level, seed=seed)
    return fit


BOOT_CHUNK_ELEMENTS = 2_000_000


def bootstrap_isoflop(fit: IsoFlopFit, n_boot: int = 1000, *, level: float = 0.8, seed: int = 0) -> BootstrapResult:
    """Percentile bootstrap of a and of N_opt(C): resample runs within each budget.

    For each of ``n_boot`` resamples and each included budget, draw its runs with
    replacement, refit the parabola and its vertex (a resampled budget whose parabola
    opens downward or whose vertex leaves the sampled range drops out of that resample),
    then refit log10 N_opt = a log10 C + log10 k over the surviving budgets. All
    resamples and budgets are solved at once (batched normal equations), so 1,000
    resamples cost a few array operations per budget.
    """
    rng = np.random.default_rng(seed)
    inc = fit.included
    k = len(inc)
    lc = np.log10([b.flops for b in inc])
    xv_all = np.full((n_boot, k), np.nan)
    for j, b in enumerate(inc):
        x = np.log10(b.params)
        x0 = x.mean()
        xc = x - x0
        step = max(1, BOOT_CHUNK_ELEMENTS // max(1, x.size))  # bounded memory for budgets with many runs
        for r0 in range(0, n_boot, step):
            idx = rng.integers(0, x.size, size=(min(step, n_boot - r0), x.size))
            xs, ys = xc[idx], b.loss[idx]
            p2, p1, _ = _quad_fit(xs, ys, np.ones_like(xs))
            xv, ok = _vertex(p2, p1, xc.min(), xc.max())
            xv_all[r0:r0 + step, j] = np.where(ok, xv + x0, np.nan)
    w = np.isfinite(xv_all).astype(float)
    a, b0 = _line_fit(np.broadcast_to(lc, xv_all.shape), np.nan_to_num(xv_all), w)
    few = w.sum(1) < 2
    a[few] = np.nan
    b0[few] = np.nan
    return BootstrapResult(a, b0, level, seed)


# ---------------------------------------------------------------------------
# Synthetic IsoFLOP data and Approach 2's biases
# ---------------------------------------------------------------------------
@dataclass
class RunTable:
    """Runs in the form every data source is reduced to (one entry per run)."""

    flops: np.ndarray
    params: np.ndarray
    loss: np.ndarray
    tokens: np.ndarray
    source: str = ""
    row_numbers: np.ndarray | None = None  # 1-based data rows of the source table

    def as_frame(self):
        import pandas as pd

        return pd.DataFrame({"flops": self.flops, "params": self.params, "tokens": self.tokens, "loss": self.loss})


@dataclass
class CurveTable:
    """Training curves in long form: one entry per evaluation of a run.

    ``run`` identifies the run (an integer id), ``flops`` = 6 N tokens_seen (the compute
    spent when the loss was measured), ``loss`` the validation loss at that point.
    """

    run: np.ndarray
    params: np.ndarray
    tokens: np.ndarray
    flops: np.ndarray
    loss: np.ndarray
    source: str = ""

    @property
    def n_runs(self) -> int:
        return int(np.unique(self.run).size)

    def as_frame(self):
        import pandas as pd

        return pd.DataFrame({"run": self.run, "params": self.params, "tokens": self.tokens, "flops": self.flops,
                             "loss": self.loss})


def curves_from_frame(frame, *, source: str = "") -> CurveTable:
    """A :class:`CurveTable` from a frame with columns run, params, tokens, loss (flops optional:
    6 N tokens). Rows with missing, non-finite or non-positive values are dropped."""
    run = np.asarray(frame["run"], dtype=float) if len(frame) else np.zeros(0)
    n = np.asarray(frame["params"], dtype=float) if len(frame) else np.zeros(0)
    t = np.asarray(frame["tokens"], dtype=float) if len(frame) else np.zeros(0)
    y = np.asarray(frame["loss"], dtype=float) if len(frame) else np.zeros(0)
    c = np.asarray(frame["flops"], dtype=float) if "flops" in frame and len(frame) else 6.0 * n * t
    ok = np.isfinite(run) & np.isfinite(n) & np.isfinite(t) & np.isfinite(y) & np.isfinite(c) & (n > 0) & (t > 0) & (c > 0)
    return CurveTable(run[ok].astype(int), n[ok], t[ok], c[ok], y[ok], source)


def synthetic_isoflop(
    law: ParametricLaw = HOFFMANN_2022,
    budgets: Sequence[float] = (1e18, 3e18, 1e19, 3e19, 1e20, 3e20, 1e21),
    points_per_budget: int = 9,
    width: float = 1.0,
    offset: float = 0.0,
    noise: float = 0.0,
    seed: int = 0,
) -> RunTable:
    """IsoFLOP profiles drawn from ``law``: per budget C, model sizes log-spaced over
    ``log10 N_opt(C) + offset +- width/2`` (decades), D = C / (6N), and
    loss = L(N, D) + noise * eps with eps ~ N(0, 1).

    ``offset`` != 0 places the grid off-centre (a fixed fraction of a decade for every
    budget); ``width`` is the full span of the grid in decades.
    """
    rng = np.random.default_rng(seed)
    cs, ns = [], []
    for c in budgets:
        centre = math.log10(float(law.optimal_params(c))) + offset
        xs = np.linspace(centre - width / 2, centre + width / 2, points_per_budget)
        cs.append(np.full(points_per_budget, float(c)))
        ns.append(10.0**xs)
    c = np.concatenate(cs)
    n = np.concatenate(ns)
    d = c / (6.0 * n)
    y = law.loss(n, d) + noise * rng.standard_normal(c.size)
    return RunTable(c, n, y, d, f"synthetic from {law.name}")


@dataclass
class BiasPoint:
    width: float
    offset: float
    fitted_exponent: float
    true_exponent: float
    fitted_params_at: float  # N_opt from the Approach-2 fit at ``at`` FLOPs
    true_params_at: float  # closed-form N_opt at ``at``

    @property
    def exponent_error(self) -> float:
        return self.fitted_exponent - self.true_exponent

    @property
    def params_ratio(self) -> float:
        return self.fitted_params_at / self.true_params_at


def approach2_bias(
    law: ParametricLaw,
    widths: Sequence[float] = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0),
    offset: float = 0.0,
    offset_slope: float = 0.0,
    budgets: Sequence[float] = (1e18, 3e18, 1e19, 3e19, 1e20, 3e20, 1e21),
    points_per_budget: int = 9,
    at: float = 1e24,
) -> list[BiasPoint]:
    """Approach 2 on noise-free data from ``law``, for a range of grid widths.

    With alpha != beta the IsoFLOP curve is asymmetric in log10 N, so the parabola's
    vertex sits off the true optimum by an amount that grows with the grid width; for
    grids centred on the true optimum this shift is the same at every budget, so the
    exponent survives but k (and every extrapolated N_opt) is biased. A grid whose
    centre drifts with the budget (``offset_slope`` decades of offset per decade of C,
    e.g. a fixed set of model sizes) biases the exponent too (arXiv 2603.22339,
    "Problems with Chinchilla Approach 2"). ``offset`` shifts every grid the same way.
    """
    out = []
    lc0 = math.log10(budgets[0])
    true_n = float(law.optimal_params(at))
    for w in widths:
        cs, ns = [], []
        for c in budgets:
            centre = math.log10(float(law.optimal_params(c))) + offset + offset_slope * (math.log10(c) - lc0)
            xs = np.linspace(centre - w / 2, centre + w / 2, points_per_budget)
            cs.append(np.full(points_per_budget, float(c)))
            ns.append(10.0**xs)
        c = np.concatenate(cs)
        n = np.concatenate(ns)
        y = law.loss(n, c / (6.0 * n))
        f = fit_isoflop(c, n, y, tolerance=0.05)
        out.append(BiasPoint(float(w), offset, f.exponent, law.exponent, float(f.predict_params(at)), true_n))
    return out


# ---------------------------------------------------------------------------
# Checks of write-up claims (2.3.3, 2.3.4)
# ---------------------------------------------------------------------------
@dataclass
class LawVerdict:
    law: str
    optimal_params: float
    optimal_tokens: float
    ratio: float  # given params / N_opt   (> 1: too many parameters)
    verdict: str  # "compute-optimal", "too many parameters", "too few parameters", "undefined"


@dataclass
class OptimalityCheck:
    """Is a setup (N params, D tokens) compute-optimal? Write-up 2.3.4."""

    params: float
    tokens: float
    flops: float  # C = 6 N D
    factor: float  # within this factor of N_opt counts as compute-optimal
    verdicts: list[LawVerdict]


def _verdict(ratio: float, factor: float) -> str:
    if not math.isfinite(ratio) or ratio <= 0:
        return "undefined"
    if ratio > factor:
        return "too many parameters"
    if ratio < 1.0 / factor:
        return "too few parameters"
    return "compute-optimal"


def _laws_and_fit(fit: IsoFlopFit | None, laws: Mapping[str, ParametricLaw | PowerLaw] | None):
    items: list[tuple[str, object]] = []
    if fit is not None:
        items.append(("fitted law", fit))
    for law in (REFERENCE_LAWS if laws is None else laws).values():
        items.append((law.name, law))
    return items


def _n_opt(model, c: float) -> float:
    if isinstance(model, IsoFlopFit):
        return float(model.predict_params(c))
    return float(model.optimal_params(c))


def is_compute_optimal(
    params: float,
    tokens: float,
    fit: IsoFlopFit | None = None,
    laws: Mapping[str, ParametricLaw | PowerLaw] | None = None,
    factor: float = 2.0,
) -> OptimalityCheck:
    """Compare (N, D) with N_opt(C) at its own budget C = 6 N D, for the fit and each law.

    The setup is called compute-optimal under a law when N / N_opt(C) lies within
    [1/factor, factor] (equivalently D / D_opt, since D_opt = C / (6 N_opt) gives
    D / D_opt = N_opt / N).
    """
    c = float(flops_6nd(params, tokens))
    verdicts = []
    for name, model in _laws_and_fit(fit, laws):
        n_opt = _n_opt(model, c)
        ratio = params / n_opt if n_opt > 0 else math.nan
        verdicts.append(LawVerdict(name, n_opt, c / (6 * n_opt) if n_opt > 0 else math.nan, ratio, _verdict(ratio, factor)))
    return OptimalityCheck(float(params), float(tokens), c, factor, verdicts)


@dataclass
class ClaimCheck:
    """A claim "N params are optimal at C FLOPs" (write-up 2.3.3) against each law."""

    flops: float
    claimed_params: float
    claimed_tokens: float  # C / (6 N): the tokens the claim implies
    tokens_per_param: float  # D / N of the claim (Chinchilla's rule of thumb is ~20)
    verdicts: list[LawVerdict]


def check_claimed_optimum(
    flops: float = 1e15,
    claimed_params: float = 1e10,
    fit: IsoFlopFit | None = None,
    laws: Mapping[str, ParametricLaw | PowerLaw] | None = None,
    factor: float = 2.0,
) -> ClaimCheck:
    """Write-up 2.3.3: "the optimal number of parameters for 1e15 FLOPs is 1e10".

    A claim N* at budget C implies D = C / (6 N*) tokens; the check reports N_opt(C) of
    the fitted law (if given) and of each reference law and the ratio N* / N_opt.
    """
    d = float(tokens_for_budget(flops, claimed_params))
    verdicts = []
    for name, model in _laws_and_fit(fit, laws):
        n_opt = _n_opt(model, flops)
        ratio = claimed_params / n_opt if n_opt > 0 else math.nan
        verdicts.append(LawVerdict(name, n_opt, flops / (6 * n_opt) if n_opt > 0 else math.nan, ratio,
                                   _verdict(ratio, factor)))
    return ClaimCheck(float(flops), float(claimed_params), d, d / claimed_params, verdicts)


# ---------------------------------------------------------------------------
# Data sources and input validation
# ---------------------------------------------------------------------------
@dataclass
class CleanResult:
    """Runs that passed validation, plus messages naming the rows that did not.

    Row numbers are 1-based data rows (the first row below the header is row 1).
    """

    runs: RunTable | None
    problems: list[str]
    dropped_rows: list[int]
    fatal: bool = False


def _rows_text(rows: Sequence[int], limit: int = 12) -> str:
    rows = [int(r) for r in rows]
    head = ", ".join(str(r) for r in rows[:limit])
    return head + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _rows_label(rows: Sequence[int]) -> str:
    """"Row 6" or "Rows 4, 8" (1-based data rows)."""
    return ("Row " if len(rows) == 1 else "Rows ") + _rows_text(rows)


def clean_runs(frame, mapping: Mapping[str, str] | None = None, *, source: str = "") -> CleanResult:
    """Validate a table of runs and keep what is sound.

    ``mapping`` maps the roles ``flops``, ``params``, ``loss`` (and optionally
    ``tokens``) to column names of ``frame``. Rows with missing or non-numeric values,
    non-positive FLOPs/params (or non-finite loss), and exact duplicates of an earlier
    run are dropped, each problem named with its rows. Missing columns are fatal.
    When ``flops`` is absent but ``tokens`` is given, C = 6 N D is used.
    """
    import pandas as pd

    mapping = dict(mapping or {"flops": "flops", "params": "params", "loss": "loss"})
    problems: list[str] = []
    need = ["params", "loss"] + ([] if mapping.get("tokens") and not mapping.get("flops") else ["flops"])
    missing = [f"{role} (column '{mapping.get(role)}')" if mapping.get(role) else role
               for role in need if not mapping.get(role) or mapping.get(role) not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns))
        return CleanResult(None, [f"Missing column(s): {', '.join(missing)}. The file has: {have}."], [], True)
    cols = {role: pd.to_numeric(frame[mapping[role]], errors="coerce") for role in ("flops", "params", "loss", "tokens")
            if mapping.get(role)}
    nrow = len(frame)
    rownum = np.arange(1, nrow + 1)
    bad = np.zeros(nrow, dtype=bool)
    for role, s in cols.items():
        nan = s.isna().to_numpy() | ~np.isfinite(s.to_numpy(dtype=float, na_value=np.nan))
        if nan.any():
            problems.append(f"{_rows_label(rownum[nan & ~bad])}: {role} is missing, not a number or infinite "
                            "(dropped).")
        bad |= nan
    for role in ("flops", "params", "tokens"):
        if role in cols:
            v = cols[role].to_numpy(dtype=float, na_value=np.nan)
            nonpos = ~bad & (v <= 0)
            if nonpos.any():
                problems.append(f"{_rows_label(rownum[nonpos])}: {role} must be positive (dropped).")
            bad |= nonpos
    n = cols["params"].to_numpy(dtype=float, na_value=np.nan)
    y = cols["loss"].to_numpy(dtype=float, na_value=np.nan)
    d = cols["tokens"].to_numpy(dtype=float, na_value=np.nan) if "tokens" in cols else None
    c = cols["flops"].to_numpy(dtype=float, na_value=np.nan) if "flops" in cols else 6.0 * n * d
    key = pd.DataFrame({"c": c, "n": n, "y": y})
    dup = key.duplicated(keep="first").to_numpy() & ~bad
    if dup.any():
        problems.append(f"{_rows_label(rownum[dup])}: duplicate of an earlier run (kept the first, dropped these).")
    bad |= dup
    keep = ~bad
    if not keep.any():
        problems.append("No usable rows are left.")
        return CleanResult(None, problems, rownum[bad].tolist(), True)
    tokens = d[keep] if d is not None else c[keep] / (6.0 * n[keep])
    runs = RunTable(c[keep], n[keep], y[keep], tokens, source, rownum[keep])
    return CleanResult(runs, problems, rownum[bad].tolist())


def budget_problems(fit: IsoFlopFit, row_numbers: Sequence[int] | None = None) -> list[str]:
    """Messages for excluded budgets (naming their rows) and for a fit with < 2 budgets."""
    msgs = []
    for b in fit.excluded:
        rows = np.asarray(b.rows) if row_numbers is None else np.asarray(row_numbers)[b.rows]
        if row_numbers is None:
            rows = rows + 1
        msgs.append(f"Budget C ~ {b.flops:.3g} FLOPs ({_rows_label(sorted(rows.tolist())).lower()}) left out of the "
                    f"fit: {b.reason}.")
    msgs.extend(fit.problems)
    return msgs


class AssetError(RuntimeError):
    """A shipped file of ``assets/scaling`` cannot be read; the message names the file, what is
    wrong and how to restore it (issue 17)."""


#: Columns each shipped file must have, and how to regenerate it besides ``git checkout``.
SHIPPED_FILES: dict[str, tuple[tuple[str, ...], str]] = {
    "writeup_table2.csv": (("hidden_size", "approx_flops", "val_loss"), ""),
    "sweep_piglatin.csv": (("params", "tokens", "flops", "val_loss"),
                           "python scripts/run_sweep.py --replay assets/scaling/sweep_piglatin.json"),
    "sweep_piglatin_curves.csv": (("run", "params", "tokens", "flops", "loss"),
                                  "python scripts/run_sweep.py --replay assets/scaling/sweep_piglatin.json"),
}


def read_shipped_csv(name: str):
    """``assets/scaling/<name>`` as a DataFrame; raises :class:`AssetError` when it cannot be
    parsed, is empty or lacks a required column (see :data:`SHIPPED_FILES`)."""
    import pandas as pd

    required, regen = SHIPPED_FILES[name]
    path = ASSETS / name
    try:
        frame = pd.read_csv(path)
        problem = "it has no rows" if frame.empty else None
        missing = [c for c in required if c not in frame.columns]
        if missing:
            problem = f"column(s) {', '.join(missing)} are missing"
    except Exception as exc:  # noqa: BLE001 - unreadable, binary, truncated mid-quote: all reported alike
        problem = f"it cannot be parsed ({type(exc).__name__})"
    if problem is None:
        return frame
    restore = f"git checkout -- assets/scaling/{name}" + (f", or regenerate it: {regen}" if regen else "")
    raise AssetError(f"assets/scaling/{name} is damaged: {problem}. Restore it with {restore}.")


def load_table2():
    """The write-up's Table 2 (section 2.3.1) as shipped: hidden size, approx. FLOPs, loss."""
    return read_shipped_csv("writeup_table2.csv")


def load_shipped_sweep():
    """The shipped Pig Latin sweep (scripts/run_sweep.py): one row per run."""
    return read_shipped_csv("sweep_piglatin.csv")


def load_chinchilla(path) -> RunTable:
    """Epoch AI's digitisation of Chinchilla Fig. 4 (columns `Model Size`, `Training FLOP`, `loss`)."""
    import pandas as pd

    df = pd.read_csv(path)
    res = clean_runs(df, {"flops": "Training FLOP", "params": "Model Size", "loss": "loss"}, source=str(path))
    if res.runs is None:
        raise ValueError("; ".join(res.problems))
    return res.runs


# ---------------------------------------------------------------------------
# Approach 3: the parametric loss L(N, D) = E + A/N^alpha + B/D^beta
# ---------------------------------------------------------------------------
PARAM_NAMES = ("E", "A", "B", "alpha", "beta")
HUBER_DELTA = 1e-3
# Hoffmann et al. 2022 App. D.2's grid of initialisations (as Besiroglu et al. 2024 reuse it):
# alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}.
DEFAULT_START_GRID = {
    "alpha": tuple(np.arange(0.0, 2.01, 0.5)),
    "beta": tuple(np.arange(0.0, 2.01, 0.5)),
    "e": tuple(np.arange(-1.0, 1.01, 0.5)),
    "a": tuple(np.arange(0.0, 25.1, 5.0)),
    "b": tuple(np.arange(0.0, 25.1, 5.0)),
}


def _lse_residuals(theta, log_n, log_d, log_y):
    """Residuals r_i = LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i and the softmax weights.

    ``theta`` (..., 5) = (a, b, e, alpha, beta) with A = e^a, B = e^b, E = e^e; broadcasts over
    leading axes (several parameter vectors at once). Returns r (..., n) and p (..., n, 3).
    """
    a, b, e, alpha, beta = (theta[..., k, None] for k in range(5))
    u = np.stack([a - alpha * log_n, b - beta * log_d, np.broadcast_to(e, np.broadcast_shapes(e.shape, log_n.shape))],
                 axis=-1)
    m = u.max(axis=-1, keepdims=True)
    ex = np.exp(u - m)
    s = ex.sum(axis=-1, keepdims=True)
    lse = (m + np.log(s))[..., 0]
    return lse - log_y, ex / s


def _huber(r, delta):
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def _objective_and_grad(theta, log_n, log_d, log_y, w, delta):
    """Weighted mean Huber loss of the log residuals and its gradient in (a, b, e, alpha, beta)."""
    r, p = _lse_residuals(theta, log_n, log_d, log_y)
    wsum = w.sum(axis=-1)
    f = (w * _huber(r, delta)).sum(axis=-1) / wsum
    g_r = w * np.clip(r, -delta, delta) / wsum[..., None]  # d Huber / d r, weighted
    grad = np.stack([
        (g_r * p[..., 0]).sum(-1),
        (g_r * p[..., 1]).sum(-1),
        (g_r * p[..., 2]).sum(-1),
        -(g_r * p[..., 0] * log_n).sum(-1),
        -(g_r * p[..., 1] * log_d).sum(-1),
    ], axis=-1)
    return f, grad


def _lbfgs(theta0, log_n, log_d, log_y, w, delta, maxiter=1000):
    from scipy.optimize import minimize

    res = minimize(_objective_and_grad, theta0, args=(log_n, log_d, log_y, w, delta), jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 20})
    return res.x, float(res.fun), bool(res.success) or res.status == 0, int(res.nit)


def _objective(theta, log_n, log_d, log_y, w, delta):
    """Weighted mean Huber loss of the log residuals (no gradient)."""
    r, _ = _lse_residuals(theta, log_n, log_d, log_y)
    return (w * _huber(r, delta)).sum(axis=-1) / w.sum(axis=-1)


def _batched_irls(theta, log_n, log_d, log_y, w, delta, iters=100, tol=1e-9):
    """Refine many independent fits at once (bootstrap resamples), vectorised over the first axis.

    Levenberg-Marquardt on iteratively reweighted least squares: at the current residuals
    the Huber loss is majorised by sum_i w_i min(1, delta/|r_i|) r_i^2 / 2 (equal at r_i),
    whose Gauss-Newton step solves a 5 x 5 system per fit; a step is kept only when the
    Huber objective decreases (damping lambda shrinks after a kept step, grows after a
    rejected one). Fits start from the full-data optimum (warm start); each iteration
    works only on the fits that have not converged.
    """
    theta = theta.copy()
    nb = theta.shape[0]
    f = _objective(theta, log_n, log_d, log_y, w, delta)
    lam = np.full(nb, 1e-3)
    eye = np.eye(5)
    active = np.ones(nb, dtype=bool)
    for _ in range(iters):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        th, wa = theta[idx], w[idx]
        r, p = _lse_residuals(th, log_n, log_d, log_y)
        jac = np.stack([p[..., 0], p[..., 1], p[..., 2], -p[..., 0] * log_n, -p[..., 1] * log_d], axis=-1)
        wt = wa * np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-300))
        wj = jac * wt[..., None]
        a = np.matmul(wj.transpose(0, 2, 1), jac)
        g = np.matmul(wj.transpose(0, 2, 1), r[..., None])[..., 0]
        diag = np.einsum("bkk->bk", a)
        m = a + lam[idx, None, None] * (diag[:, :, None] * eye + 1e-12 * eye)
        step = -np.linalg.solve(m, g[..., None])[..., 0]
        f_new = _objective(th + step, log_n, log_d, log_y, wa, delta)
        better = np.isfinite(f_new) & (f_new <= f[idx])
        theta[idx] = np.where(better[:, None], th + step, th)
        f[idx] = np.where(better, f_new, f[idx])
        lam[idx] = np.where(better, np.maximum(lam[idx] / 3.0, 1e-9), np.minimum(lam[idx] * 4.0, 1e9))
        small = np.abs(step).max(-1) < tol
        active[idx] = ~(better & small) & (lam[idx] < 1e9)
    return theta, f


@dataclass
class ParametricFit:
    """Result of :func:`fit_parametric` (Chinchilla Approach 3).

    L(N, D) = E + A / N^alpha + B / D^beta; under C = 6 N D (Hoffmann et al. 2022, eq. 4)
    N_opt(C) = G (C/6)^a, D_opt(C) = G^-1 (C/6)^b, a = beta/(alpha+beta), b = alpha/(alpha+beta),
    G = (alpha A / (beta B))^(1/(alpha+beta)).
    ``samples`` (n_boot, 5) holds the bootstrap refits in the order E, A, B, alpha, beta.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    objective: float  # mean Huber loss of the log residuals at the optimum
    n_runs: int
    n_starts: int
    delta: float
    converged: bool
    samples: np.ndarray | None = None
    level: float = 0.8
    seed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def law(self) -> ParametricLaw:
        return ParametricLaw("Approach 3 fit", self.E, self.A, self.B, self.alpha, self.beta,
                             "fitted: Huber loss of log residuals, L-BFGS (Hoffmann et al. 2022 App. D.2)")

    @property
    def exponent(self) -> float:
        """a = beta / (alpha + beta), the exponent of N_opt(C)."""
        return self.beta / (self.alpha + self.beta)

    @property
    def ok(self) -> bool:
        return all(math.isfinite(v) for v in (self.E, self.A, self.B, self.alpha, self.beta)) and \
            self.alpha > 0 and self.beta > 0

    def predict_loss(self, params, tokens):
        return self.law.loss(params, tokens)

    def n_opt(self, flops):
        """N_opt(C) under C = 6 N D (closed form; NaN when the fit is not usable)."""
        c = np.asarray(flops, dtype=float)
        if not self.ok:
            return np.full(c.shape, np.nan) if c.shape else math.nan
        out = self.law.compute_optimal(c)[0]
        return out if c.shape else float(out)

    def d_opt(self, flops):
        return np.asarray(flops, dtype=float) / (6.0 * self.n_opt(flops))

    predict_params = n_opt
    predict_tokens = d_opt

    @property
    def coefficient(self) -> float:
        """k of N_opt = k C^a."""
        return self.law.coefficient if self.ok else math.nan

    # bootstrap summaries -------------------------------------------------
    @property
    def n_valid(self) -> int:
        if self.samples is None:
            return 0
        return int(np.isfinite(self.samples).all(axis=1).sum())

    def _q(self, values, level):
        lv = self.level if level is None else level
        v = np.asarray(values, dtype=float)
        if v.ndim == 1:
            v = v[np.isfinite(v)]
            if v.size == 0:
                return Interval(math.nan, math.nan, lv)
            lo, hi = np.percentile(v, [50 * (1 - lv), 50 * (1 + lv)])
            return Interval(float(lo), float(hi), lv)
        return np.nanpercentile(v, [50 * (1 - lv), 50 * (1 + lv)], axis=0)

    def interval(self, name: str, level: float | None = None) -> Interval:
        """Percentile bootstrap interval of E, A, B, alpha, beta or "exponent" (a)."""
        if self.samples is None:
            return Interval(math.nan, math.nan, self.level if level is None else level)
        if name == "exponent":
            return self._q(self.exponent_samples, level)
        return self._q(self.samples[:, PARAM_NAMES.index(name)], level)

    def exponent_interval(self, level: float | None = None) -> Interval:
        return self.interval("exponent", level)

    @property
    def exponent_samples(self) -> np.ndarray:
        s = self.samples
        return s[:, 4] / (s[:, 3] + s[:, 4]) if s is not None else np.zeros(0)

    def log10_params_samples(self, flops) -> np.ndarray:
        """(n_boot, len(flops)) bootstrap samples of log10 N_opt(C)."""
        c = np.atleast_1d(np.asarray(flops, dtype=float))
        s = self.samples
        E, A, B, al, be = (s[:, k, None] for k in range(5))
        with np.errstate(all="ignore"):
            log_g = np.log10(al * A / (be * B)) / (al + be)
            return log_g + be / (al + be) * (np.log10(c)[None, :] - math.log10(6.0))

    def params_interval(self, flops, level: float | None = None):
        if self.samples is None:
            c = np.atleast_1d(np.asarray(flops, dtype=float))
            return np.full(c.shape, np.nan), np.full(c.shape, np.nan)
        lo, hi = self._q(self.log10_params_samples(flops), level)
        return 10.0**lo, 10.0**hi

    def tokens_interval(self, flops, level: float | None = None):
        c = np.atleast_1d(np.asarray(flops, dtype=float))
        lo, hi = self.params_interval(c, level)
        return c / (6.0 * hi), c / (6.0 * lo)


def _start_grid(grid: Mapping[str, Sequence[float]] | None) -> np.ndarray:
    g = dict(DEFAULT_START_GRID if grid is None else grid)
    mesh = np.meshgrid(g["a"], g["b"], g["e"], g["alpha"], g["beta"], indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=-1).astype(float)


def _fit_parametric(
    params,
    tokens,
    loss,
    *,
    delta: float = HUBER_DELTA,
    start_grid: Mapping[str, Sequence[float]] | None = None,
    n_refine: int = 4,
    n_boot: int = 0,
    level: float = 0.8,
    seed: int = 0,
    boot_iters: int = 100,
) -> ParametricFit:
    """Chinchilla Approach 3: fit L(N, D) = E + A/N^alpha + B/D^beta to runs (N_i, D_i, L_i).

    Minimises (Hoffmann et al. 2022, App. D.2; Besiroglu et al. 2024, sec. 2)::

        sum_i Huber_delta( LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i ),

    with A = e^a, B = e^b, E = e^e (the log-sum-exp form keeps every term positive and the
    problem well scaled) and delta = 1e-3. Every point of a grid of initialisations (the
    paper's: alpha, beta in {0, .5, ..., 2}, e in {-1, ..., 1}, a, b in {0, 5, ..., 25}; 4,500
    starts) is scored at once; L-BFGS-B runs from the ``n_refine`` best and the lowest
    objective is kept. Bootstrap (``n_boot`` > 0): runs are resampled with replacement (as
    integer weights) and every resample is refitted from the full-data optimum by a
    vectorised Levenberg-Marquardt / IRLS solver (:func:`_batched_irls`), all resamples at once;
    percentile intervals via :meth:`ParametricFit.interval`.

    The fit is sensitive to the loss (Huber vs squared error, delta), the optimiser's
    stopping rule and the initialisations (Besiroglu et al. 2024 found Hoffmann et al.'s
    reported fit was not the optimum of their own objective); intervals show data noise
    only, not this sensitivity.
    """
    n = np.asarray(params, dtype=float).ravel()
    d = np.asarray(tokens, dtype=float).ravel()
    y = np.asarray(loss, dtype=float).ravel()
    if not (n.size == d.size == y.size):
        raise ValueError("params, tokens and loss must have the same length")
    good = np.isfinite(n) & np.isfinite(d) & np.isfinite(y) & (n > 0) & (d > 0) & (y > 0)
    problems: list[str] = []
    if not good.all():
        problems.append(f"{int((~good).sum())} run(s) with missing or non-positive values left out.")
    n, d, y = n[good], d[good], y[good]
    nan_fit = ParametricFit(*(math.nan,) * 6, int(n.size), 0, delta, False, None, level, seed, problems)
    if n.size < 5 or np.unique(n).size < 2 or np.unique(d).size < 2:
        problems.append(f"Approach 3 fits 5 parameters: it needs at least 5 runs with several model sizes and token "
                        f"counts (have {n.size} runs, {np.unique(n).size} sizes).")
        return nan_fit
    log_n, log_d, log_y = np.log(n), np.log(d), np.log(y)
    with np.errstate(all="ignore"):
        r_nd = float(np.corrcoef(log_n, log_d)[0, 1])
    if not abs(r_nd) < 0.999:
        problems.append("N and D move together in these runs (log-log correlation "
                        f"{r_nd:.4f}): L(N, D) cannot tell the N term from the D term, so alpha and beta are not "
                        "identified. Runs need several sizes at each budget.")
        return nan_fit
    w = np.ones_like(log_y)
    starts = _start_grid(start_grid)
    f0 = np.empty(starts.shape[0])
    chunk = max(1, 2_000_000 // max(1, n.size))
    for i in range(0, starts.shape[0], chunk):  # score the grid in chunks (memory: chunk x n x 3)
        r, _ = _lse_residuals(starts[i:i + chunk], log_n, log_d, log_y)
        f0[i:i + chunk] = _huber(r, delta).mean(axis=-1)
    order = np.argsort(f0)[: max(1, n_refine)]
    best = None
    for i in order:
        x, f, conv, _ = _lbfgs(starts[i], log_n, log_d, log_y, w, delta)
        if best is None or f < best[1]:
            best = (x, f, conv)
    theta, fval, conv = best
    a, b, e, alpha, beta = (float(v) for v in theta)
    fit = ParametricFit(math.exp(e), math.exp(a), math.exp(b), alpha, beta, fval, int(n.size), int(starts.shape[0]),
                        delta, conv, None, level, seed, problems)
    if not (alpha > 0 and beta > 0):
        problems.append(f"the fit has a non-positive exponent (alpha = {alpha:.3g}, beta = {beta:.3g}): the data do not "
                        "pin down a law that falls with both N and D.")
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n.size, size=(n_boot, n.size))
        wb = np.zeros((n_boot, n.size))
        np.add.at(wb, (np.repeat(np.arange(n_boot), n.size), idx.ravel()), 1.0)
        th, _ = _batched_irls(np.repeat(theta[None, :], n_boot, axis=0), log_n, log_d, log_y, wb, delta,
                              iters=boot_iters)
        fit.samples = np.stack([np.exp(th[:, 2]), np.exp(th[:, 0]), np.exp(th[:, 1]), th[:, 3], th[:, 4]], axis=1)
    return fit


@functools.wraps(_fit_parametric)
def fit_parametric(*args, **kwargs) -> ParametricFit:
    # BLAS limited to one thread: the fit's linear algebra is tiny (5 x 5), and a multi-threaded
    # BLAS spinning on a loaded machine made each L-BFGS step ~50x slower (measured).
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _fit_parametric(*args, **kwargs)


# ---------------------------------------------------------------------------
# Approach 1: the lower envelope of training curves
# ---------------------------------------------------------------------------
@dataclass
class EnvelopeFit:
    """Result of :func:`fit_envelope` (Chinchilla Approach 1, Hoffmann et al. 2022 sec. 3.1).

    On a log grid of FLOP counts C (``flops``), ``loss`` is the lowest loss any run reached
    at C and ``params`` the size N of that run: the (C, N_opt) pairs; the line
    log10 N_opt = a log10 C + log10 k through them gives ``exponent`` and ``coefficient``.
    ``exponents``/``intercepts`` hold bootstrap refits (runs resampled with replacement).
    """

    flops: np.ndarray
    loss: np.ndarray
    params: np.ndarray
    run: np.ndarray  # id of the run on the envelope at each C
    exponent: float
    coefficient: float
    n_runs: int
    method: str  # "curves" or "final losses (best run per budget)"
    exponents: np.ndarray | None = None
    intercepts: np.ndarray | None = None
    level: float = 0.8
    seed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return math.isfinite(self.exponent)

    @property
    def intercept(self) -> float:
        return math.log10(self.coefficient) if self.coefficient > 0 else math.nan

    @property
    def sizes_on_envelope(self) -> int:
        """How many distinct model sizes the envelope passes through (2+ needed for a slope)."""
        return int(np.unique(self.params[np.isfinite(self.params)]).size)

    def predict_params(self, flops):
        c = np.asarray(flops, dtype=float)
        if not self.ok:
            return np.full(c.shape, np.nan) if c.shape else math.nan
        out = 10.0 ** (self.exponent * np.log10(c) + self.intercept)
        return out if c.shape else float(out)

    n_opt = predict_params

    def predict_tokens(self, flops):
        return np.asarray(flops, dtype=float) / (6.0 * self.predict_params(flops))

    d_opt = predict_tokens

    def _boot(self):
        return BootstrapResult(self.exponents if self.exponents is not None else np.zeros(0),
                               self.intercepts if self.intercepts is not None else np.zeros(0), self.level, self.seed)

    def exponent_interval(self, level: float | None = None) -> Interval:
        return self._boot().exponent_interval(level)

    def params_interval(self, flops, level: float | None = None):
        return self._boot().params_interval(flops, level)

    def tokens_interval(self, flops, level: float | None = None):
        return self._boot().tokens_interval(flops, level)

    @property
    def n_valid(self) -> int:
        return self._boot().n_valid if self.exponents is not None else 0


def _interp_curves(curves: CurveTable, grid_log_c: np.ndarray):
    """(runs, grid) matrix of each run's loss interpolated linearly in log10 C (NaN outside
    the run's own FLOP range: no extrapolation), with the run ids and sizes."""
    ids = np.unique(curves.run)
    mat = np.full((ids.size, grid_log_c.size), np.nan)
    sizes = np.empty(ids.size)
    order = np.lexsort((curves.flops, curves.run))
    run_s, c_s, y_s, n_s = curves.run[order], np.log10(curves.flops[order]), curves.loss[order], curves.params[order]
    bounds = np.searchsorted(run_s, ids), np.searchsorted(run_s, ids, side="right")
    for k, (a, b) in enumerate(zip(*bounds)):
        x, y = c_s[a:b], y_s[a:b]
        sizes[k] = n_s[a]
        inside = (grid_log_c >= x[0]) & (grid_log_c <= x[-1])
        if b - a >= 2 and inside.any():
            mat[k, inside] = np.interp(grid_log_c[inside], x, y)
    return ids, sizes, mat


def _envelope_line(mat, sizes, grid, mask, min_cover):
    """Envelope and line for run subsets: mask (B, R) of runs in each resample -> a, log10 k per row."""
    m = np.where(mask[:, :, None], mat[None, :, :], np.nan)  # (B, R, G)
    cover = np.isfinite(m).sum(1)  # (B, G)
    filled = np.where(np.isfinite(m), m, np.inf)
    arg = filled.argmin(1)  # (B, G)
    log_n = np.log10(sizes)[arg]
    w = (cover >= min_cover).astype(float)
    a, b0 = _line_fit(np.broadcast_to(grid, w.shape), log_n, w)
    distinct = np.array([np.unique(log_n[i][w[i] > 0]).size for i in range(w.shape[0])])
    a = np.where((w.sum(1) >= 2) & (distinct >= 2), a, np.nan)
    return a, np.where(np.isfinite(a), b0, np.nan), arg, cover


def fit_envelope(
    curves: CurveTable,
    *,
    grid_points: int = 200,
    min_cover: int = 3,
    n_boot: int = 0,
    level: float = 0.8,
    seed: int = 0,
) -> EnvelopeFit:
    """Chinchilla Approach 1 on training curves (Hoffmann et al. 2022, sec. 3.1 and Fig. 2).

    Each run's loss curve is read as a function of the compute spent so far,
    C = 6 N D_seen, and interpolated linearly in log10 C on ``grid_points`` log-spaced FLOP
    values (never beyond the run's own range). At each C the envelope takes the lowest loss
    over the runs that reached C (at least ``min_cover`` of them, else the point is left out:
    at the grid's ends only one or two runs reach a FLOP count, by accident of rounding) and records that run's N. The line
    log10 N_opt = a log10 C + log10 k is fitted by least squares through these (C, N_opt)
    pairs. The bootstrap resamples runs with replacement and recomputes envelope and line
    (vectorised over resamples).

    Caveats shown on the page: N is discrete (the envelope steps between the sizes trained),
    and a point early in a long run's cosine schedule is not what a run of that length
    would reach (Hoffmann et al. trained separate schedule lengths for this reason).
    """
    problems: list[str] = []
    if curves.flops.size == 0:
        return EnvelopeFit(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, int), math.nan, math.nan, 0, "curves",
                           problems=["No training curves: Approach 1 needs the loss of each run during training."])
    lc = np.log10(curves.flops)
    grid = np.linspace(lc.min(), lc.max(), grid_points)
    ids, sizes, mat = _interp_curves(curves, grid)
    one_point = int((np.isfinite(mat).sum(1) == 0).sum())
    if one_point:
        problems.append(f"{one_point} run(s) have fewer than 2 points on their curve and cannot enter the envelope.")
    a, b0, arg, cover = _envelope_line(mat, sizes, grid, np.ones((1, ids.size), dtype=bool), min_cover)
    keep = cover[0] >= min_cover
    env_loss = np.where(keep, np.nanmin(np.where(np.isfinite(mat), mat, np.inf), axis=0), np.nan)
    env_n = np.where(keep, sizes[arg[0]], np.nan)
    env_run = np.where(keep, ids[arg[0]], -1)
    fit = EnvelopeFit(10.0**grid, env_loss, env_n, env_run, float(a[0]),
                      10.0 ** float(b0[0]) if math.isfinite(b0[0]) else math.nan, int(ids.size), "curves",
                      level=level, seed=seed, problems=problems)
    if not fit.ok:
        problems.append("The envelope passes through fewer than 2 model sizes (or covers fewer than 2 FLOP values "
                        f"with {min_cover}+ runs): no slope can be fitted.")
    if n_boot > 0 and fit.ok:
        rng = np.random.default_rng(seed)
        pick = rng.integers(0, ids.size, size=(n_boot, ids.size))
        mask = np.zeros((n_boot, ids.size), dtype=bool)
        np.put_along_axis(mask, pick, True, axis=1)
        fit.exponents, fit.intercepts, _, _ = _envelope_line(mat, sizes, grid, mask, min_cover)
    return fit


def fit_best_per_budget(
    flops, params, loss, *, tolerance: float = DEFAULT_TOLERANCE, n_boot: int = 0, level: float = 0.8, seed: int = 0,
) -> EnvelopeFit:
    """Approach 1 when only final losses exist (no curves): the best run of each budget.

    The envelope of final points reduces to the lowest-loss run per FLOP budget (budgets
    found by :func:`cluster_budgets`); the line through (C, N of that run). Coarser than
    Approach 2 (N can only be a size that was trained; no interpolation between sizes). The
    bootstrap resamples runs within budgets.
    """
    c = np.asarray(flops, dtype=float)
    n = np.asarray(params, dtype=float)
    y = np.asarray(loss, dtype=float)
    labels = cluster_budgets(c, tolerance) if c.size else np.zeros(0, int)
    k = int(labels.max()) + 1 if labels.size else 0
    by = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[by], np.arange(k + 1))
    groups = [by[starts[j]:starts[j + 1]] for j in range(k)]
    problems = []
    single = sum(g.size < 2 for g in groups)
    if single:
        problems.append(f"{single} budget(s) with a single run left out (nothing to compare it with).")
    groups = [g for g in groups if g.size >= 2]
    k = len(groups)
    best = np.array([g[np.argmin(y[g])] for g in groups], dtype=int)
    cb = np.array([10.0 ** np.mean(np.log10(c[g])) for g in groups])
    lcb = np.log10(cb) if k else np.zeros(0)
    if k >= 2:
        a, b0 = _line_fit(lcb, np.log10(n[best]), np.ones(k))
        a, b0 = float(a), float(b0)
    else:
        a, b0 = math.nan, math.nan
        problems.append(f"only {k} budget(s): a line needs at least 2.")
    fit = EnvelopeFit(cb if k else np.zeros(0), y[best] if k else np.zeros(0), n[best] if k else np.zeros(0), best, a,
                      10.0**b0 if math.isfinite(b0) else math.nan, int(c.size), "final losses (best run per budget)",
                      level=level, seed=seed, problems=problems)
    if n_boot > 0 and fit.ok:
        rng = np.random.default_rng(seed)
        logn = np.full((n_boot, k), np.nan)
        for j, g in enumerate(groups):
            idx = g[rng.integers(0, g.size, size=(n_boot, g.size))]
            logn[:, j] = np.log10(n[np.take_along_axis(idx, np.argmin(y[idx], axis=1)[:, None], 1)[:, 0]])
        aa, bb = _line_fit(np.broadcast_to(lcb, logn.shape), logn, np.ones_like(logn))
        fit.exponents, fit.intercepts = aa, bb
    return fit


# ---------------------------------------------------------------------------
# Comparing the approaches; helpers for the audit
# ---------------------------------------------------------------------------
def law_curves(law: ParametricLaw, runs: RunTable, points: int = 8, noise: float = 0.0, seed: int = 0) -> CurveTable:
    """Training curves implied by a law for ``runs``: L(N, D_t) at D_t = D t/points,
    t = 1..points, plus Gaussian noise (no learning-rate schedule effects)."""
    rng = np.random.default_rng(seed)
    frac = np.arange(1, points + 1) / points
    n = np.repeat(runs.params, points)
    d = (runs.tokens[:, None] * frac[None, :]).ravel()
    y = law.loss(n, d) + noise * rng.standard_normal(n.size)
    return CurveTable(np.repeat(np.arange(runs.params.size), points), n, d, 6.0 * n * d, y, f"curves from {law.name}")


def isoflop_optimum(law: ParametricLaw, flops: float) -> float:
    """N_opt(C) of a law found numerically, independent of the closed form and of any fit:
    bounded scalar minimisation of L(N, C/(6N)) over log10 N (scipy.optimize.minimize_scalar),
    for checks that must not reuse the engine's own vertex formula (audit 2.3.2)."""
    from scipy.optimize import minimize_scalar

    c = float(flops)
    centre = 0.5 * math.log10(c / 120.0)
    res = minimize_scalar(lambda t: float(law.loss(10.0**t, c / (6 * 10.0**t))), bounds=(centre - 6, centre + 6),
                          method="bounded", options={"xatol": 1e-10})
    return float(10.0**res.x)


@dataclass
class ApproachSummary:
    """One row of the three-approach comparison at a chosen budget C."""

    name: str
    exponent: float
    exponent_low: float
    exponent_high: float
    params: float  # N_opt(C)
    params_low: float
    params_high: float
    tokens: float  # D_opt(C) = C / (6 N_opt)
    tokens_low: float
    tokens_high: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return math.isfinite(self.exponent)


def at_level(fit, level: float):
    """The same fit, reporting its bootstrap intervals at confidence ``level`` by default.

    A percentile bootstrap draws its resamples without reference to the level; only the
    percentiles read off them, 50 (1 - level) and 50 (1 + level), depend on it. So one fit
    serves every level: a page changes the level without refitting (Approach 3's 200 refits
    take 0.3-0.8 s). Works for :class:`IsoFlopFit` (its ``bootstrap``), :class:`ParametricFit`
    and :class:`EnvelopeFit`; the arrays are shared, not copied.
    """
    if isinstance(fit, IsoFlopFit):
        return fit if fit.bootstrap is None else replace(fit, bootstrap=replace(fit.bootstrap, level=level))
    return replace(fit, level=level)


def summarise_approach(name: str, fit, flops: float, level: float | None = None, note: str = "") -> ApproachSummary:
    """Exponent a with its bootstrap interval, N_opt and D_opt at ``flops`` with theirs, for
    any of IsoFlopFit (Approach 2), EnvelopeFit (Approach 1) or ParametricFit (Approach 3)."""
    nan = math.nan
    if fit is None or not fit.ok:
        why = "; ".join(getattr(fit, "problems", []) or []) if fit is not None else ""
        return ApproachSummary(name, *(nan,) * 9, note=note or why or "no fit")
    c = float(flops)
    if isinstance(fit, IsoFlopFit):
        boot = fit.bootstrap
        iv = boot.exponent_interval(level) if boot is not None else Interval(nan, nan, level or 0.8)
        lo, hi = boot.params_interval([c], level) if boot is not None else (np.array([nan]), np.array([nan]))
    else:
        iv = fit.exponent_interval(level)
        lo, hi = fit.params_interval([c], level)
    n = float(fit.predict_params(c))
    return ApproachSummary(name, float(fit.exponent), iv.low, iv.high, n, float(lo[0]), float(hi[0]), c / (6 * n),
                           c / (6 * float(hi[0])), c / (6 * float(lo[0])), note)
