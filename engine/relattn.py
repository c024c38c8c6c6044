"""Relative attention as convolution and max pooling (write-up section 1.3).

The layer (write-up 1.3, with scalar weights and ``d_k = 1``)::

    Q = W_Q x,   K = W_K x,   V = W_V x                         (x in R^n)
    alpha_{i,j} = Q_i K_j / sqrt(d_k) + p_{i-j}                  (p_k: one scalar per offset)
    RelAttnLayer(x)_i = sum_j softmax_j(alpha_{i,.})_j V_j

Index convention (used everywhere in this module; positions are 0-based in code):

* ``p`` maps the **offset** ``d = i - j`` (query minus key) to a float; offsets that are not
  given are ``-inf`` (masked). The weight on ``x_{i-1}`` therefore comes from ``p_{+1}``
  and the weight on ``x_{i+1}`` from ``p_{-1}``.
* Conv1D(x; w)_i = sum_{j=-m..m} x_{i+j} w_{j+m} for an odd kernel of length 2m+1
  (write-up 1.3.1, which writes w 1-based). Tap ``j`` (the weight on ``x_{i+j}``) is reached
  by attention offset ``d = -j``, so ``p_{-j} = log |w_{j+m}|``.

Exact convolution (:func:`solve_conv`): with W_Q = W_K = 0 the scores are ``p`` alone and
softmax turns ``p_{-j} = log|w_{j+m}|`` into ``|w_{j+m}| / sum |w|``; multiplying by
``W_V = sum w`` gives back ``w`` when all nonzero taps share a sign. Mixed signs need one
head per sign group (or one head per tap, Cordonnier, Loukas & Jaggi 2020, "On the
relationship between self-attention and convolutional layers", Lemma 1 / Theorem 1),
summed by :func:`apply_heads`.

The write-up's answer for w = [2, 0, 1] (p_{-1} = ln 2, p_0 = -inf, p_1 = -ln 2, W_V = 3)
computes 2.4 x_{i+1} + 0.6 x_{i-1}: it reads softmax as a per-entry sigmoid and flips the
offset sign (:func:`audit_writeup_conv`).

Max pooling (write-up 1.3.2): p = 0 on |m| <= k, -inf elsewhere, scores ``beta x_i x_j``
(``beta = W_Q W_K``). The effective inverse temperature is ``beta x_i``: the error against
MaxPool is non-increasing in beta for x >= 0 (d/dt E_softmax(t x)[x] = Var >= 0), bounded by
``2k / (e beta x_i)``, and does not vanish at all where ``x_i = 0`` (the layer then averages).
:func:`maxpool_attention`, :func:`maxpool_error_curve`, :func:`beta_for_error`,
:func:`audit_writeup_maxpool`, :func:`maxpool_failure_cases`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

LN2 = math.log(2.0)
WRITEUP_KERNEL = (2.0, 0.0, 1.0)
INPUT_KINDS = ("step", "spike", "random non-negative", "sine")
TAP_MIN = float(np.finfo(float).tiny)  # 2.2e-308: the smallest normal float64
TAP_MAX = 1e300  # |w| * taps above this: W_V = sum_S w and Conv1D may overflow


class RelAttnInputError(ValueError):
    """Input the construction cannot handle; the message says what it needs."""


# ---------------------------------------------------------------------------
# Heads
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Head:
    """One relative-attention head ``(w_q, w_k, w_v, p)``; unpacks like the tuple.

    ``p`` maps offset ``d = i - j`` to a score; missing offsets (and ``-inf``) are masked.
    """

    w_q: float
    w_k: float
    w_v: float
    p: dict[int, float]

    def __iter__(self):
        return iter((self.w_q, self.w_k, self.w_v, self.p))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        return (self.w_q, self.w_k, self.w_v, self.p)[i]


def _as_head(h) -> Head:
    if isinstance(h, Head):
        return h
    w_q, w_k, w_v, p = h
    return Head(float(w_q), float(w_k), float(w_v), dict(p))


def _clean_p(p: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (int) and finite scores; -inf entries are masked (dropped)."""
    offs, vals = [], []
    for d, v in p.items():
        if int(d) != d:
            raise RelAttnInputError(f"offset {d!r} is not a whole number")
        v = float(v)
        if math.isnan(v) or v == math.inf:
            raise RelAttnInputError(f"p_{int(d)} = {v}: scores must be finite or -inf (masked)")
        if v == -math.inf:
            continue
        offs.append(int(d))
        vals.append(v)
    order = np.argsort(offs, kind="stable")
    return np.asarray(offs, dtype=int)[order], np.asarray(vals, dtype=float)[order]


# ---------------------------------------------------------------------------
# The layer
# ---------------------------------------------------------------------------
@dataclass
class RelAttnResult:
    """Banded result of one head on a sequence of length n.

    ``weights[i, o]`` is the softmax weight query ``i`` puts on key ``key_index[i, o] = i -
    offsets[o]`` (0 where that key is outside the sequence). ``interior[i]`` is True when
    every unmasked offset has its key inside the sequence (the write-up ignores the rest).
    Rows with no valid key at all have ``output = nan``.
    """

    output: np.ndarray
    offsets: np.ndarray
    weights: np.ndarray
    scores: np.ndarray
    key_index: np.ndarray
    valid: np.ndarray
    interior: np.ndarray
    head: Head

    def dense(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows ``start:stop`` of the n x n attention matrix: (rows, cols, matrix)."""
        n = self.output.size
        stop = n if stop is None else min(stop, n)
        rows = np.arange(start, stop)
        if self.offsets.size:
            lo = max(0, start - int(self.offsets.max()))
            hi = min(n, stop - int(self.offsets.min()))
        else:
            lo, hi = start, stop
        hi = max(hi, lo + 1)
        cols = np.arange(lo, hi)
        mat = np.zeros((rows.size, cols.size))
        for o in range(self.offsets.size):
            r = rows
            c = self.key_index[r, o]
            ok = self.valid[r, o] & (c >= lo) & (c < hi)
            mat[(r - start)[ok], (c - lo)[ok]] += self.weights[r[ok], o]
        return rows, cols, mat


def rel_attn(x, w_q: float, w_k: float, w_v: float, p: Mapping[int, float], d_k: float = 1.0) -> RelAttnResult:
    """One relative-attention head with scalar weights, vectorised over a band.

    alpha_{i,j} = (w_q x_i)(w_k x_j) / sqrt(d_k) + p_{i-j};  out_i = sum_j softmax_j(alpha_i)_j w_v x_j.

    Cost O(n * |p|) instead of O(n^2): only offsets with a finite ``p`` can get weight.
    """
    x = np.asarray(x, dtype=float).ravel()
    if not np.all(np.isfinite(x)):
        raise RelAttnInputError("the input sequence contains NaN or infinite values")
    n = x.size
    offsets, pv = _clean_p(p)
    head = Head(float(w_q), float(w_k), float(w_v), dict(p))
    if n == 0 or offsets.size == 0:
        shape = (n, offsets.size)
        return RelAttnResult(np.full(n, np.nan), offsets, np.zeros(shape), np.full(shape, -np.inf),
                             np.zeros(shape, dtype=int), np.zeros(shape, dtype=bool), np.zeros(n, dtype=bool), head)
    i = np.arange(n)[:, None]
    key = i - offsets[None, :]                      # key position j = i - d
    valid = (key >= 0) & (key < n)
    kj = np.clip(key, 0, n - 1)
    xk = x[kj]
    # alpha_{i,j} = Q_i K_j / sqrt(d_k) + p_{i-j}
    scores = (w_q * w_k / math.sqrt(d_k)) * x[:, None] * xk + pv[None, :]
    scores = np.where(valid, scores, -np.inf)
    row_max = scores.max(axis=1, keepdims=True)
    has_key = np.isfinite(row_max[:, 0])
    safe_max = np.where(np.isfinite(row_max), row_max, 0.0)
    # softmax_j(alpha_i) with the row maximum subtracted (no overflow)
    e = np.where(valid, np.exp(scores - safe_max), 0.0)
    z = e.sum(axis=1, keepdims=True)
    weights = np.divide(e, z, out=np.zeros_like(e), where=z > 0)
    # out_i = sum_j a_{i,j} V_j,  V = w_v x
    out = w_v * (weights * xk).sum(axis=1)
    out = np.where(has_key, out, np.nan)
    interior = valid.all(axis=1)
    return RelAttnResult(out, offsets, weights, scores, key, valid, interior, head)


def rel_attn_layer(x, w_q: float, w_k: float, w_v: float, p: Mapping[int, float], d_k: float = 1.0) -> np.ndarray:
    """RelAttnLayer(x; W_Q, W_K, W_V, p) of write-up 1.3 (scalar weights, d_k = 1).

    ``p`` maps offset ``i - j`` to a float; offsets not given are -inf (masked). The weight on
    ``x_{i-1}`` comes from ``p_{+1}``. Returns the output sequence (``nan`` only where a
    query has no unmasked key inside the sequence).
    """
    return rel_attn(x, w_q, w_k, w_v, p, d_k).output


def apply_heads(x, heads: Iterable, d_k: float = 1.0) -> np.ndarray:
    """Sum of the head outputs: out_i = sum_h RelAttnLayer(x; W_Q^h, W_K^h, W_V^h, p^h)_i."""
    x = np.asarray(x, dtype=float).ravel()
    out = np.zeros(x.size)
    for h in heads:
        w_q, w_k, w_v, p = _as_head(h)
        out = out + rel_attn_layer(x, w_q, w_k, w_v, p, d_k)
    return out


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------
def validate_kernel(kernel) -> np.ndarray:
    """The kernel as a float array, or :class:`RelAttnInputError` saying what is needed:
    an odd number 2m+1 of finite taps, not all zero (write-up 1.3.1's Conv1D is centred),
    each nonzero tap with ``TAP_MIN <= |w|`` (no subnormals: ``1e-320`` or ``5e-324`` have
    lost most of their bits) and ``|w| * (2m+1) <= TAP_MAX`` (W_V = sum_S w cannot overflow)."""
    try:
        w = np.asarray(list(kernel), dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise RelAttnInputError("the kernel must be a list of numbers") from exc
    if w.size == 0:
        raise RelAttnInputError("the kernel is empty: give an odd number of taps, e.g. 2, 0, 1")
    if w.size % 2 == 0:
        raise RelAttnInputError(
            f"the kernel has {w.size} taps; Conv1D(x; w)_i = sum_(j=-m..m) x_(i+j) w_(j+m) needs an odd "
            f"length 2m+1 so that the window is centred on x_i"
        )
    if not np.all(np.isfinite(w)):
        raise RelAttnInputError("the kernel contains NaN or infinite taps")
    if not np.any(w != 0):
        raise RelAttnInputError(
            "the kernel is all zeros: softmax weights are positive and sum to 1, so a head needs at least "
            "one nonzero tap (the zero map is W_V = 0 with any p)"
        )
    mag = np.abs(w[w != 0])
    if mag.min() < TAP_MIN:
        raise RelAttnInputError(
            f"the tap {float(mag.min()):.3g} is too small: nonzero taps must have |w| >= {TAP_MIN:.3g} "
            f"(a subnormal float, below that, carries fewer than 53 bits, so neither "
            "Conv1D nor the heads' W_V = sum_S w can be computed to float64 precision); Conv1D is linear, so "
            "scale the kernel up and the output by the same factor, or write 0 for a tap that should vanish"
        )
    if mag.max() > TAP_MAX / w.size:
        raise RelAttnInputError(
            f"the tap {float(mag.max()):.3g} is too large: |w| times the number of taps must stay below "
            f"{TAP_MAX:g}, or W_V = sum_S w and Conv1D overflow float64; scale the kernel down"
        )
    return w


def parse_kernel(text: str) -> np.ndarray:
    """Parse ``"2, 0, 1"`` (commas, spaces or semicolons) into a validated kernel."""
    parts = [t for t in text.replace(";", ",").replace(" ", ",").split(",") if t.strip()]
    vals = []
    for t in parts:
        try:
            vals.append(float(t))
        except ValueError as exc:
            raise RelAttnInputError(f"{t!r} is not a number; write the taps like 2, 0, 1") from exc
    return validate_kernel(vals)


def conv1d(x, kernel) -> np.ndarray:
    """Conv1D(x; w)_i = sum_{j=-m..m} x_{i+j} w_{j+m} (write-up 1.3.1; cross-correlation,
    no flip). Positions without a full window (i < m or i > n-1-m) are ``nan``."""
    x = np.asarray(x, dtype=float).ravel()
    w = validate_kernel(kernel)
    m = w.size // 2
    out = np.full(x.size, np.nan)
    if x.size >= w.size:
        win = np.lib.stride_tricks.sliding_window_view(x, w.size)   # win[i-m, j+m] = x_{i+j}
        out[m : x.size - m] = win @ w
    return out


def solve_conv(kernel, method: str = "sign") -> list[Head]:
    """Heads whose summed output is Conv1D(x; w) exactly on interior positions.

    All heads have W_Q = W_K = 0, so softmax sees only p. For a sign group S (taps with the
    same sign)::

        p_{-j} = log |w_{j+m}|  (j in S),  -inf elsewhere;   W_V = sum_{j in S} w_{j+m}

    gives softmax weight |w_{j+m}| / sum_S |w| on x_{i+j}, times W_V: exactly w_{j+m}.
    ``method="sign"``: one head per sign present (one head if all nonzero taps share a sign).
    ``method="per_tap"``: one head per nonzero tap, p_{-j} = 0 and W_V = w_{j+m}
    (Cordonnier et al. 2020, one head per relative shift). Zero-sum kernels ([1, -2, 1])
    work: each group's W_V is its own sum, never the kernel's total.
    """
    w = validate_kernel(kernel)
    m = w.size // 2
    taps = np.arange(-m, m + 1)
    if method == "per_tap":
        return [Head(0.0, 0.0, float(w[j + m]), {int(-j): 0.0}) for j in taps if w[j + m] != 0]
    if method != "sign":
        raise ValueError(f"unknown method {method!r}; use 'sign' or 'per_tap'")
    heads = []
    for sign in (1.0, -1.0):
        group = [j for j in taps if np.sign(w[j + m]) == sign]
        if not group:
            continue
        p = {int(-j): math.log(abs(w[j + m])) for j in group}
        heads.append(Head(0.0, 0.0, float(sum(w[j + m] for j in group)), p))
    return heads


def writeup_conv_heads() -> list[Head]:
    """The write-up's answer for w = [2, 0, 1] (1.3.1): p_{-1} = ln 2, p_0 = -inf,
    p_1 = -ln 2, W_Q = W_K = 0, W_V = 3 (one head)."""
    return [Head(0.0, 0.0, 3.0, {-1: LN2, 0: -math.inf, 1: -LN2})]


@dataclass
class EffectiveKernel:
    """The kernel a set of heads computes on interior positions: ``weights[t]`` multiplies
    ``x_{i + taps[t]}``. Exact when every head has W_Q W_K = 0; otherwise
    ``content_dependent`` is True and ``weights`` is the x_i = 0 value (the content term
    Q_i K_j changes them position by position)."""

    taps: np.ndarray
    weights: np.ndarray
    per_head: np.ndarray
    content_dependent: bool

    def as_dict(self) -> dict[int, float]:
        return {int(t): float(w) for t, w in zip(self.taps, self.weights)}


def effective_kernel(heads: Iterable, d_k: float = 1.0) -> EffectiveKernel:
    """sum_h W_V^h softmax(p^h)_{-j} on tap j (weight on x_{i+j}; tap j is offset d = -j)."""
    heads = [_as_head(h) for h in heads]
    cleaned = [_clean_p(h.p) for h in heads]
    reach = max([int(np.abs(o).max()) for o, _ in cleaned if o.size] + [0])
    taps = np.arange(-reach, reach + 1)
    per_head = np.zeros((len(heads), taps.size))
    for r, (h, (offs, vals)) in enumerate(zip(heads, cleaned)):
        if offs.size == 0:
            continue
        a = np.exp(vals - vals.max())
        a /= a.sum()
        for d, wt in zip(offs, a):
            per_head[r, -d + reach] += h.w_v * wt
    content = any(h.w_q * h.w_k != 0 for h in heads)
    return EffectiveKernel(taps, per_head.sum(axis=0), per_head, content)


def kernel_as_effective(kernel) -> EffectiveKernel:
    """A kernel w written as an :class:`EffectiveKernel` (tap j = weight w_{j+m} on x_{i+j})."""
    w = validate_kernel(kernel)
    m = w.size // 2
    return EffectiveKernel(np.arange(-m, m + 1), w.copy(), w[None, :].copy(), False)


def kernel_error(heads: Iterable, kernel) -> float:
    """max_j |effective_j - w_{j+m}| over the union of taps."""
    eff = effective_kernel(heads)
    w = validate_kernel(kernel)
    m = w.size // 2
    reach = max(m, int(eff.taps.max(initial=0)))
    a = np.zeros(2 * reach + 1)
    b = np.zeros(2 * reach + 1)
    a[eff.taps + reach] = eff.weights
    b[np.arange(-m, m + 1) + reach] = w
    return float(np.abs(a - b).max())


@dataclass
class ConvComparison:
    """Heads against the true Conv1D on one input.

    ``error = |output - target|``; ``rel_error`` is max interior error divided by
    max_i sum_j |w_{j+m} x_{i+j}| (the scale the output is built from, so cancellations in
    zero-sum kernels do not inflate it)."""

    x: np.ndarray
    kernel: np.ndarray
    output: np.ndarray
    target: np.ndarray
    error: np.ndarray
    interior: np.ndarray
    max_abs_error: float
    rel_error: float
    effective: EffectiveKernel


def compare_conv(x, kernel, heads: Iterable, d_k: float = 1.0) -> ConvComparison:
    """Run ``heads`` on ``x`` and measure them against Conv1D(x; kernel) on interior positions."""
    x = np.asarray(x, dtype=float).ravel()
    w = validate_kernel(kernel)
    heads = [_as_head(h) for h in heads]
    out = apply_heads(x, heads, d_k)
    target = conv1d(x, w)
    interior = np.isfinite(target)
    scale_seq = conv1d(np.abs(x), np.abs(w))
    err = np.abs(out - target)
    if interior.any():
        max_abs = float(np.nanmax(np.where(interior, err, np.nan)))
        scale = float(np.nanmax(np.where(interior, scale_seq, np.nan)))
        rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else math.inf)
    else:
        max_abs, rel = math.nan, math.nan
    return ConvComparison(x, w, out, target, err, interior, max_abs, rel, effective_kernel(heads, d_k))


@dataclass
class WriteupConvAudit:
    """Write-up 1.3.1 for w = [2, 0, 1]: what it claims, what its parameters compute, and
    the correct parameters. ``mistakes`` maps each single mistake to the kernel it alone
    produces (tap j -> weight on x_{i+j})."""

    kernel: np.ndarray
    writeup_heads: list[Head]
    writeup_effective: EffectiveKernel
    claimed_weights: dict[int, float]
    correct_heads: list[Head]
    correct_effective: EffectiveKernel
    mistakes: dict[str, dict[int, float]]
    writeup_error: float
    correct_error: float
    explanation: list[str] = field(default_factory=list)
    explanation_md: list[str] = field(default_factory=list)  # the same, markdown with $...$ maths


def audit_writeup_conv(x=None, seed: int = 0) -> WriteupConvAudit:
    """Write-up 1.3.1 checked: its heads give 2.4 x_{i+1} + 0.6 x_{i-1}, not 2 x_{i-1} + x_{i+1}.

    The write-up reads softmax entry by entry as a sigmoid (sigma(ln 2) = 2/3, sigma(-ln 2) =
    1/3), but softmax over {ln 2, -ln 2} is {4/5, 1/5}; and p_{-1} is offset i - j = -1, i.e.
    key j = i + 1, so its weight lands on x_{i+1}. Correct: p_{+1} = ln 2, p_{-1} = 0 (= ln 1),
    p_0 = -inf, W_Q = W_K = 0, W_V = 3.
    """
    w = np.asarray(WRITEUP_KERNEL)
    if x is None:
        x = make_input("random non-negative", 64, seed)
    wu = writeup_conv_heads()
    ok = solve_conv(w)
    only_sigmoid = [Head(0.0, 0.0, 3.0, {1: LN2, 0: -math.inf, -1: -LN2})]   # sign fixed, softmax still misread
    only_sign = [Head(0.0, 0.0, 3.0, {-1: LN2, 0: -math.inf, 1: 0.0})]      # softmax fixed, sign still flipped
    return WriteupConvAudit(
        kernel=w,
        writeup_heads=wu,
        writeup_effective=effective_kernel(wu),
        claimed_weights={-1: 2.0, 0: 0.0, 1: 1.0},
        correct_heads=ok,
        correct_effective=effective_kernel(ok),
        mistakes={
            "softmax read as sigmoid (sign fixed)": effective_kernel(only_sigmoid).as_dict(),
            "offset sign flipped (softmax fixed)": effective_kernel(only_sign).as_dict(),
        },
        writeup_error=compare_conv(x, w, wu).max_abs_error,
        correct_error=compare_conv(x, w, ok).max_abs_error,
        explanation=[
            "softmax over the two unmasked offsets is exp(ln 2) / (exp(ln 2) + exp(-ln 2)) = 4/5, not sigma(ln 2) = 2/3",
            "p_{-1} scores offset i - j = -1, i.e. key j = i + 1: its weight multiplies x_{i+1}, not x_{i-1}",
            "together: 3 (4/5 x_{i+1} + 1/5 x_{i-1}) = 2.4 x_{i+1} + 0.6 x_{i-1}",
            "correct: p_{+1} = ln 2, p_{-1} = ln 1 = 0, p_0 = -inf, W_Q = W_K = 0, W_V = 3",
        ],
        explanation_md=[
            r"softmax over the two unmasked offsets is $e^{\ln 2} / (e^{\ln 2} + e^{-\ln 2}) = 4/5$, "
            r"not $\sigma(\ln 2) = 2/3$",
            r"$p_{-1}$ scores offset $i - j = -1$, i.e. key $j = i + 1$: its weight multiplies $x_{i+1}$, "
            r"not $x_{i-1}$",
            r"together: $3\,(\tfrac45 x_{i+1} + \tfrac15 x_{i-1}) = 2.4\,x_{i+1} + 0.6\,x_{i-1}$",
            r"correct: $p_{+1} = \ln 2$, $p_{-1} = \ln 1 = 0$, $p_0 = -\infty$, $W_Q = W_K = 0$, $W_V = 3$",
        ],
    )


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------
def make_input(kind: str, n: int, seed: int = 0, offset: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """Sample inputs (all >= 0 before ``offset``): a step, a spike, U[0, 1) noise, a sine
    0.5 (1 + sin(2 pi i / 32)); then ``scale * x + offset``."""
    n = int(n)
    i = np.arange(n)
    if kind == "step":
        x = (i >= n // 2).astype(float)
    elif kind == "spike":
        x = np.zeros(n)
        x[n // 2] = 1.0
    elif kind == "random non-negative":
        x = np.random.default_rng(seed).random(n)
    elif kind == "sine":
        x = 0.5 * (1.0 + np.sin(2 * np.pi * i / 32.0))
    else:
        raise ValueError(f"unknown input kind {kind!r}; one of {INPUT_KINDS}")
    return scale * x + offset


# ---------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------
def maxpool(x, k: int) -> np.ndarray:
    """MaxPool(x)_i = max_{-k <= m <= k} x_{i+m} (stride 1, width 2k+1); ``nan`` where the
    window leaves the sequence."""
    x = np.asarray(x, dtype=float).ravel()
    out = np.full(x.size, np.nan)
    if k < 0:
        raise RelAttnInputError("the pooling half-width k must be >= 0")
    if x.size >= 2 * k + 1:
        out[k : x.size - k] = np.lib.stride_tricks.sliding_window_view(x, 2 * k + 1).max(axis=1)
    return out


def maxpool_p(k: int) -> dict[int, float]:
    """p_m = 0 for |m| <= k (others masked)."""
    return {m: 0.0 for m in range(-k, k + 1)}


def require_nonnegative(x, shift: float = 0.0) -> None:
    """Raise :class:`RelAttnInputError` unless x + shift >= 0 (the max-pool construction
    needs it: for x_i < 0 the temperature beta x_i is negative and the layer takes a soft
    *minimum*)."""
    x = np.asarray(x, dtype=float)
    q = x + shift
    if x.size and q.min() < 0:
        neg = int((q < 0).sum())
        if shift == 0:
            raise RelAttnInputError(
                f"{neg} input value(s) are negative (min {x.min():.3g}); the write-up's max-pool construction "
                "assumes x_i >= 0 for all i: with x_i < 0 the scores beta x_i x_j favour the smallest x_j "
                f"(a soft minimum). Add an offset of at least {-x.min():.3g}, or use the shifted construction."
            )
        raise RelAttnInputError(
            f"{neg} value(s) of x + c are negative (min {q.min():.3g}); the shifted construction needs "
            f"c >= -min(x) = {-x.min():.3g}."
        )


@dataclass
class MaxPoolResult:
    """Attention max pooling against the true MaxPool.

    Construction: run the layer on ``x + shift`` with W_Q = W_K = sqrt(beta), W_V = 1,
    p = 0 on |m| <= k, then subtract ``shift`` (shift = 0 is the write-up's layer). Scores
    beta (x_i + c)(x_j + c). ``error = target - output`` (>= 0 when x + c >= 0);
    ``zero_query`` marks interior positions with x_i + c = 0, where the layer averages.
    """

    x: np.ndarray
    k: int
    beta: float
    shift: float
    output: np.ndarray
    target: np.ndarray
    error: np.ndarray
    interior: np.ndarray
    max_error: float
    mean_error: float
    bound: float
    zero_query: np.ndarray
    attention: RelAttnResult


def _maxpool_core(x: np.ndarray, k: int, beta: float, shift: float) -> tuple[RelAttnResult, np.ndarray]:
    s = math.sqrt(beta)
    res = rel_attn(x + shift, s, s, 1.0, maxpool_p(k))
    return res, res.output - shift


def error_bound(x, k: int, beta: float, shift: float = 0.0) -> float:
    """Guaranteed max interior error: each non-max key j has weight <= exp(-beta q_i delta_j)
    (q_i = x_i + c, delta_j = max - x_j), and delta e^{-beta q delta} <= 1 / (e beta q), so
    error_i <= min(2k / (e beta q_i), window range). Returns the max over interior i."""
    x = np.asarray(x, dtype=float).ravel()
    if x.size < 2 * k + 1:
        return math.nan
    q = (x + shift)[k : x.size - k]
    win = np.lib.stride_tricks.sliding_window_view(x, 2 * k + 1)
    rng = win.max(axis=1) - win.min(axis=1)
    with np.errstate(divide="ignore"):
        b = np.where(q > 0, 2 * k / (math.e * beta * np.maximum(q, 1e-300)), np.inf)
    return float(np.minimum(b, rng).max())


def maxpool_attention(x, k: int, beta: float = 1.0, shift: float = 0.0, allow_negative: bool = False) -> MaxPoolResult:
    """Relative attention as max pooling (write-up 1.3.2 with W_Q W_K = beta; beta = 1 is the
    write-up's choice). Raises :class:`RelAttnInputError` for negative x + shift unless
    ``allow_negative`` (then it shows the soft minimum)."""
    x = np.asarray(x, dtype=float).ravel()
    if not np.all(np.isfinite(x)):
        raise RelAttnInputError("the input contains NaN or infinite values")
    if k < 1:
        raise RelAttnInputError("the pooling half-width k must be at least 1")
    if x.size < 2 * k + 1:
        raise RelAttnInputError(f"the sequence (n = {x.size}) is shorter than the window 2k+1 = {2 * k + 1}")
    if not (beta > 0 and math.isfinite(beta)):
        raise RelAttnInputError("beta = W_Q W_K must be a positive finite number")
    if not allow_negative:
        require_nonnegative(x, shift)
    res, out = _maxpool_core(x, k, beta, shift)
    target = maxpool(x, k)
    interior = np.isfinite(target)
    err = target - out
    e_int = err[interior]
    zq = interior & (x + shift == 0)
    return MaxPoolResult(
        x, k, float(beta), float(shift), out, target, err, interior,
        float(np.abs(e_int).max()), float(np.abs(e_int).mean()), error_bound(x, k, beta, shift), zq, res,
    )


def _interior_max_error(x: np.ndarray, k: int, beta: float, shift: float, target: np.ndarray) -> float:
    _, out = _maxpool_core(x, k, beta, shift)
    return float(np.nanmax(np.abs(target - out)))


@dataclass
class BetaCurve:
    """Max and mean interior error against beta (log-spaced), with the 2k/(e beta q_min) bound
    and the beta -> infinity limit (nonzero only where some x_i + c = 0)."""

    betas: np.ndarray
    max_error: np.ndarray
    mean_error: np.ndarray
    bound: np.ndarray
    limit_error: float


def limit_error(x, k: int, shift: float = 0.0) -> float:
    """lim_{beta -> inf} of the max interior error: 0 where q_i = x_i + c > 0 (softmax -> argmax,
    ties split weight among equal maxima, value exact); at q_i = 0 the scores are p alone, so
    the output is the window mean and the error max - mean stays for every beta."""
    x = np.asarray(x, dtype=float).ravel()
    win = np.lib.stride_tricks.sliding_window_view(x, 2 * k + 1)
    q = (x + shift)[k : x.size - k]
    gap = win.max(axis=1) - win.mean(axis=1)
    zero = q == 0
    return float(gap[zero].max()) if zero.any() else 0.0


def maxpool_error_curve(x, k: int, betas=None, shift: float = 0.0) -> BetaCurve:
    """Error of the attention max pool for each beta (see :class:`BetaCurve`)."""
    x = np.asarray(x, dtype=float).ravel()
    betas = np.logspace(-2, 6, 41) if betas is None else np.asarray(betas, dtype=float)
    require_nonnegative(x, shift)
    target = maxpool(x, k)
    interior = np.isfinite(target)
    mx, mn, bd = [], [], []
    for b in betas:
        _, out = _maxpool_core(x, k, float(b), shift)
        e = np.abs(target - out)[interior]
        mx.append(e.max())
        mn.append(e.mean())
        bd.append(error_bound(x, k, float(b), shift))
    return BetaCurve(betas, np.array(mx), np.array(mn), np.array(bd), limit_error(x, k, shift))


@dataclass
class BetaNeeded:
    """Smallest beta = W_Q W_K with max interior error < eps on this input (bisection in
    log beta; the error is non-increasing in beta for x + c >= 0), and the beta the bound
    2k / (e beta q_min) guarantees. ``achievable`` is False when eps <= the beta -> inf
    limit (some x_i + c = 0); then both betas are inf."""

    eps: float
    beta: float
    bound_beta: float
    achievable: bool
    limit_error: float
    reason: str


def beta_for_error(x, k: int, eps: float, shift: float = 0.0, beta_max: float = 1e12) -> BetaNeeded:
    """The beta needed for max interior error < eps on ``x`` (see :class:`BetaNeeded`)."""
    x = np.asarray(x, dtype=float).ravel()
    require_nonnegative(x, shift)
    if not eps > 0:
        raise RelAttnInputError("eps must be positive")
    target = maxpool(x, k)
    lim = limit_error(x, k, shift)
    q = (x + shift)[k : x.size - k]
    qmin = float(q.min())
    bound_beta = 2 * k / (math.e * eps * qmin) if qmin > 0 else math.inf
    if lim >= eps:
        return BetaNeeded(eps, math.inf, math.inf, False, lim,
                          f"x_i + c = 0 at some interior position: there the scores are p alone and the layer "
                          f"returns the window mean for every beta (error {lim:.3g} >= eps)")

    def f(b: float) -> float:
        return _interior_max_error(x, k, b, shift, target)

    lo, hi = 1e-12, 1.0
    if f(lo) < eps:
        return BetaNeeded(eps, 0.0, bound_beta, True, lim, "already below eps at beta -> 0 (flat windows)")
    while f(hi) >= eps:
        lo, hi = hi, hi * 10
        if hi > beta_max:
            return BetaNeeded(eps, math.inf, bound_beta, False, lim,
                              f"error still >= eps at beta = {beta_max:.0e} (numerically out of reach)")
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if f(mid) < eps:
            hi = mid
        else:
            lo = mid
        if hi / lo < 1 + 1e-6:
            break
    return BetaNeeded(eps, hi, bound_beta, True, lim, "measured by bisection on this input")


@dataclass
class MaxPoolCheck:
    """The write-up's W_Q = W_K = W_V = 1 (beta = 1) on one sample input."""

    name: str
    k: int
    max_error: float
    mean_error: float
    relative_error: float
    beta_needed: float
    eps: float


def writeup_samples(n: int = 256, seed: int = 0) -> dict[str, np.ndarray]:
    """Sample non-negative inputs of different scales for :func:`audit_writeup_maxpool`."""
    rng = np.random.default_rng(seed)
    return {
        "U[0, 1)": rng.random(n),
        "U[0, 10)": 10 * rng.random(n),
        "U[0, 0.1)": 0.1 * rng.random(n),
        "ReLU of N(0, 1) (half zeros)": np.maximum(rng.standard_normal(n), 0.0),
        "sine 0.5 (1 + sin)": make_input("sine", n),
        "step 0 -> 1": make_input("step", n),
    }


def audit_writeup_maxpool(k: int = 1, eps: float = 0.01, n: int = 256, seed: int = 0) -> list[MaxPoolCheck]:
    """Measure the write-up's beta = 1 on sample inputs: max/mean interior error, error
    relative to the input range, and the beta this input needs for error < eps."""
    out = []
    for name, x in writeup_samples(n, seed).items():
        r = maxpool_attention(x, k, 1.0)
        span = float(x.max() - x.min()) or 1.0
        out.append(MaxPoolCheck(name, k, r.max_error, r.mean_error, r.max_error / span,
                                beta_for_error(x, k, eps).beta, eps))
    return out


@dataclass
class FailureCase:
    """One window (length 2k+1, query in the middle) run through the write-up's construction
    (scores beta x_i x_j) and the shifted one (scores beta (x_i + c)(x_j + c))."""

    name: str
    window: np.ndarray
    target: float
    writeup: float
    shifted: float
    writeup_weights: np.ndarray
    shifted_weights: np.ndarray
    comment: str  # one sentence, markdown with $...$ maths (shown on the page)


def _centre(window: np.ndarray, k: int, beta: float, shift: float) -> tuple[float, np.ndarray]:
    res, out = _maxpool_core(window, k, beta, shift)
    i = k
    wts = np.zeros(window.size)
    for o in range(res.offsets.size):
        if res.valid[i, o]:
            wts[res.key_index[i, o]] += res.weights[i, o]
    return float(out[i]), wts


def maxpool_failure_cases(k: int = 1, beta: float = 10.0, shift: float = 1.0) -> list[FailureCase]:
    """Where each construction fails: the query x_i = 0 (write-up averages; no W_Q, W_K
    can help since alpha = p there), an exact tie (weight splits, value still right),
    a near tie at gap 1/(beta q) (the worst case of the bound), tiny inputs (temperature
    beta x_i ~ 0), negative inputs (write-up takes a soft minimum; shifted is fine once
    c >= -min x), and x_i + c = 0 for the shifted one."""
    if k < 1:
        raise RelAttnInputError("k must be at least 1")
    L = 2 * k + 1
    cases: list[tuple[str, np.ndarray, str]] = []
    w = np.linspace(0.2, 1.0, L)
    w0 = w.copy()
    w0[k] = 0.0
    cases.append(("query x_i = 0", w0,
                  r"write-up: $\alpha_{ij} = p_{i-j} = 0$, uniform weights, output = window mean for every $\beta$"))
    tie = np.full(L, 0.3)
    tie[k] = tie[-1] = 0.9
    cases.append(("exact tie of the maximum", tie,
                  "weight splits between the tied maxima: attention is not one-hot, but the value is exact"))
    q = 0.5
    near = np.full(L, q)
    near[0] = q + 1.0 / (beta * q)
    cases.append(("near tie, gap 1/(beta x_i)", near,
                  r"the gap $\delta = 1/(\beta x_i)$ maximises $\delta\, e^{-\beta x_i \delta}$: the worst case of the bound"))
    cases.append(("tiny inputs (x ~ 0.01)", 0.01 * np.linspace(0.0, 1.0, L)[::-1].copy() + 0.001,
                  r"temperature $\beta x_i$ and gaps are tiny, weights nearly uniform: the write-up's $\beta$ must grow "
                  r"like $1/x^2$; the shifted bound $2k/(e\beta c)$ is absolute, so small gaps still need "
                  r"$\beta \gg 1/\mathrm{gap}$"))
    neg = -np.linspace(0.2, 1.0, L)
    cases.append(("negative inputs", neg,
                  r"$x_i < 0$ flips the temperature: the write-up's layer takes a soft minimum (shifted needs "
                  r"$c \ge -\min x$)"))
    zs = w.copy()
    zs[k] = -shift
    cases.append(("x_i + c = 0 (shifted fails)", zs,
                  r"the shifted construction averages exactly where $x_i = -c$, the same failure moved"))
    out = []
    for name, win, comment in cases:
        target = float(win.max())
        wu, wu_w = _centre(win, k, beta, 0.0)
        sh, sh_w = _centre(win, k, beta, shift)
        out.append(FailureCase(name, win, target, wu, sh, wu_w, sh_w, comment))
    return out


def attention_window(result: RelAttnResult, start: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``start .. start+size-1`` of the dense attention matrix (see :meth:`RelAttnResult.dense`)."""
    return result.dense(int(start), int(start) + int(size))


def heads_summary(heads: Sequence) -> list[dict]:
    """One plain dict per head (for tables): W_Q, W_K, W_V and p by offset."""
    rows = []
    for r, h in enumerate(heads):
        h = _as_head(h)
        row = {"head": r + 1, "W_Q": h.w_q, "W_K": h.w_k, "W_V": h.w_v}
        for d in sorted(h.p):
            row[f"p_{d:+d}"] = h.p[d]
        rows.append(row)
    return rows
