"""Gradient dynamics: the single-neuron chain (write-up 1.1) and RNN Jacobian spectra (1.2).

Everything that can under- or overflow is carried as a natural logarithm.

Single neuron (write-up 1.1.1-1.1.2)::

    h_0 = x,   h_i = phi(w_i h_{i-1}),   f(x) = h_n
    df/dx = prod_i  w_i phi'(w_i h_{i-1})            (chain rule, index i = 1..n)
    |df/dx| <= prod_i gamma |w_i|,   gamma = sup |phi'|  (1 ReLU/tanh, 1/4 sigmoid)

RNN Jacobian (write-up 1.2.1)::

    x_{t+1} = phi(W x_t),   J_t = d x_{t+1} / d x_t = D_t W,   D_t = diag(phi'(W x_t))
    d x_{T+1} / d x_1 = J_T ... J_1
    sigma_max(J_T ... J_1) <= prod_t sigma_max(D_t) sigma_max(W) <= (gamma sigma_max(W))^T

The product's singular values are computed with QR re-orthonormalisation (Benettin et
al. 1980; Eckmann & Ruelle 1985, Rev. Mod. Phys. 57, sec. IV.B): J_block Q_{b-1} = Q_b R_b,
so  J_T...J_1 = Q_B (R_B ... R_1).  The accumulated triangular factor T = R_B ... R_1 is kept
*graded*: T = diag(exp(c)) M with the row scales c in log space and the rows of M
normalised, so no entry ever under/overflows. Its singular values are read by a windowed
SVD of the graded factor (exact to float64 resolution for all singular values within
e^-25 of the largest) and, below that window, by a recursive trailing-block estimate that
tends to the Lyapunov limit (log of the R diagonals) for strongly graded products.
The diagonal of T alone gives only the long-run (Lyapunov) limit, not the finite product's
singular values; both are returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
# gamma = sup |phi'(h)|
GAMMA = {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0, "linear": 1.0}

# Re-orthonormalise when a block's loss of digits, max_j ln(||A_j|| / |R_jj|), would exceed
# this (relative error of R_jj ~ eps e^loss: 1e-3 at 29 nats, but only in directions
# far below the top); a block that
# lost more than REDO_LOG_LOSS is recomputed shorter.
BLOCK_LOG_SPREAD = 29.0
REDO_LOG_LOSS = 33.0
MAX_BLOCK = 64
# Warm-started power iterations per step for the sigma_max path (a close lower bound;
# 3 per step for the first 50 steps, where the top singular values are not yet separated).
POWER_ITERATIONS = 1
# Singular values within e^-TRUST_WINDOW of a window's top are read from its SVD.
TRUST_WINDOW = 25.0
# Columns scaled below e^-SVD_WINDOW of a window's top are dropped from its SVD.
SVD_WINDOW = 40.0


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


# ---------------------------------------------------------------------------
# Activations and their log-derivatives (stable for any pre-activation)
# ---------------------------------------------------------------------------
def activate(h: np.ndarray, activation: str) -> np.ndarray:
    """phi(h) for phi in {sigmoid, tanh, relu, linear}."""
    h = np.asarray(h, dtype=float)
    if activation == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * h))  # = 1 / (1 + e^-h), no overflow
    if activation == "tanh":
        return np.tanh(h)
    if activation == "relu":
        return np.maximum(h, 0.0)
    if activation == "linear":
        return h.copy()
    raise ValueError(f"unknown activation {activation!r}")


def log_derivative(h: np.ndarray, activation: str) -> np.ndarray:
    """ln phi'(h), finite wherever phi'(h) > 0 (-inf where phi' = 0, i.e. ReLU off).

    sigmoid: phi' = s(1 - s)      -> ln phi' = -|h| - 2 ln(1 + e^-|h|)
    tanh:    phi' = 1 - tanh^2 h   -> ln phi' = ln 4 - 2|h| - 2 ln(1 + e^-2|h|)
    relu:    phi' = 1[h > 0]       (the subgradient 0 at h = 0, as in torch)
    """
    h = np.asarray(h, dtype=float)
    a = np.abs(h)
    if activation == "sigmoid":
        return -a - 2.0 * np.log1p(np.exp(-a))
    if activation == "tanh":
        return math.log(4.0) - 2.0 * a - 2.0 * np.log1p(np.exp(-2.0 * a))
    if activation == "relu":
        return np.where(h > 0, 0.0, -np.inf)
    if activation == "linear":
        return np.zeros_like(h)
    raise ValueError(f"unknown activation {activation!r}")


def derivative(h: np.ndarray, activation: str) -> np.ndarray:
    """phi'(h) (may underflow to 0 for saturated sigmoid/tanh; use log_derivative)."""
    return np.exp(log_derivative(h, activation))


# ---------------------------------------------------------------------------
# 1.1 Single-neuron chain
# ---------------------------------------------------------------------------
@dataclass
class ChainResult:
    """A scalar chain h_i = phi(w_i h_{i-1}), h_0 = x (write-up 1.1).

    Index convention: ``hidden[i]`` = h_i for i = 0..n (``hidden[0]`` = x);
    ``local_derivatives[i-1]`` = dh_i/dh_{i-1} = w_i phi'(w_i h_{i-1});
    ``log_abs_gradient_path[k]`` = ln |d h_k / d x| for k = 0..n (0 at k = 0);
    ``log_bound_path[k]`` = sum_{i<=k} ln(gamma |w_i|).
    """

    activation: str
    x: float
    weights: np.ndarray
    hidden: np.ndarray
    local_derivatives: np.ndarray
    value: float
    gradient: float
    bound: float
    log_abs_gradient: float
    log_bound: float
    log_abs_gradient_path: np.ndarray
    log_bound_path: np.ndarray
    gamma: float

    @property
    def depth(self) -> int:
        return len(self.weights)

    @property
    def bound_holds(self) -> bool:
        """|df/dx| <= prod gamma |w_i| (compared in log space; exact zero always holds)."""
        return bool(self.log_abs_gradient <= self.log_bound + 1e-9)

    @property
    def first_dead_layer(self) -> int | None:
        """The first layer i (1-based) whose local derivative is 0, or None."""
        zero = np.flatnonzero(self.local_derivatives == 0)
        return int(zero[0]) + 1 if zero.size else None


def scalar_chain(x: float, weights: Sequence[float], activation: str = "relu") -> ChainResult:
    """Forward and exact backward pass of the single-neuron chain (write-up 1.1.1-1.1.2).

    f(x) = h_n, h_i = phi(w_i h_{i-1}), h_0 = x;
    df/dx = prod_{i=1}^n w_i phi'(w_i h_{i-1}),  bound prod_i gamma |w_i|
    (gamma = 1 ReLU/tanh/linear, 1/4 sigmoid). Logs are accumulated so depth-200 chains
    never under/overflow; ``gradient`` is the float value (it may underflow to 0.0 where
    ``log_abs_gradient`` stays finite).
    """
    _check_activation(activation)
    w = np.asarray(weights, dtype=float).ravel()
    if not np.all(np.isfinite(w)) or not math.isfinite(float(x)):
        raise ValueError("x and all weights must be finite numbers")
    n = len(w)
    gamma = GAMMA[activation]
    hidden = np.empty(n + 1)
    hidden[0] = float(x)
    local = np.empty(n)
    log_local = np.empty(n)
    for i in range(n):
        pre = w[i] * hidden[i]
        hidden[i + 1] = float(activate(pre, activation))
        ld = float(log_derivative(pre, activation))
        log_local[i] = (math.log(abs(w[i])) if w[i] != 0 else -math.inf) + ld
        local[i] = w[i] * math.exp(ld)
    # ln |df/dx| = sum_i ln |w_i phi'(w_i h_{i-1})|
    log_path = np.concatenate([[0.0], np.cumsum(log_local)]) if n else np.zeros(1)
    with np.errstate(divide="ignore"):
        log_w = np.log(np.abs(w))
    log_bound_path = np.concatenate([[0.0], np.cumsum(log_w + math.log(gamma))]) if n else np.zeros(1)
    sign = float(np.prod(np.sign(local))) if n else 1.0
    log_g = float(log_path[-1])
    log_b = float(log_bound_path[-1])
    return ChainResult(
        activation=activation,
        x=float(x),
        weights=w,
        hidden=hidden,
        local_derivatives=local,
        value=float(hidden[-1]),
        gradient=sign * math.exp(log_g) if log_g > -745 else 0.0 * sign,
        bound=math.exp(min(log_b, 709.0)) if log_b < 709 else math.inf,
        log_abs_gradient=log_g,
        log_bound=log_b,
        log_abs_gradient_path=log_path,
        log_bound_path=log_bound_path,
        gamma=gamma,
    )


def relu_chain(x: float, weights: Sequence[float]) -> ChainResult:
    """ReLU chain of write-up 1.1.2: ``.value`` f(x), ``.gradient`` df/dx, ``.bound`` prod |w_i|."""
    return scalar_chain(x, weights, "relu")


def sigmoid_chain(x: float, weights: Sequence[float]) -> ChainResult:
    """Sigmoid chain; bound prod |w_i| / 4 (sup sigma' = 1/4)."""
    return scalar_chain(x, weights, "sigmoid")


def tanh_chain(x: float, weights: Sequence[float]) -> ChainResult:
    """tanh chain; bound prod |w_i| (sup tanh' = 1)."""
    return scalar_chain(x, weights, "tanh")


# ---------------------------------------------------------------------------
# 1.2 Bound
# ---------------------------------------------------------------------------
def sigma_max(W: np.ndarray) -> float:
    """Largest singular value (spectral norm) of W."""
    W = np.asarray(W, dtype=float)
    if W.size == 0:
        return 0.0
    return float(np.linalg.norm(W, 2))


def log_sigma_max_bound(W: np.ndarray, steps: int, activation: str) -> float:
    """ln((gamma * sigma_max(W))**steps), gamma = sup|phi'| (write-up 1.2.1, via the hint
    sigma_max(AB) <= sigma_max(A) sigma_max(B)). For sigma_max(W) = 1/4 and sigmoid this is
    ln (1/16)^(n-1) with steps = n - 1. Returns -inf when W = 0 and steps > 0 (bound 0)."""
    _check_activation(activation)
    steps = int(steps)
    if steps < 0:
        raise ValueError("steps must be >= 0")
    if steps == 0:
        return 0.0
    s = sigma_max(W)
    if s == 0.0:
        return -math.inf
    return steps * (math.log(GAMMA[activation]) + math.log(s))


# ---------------------------------------------------------------------------
# 1.2 Jacobian spectrum of a long product
# ---------------------------------------------------------------------------
@dataclass
class JacobianSpectrum:
    """Singular values of d x_{steps+1} / d x_1 for x_{t+1} = phi(W_t x_t).

    ``log_singular_values``: natural logs, descending (-inf only for exactly zero ones).
    ``resolved``: True where read from an SVD within e^-25 of the top (float64-exact);
    False where the trailing-block / Lyapunov-limit estimate was used.
    ``lyapunov_exponents``: (1/steps) sum_b ln |R_b,ii| sorted descending (finite-time
    Lyapunov exponents; the diagonal of the accumulated R).
    ``log_sigma_max_path[t]`` (t = 0..steps): ln sigma_max(d x_{t+1} / d x_1), from a
    warm-started power iteration (a lower bound, very close) when tracked; NaN at the steps
    skipped with ``track_every`` > 1.
    ``log_bound_path[t]``: sum_{s<=t} ln(gamma sigma_max(W_s)).
    ``final_state``: x_{steps+1}; ``n_qr``: re-orthonormalisations used.
    """

    activation: str
    steps: int
    n: int
    log_singular_values: np.ndarray
    resolved: np.ndarray
    lyapunov_exponents: np.ndarray
    log_sigma_max_path: np.ndarray | None
    log_bound_path: np.ndarray
    final_state: np.ndarray
    n_qr: int
    active_fraction: float = field(default=float("nan"))

    @property
    def log_sigma_max(self) -> float:
        return float(self.log_singular_values[0]) if self.n else -math.inf

    @property
    def log_bound(self) -> float:
        return float(self.log_bound_path[-1])

    @property
    def log10_singular_values(self) -> np.ndarray:
        return self.log_singular_values / math.log(10.0)


class _Graded:
    """Upper-triangular T = diag(exp(c)) M, rows of M max-abs normalised (log-scaled)."""

    def __init__(self, n: int):
        self.M = np.eye(n)
        self.c = np.zeros(n)
        self._scale = None  # (exp(c - max c), max c) for apply/apply_t; reset when T changes

    def _scaled(self) -> tuple[np.ndarray, float] | None:
        """``(exp(c - cmax), cmax)``, or None when every row is exactly zero (computed once per T:
        the sigma_max path applies the same T a few hundred times between folds)."""
        if self._scale is None:
            cmax = self.c.max()
            self._scale = (np.exp(self.c - cmax), float(cmax)) if np.isfinite(cmax) else ()
        return self._scale or None

    def left_multiply(self, R: np.ndarray, log_scale: float) -> None:
        """T <- exp(log_scale) R T  (row i of R T = sum_j R_ij e^{c_j} M_j)."""
        self._scale = None
        fin = np.isfinite(self.c)
        C = self.c.max() if fin.any() else 0.0
        if fin.all() and C - self.c.min() < 600.0:
            # moderate spread: one global shift, no elementwise logs
            newM = (R * np.exp(self.c - C)[None, :]) @ self.M
            r = np.abs(newM).max(axis=1)
            if np.all(r > 1e-290):
                self.M = newM / r[:, None]
                self.c = C + np.log(r) + log_scale
                return
        with np.errstate(divide="ignore"):
            L = np.log(np.abs(R)) + self.c[None, :]
        m = L.max(axis=1)
        finite = np.isfinite(m)
        m_safe = np.where(finite, m, 0.0)
        Wt = np.sign(R) * np.exp(L - m_safe[:, None])
        newM = Wt @ self.M
        r = np.abs(newM).max(axis=1)
        ok = finite & (r > 0)
        newM[ok] /= r[ok, None]
        newM[~ok] = 0.0
        with np.errstate(divide="ignore"):
            self.c = np.where(ok, m_safe + np.log(np.where(ok, r, 1.0)) + log_scale, -np.inf)
        self.M = newM

    def apply(self, v: np.ndarray) -> tuple[np.ndarray, float]:
        """T v as (vector, log scale): T v = exp(scale) * vector."""
        sc = self._scaled()
        if sc is None:
            return np.zeros_like(v), 0.0
        return sc[0] * (self.M @ v), sc[1]

    def apply_t(self, y: np.ndarray) -> tuple[np.ndarray, float]:
        """T^T y as (vector, log scale)."""
        sc = self._scaled()
        if sc is None:
            return np.zeros_like(y), 0.0
        return self.M.T @ (sc[0] * y), sc[1]

    def log_singular_values(self) -> tuple[np.ndarray, np.ndarray]:
        """ln sigma_i(T), descending, and the 'resolved' mask.

        sigma(T) = sigma(T^T) = sigma(M_s^T diag(e^{c_s})) with rows sorted by c (descending);
        M_s^T = Q R0 (QR, scale-free), so sigma(T) = sigma(R0 diag(e^{c_s})), an upper
        triangular, column-graded matrix. Windows of columns with c >= c_top - 40 are
        SVD'd; values within e^-25 of the window top are accepted, the recursion continues
        on the trailing block (for a strongly graded factor this is exactly the R-diagonal,
        i.e. Lyapunov-limit, estimate).
        """
        n = len(self.c)
        order = np.argsort(-self.c, kind="stable")
        cs = self.c[order]
        finite = np.isfinite(cs)
        nf = int(finite.sum())
        out = np.full(n, -np.inf)
        resolved = np.zeros(n, dtype=bool)
        if nf == 0:
            return out, np.ones(n, dtype=bool)
        Mf = self.M[order[:nf]]
        R0 = np.linalg.qr(Mf.T, mode="r")  # (min(N, nf), nf)
        R0 = R0[:nf, :nf]
        cs = cs[:nf]
        vals: list[float] = []
        flags: list[bool] = []
        s = 0
        top_global = None
        while s < nf:
            e = s + int(np.searchsorted(-cs[s:], -(cs[s] - SVD_WINDOW), side="right"))
            e = max(e, s + 1)
            block = R0[s:e, s:e] * np.exp(cs[s:e] - cs[s])[None, :]
            sv = np.linalg.svd(block, compute_uv=False)
            with np.errstate(divide="ignore"):
                lsv = np.log(sv) + cs[s]
            if not np.isfinite(lsv[0]):
                break  # the rest is exactly zero
            if top_global is None:
                top_global = lsv[0]
            keep = int(np.sum(lsv >= lsv[0] - TRUST_WINDOW))
            if e == nf and keep == e - s:
                keep = e - s
            keep = max(keep, 1)
            vals.extend(lsv[:keep].tolist())
            first_pass = s == 0
            flags.extend([first_pass] * keep)
            s += keep
        k = len(vals)
        v = np.array(vals)
        idx = np.argsort(-v, kind="stable")
        out[:k] = v[idx]
        resolved[:k] = np.array(flags, dtype=bool)[idx]
        resolved[k:] = True  # exact zeros
        return out, resolved


def _as_weight_fn(W) -> tuple[Callable[[int], np.ndarray], int, bool]:
    if callable(W):
        W0 = np.asarray(W(0), dtype=float)
        return (lambda t: np.asarray(W(t), dtype=float)), W0.shape[0], False
    Wa = np.asarray(W, dtype=float)
    if Wa.ndim == 3:
        return (lambda t: Wa[t]), Wa.shape[1], False
    if Wa.ndim != 2 or Wa.shape[0] != Wa.shape[1]:
        raise ValueError("W must be a square matrix (N, N), a stack (steps, N, N) or a callable t -> W_t")
    return (lambda t: Wa), Wa.shape[0], True


def jacobian_spectrum(
    W,
    x1: np.ndarray,
    steps: int,
    activation: str,
    *,
    track_sigma_max: bool = False,
    track_every: int = 1,
    progress: Callable[[int, int], None] | None = None,
    layer_sigma_max: Callable[[int], float] | None = None,
    block_log_spread: float = BLOCK_LOG_SPREAD,
    max_block: int = MAX_BLOCK,
) -> JacobianSpectrum:
    """Log singular values of d x_{steps+1}/d x_1 for x_{t+1} = phi(W_t x_t) (write-up 1.2.1).

    ``W``: an (N, N) matrix (tied weights), an (steps, N, N) stack or a callable
    ``t -> W_t`` (untied; t = 0..steps-1). Layer Jacobian J_t = D_t W_t with
    D_t = diag(phi'(W_t x_t)) applied as a row scaling, in log space.

    Benettin QR: within a block the product A = J_{t+k}...J_{t+1} Q is formed explicitly
    (rows rescaled each step, scale kept in log), then A = Q' R; re-orthonormalisation
    happens when the block's loss of digits max_j ln(||A_j|| / |R_jj|) would exceed
    ``block_log_spread`` (29 nats; it bounds the relative error of each R_jj by about
    eps e^29 ~ 1e-3, and only directions far below the top lose digits), or after
    ``max_block`` steps; a block that lost more than 33 nats is recomputed shorter, and the blocks
    after it grow back by doubling (ReLU products lose rank, which made most blocks fail). The
    accumulated R is kept graded (see :class:`_Graded`).
    ``layer_sigma_max`` (untied only): t -> sigma_max(W_t) when known in closed form,
    to spare one SVD per layer for the bound path.
    ``track_every`` (with ``track_sigma_max``): the power step runs at every step t <= 50
    and then at every ``track_every``-th step (and the final depth is exact); the other
    entries of ``log_sigma_max_path`` are NaN (not computed). The top right singular vector
    of the product converges in t (Oseledets), so the warm start stays good between samples;
    tracking every step costs 1.4-2.7x the untracked spectrum at N = 128, every 2nd-20th
    step far less.
    ``progress``: called as ``progress(t, steps)`` after each block (for a progress bar); it
    may raise (e.g. a job's ``Cancelled``) to stop the computation.
    """
    _check_activation(activation)
    steps = int(steps)
    if steps < 0:
        raise ValueError("steps must be >= 0")
    Wt, n, tied = _as_weight_fn(W)
    x = np.asarray(x1, dtype=float).reshape(-1)
    if x.shape[0] != n:
        raise ValueError(f"x1 has length {x.shape[0]}, W is {n}x{n}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x1 must be finite")
    gamma = GAMMA[activation]
    log_gamma = math.log(gamma)

    with threadpool_limits(limits=1, user_api="blas"):
        T = _Graded(n)
        Q = None  # Householder factors (qr, tau) of the current basis; None = identity
        lyap_sum = np.zeros(n)
        log_bound = np.zeros(steps + 1)
        track_every = max(1, int(track_every))
        path = None
        if track_sigma_max:
            path = np.full(steps + 1, np.nan)
            path[0] = 0.0  # d x_1 / d x_1 = I
        rng = np.random.default_rng(0)
        v = rng.standard_normal(n)
        v /= np.linalg.norm(v)
        n_qr = 0
        active = 0.0
        tied_log_s = None
        if tied:
            s = sigma_max(Wt(0))
            tied_log_s = math.log(s) if s > 0 else -math.inf
        t = 0
        block = 1
        # Longest block to try next. It stays max_block until a block has to be redone; after a
        # redo it restarts at the redone length and doubles with each accepted block. (ReLU
        # products lose rank: the estimate from the last accepted block then proposed 64 steps
        # again and again, and 95 % of the steps computed were thrown away by redos.)
        cap = max_block
        dead = False
        acc, acc_scale = None, 0.0  # plain product of the R's not yet folded into T
        while t < steps and not dead:
            x_start, t_start, v_start, active_start = x, t, v, active
            A = None
            log_scale = 0.0
            growth = 0.0  # upper bound on ln ||A|| since the last renormalisation
            k = min(block, steps - t)
            for _ in range(k):
                Wc = Wt(t)
                h = Wc @ x
                ld = log_derivative(h, activation)
                x = activate(h, activation)
                if activation == "relu":
                    active += float(np.mean(np.isfinite(ld)))
                if tied:
                    ls = tied_log_s
                else:
                    sm = float(layer_sigma_max(t)) if layer_sigma_max is not None else sigma_max(Wc)
                    ls = math.log(sm) if sm > 0 else -math.inf
                log_bound[t + 1] = log_bound[t] + log_gamma + ls
                m = ld.max()
                if not (math.isfinite(m) and math.isfinite(ls)):
                    dead = True
                    break
                # J_t A = D_t (W_t A), D_t = exp(m) diag(exp(ld - m)), applied as a row scaling
                if A is None:  # first step of the block: W_t Q straight from the reflectors
                    WA = Wc.copy() if Q is None else _times_q(Wc, Q)
                else:
                    WA = Wc @ A
                WA *= np.exp(ld - m)[:, None]  # in place: WA is this step's own array
                A = WA
                log_scale += m
                growth += max(ls, 0.0) + 1.0
                tracked = path is not None and (t + 1 <= 50 or (t + 1) % track_every == 0)
                if growth > 300.0 or _ == k - 1 or tracked:
                    amax = np.abs(A).max()
                    if amax == 0.0 or not np.isfinite(amax):
                        dead = True
                        break
                    A /= amax
                    log_scale += math.log(amax)
                    growth = 0.0
                t += 1
                if tracked:
                    iters = 3 if t <= 50 else POWER_ITERATIONS
                    path[t], v = _power_step(A, log_scale, T, v, iters, acc, acc_scale)
            if dead:
                break
            # Householder QR is columnwise backward stable: R_jj carries a relative error
            # ~ eps ||A_j|| / |R_jj|, so ln(||A_j|| / |R_jj|) is the block's loss of digits.
            col = np.linalg.norm(A, axis=0)
            Qn, R = _qr_factors(A)
            dR = np.abs(np.diag(R))
            with np.errstate(divide="ignore", invalid="ignore"):  # a zero column: -inf - -inf = nan, dropped below
                ldR = np.log(dR)
                loss = np.log(col) - ldR
            fin = loss[np.isfinite(loss)]
            if k == 1 and fin.size and fin.max() > REDO_LOG_LOSS:
                # one step already exceeds float64 resolution in some directions: those R_jj
                # are rounding-level (e.g. ReLU units off: the product is rank deficient)
                fin = fin[fin <= REDO_LOG_LOSS]
            worst = float(fin.max()) if fin.size else 0.0
            if k > 1 and worst > REDO_LOG_LOSS:
                # too long a block: redo it shorter (nothing has been accumulated yet)
                x, t, v, active = x_start, t_start, v_start, active_start
                block = cap = max(1, int(k * block_log_spread / worst))
                continue
            Q = Qn
            n_qr += 1
            lyap_sum += ldR + log_scale
            # R's are multiplied plainly (the same float operations as in graded form) until
            # the accumulated diagonal spans ~e^450; then folded into the graded factor T.
            if acc is None:
                acc, acc_scale = R, log_scale
            else:
                acc = R @ acc
                acc_scale += log_scale
            amax = np.abs(acc).max()
            if amax > 0:
                acc /= amax
                acc_scale += math.log(amax)
            dacc = np.abs(np.diag(acc))
            dpos = dacc[dacc > 0]
            if dpos.size == 0 or dpos.min() < 1e-195:
                T.left_multiply(acc, acc_scale)
                acc = None
            # next block length: keep the loss of digits per block near block_log_spread
            per_step = worst / k
            cap = min(max_block, 2 * cap)
            block = cap if per_step <= 0 else int(min(cap, max(1, block_log_spread // per_step)))
            if progress is not None:
                progress(t, steps)
        if dead:
            # The product is exactly zero (every derivative 0, or a zero matrix): all
            # singular values are exactly 0. The bound is still computed layer by layer.
            for s_ in range(t + 2, steps + 1):
                if tied:
                    ls = tied_log_s
                else:
                    sm = float(layer_sigma_max(s_ - 1)) if layer_sigma_max is not None else sigma_max(Wt(s_ - 1))
                    ls = math.log(sm) if sm > 0 else -math.inf
                log_bound[s_] = log_bound[s_ - 1] + log_gamma + ls
            lsv = np.full(n, -np.inf)
            resolved = np.ones(n, dtype=bool)
            if path is not None:
                path[t + 1 :] = -np.inf
            lyap = np.full(n, -np.inf)
        else:
            if acc is not None:
                T.left_multiply(acc, acc_scale)
            lsv, resolved = T.log_singular_values()
            if path is not None and steps > 0 and np.isfinite(lsv[0]):
                path[steps] = lsv[0]  # exact at the final depth
            lyap = np.sort(lyap_sum / steps)[::-1] if steps > 0 else np.zeros(n)
    return JacobianSpectrum(
        activation=activation,
        steps=steps,
        n=n,
        log_singular_values=lsv,
        resolved=resolved,
        lyapunov_exponents=lyap,
        log_sigma_max_path=path,
        log_bound_path=log_bound,
        final_state=x,
        n_qr=n_qr,
        active_fraction=active / max(steps, 1) if activation == "relu" else 1.0,
    )


QR_BLOCK = 32  # block size of the compact-WY Householder QR (LAPACK's own default for dgeqrf)


def _qr_factors(A: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Householder QR via LAPACK dgeqrt (compact WY form, blocks of :data:`QR_BLOCK`):
    ((reflectors V, block factors T), R); Q = I - V T V^T blockwise is never formed."""
    v, t, info = lapack.dgeqrt(max(1, min(QR_BLOCK, *A.shape)), A)
    if info != 0:  # pragma: no cover
        raise np.linalg.LinAlgError("dgeqrt failed")
    return (v, t), np.triu(v)


def _times_q(W: np.ndarray, factors: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """W Q with Q in compact WY form (LAPACK dgemqrt, side R): one pass instead of forming Q
    (0.21 ms at N = 128 against 0.28 ms for dormqr with dgeqrf's reflectors, 0.41 ms for
    dorgqr + a product)."""
    v, t = factors
    wq, info = lapack.dgemqrt(v, t, W, side="R", trans="N")
    if info != 0:  # pragma: no cover
        raise np.linalg.LinAlgError("dgemqrt failed")
    return wq


def _power_step(A: np.ndarray, log_scale: float, T: _Graded, v: np.ndarray, iters: int,
                acc: np.ndarray | None = None, acc_scale: float = 0.0) -> tuple[float, np.ndarray]:
    """Warm-started power iterations on P = exp(log_scale) A [exp(acc_scale) acc] T
    (v <- P^T P v), returning ln ||P v|| for the updated unit v (a lower bound on
    ln sigma_max(P)) and v. ``acc``: the R factors not yet folded into T (folding them every
    block only for tracking cost 0.35 s of 1.7 s at N = 128, T = 1000)."""
    for _ in range(iters):
        u, su = T.apply(v)
        if acc is not None:
            u = acc @ u
        y = A @ u
        ny = np.linalg.norm(y)
        if ny == 0.0:
            return -math.inf, v
        z = A.T @ (y / ny)
        if acc is not None:
            z = acc.T @ z
        z, _ = T.apply_t(z)
        nz = np.linalg.norm(z)
        if nz == 0.0:
            return -math.inf, v
        v = z / nz
    u, su = T.apply(v)
    if acc is not None:
        u = acc @ u
        su += acc_scale
    ny = np.linalg.norm(A @ u)
    return (-math.inf if ny == 0.0 else float(log_scale + su + math.log(ny))), v


def jacobian_log_singular_values(W: np.ndarray, x1: np.ndarray, steps: int, activation: str) -> np.ndarray:
    """Natural logs of the singular values of d x_{steps+1} / d x_1 for x_{t+1} = phi(W x_t),
    descending; finite for steps up to 10,000 (only exactly-zero singular values, e.g. from
    ReLU units that are off or a singular W, are -inf). See :func:`jacobian_spectrum`."""
    return jacobian_spectrum(W, x1, steps, activation).log_singular_values


def explicit_jacobian(W, x1: np.ndarray, steps: int, activation: str) -> np.ndarray:
    """The product J_steps ... J_1 formed naively (for tests and small demos only: it
    under/overflows for long products, which is the point)."""
    Wt, n, _ = _as_weight_fn(W)
    x = np.asarray(x1, dtype=float).reshape(-1)
    P = np.eye(n)
    for t in range(int(steps)):
        Wc = Wt(t)
        h = Wc @ x
        P = derivative(h, activation)[:, None] * (Wc @ P)
        x = activate(h, activation)
    return P


def per_step_qr_lyapunov(W, x1: np.ndarray, steps: int, activation: str) -> np.ndarray:
    """Baseline: classic Benettin loop with one ``np.linalg.qr`` per step, returning the
    sorted ln|R_ii| sums (Lyapunov sums, i.e. only the long-run limit). Used by the
    benchmark and as a cross-check of :attr:`JacobianSpectrum.lyapunov_exponents`."""
    Wt, n, _ = _as_weight_fn(W)
    x = np.asarray(x1, dtype=float).reshape(-1)
    Q = np.eye(n)
    sums = np.zeros(n)
    for t in range(int(steps)):
        Wc = Wt(t)
        h = Wc @ x
        A = derivative(h, activation)[:, None] * (Wc @ Q)
        x = activate(h, activation)
        Q, R = np.linalg.qr(A)
        with np.errstate(divide="ignore"):
            sums += np.log(np.abs(np.diag(R)))
    return np.sort(sums)[::-1]


# ---------------------------------------------------------------------------
# Weight families
# ---------------------------------------------------------------------------
WEIGHT_FAMILIES = ("gaussian", "orthogonal", "sigma_max", "jordan")


def gaussian_weights(n: int, g: float, seed: int) -> np.ndarray:
    """W_ij ~ N(0, g^2 / N) (Glorot-style scaling; g = 1 is the edge of chaos for tanh)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)) * (g / math.sqrt(n))


def orthogonal_weights(n: int, g: float, seed: int) -> np.ndarray:
    """g Q with Q Haar-orthogonal (QR of a Gaussian with the sign fix of Mezzadri 2007)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, n))
    Q, R = np.linalg.qr(Z)
    d = np.sign(np.diag(R))
    d[d == 0] = 1.0
    return g * Q * d[None, :]


def rescale_to_sigma_max(W: np.ndarray, s: float) -> np.ndarray:
    """W * s / sigma_max(W), so that sigma_max = s exactly (write-up 1.2.1 uses s = 1/4)."""
    sm = sigma_max(W)
    if sm == 0.0:
        raise ValueError("cannot rescale the zero matrix to a given sigma_max")
    return np.asarray(W, dtype=float) * (s / sm)


def jordan_weights(n: int, eigenvalue: float = 0.5, sigma_max_target: float | None = None) -> np.ndarray:
    """Jordan block lambda I + (ones on the superdiagonal), optionally rescaled to a given
    sigma_max. Non-normal: sigma_max(W^k) is far below sigma_max(W)^k."""
    W = eigenvalue * np.eye(n) + np.eye(n, k=1)
    if sigma_max_target is not None:
        W = rescale_to_sigma_max(W, sigma_max_target)
    return W


def make_weights(family: str, n: int, scale: float, seed: int, *, layer: int = 0) -> np.ndarray:
    """One weight matrix of a family. ``scale`` is g for gaussian/orthogonal and the target
    sigma_max for "sigma_max" (a rescaled Gaussian) and "jordan". ``layer`` shifts the seed
    (for untied weights: layer t uses seed * 1_000_003 + t)."""
    if n < 1:
        raise ValueError("N must be at least 1")
    s = seed * 1_000_003 + layer
    if family == "gaussian":
        return gaussian_weights(n, scale, s)
    if family == "orthogonal":
        return orthogonal_weights(n, scale, s)
    if family == "sigma_max":
        W = gaussian_weights(n, 1.0, s)
        return rescale_to_sigma_max(W, scale) if scale != 0 else np.zeros((n, n))
    if family == "jordan":
        return jordan_weights(n, 0.5, scale) if scale != 0 else np.zeros((n, n))
    raise ValueError(f"unknown weight family {family!r}; one of {WEIGHT_FAMILIES}")


# ---------------------------------------------------------------------------
# Counterexamples (used by the page and by the audit)
# ---------------------------------------------------------------------------
@dataclass
class NonNormalCounterexample:
    """Write-up 1.2.1 claims sigma_max(W^k) = sigma_max(W)^k "because W^i = U Sigma^i V^T".
    That identity needs W normal; the bound sigma_max(W^k) <= sigma_max(W)^k
    (submultiplicativity) always holds. Logs are natural."""

    W: np.ndarray
    k: int
    sigma_max_W: float
    log_sigma_max_Wk: float  # ln sigma_max(W^k)
    log_sigma_max_W_pow_k: float  # k ln sigma_max(W)
    spectral_radius: float
    is_normal: bool
    identity_holds: bool  # |ln sigma_max(W^k) - k ln sigma_max(W)| < 1e-9
    bound_holds: bool  # ln sigma_max(W^k) <= k ln sigma_max(W)
    log_sigma_max_powers: np.ndarray  # ln sigma_max(W^j), j = 0..k


def non_normal_counterexample(
    n: int = 4, eigenvalue: float = 0.5, sigma_max_target: float = 0.25, k: int = 20
) -> NonNormalCounterexample:
    """A rescaled Jordan block (sigma_max = 1/4 as in write-up 1.2.1) where the SVD-power
    step fails: sigma_max(W^k) is orders of magnitude below (1/4)^k (for eigenvalue 0 it
    is exactly 0 from k = n on). Powers are computed with the graded QR product, so large
    k never underflows."""
    W = jordan_weights(n, eigenvalue, sigma_max_target)
    sm = sigma_max(W)
    x1 = np.zeros(n)
    path = jacobian_spectrum(W, x1, k, "linear", track_sigma_max=True)
    log_pows = path.log_sigma_max_path.copy()
    # exact values at the final power from the full spectrum
    log_pows[-1] = path.log_sigma_max
    lhs = float(log_pows[-1])
    rhs = k * math.log(sm)
    return NonNormalCounterexample(
        W=W,
        k=k,
        sigma_max_W=sm,
        log_sigma_max_Wk=lhs,
        log_sigma_max_W_pow_k=rhs,
        spectral_radius=float(np.max(np.abs(np.linalg.eigvals(W)))),
        is_normal=bool(np.allclose(W @ W.T, W.T @ W)),
        identity_holds=bool(abs(lhs - rhs) < 1e-9),
        bound_holds=bool(lhs <= rhs + 1e-9),
        log_sigma_max_powers=log_pows,
    )


@dataclass
class PascanuCounterexample:
    """Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural
    networks" (ICML), sec. 2.1: it is sufficient for the largest *singular value* of W to
    satisfy lambda_1 < 1/gamma for the gradient to vanish (gamma = sup|phi'|). The final
    version states it with the largest singular value; only arXiv v1 (1211.5063v1) used the
    largest eigenvalue. This example shows why the eigenvalue version cannot be right:
    x_t = W tanh(x_{t-1}) + b with nilpotent W = [[8, 8], [-8, -8]] (spectral radius 0,
    sigma_max 16) and b = x* - W tanh(x*), x* = (0, artanh 1/2) a fixed point. There
    J = W diag(tanh'(x*)) = [[8, 6], [-8, -6]], J^2 = 2J, so ||J^l|| = 2^(l-1) ||J||:
    the gradient grows like 2^l although every eigenvalue of W is 0, while the
    singular-value condition (16 < 1) correctly does not predict vanishing."""

    W: np.ndarray
    b: np.ndarray
    x_star: np.ndarray
    fixed_point_residual: float
    J: np.ndarray
    spectral_radius_W: float
    sigma_max_W: float
    gamma: float
    eigen_condition_predicts_vanishing: bool  # rho(W) < 1/gamma (arXiv v1's wording)
    depths: np.ndarray  # l = 1..depth
    log_sigma_max_Jl: np.ndarray  # ln sigma_max(J^l), exact via the graded product
    growth_rate: float  # fitted d ln sigma_max(J^l) / dl (ln 2 = 0.693 in theory)
    J_squared_equals_2J: bool


def pascanu_counterexample(depth: int = 50) -> PascanuCounterexample:
    """See :class:`PascanuCounterexample`."""
    W = np.array([[8.0, 8.0], [-8.0, -8.0]])
    x_star = np.array([0.0, math.atanh(0.5)])
    b = x_star - W @ np.tanh(x_star)
    resid = float(np.max(np.abs(W @ np.tanh(x_star) + b - x_star)))
    J = W @ np.diag(1.0 - np.tanh(x_star) ** 2)
    # ln sigma_max(J^l) for l = 1..depth, via the graded product of a constant Jacobian
    spec = jacobian_spectrum(np.broadcast_to(J, (depth, 2, 2)), np.zeros(2), depth, "linear", track_sigma_max=True)
    path = spec.log_sigma_max_path[1:]
    ls = np.arange(1, depth + 1)
    rate = float(np.polyfit(ls, path, 1)[0]) if depth >= 2 else float("nan")
    # W^2 = 0 exactly (nilpotent), so every eigenvalue is exactly 0 (eigvals gives ~1e-15)
    rho = 0.0 if not np.any(W @ W) else float(np.max(np.abs(np.linalg.eigvals(W))))
    return PascanuCounterexample(
        W=W,
        b=b,
        x_star=x_star,
        fixed_point_residual=resid,
        J=J,
        spectral_radius_W=rho,
        sigma_max_W=sigma_max(W),
        gamma=1.0,
        eigen_condition_predicts_vanishing=bool(rho < 1.0),
        depths=ls,
        log_sigma_max_Jl=path,
        growth_rate=rate,
        J_squared_equals_2J=bool(np.allclose(J @ J, 2 * J)),
    )
