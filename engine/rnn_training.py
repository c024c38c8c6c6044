"""Gradients through time in a network that learns: vanilla RNN vs LSTM vs GRU (issue 18).

Write-up 1.2 bounds the Jacobian of an RNN with *random* weights. This module trains small
recurrent networks on tasks with a long-range dependency and records, at every training step,
how the gradient reaches each time step, and the spectrum of the recurrent Jacobian of the
network being trained along a real input sequence.

Tasks (sequence length T; inputs x_1..x_T, hidden states h_1..h_T, h_0 = 0)
-------------------------------------------------------------------------
* ``adding`` (Hochreiter & Schmidhuber 1997, exp. 4; Le, Jaitly & Hinton 2015, sec. 4.1):
  channel 0 holds T numbers u_t ~ U[0, 1], channel 1 marks two of them (one uniformly in the
  first half, one in the second half). Target y = sum of the two marked numbers, read from h_T.
  Loss: mean squared error. Predicting the mean E[y] = 1 gives MSE = Var(u_1 + u_2) = 2/12 = 1/6,
  the trivial baseline.
* ``copy`` (copy-after-delay; Hochreiter & Schmidhuber 1997, exp. 2; Arjovsky et al. 2016):
  K symbols from an alphabet of A at steps 1..K, blanks, then a "go" marker at the last K steps,
  where the network must output the K symbols in order (cross-entropy, mean over the K outputs).
  The delay between seeing symbol k and recalling it is T - K steps. A memoryless guess
  (uniform over the alphabet) gives the baseline ln A.

Models (hidden size N, one torch cell unrolled so that every h_t exists as a tensor)
-------------------------------------------------------------------------------------
* ``rnn_tanh``:  h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)          (nn.RNNCell)
* ``rnn_relu``:  h_t = relu(W_ih x_t + W_hh h_{t-1} + b)          (identity init: Le et al. 2015)
* ``lstm``:      state s_t = (h_t, c_t) in R^{2N}                   (nn.LSTMCell, forget bias 1)
* ``gru``:       state s_t = h_t                                    (nn.GRUCell)

Recorded per training step: the loss, ||dL/dh_t|| for every t = 1..T (the *total* derivative
of the batch-mean loss with respect to the hidden-state tensor h_t, i.e. the gradient that
back-propagation delivers at step t; Frobenius norm over the batch and hidden units), the
parameter gradient norm before clipping and whether clipping fired.

Recurrent Jacobian along a real input (write-up 1.2.1): J_t = d s_{t+1} / d s_t,
t = 1..T-1, evaluated on the states of one held-out sequence; for the tanh RNN
J_t = diag(1 - h_{t+1}^2) W_hh (relu: diag(1[pre_{t+1} > 0]) W_hh); for LSTM/GRU
J_t = d cell(x_{t+1}, s_t) / d s_t by autograd (one batched backward pass for all t). The log singular values of
d s_T / d s_1 = J_{T-1} ... J_1 come from :func:`engine.gradients.jacobian_spectrum` fed with
the stack of per-step matrices (activation "linear", so the engine applies each J_t exactly
as given, with its blocked QR in log space). Bounds drawn: the product bound
prod_t sigma_max(J_t) for every model, and for the plain RNN the write-up's
(gamma sigma_max(W_hh))^{T-1} (gamma = 1 for tanh and ReLU).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from engine import gradients

TASKS = ("adding", "copy")
MODELS = ("rnn_tanh", "rnn_relu", "lstm", "gru")
MODEL_LABELS = {"rnn_tanh": "tanh RNN", "rnn_relu": "ReLU RNN", "lstm": "LSTM", "gru": "GRU"}
INITS = ("gaussian", "orthogonal", "identity")
GATED_INITS = ("pytorch", "forget1", "chrono")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
ADDING_BASELINE = 1.0 / 6.0
T_MIN, T_MAX = 2, 5000
DEFAULT_MEMORY_LIMIT = 2 * 1024**3  # bytes one training job may plan to use
# Rows of the (step, t) gradient heatmap kept in a live snapshot.
SNAPSHOT_ROWS = 240


class TrainingMemoryError(ValueError):
    """The configuration would need more memory than allowed (raised before training)."""


# ---------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------
def adding_batch(batch: int, T: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem: x (batch, T, 2), y (batch, 1).

    x[:, t, 0] = u_t ~ U[0, 1]; x[:, t, 1] = 1 at two positions, one uniform in
    [0, T//2), one uniform in [T//2, T) (0-based), else 0. y = sum of the two marked u_t.
    """
    if T < 2:
        raise ValueError("the adding problem needs T >= 2")
    u = torch.rand(batch, T, generator=generator)
    half = T // 2
    i1 = torch.randint(0, half, (batch,), generator=generator)
    i2 = torch.randint(half, T, (batch,), generator=generator)
    marks = torch.zeros(batch, T)
    rows = torch.arange(batch)
    marks[rows, i1] = 1.0
    marks[rows, i2] = 1.0
    x = torch.stack([u, marks], dim=-1)
    y = (u[rows, i1] + u[rows, i2]).unsqueeze(1)
    return x, y


def copy_batch(batch: int, T: int, generator: torch.Generator, n_symbols: int = 5,
               alphabet: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Copy-after-delay: x (batch, T, alphabet + 2) one-hot, y (batch, n_symbols) class ids.

    Steps 0..K-1 (0-based) carry the symbols, steps K..T-K-1 the blank (channel ``alphabet``),
    steps T-K..T-1 the go marker (channel ``alphabet + 1``); the targets are the K symbols, to be
    emitted at steps T-K..T-1.
    """
    K = int(n_symbols)
    if K < 1 or T < 2 * K:
        raise ValueError(f"the copy task with {K} symbols needs T >= {2 * K}")
    sym = torch.randint(0, alphabet, (batch, K), generator=generator)
    ids = torch.full((batch, T), alphabet, dtype=torch.long)
    ids[:, :K] = sym
    ids[:, T - K:] = alphabet + 1
    x = torch.nn.functional.one_hot(ids, alphabet + 2).float()
    return x, sym


def task_baseline(task: str, alphabet: int = 8) -> float:
    """The loss of the trivial predictor: 1/6 for adding (predict 1), ln A for copy (uniform)."""
    return ADDING_BASELINE if task == "adding" else math.log(alphabet)


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------
class RecurrentNet(nn.Module):
    """One recurrent cell unrolled over time plus a linear read-out.

    ``forward(x)`` returns (outputs, hs): hs[t-1] = h_t, t = 1..T (tensors in the autograd graph),
    outputs = head(h_t) at the task's output steps (the last one for adding, the last K for copy).
    """

    def __init__(self, kind: str, input_size: int, hidden: int, output_size: int, n_outputs: int):
        super().__init__()
        if kind not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {kind!r}")
        self.kind = kind
        self.hidden = hidden
        self.n_outputs = n_outputs
        if kind == "rnn_tanh":
            self.cell = nn.RNNCell(input_size, hidden, nonlinearity="tanh")
        elif kind == "rnn_relu":
            self.cell = nn.RNNCell(input_size, hidden, nonlinearity="relu")
        elif kind == "lstm":
            self.cell = nn.LSTMCell(input_size, hidden)
        else:
            self.cell = nn.GRUCell(input_size, hidden)
        self.head = nn.Linear(hidden, output_size)

    @property
    def state_dim(self) -> int:
        return 2 * self.hidden if self.kind == "lstm" else self.hidden

    def initial_state(self, batch: int):
        dtype = self.head.weight.dtype
        h = torch.zeros(batch, self.hidden, dtype=dtype)
        return (h, torch.zeros(batch, self.hidden, dtype=dtype)) if self.kind == "lstm" else h

    def step(self, x_t: torch.Tensor, state):
        return self.cell(x_t, state)

    @staticmethod
    def h_of(state) -> torch.Tensor:
        return state[0] if isinstance(state, tuple) else state

    def forward(self, x: torch.Tensor):
        state = self.initial_state(x.shape[0])
        hs = []
        for t in range(x.shape[1]):
            state = self.step(x[:, t], state)
            hs.append(self.h_of(state))
        out = self.head(torch.stack(hs[-self.n_outputs:], dim=1))  # (B, n_outputs, output_size)
        return out, hs

    def states(self, x: torch.Tensor) -> list:
        """The states s_1..s_T of one forward pass (no grad)."""
        with torch.no_grad():
            state = self.initial_state(x.shape[0])
            out = []
            for t in range(x.shape[1]):
                state = self.step(x[:, t], state)
                out.append(state)
        return out


def init_model(model: RecurrentNet, init: str, gain: float, generator: torch.Generator,
               gated_init: str = "forget1", T: int = 100) -> None:
    """Deterministic initialisation from ``generator`` (thread-safe: no global RNG).

    Every weight and bias starts as in PyTorch, U(-1/sqrt(N), 1/sqrt(N)). For the plain RNNs
    W_hh is then replaced by the chosen init and the biases set to 0:
      gaussian:   W_hh_ij ~ N(0, g^2 / N)
      orthogonal: W_hh = g Q, Q Haar-orthogonal (QR of a Gaussian, sign-fixed; Saxe et al. 2014)
      identity:   W_hh = g I (Le et al. 2015, with ReLU: the IRNN)
    LSTM/GRU keep PyTorch's weights; their gate biases follow ``gated_init``:
      pytorch: unchanged;
      forget1: LSTM forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015), GRU unchanged;
      chrono:  Tallec & Ollivier 2018 (eq. 16): LSTM b_f ~ ln U[1, T-1], b_i = -b_f; GRU update-gate
               bias ~ ln U[1, T-1] (z near 1 keeps h), so memories start with time scales up to T.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if gated_init not in GATED_INITS:
        raise ValueError(f"gated init must be one of {GATED_INITS}, got {gated_init!r}")
    N = model.hidden
    bound = 1.0 / math.sqrt(N)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-bound, bound, generator=generator)
        if model.kind in ("rnn_tanh", "rnn_relu"):
            W = model.cell.weight_hh
            if init == "gaussian":
                W.copy_(torch.randn(N, N, generator=generator) * (gain / math.sqrt(N)))
            elif init == "orthogonal":
                Z = torch.randn(N, N, generator=generator, dtype=torch.float64)
                Q, R = torch.linalg.qr(Z)
                d = torch.sign(torch.diagonal(R))
                d[d == 0] = 1.0
                W.copy_((gain * Q * d[None, :]).float())
            else:
                W.copy_(gain * torch.eye(N))
            model.cell.bias_hh.zero_()
            model.cell.bias_ih.zero_()
        elif gated_init == "forget1" and model.kind == "lstm":
            model.cell.bias_ih[N:2 * N].fill_(1.0)
            model.cell.bias_hh[N:2 * N].zero_()
        elif gated_init == "chrono":
            u = 1.0 + torch.rand(N, generator=generator) * max(T - 2, 1)
            b = torch.log(u)
            model.cell.bias_hh.zero_()
            model.cell.bias_ih.zero_()
            model.cell.bias_ih[N:2 * N].copy_(b)  # LSTM forget gate (i, f, g, o) / GRU update gate (r, z, n)
            if model.kind == "lstm":
                model.cell.bias_ih[:N].copy_(-b)


# ---------------------------------------------------------------------------
# Configuration, memory estimate
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingConfig:
    """One training run (several models trained side by side on the same batches).

    ``init``/``gain`` apply to the plain RNNs' W_hh, ``gated_init`` to the LSTM/GRU gate biases
    (see :func:`init_model`). ``clip``: rescale the
    parameter gradient to norm ``clip_threshold`` when it is larger (Pascanu et al. 2013, alg. 1).
    ``time_budget_s``: stop after this much wall time (None: run all ``steps``).
    ``target_loss``: record the first evaluation step whose held-out loss is below it.
    ``spectrum_every_s``: recompute the "now" Jacobian spectrum at most this often while
    training, and no more often than keeps it under ~10 % of the time (None: only at the start
    and the end).
    """

    task: str = "adding"
    T: int = 100
    models: tuple[str, ...] = ("rnn_tanh", "lstm")
    hidden: int = 64
    batch: int = 64
    init: str = "gaussian"
    gain: float = 1.0
    gated_init: str = "forget1"
    clip: bool = True
    clip_threshold: float = 1.0
    lr: float = 1e-2
    optimizer: str = "adam"
    steps: int = 2000
    seed: int = 0
    eval_every: int = 25
    eval_batch: int = 512
    n_symbols: int = 5
    alphabet: int = 8
    time_budget_s: float | None = None
    target_loss: float | None = 0.01
    spectrum_every_s: float | None = 4.0


def _state_factor(kind: str) -> int:
    """Floats autograd saves per (sample, hidden unit, time step), measured order of magnitude."""
    return {"rnn_tanh": 4, "rnn_relu": 4, "lstm": 16, "gru": 14}[kind]


def estimate_memory_bytes(cfg: TrainingConfig) -> int:
    """Planned peak memory of :func:`train` in bytes (an upper estimate).

    Autograd keeps ~c B N floats per time step (c from :func:`_state_factor`, float32) for the
    model being back-propagated, plus the hidden-state gradients (B N T), the inputs, the
    held-out forward pass, the recorded history (steps x T float32 per model) and the Jacobian
    stack of the spectrum (T d^2 float64, ~3 copies, d = state dimension).
    """
    B, N, T = cfg.batch, cfg.hidden, cfg.T
    dim_in = 2 if cfg.task == "adding" else cfg.alphabet + 2
    f32, f64 = 4, 8
    act = max((_state_factor(k) + 1) * B * N * T * f32 for k in cfg.models) if cfg.models else 0
    data = (B + cfg.eval_batch) * T * dim_in * f32 + cfg.eval_batch * N * 4 * f32
    hist = len(cfg.models) * (cfg.steps * T * f32 + cfg.steps * 3 * f64)
    jac = max((3 * T * (2 * N if k == "lstm" else N) ** 2 * f64) for k in cfg.models) if cfg.models else 0
    return int(1.25 * (act + data + hist + jac)) + 50 * 1024**2


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        return None
    return None


def memory_limit(limit: int | None = None) -> int:
    """The allowed plan: ``limit`` (default 2 GiB), and at most half the memory available now."""
    lim = DEFAULT_MEMORY_LIMIT if limit is None else int(limit)
    avail = _available_memory()
    return min(lim, avail // 2) if avail else lim


def _fmt_bytes(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if b < 1024 or unit == "TiB":
            return f"{b:.3g} {unit}"
        b /= 1024
    return f"{b:.3g} TiB"  # pragma: no cover


def validate_config(cfg: TrainingConfig, *, memory_limit_bytes: int | None = None) -> None:
    """Raise ValueError (TrainingMemoryError for memory) with a message a user can act on."""
    if cfg.task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {cfg.task!r}")
    if not cfg.models:
        raise ValueError("choose at least one model to train")
    for k in cfg.models:
        if k not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {k!r}")
    if len(set(cfg.models)) != len(cfg.models):
        raise ValueError("each model may appear once")
    if cfg.init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {cfg.init!r}")
    if cfg.gated_init not in GATED_INITS:
        raise ValueError(f"gated init must be one of {GATED_INITS}, got {cfg.gated_init!r}")
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {cfg.optimizer!r}")
    if not (T_MIN <= cfg.T <= T_MAX):
        raise ValueError(f"sequence length T must be between {T_MIN} and {T_MAX}, got {cfg.T}")
    if cfg.task == "copy" and cfg.T < 2 * cfg.n_symbols:
        raise ValueError(f"the copy task with {cfg.n_symbols} symbols needs T >= {2 * cfg.n_symbols}")
    for name, v in (("hidden size", cfg.hidden), ("batch size", cfg.batch), ("steps", cfg.steps),
                    ("evaluation interval", cfg.eval_every), ("evaluation batch", cfg.eval_batch)):
        if int(v) < 1:
            raise ValueError(f"{name} must be at least 1, got {v}")
    for name, v in (("learning rate", cfg.lr), ("gain g", cfg.gain), ("clipping threshold", cfg.clip_threshold)):
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {v}")
    if cfg.lr == 0:
        raise ValueError("the learning rate must be > 0")
    if cfg.clip and cfg.clip_threshold <= 0:
        raise ValueError("the clipping threshold must be > 0")
    need = estimate_memory_bytes(cfg)
    lim = memory_limit(memory_limit_bytes)
    if need > lim:
        raise TrainingMemoryError(
            f"This run would need about {_fmt_bytes(need)} of memory (T = {cfg.T}, hidden size {cfg.hidden}, "
            f"batch {cfg.batch}, {len(cfg.models)} model(s), {cfg.steps} steps), more than the "
            f"{_fmt_bytes(lim)} a training job may use here. Lower T, the batch or the hidden size."
        )


# ---------------------------------------------------------------------------
# Recurrent Jacobian spectrum
# ---------------------------------------------------------------------------
@dataclass
class RecurrentSpectrum:
    """Spectrum of d s_T / d s_1 = J_{T-1} ... J_1 along one real input (natural logs).

    ``log_singular_values`` descending (from :func:`engine.gradients.jacobian_spectrum`);
    ``log_sigma_max_path[k]`` = ln sigma_max(d s_{k+1} / d s_1), k = 0..T-1 (power-iteration lower
    bound, exact at the end); ``log_product_bound_path[k]`` = sum_{t<=k} ln sigma_max(J_t);
    ``log_weight_bound_path[k]`` = k ln(gamma sigma_max(W_hh)) for the plain RNN (write-up 1.2.1),
    None for LSTM/GRU; ``step``: the training step the weights are from.
    """

    model: str
    step: int
    T: int
    state_dim: int
    log_singular_values: np.ndarray
    log_sigma_max_path: np.ndarray
    log_product_bound_path: np.ndarray
    log_weight_bound_path: np.ndarray | None
    sigma_max_W_hh: float | None
    method: str

    @property
    def log_sigma_max(self) -> float:
        return float(self.log_singular_values[0])

    @property
    def log_weight_bound(self) -> float | None:
        return None if self.log_weight_bound_path is None else float(self.log_weight_bound_path[-1])


def recurrent_jacobians(model: RecurrentNet, x: torch.Tensor) -> np.ndarray:
    """Stack (T-1, d, d), float64, of J_t = d s_{t+1} / d s_t along one sequence x (T, D).

    tanh RNN: J_t = diag(1 - h_{t+1}^2) W_hh; ReLU RNN: diag(1[W_ih x_{t+1} + W_hh h_t + b > 0]) W_hh;
    LSTM (s = (h, c), d = 2N) and GRU (s = h): reverse-mode autograd of the cell at (x_{t+1}, s_t),
    all steps and output components in one batched backward pass (the same numbers as
    ``torch.func.jacrev`` per step, without its start-up cost).
    """
    x = x.detach().to(model.head.weight.dtype)
    T = x.shape[0]
    states = model.states(x.unsqueeze(0))
    if model.kind in ("rnn_tanh", "rnn_relu"):
        W = model.cell.weight_hh.detach().double()
        H = torch.stack([s[0] for s in states]).double()  # (T, N): H[t-1] = h_t
        if model.kind == "rnn_tanh":
            D = 1.0 - H[1:] ** 2
        else:
            D = (H[1:] > 0).double()
        return (D[:, :, None] * W[None]).numpy()
    N = model.hidden
    d = model.state_dim
    n = T - 1
    if n <= 0:
        return np.zeros((0, d, d))
    # All T-1 Jacobians in one batched forward/backward: row (t, i) of the batch is a copy of
    # s_t; back-propagating the sum over rows of output component i of row (t, i) gives
    # row i of J_t in that row's input gradient (rows do not interact).
    if model.kind == "lstm":
        S = torch.stack([torch.cat([h[0], c[0]]) for h, c in states])
    else:
        S = torch.stack([s[0] for s in states])
    S_rep = S[:-1].detach().unsqueeze(1).expand(n, d, d).reshape(n * d, d).clone().requires_grad_(True)
    X_rep = x[1:].unsqueeze(1).expand(n, d, x.shape[1]).reshape(n * d, x.shape[1])
    with torch.enable_grad():
        if model.kind == "lstm":
            h, c = model.cell(X_rep, (S_rep[:, :N], S_rep[:, N:]))
            out = torch.cat([h, c], dim=1)
        else:
            out = model.cell(X_rep, S_rep)
        pick = torch.arange(d).repeat(n)
        (g,) = torch.autograd.grad(out[torch.arange(n * d), pick].sum(), S_rep)
    return g.reshape(n, d, d).detach().double().numpy()


def recurrent_spectrum(model: RecurrentNet, x: torch.Tensor, step: int = 0) -> RecurrentSpectrum:
    """Log singular values of d s_T / d s_1 along the input x (T, D), via engine.gradients."""
    J = recurrent_jacobians(model, x)
    if not np.all(np.isfinite(J)):
        raise ValueError("the weights or states are no longer finite, so the Jacobian is undefined")
    T = x.shape[0]
    d = J.shape[1] if J.ndim == 3 and J.shape[0] else model.state_dim
    steps = J.shape[0]
    # rank-deficient products (ReLU units off) make the engine compare -inf with -inf; it
    # filters those itself, so the floating-point warnings are silenced here
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        spec = gradients.jacobian_spectrum(J if steps else np.eye(d)[None], np.zeros(d), steps, "linear",
                                           track_sigma_max=True)
    weight_path, smax = None, None
    if model.kind in ("rnn_tanh", "rnn_relu"):
        W = model.cell.weight_hh.detach().double().numpy()
        smax = gradients.sigma_max(W)
        act = "tanh" if model.kind == "rnn_tanh" else "relu"
        weight_path = np.array([gradients.log_sigma_max_bound(W, k, act) for k in range(steps + 1)])
    method = ("diag(phi'(pre_{t+1})) W_hh" if model.kind in ("rnn_tanh", "rnn_relu")
              else "autograd of the cell (batched over t)")
    return RecurrentSpectrum(
        model=model.kind, step=int(step), T=T, state_dim=d,
        log_singular_values=spec.log_singular_values,
        log_sigma_max_path=spec.log_sigma_max_path,
        log_product_bound_path=spec.log_bound_path,
        log_weight_bound_path=weight_path,
        sigma_max_W_hh=smax,
        method=method + " -> engine.gradients.jacobian_spectrum (blocked QR, log space)",
    )


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------
@dataclass
class ModelHistory:
    """What one model recorded. Index convention: row i of ``grad_h`` is training step
    ``grad_h_steps[i]`` (1-based); column t-1 is ||dL/dh_t||, t = 1..T (NaN/0 where it underflowed
    float32). ``loss[i]`` is the training loss of step i+1 on its fresh batch; ``eval_steps`` /
    ``eval_loss`` the held-out loss (a fixed batch) at those steps (step 0 = at initialisation);
    ``eval_seconds`` the wall time and ``eval_cpu_seconds`` the CPU time of the training thread
    (``time.thread_time``, insensitive to other processes' load) since training began.
    ``status``: "training", "done", "diverged" (loss or gradient not finite), "stopped".
    """

    model: str
    loss: np.ndarray
    grad_norm: np.ndarray
    clipped: np.ndarray
    grad_h: np.ndarray
    grad_h_steps: np.ndarray
    eval_steps: np.ndarray
    eval_loss: np.ndarray
    eval_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    eval_cpu_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    status: str = "training"
    message: str = ""
    steps_to_target: int | None = None
    seconds_to_target: float | None = None
    spectrum_init: RecurrentSpectrum | None = None
    spectrum_now: RecurrentSpectrum | None = None

    @property
    def steps_done(self) -> int:
        return len(self.loss)

    @property
    def clip_rate(self) -> float:
        return float(np.mean(self.clipped)) if len(self.clipped) else float("nan")

    @property
    def final_eval_loss(self) -> float:
        return float(self.eval_loss[-1]) if len(self.eval_loss) else float("nan")

    @property
    def current_profile(self) -> np.ndarray:
        """||dL/dh_t||, t = 1..T, at the latest recorded step (empty before the first)."""
        return self.grad_h[-1] if len(self.grad_h) else np.zeros(0)


@dataclass
class TrainingResult:
    """A training run: its config, one :class:`ModelHistory` per model, the baseline loss
    (1/6 for adding, ln A for copy), wall time, steps run and why training ended
    (``reason`` in {"finished", "time budget", "stopped", "all diverged", "running"})."""

    config: TrainingConfig
    histories: dict[str, ModelHistory]
    baseline: float
    loss_name: str
    wall_s: float
    steps_run: int
    reason: str
    messages: list[str] = field(default_factory=list)


class _Recorder:
    """Mutable per-model buffers behind a ModelHistory."""

    def __init__(self, kind: str, steps: int, T: int):
        self.kind = kind
        self.loss = np.empty(steps)
        self.gnorm = np.empty(steps)
        self.clipped = np.zeros(steps, dtype=bool)
        self.grad_h = np.empty((steps, T), dtype=np.float32)
        self.n = 0
        self.eval_steps: list[int] = []
        self.eval_loss: list[float] = []
        self.eval_seconds: list[float] = []
        self.eval_cpu: list[float] = []
        self.status = "training"
        self.message = ""
        self.steps_to_target: int | None = None
        self.seconds_to_target: float | None = None
        self.spectrum_init: RecurrentSpectrum | None = None
        self.spectrum_now: RecurrentSpectrum | None = None

    def history(self, max_rows: int | None = None) -> ModelHistory:
        n = self.n
        if max_rows is not None and n > max_rows:
            rows = np.unique(np.linspace(0, n - 1, max_rows).round().astype(int))
        else:
            rows = np.arange(n)
        return ModelHistory(
            model=self.kind, loss=self.loss[:n].copy(), grad_norm=self.gnorm[:n].copy(),
            clipped=self.clipped[:n].copy(), grad_h=self.grad_h[rows].copy(), grad_h_steps=rows + 1,
            eval_steps=np.array(self.eval_steps, dtype=int), eval_loss=np.array(self.eval_loss),
            eval_seconds=np.array(self.eval_seconds), eval_cpu_seconds=np.array(self.eval_cpu),
            status=self.status, message=self.message, steps_to_target=self.steps_to_target,
            seconds_to_target=self.seconds_to_target,
            spectrum_init=self.spectrum_init, spectrum_now=self.spectrum_now,
        )


def _make_batch(cfg: TrainingConfig, batch: int, gen: torch.Generator):
    if cfg.task == "adding":
        return adding_batch(batch, cfg.T, gen)
    return copy_batch(batch, cfg.T, gen, cfg.n_symbols, cfg.alphabet)


def _loss(cfg: TrainingConfig, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if cfg.task == "adding":
        return torch.mean((out[:, -1, :] - y) ** 2)
    return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def build_model(cfg: TrainingConfig, kind: str, index: int = 0) -> RecurrentNet:
    """The model ``kind`` for ``cfg``, initialised from seed (cfg.seed, index)."""
    if cfg.task == "adding":
        model = RecurrentNet(kind, 2, cfg.hidden, 1, 1)
    else:
        model = RecurrentNet(kind, cfg.alphabet + 2, cfg.hidden, cfg.alphabet, cfg.n_symbols)
    gen = torch.Generator().manual_seed(int(cfg.seed) * 1000 + 17 + MODELS.index(kind))
    init_model(model, cfg.init, cfg.gain, gen, cfg.gated_init, cfg.T)
    return model


def _optimizer(cfg: TrainingConfig, model: nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=cfg.lr)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr)


def hidden_gradient_norms(model: RecurrentNet, cfg: TrainingConfig, x: torch.Tensor, y: torch.Tensor):
    """One forward/backward pass: (loss, ||dL/dh_t|| for t = 1..T as float64 array, param grads).

    dL/dh_t is the total derivative of the batch-mean loss with respect to the tensor h_t,
    obtained with one ``torch.autograd.grad`` call over the parameters and all h_t together.
    """
    out, hs = model(x)
    loss = _loss(cfg, out, y)
    params = list(model.parameters())
    grads = torch.autograd.grad(loss, params + hs)
    gh = torch.stack([g.detach().double().pow(2).sum() for g in grads[len(params):]]).sqrt()
    return loss.detach(), gh.numpy(), grads[: len(params)]


def train(
    cfg: TrainingConfig,
    *,
    progress: Callable[..., None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    report_every_s: float = 0.5,
    memory_limit_bytes: int | None = None,
) -> TrainingResult:
    """Train ``cfg.models`` side by side on the same batches and record gradients through time.

    Each step draws a fresh batch (seeded), and for each model still training: forward, one
    backward pass giving the parameter gradient and ||dL/dh_t|| for all t, the parameter
    gradient norm (clipped to ``clip_threshold`` when ``clip``), an optimiser step. A loss or
    gradient that is not finite marks the model "diverged" (its recorded history is kept and it
    takes no more steps). ``should_stop()`` is called every step; when True training ends with
    reason "stopped". ``progress(fraction, message, result=<TrainingResult snapshot>)`` is called
    at most every ``report_every_s`` seconds and once at the end.
    Raises ValueError / TrainingMemoryError for a bad configuration, before any training.
    """
    validate_config(cfg, memory_limit_bytes=memory_limit_bytes)
    t0 = time.perf_counter()
    c0 = time.thread_time()
    data_gen = torch.Generator().manual_seed(int(cfg.seed) * 7919 + 1)
    eval_gen = torch.Generator().manual_seed(int(cfg.seed) * 7919 + 2)
    x_eval, y_eval = _make_batch(cfg, cfg.eval_batch, eval_gen)
    probe = x_eval[0]
    models = {k: build_model(cfg, k, i) for i, k in enumerate(cfg.models)}
    opts = {k: _optimizer(cfg, m) for k, m in models.items()}
    recs = {k: _Recorder(k, cfg.steps, cfg.T) for k in cfg.models}
    baseline = task_baseline(cfg.task, cfg.alphabet)
    loss_name = "MSE" if cfg.task == "adding" else "cross-entropy (nats)"
    messages: list[str] = []

    def evaluate(k: str, step: int) -> None:
        with torch.no_grad():
            out, _ = models[k](x_eval)
            v = float(_loss(cfg, out, y_eval))
        r = recs[k]
        r.eval_steps.append(step)
        r.eval_loss.append(v)
        r.eval_seconds.append(time.perf_counter() - t0)
        r.eval_cpu.append(time.thread_time() - c0)
        if (cfg.target_loss is not None and r.steps_to_target is None and math.isfinite(v)
                and v < cfg.target_loss):
            r.steps_to_target = step
            r.seconds_to_target = time.perf_counter() - t0

    def spectra(step: int, initial: bool = False) -> None:
        for k, m in models.items():
            r = recs[k]
            if r.status == "diverged" and not initial:
                continue
            try:
                s = recurrent_spectrum(m, probe, step)
            except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
                messages.append(f"{MODEL_LABELS[k]}: Jacobian spectrum not computed at step {step} ({exc}).")
                continue
            if initial:
                r.spectrum_init = s
            r.spectrum_now = s

    def snapshot(step: int, reason: str, rows: int | None = SNAPSHOT_ROWS) -> TrainingResult:
        return TrainingResult(cfg, {k: r.history(rows) for k, r in recs.items()}, baseline, loss_name,
                              time.perf_counter() - t0, step, reason, list(messages))

    if progress is not None:
        progress(0.0, "initialising the models and their Jacobian spectra", result=snapshot(0, "running"))
    for k in cfg.models:
        evaluate(k, 0)
    spectra(0, initial=True)
    last_report = -math.inf
    last_spec = time.perf_counter()
    spec_wait = cfg.spectrum_every_s or 0.0
    reason = "finished"
    step = 0
    if progress is not None:
        progress(0.0, "starting", result=snapshot(0, "running"))
    for step in range(1, cfg.steps + 1):
        if should_stop is not None and should_stop():
            reason, step = "stopped", step - 1
            break
        if cfg.time_budget_s is not None and time.perf_counter() - t0 > cfg.time_budget_s:
            reason, step = "time budget", step - 1
            break
        x, y = _make_batch(cfg, cfg.batch, data_gen)
        for k, m in models.items():
            r = recs[k]
            if r.status != "training":
                continue
            loss, gh, grads = hidden_gradient_norms(m, cfg, x, y)
            lv = float(loss)
            gnorm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))
            if not (math.isfinite(lv) and math.isfinite(gnorm)):
                r.status = "diverged"
                what = "loss" if not math.isfinite(lv) else "gradient norm"
                r.message = (f"{MODEL_LABELS[k]}: the {what} became {'NaN' if math.isnan(lv if what == 'loss' else gnorm) else 'infinite'} "
                             f"at step {step}; training of this model stopped there (learning rate {cfg.lr:g} "
                             f"too large{'' if cfg.clip else ', or clipping off'}). The {r.n} steps recorded "
                             "before are kept.")
                messages.append(r.message)
                continue
            for p, g in zip(m.parameters(), grads):
                p.grad = g
            fired = False
            if cfg.clip and gnorm > cfg.clip_threshold:
                # Pascanu et al. 2013, alg. 1: g <- threshold * g / ||g||
                scale = cfg.clip_threshold / gnorm
                for p in m.parameters():
                    p.grad.mul_(scale)
                fired = True
            opts[k].step()
            i = r.n
            r.loss[i] = lv
            r.gnorm[i] = gnorm
            r.clipped[i] = fired
            r.grad_h[i] = gh
            r.n += 1
            if step % cfg.eval_every == 0 or step == cfg.steps:
                evaluate(k, step)
        if all(r.status != "training" for r in recs.values()):
            reason = "all diverged"
            break
        now = time.perf_counter()
        if cfg.spectrum_every_s is not None and now - last_spec > spec_wait:
            spectra(step)
            last_spec = time.perf_counter()
            # keep the live spectrum under ~10 % of the training time
            spec_wait = max(cfg.spectrum_every_s, 10.0 * (last_spec - now))
        if progress is not None and now - last_report >= report_every_s:
            frac = step / cfg.steps
            if cfg.time_budget_s:
                frac = max(frac, min(1.0, (now - t0) / cfg.time_budget_s))
            progress(frac, f"step {step} of {cfg.steps}", result=snapshot(step, "running"))
            last_report = time.perf_counter()
    for k, r in recs.items():
        if r.status == "training":
            r.status = "stopped" if reason == "stopped" else "done"
            if not r.eval_steps or r.eval_steps[-1] != r.n:
                evaluate(k, r.n)
    spectra(step)
    if reason == "stopped":
        messages.append(f"Training stopped at step {step}; everything recorded so far is kept.")
    elif reason == "time budget":
        messages.append(f"Time budget of {cfg.time_budget_s:g} s reached at step {step}.")
    final = snapshot(step, reason, rows=None)
    if progress is not None:
        progress(1.0, f"{reason} after {step} steps", result=snapshot(step, reason))
    return final


def with_changes(cfg: TrainingConfig, **changes) -> TrainingConfig:
    """A copy of ``cfg`` with fields replaced (``dataclasses.replace``)."""
    return replace(cfg, **changes)


def models_tuple(models: Sequence[str]) -> tuple[str, ...]:
    """Models in canonical order (rnn_tanh, rnn_relu, lstm, gru)."""
    return tuple(k for k in MODELS if k in set(models))
