"""IsoFLOP sweeps of the decoder-only Pig Latin model, on a local process pool or on Ray.

Write-up section 2.3: a sweep trains one model per (FLOP budget C, hidden size h). The
compute of a run is counted as (Kaplan et al. 2020, eq. 2.1)::

    C = 6 N D,     N = non-embedding parameters,  D = training tokens,

so a budget C buys a model of N parameters ``D = C / (6 N)`` tokens, passed to the
trainer as ``max_tokens``; training stops there. Each run records its achieved
``6 N D_seen`` (which never equals C exactly, hence budget clustering in
:func:`engine.scaling.fit_isoflop`) and its validation loss, in the run-table form every
data source of the scaling page uses (``flops, params, tokens, loss``).

Backends
--------
``"local"`` (default): a ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn``
start method (safe under Streamlit's threads and torch). ``"ray"``: Ray tasks from a
separate driver process (``address`` "local": a local instance; "auto": a running cluster;
"host:port": that cluster after a 3 s TCP probe), so a failing cluster can only end the
sweep with a message. ``"serial"``: in this process (tests, debugging). Every backend can
be stopped (``should_stop``) and hands its processes to the caller to kill (issue 17).

The default trainer is :func:`train_nmt`, which calls ``engine.nmt.train`` with
``TrainConfig(arch="decoder", ...)``. Any picklable callable ``train_fn(job) -> dict``
with keys ``val_loss``, ``params`` and ``tokens`` can be injected instead.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from engine.scaling import CurveTable, ParametricLaw, RunTable, curves_from_frame, flops_6nd


@dataclass(frozen=True)
class SweepJob:
    """One run of a sweep: a budget, a hidden size and the token limit that spends it."""

    budget: float  # target FLOPs C
    hidden_size: int
    num_layers: int
    params: int  # non-embedding parameters N of this configuration
    max_tokens: int  # D = C / (6 N), rounded down
    seed: int = 0
    dataset: str | None = None
    extra: tuple = ()  # further TrainConfig keyword arguments as (name, value) pairs


@dataclass
class SweepRun:
    """The outcome of one job (``error`` is set, and loss is NaN, if training failed)."""

    budget: float
    hidden_size: int
    num_layers: int
    params: float
    tokens: float
    flops: float  # achieved 6 N D_seen
    val_loss: float
    seconds: float
    error: str = ""
    # loss curve of the run: ((tokens_seen, val_loss), ...) at each evaluation, in order
    # (Approach 1 reads its lower envelope over FLOPs 6 N tokens_seen)
    curve: tuple = ()


@dataclass
class SweepResult:
    runs: list[SweepRun]
    backend: str
    seconds: float
    skipped: list[str] = field(default_factory=list)  # (budget, size) pairs too small to train
    stopped: str = ""  # non-empty when the sweep was stopped before every job ran

    def as_frame(self):
        """One row per run (without the curves; see :meth:`curves_frame`)."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in asdict(r).items() if k != "curve"} for r in self.runs])

    def curves_frame(self):
        """Loss curves in long form: run (index into :attr:`runs`), tokens, flops = 6 N tokens, loss."""
        import pandas as pd

        rows = [{"run": i, "budget": r.budget, "hidden_size": r.hidden_size, "params": r.params,
                 "tokens": float(t), "flops": 6.0 * r.params * float(t), "loss": float(v)}
                for i, r in enumerate(self.runs) for t, v in r.curve]
        return pd.DataFrame(rows, columns=["run", "budget", "hidden_size", "params", "tokens", "flops", "loss"])

    def to_curves(self) -> CurveTable:
        """Loss curves of the successful runs as an :class:`engine.scaling.CurveTable`."""
        return curves_from_frame(self.curves_frame())

    def to_runs(self) -> RunTable:
        """Successful runs as a :class:`engine.scaling.RunTable` (flops, params, loss, tokens)."""
        ok = [r for r in self.runs if not r.error and math.isfinite(r.val_loss)]
        return RunTable(
            np.array([r.flops for r in ok]),
            np.array([r.params for r in ok]),
            np.array([r.val_loss for r in ok]),
            np.array([r.tokens for r in ok]),
            f"sweep ({self.backend})",
        )


# ---------------------------------------------------------------------------
# The default trainer: engine.nmt's decoder-only Pig Latin model
# ---------------------------------------------------------------------------
# An IsoFLOP run must stop at its token budget, not earlier: no epoch cap, no early
# stopping; skip the greedy-decoding accuracy pass (not part of the loss). A job's
# ``extra`` overrides these.
NMT_SWEEP_DEFAULTS: dict[str, Any] = {"epochs": 100_000, "patience": 1_000_000, "eval_accuracy": False,
                                       "evals_per_epoch": 4}


def _nmt_config(job: SweepJob, max_tokens: int | None = None):
    from engine.nmt import TrainConfig

    kwargs: dict[str, Any] = dict(arch="decoder", hidden_size=job.hidden_size, num_layers=job.num_layers,
                                  seed=job.seed, max_tokens=max_tokens if max_tokens is not None else job.max_tokens)
    kwargs.update(NMT_SWEEP_DEFAULTS)
    if job.dataset is not None:
        kwargs["dataset"] = job.dataset
    kwargs.update(dict(job.extra))
    return TrainConfig(**kwargs)


def nmt_available() -> bool:
    """Whether engine.nmt (the Pig Latin models) can be imported with the interface used here."""
    try:
        from engine.nmt import TrainConfig, non_embedding_params, train  # noqa: F401
    except Exception:
        return False
    return True


def nmt_params(hidden_size: int, num_layers: int, dataset: str | None = None, extra: tuple = ()) -> int:
    """Non-embedding parameter count N of the decoder-only model (engine.nmt)."""
    from engine.nmt import non_embedding_params

    job = SweepJob(0.0, hidden_size, num_layers, 0, 1, 0, dataset, extra)
    return int(non_embedding_params(_nmt_config(job)))


def train_nmt(job: SweepJob) -> dict:
    """Train engine.nmt's decoder-only model for ``job.max_tokens`` tokens (one CPU thread).

    The loss curve (validation loss at each evaluation, ``evals_per_epoch`` per epoch and
    at the end) is collected through engine.nmt's ``progress`` callback.
    """
    import torch

    from engine.nmt import train

    torch.set_num_threads(1)
    curve: list[tuple[float, float]] = []

    def on_progress(rec: dict) -> None:
        if rec.get("val_loss") is not None:
            curve.append((float(rec["tokens_seen"]), float(rec["val_loss"])))

    res = train(_nmt_config(job), progress=on_progress)
    return {"val_loss": float(res.val_loss), "params": float(res.n_params_non_embedding),
            "tokens": float(res.tokens_seen), "curve": tuple(curve)}


# ---------------------------------------------------------------------------
# A stand-in trainer from a parametric law (for demos of the machinery without torch)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LawTrainer:
    """``train_fn`` that returns L(N, D) of a parametric law plus Gaussian noise.

    Not a model: it lets the sweep machinery (pools, Ray, progress, fitting) be shown or
    tested in milliseconds; the noise is seeded per job so results are reproducible.
    """

    law: ParametricLaw
    noise: float = 0.0

    def __call__(self, job: SweepJob) -> dict:
        rng = np.random.default_rng([job.seed, job.hidden_size, int(math.log10(job.budget) * 1000)])
        loss = float(self.law.loss(job.params, job.max_tokens)) + self.noise * float(rng.standard_normal())
        # a curve of 8 evaluations at D/8, 2D/8, ..., D (the law's L(N, D_t), same noise draw scaled)
        ts = job.max_tokens * np.arange(1, 9) / 8.0
        ls = self.law.loss(job.params, ts) + self.noise * rng.standard_normal(ts.size)
        curve = tuple((float(t), float(v)) for t, v in zip(ts, ls))
        return {"val_loss": loss, "params": float(job.params), "tokens": float(job.max_tokens), "curve": curve}


def transformer_params(hidden_size: int, num_layers: int) -> int:
    """N ~= 12 L h^2 (Kaplan et al. 2020, Table 1: attention 4 h^2 + MLP 8 h^2 per layer)."""
    return 12 * num_layers * hidden_size**2


# ---------------------------------------------------------------------------
# Planning and running
# ---------------------------------------------------------------------------
def plan_sweep(
    budgets: Sequence[float],
    hidden_sizes: Sequence[int],
    *,
    num_layers: int = 2,
    seed: int = 0,
    dataset: str | None = None,
    extra: dict | None = None,
    count_params: Callable[[int, int], int] | None = None,
    min_tokens: int = 1,
) -> tuple[list[SweepJob], list[str]]:
    """One job per (budget, hidden size): max_tokens = floor(C / (6 N)).

    ``count_params(hidden_size, num_layers)`` gives N (default: engine.nmt's
    ``non_embedding_params``). Pairs whose budget buys fewer than ``min_tokens`` tokens are
    skipped and named in the second return value.
    """
    extra_t = tuple(sorted((extra or {}).items()))
    if count_params is None:
        def count_params(h, nl):
            return nmt_params(h, nl, dataset, extra_t)
    jobs, skipped = [], []
    for c in budgets:
        for h in hidden_sizes:
            n = int(count_params(int(h), num_layers))
            d = int(float(c) // (6 * n)) if n > 0 else 0
            if d < min_tokens:
                skipped.append(f"C = {float(c):.3g}, hidden {h}: N = {n} leaves {d} tokens (< {min_tokens})")
                continue
            jobs.append(SweepJob(float(c), int(h), num_layers, n, d, seed, dataset, extra_t))
    return jobs, skipped


def plan_isoflop(
    budgets: Sequence[float],
    hidden_sizes: Sequence[int],
    *,
    per_budget: int = 5,
    centre: Callable[[float], float] | None = None,
    num_layers: int = 2,
    seed: int = 0,
    dataset: str | None = None,
    extra: dict | None = None,
    count_params: Callable[[int, int], int] | None = None,
    min_tokens: int = 1,
) -> tuple[list[SweepJob], list[str]]:
    """Like :func:`plan_sweep`, but each budget trains only the ``per_budget`` sizes closest
    (in log N) to a guess of its optimum ``centre(C)`` (N), so every budget's sizes straddle
    its optimum and small budgets do not pay for huge token counts of tiny models. Without
    ``centre``, all sizes are used (the cross product)."""
    jobs, skipped = plan_sweep(budgets, hidden_sizes, num_layers=num_layers, seed=seed, dataset=dataset, extra=extra,
                               count_params=count_params, min_tokens=min_tokens)
    if centre is None:
        return jobs, skipped
    out: list[SweepJob] = []
    for c in sorted({j.budget for j in jobs}):
        row = [j for j in jobs if j.budget == c]
        target = math.log10(max(float(centre(c)), 1.0))
        row.sort(key=lambda j: abs(math.log10(j.params) - target))
        out.extend(sorted(row[:per_budget], key=lambda j: j.params))
    return out, skipped


def run_job(train_fn: Callable[[SweepJob], dict], job: SweepJob) -> SweepRun:
    """Run one job and turn its outcome (or its exception) into a :class:`SweepRun`."""
    t0 = time.perf_counter()
    try:
        out = train_fn(job)
        n, d = float(out["params"]), float(out["tokens"])
        return SweepRun(job.budget, job.hidden_size, job.num_layers, n, d, float(flops_6nd(n, d)),
                        float(out["val_loss"]), time.perf_counter() - t0, "", tuple(out.get("curve", ())))
    except Exception as exc:  # a failed run is reported, not fatal for the sweep
        return SweepRun(job.budget, job.hidden_size, job.num_layers, float(job.params), math.nan, math.nan,
                        math.nan, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")


ProgressFn = Callable[[int, int, SweepRun], None]
RAY_PROBE_TIMEOUT_S = 3.0  # TCP probe of a host:port Ray address before anything else
RAY_CONNECT_TIMEOUT_S = 45.0  # the driver process must report ray.init done within this


class RayUnavailable(ConnectionError):
    """The Ray backend could not start or reach its cluster (the message says why)."""


def _probe_address(address: str, timeout: float = RAY_PROBE_TIMEOUT_S) -> None:
    """Fail fast on a host:port that accepts no TCP connection (``127.0.0.1:1`` used to block
    the session for more than 300 s inside ray.init)."""
    import socket

    text = address.removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise RayUnavailable(f"Ray address {address!r} is not host:port, 'auto' or 'local'.")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise RayUnavailable(f"No Ray cluster answers at {address} ({type(exc).__name__}: {exc}); "
                             "check the operator setting GSL_RAY_ADDRESS.") from exc


def _ray_driver(jobs, address, num_cpus, train_fn, out, initializer=None) -> None:
    """Body of the Ray driver process: ray.init, run the jobs as tasks, send each result.

    Runs in its own (spawned) process, so a cluster that fails (Ray's "Failed to connect to
    GCS within 60 seconds" exits the whole process) takes only this process down, never the
    server. Messages on ``out``: ("connected", info), ("run", index, SweepRun), ("error", text),
    ("done", None).
    """
    try:
        if initializer is not None:
            initializer()
        import ray

        kwargs = dict(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        if address in (None, "", "local"):
            ray.init(num_cpus=num_cpus, **kwargs)
        else:
            ray.init(address=address, **kwargs)
        out.put(("connected", str(ray.cluster_resources().get("CPU", ""))))
        remote_job = ray.remote(num_cpus=1)(run_job)
        refs = {remote_job.remote(train_fn, job): i for i, job in enumerate(jobs)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                out.put(("run", refs[ref], ray.get(ref)))
        out.put(("done", None))
        ray.shutdown()
    except BaseException as exc:  # report, then exit: the parent turns it into a message
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def run_sweep(
    jobs: Sequence[SweepJob],
    *,
    backend: str = "local",
    address: str | None = None,
    max_workers: int | None = None,
    train_fn: Callable[[SweepJob], dict] | None = None,
    progress: ProgressFn | None = None,
    skipped: Sequence[str] = (),
    should_stop: Callable[[], bool] | None = None,
    on_pool: Callable[[Any], None] | None = None,
    on_process: Callable[[Any], None] | None = None,
    initializer: Callable[[], None] | None = None,
    connect_timeout_s: float = RAY_CONNECT_TIMEOUT_S,
    poll_s: float = 0.25,
) -> SweepResult:
    """Run ``jobs`` and collect a :class:`SweepResult` (runs in job order).

    ``backend``: "local" (process pool of ``max_workers``, default min(2, CPUs)),
    "ray" (see below) or "serial". ``progress(done, total, run)`` is called as each run
    finishes (results stream: the caller can plot them at once).

    Stopping: ``should_stop()`` is polled every ``poll_s`` seconds (and between serial
    jobs); when it turns True, pending jobs are cancelled, worker processes are killed and
    the finished runs are returned with ``stopped`` set. ``on_pool(executor)`` and
    ``on_process(process)`` hand the pool / the Ray driver process to the caller as soon
    as they exist (e.g. ``JobContext.track_executor`` / ``track_process``, so Cancel, a
    closed session or server shutdown kill them); ``initializer`` runs in each pool worker
    (e.g. ``dashboard.runtime.worker_initializer``: die with the server).

    Ray: a separate driver process calls ``ray.init`` (``address`` "local" or None: a local
    instance with ``max_workers`` CPUs; "auto": the running cluster; "host:port": that
    cluster, probed over TCP first with a 3 s timeout) and runs one task per job; the driver
    must connect within ``connect_timeout_s``. Any failure of the cluster ends the sweep with
    :class:`RayUnavailable` (a message), never the calling process.
    """
    train_fn = train_nmt if train_fn is None else train_fn
    total = len(jobs)
    results: list[SweepRun | None] = [None] * total
    t0 = time.perf_counter()
    stop = should_stop or (lambda: False)
    stopped = ""
    count = 0

    def _done(i: int, run: SweepRun) -> None:
        nonlocal count
        count += 1
        results[i] = run
        if progress is not None:
            progress(count, total, run)

    if backend == "serial":
        for i, job in enumerate(jobs):
            if stop():
                stopped = "stopped"
                break
            _done(i, run_job(train_fn, job))
    elif backend == "local":
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, wait

        workers = max_workers or min(2, os.cpu_count() or 1)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=initializer)
        if on_pool is not None:
            on_pool(pool)
        try:
            futures = {pool.submit(run_job, train_fn, job): i for i, job in enumerate(jobs)}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=poll_s, return_when=FIRST_COMPLETED)
                for fut in done:
                    if not fut.cancelled():
                        _done(futures[fut], fut.result())
                if pending and stop():
                    stopped = "stopped"
                    break
        finally:
            if stopped:
                _kill_pool(pool)
            else:
                pool.shutdown(wait=True)
    elif backend == "ray":
        stopped = _run_ray(jobs, address, max_workers, train_fn, stop, on_process, connect_timeout_s, poll_s, _done,
                           initializer)
    else:
        raise ValueError(f"unknown backend {backend!r} (use 'local', 'ray' or 'serial')")
    res = SweepResult([r for r in results if r is not None], backend, time.perf_counter() - t0, list(skipped))
    res.stopped = stopped
    return res


def _kill_pool(pool) -> None:
    """Cancel what has not started and terminate the workers (a run in progress is lost)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    try:
        pool.shutdown(wait=False, cancel_futures=True)
    except Exception:  # pragma: no cover - best effort
        pass
    for p in procs:
        try:
            p.terminate()
        except Exception:  # pragma: no cover
            pass
    for p in procs:
        try:
            p.join(timeout=2)
            if p.is_alive():
                p.kill()
        except Exception:  # pragma: no cover
            pass


def _run_ray(jobs, address, max_workers, train_fn, stop, on_process, connect_timeout_s, poll_s, done_fn,
             initializer=None) -> str:
    import multiprocessing as mp
    import queue as queue_mod

    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise RayUnavailable("Ray is not installed on this server.") from exc
    addr = (address or "local").strip()
    if addr not in ("local", "auto"):
        _probe_address(addr)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_ray_driver, args=(list(jobs), addr, max_workers or min(2, os.cpu_count() or 1),
                                                 train_fn, out, initializer), daemon=True)
    proc.start()
    if on_process is not None:
        on_process(proc)
    connected, t_start, stopped = False, time.monotonic(), ""
    try:
        while True:
            if stop():
                return "stopped"
            try:
                msg = out.get(timeout=poll_s)
            except queue_mod.Empty:
                if not proc.is_alive():
                    raise RayUnavailable(f"The Ray driver exited (code {proc.exitcode}) before the sweep finished; "
                                         f"Ray at {addr!r} failed.") from None
                if not connected and time.monotonic() - t_start > connect_timeout_s:
                    raise RayUnavailable(
                        f"Ray at {addr!r} did not start or connect within {connect_timeout_s:.0f} s.") from None
                continue
            kind = msg[0]
            if kind == "connected":
                connected = True
            elif kind == "run":
                done_fn(msg[1], msg[2])
            elif kind == "error":
                raise RayUnavailable(f"Ray at {addr!r} failed: {msg[1]}")
            elif kind == "done":
                return stopped
    finally:
        if proc.is_alive():
            _kill_tree(proc.pid)
            proc.join(timeout=3)


def _kill_tree(pid: int) -> None:
    """SIGTERM then SIGKILL a process and its descendants (a local Ray starts several)."""
    import signal

    def children(p):
        try:
            with open(f"/proc/{p}/task/{p}/children") as fh:
                return [int(c) for c in fh.read().split()]
        except OSError:
            return []

    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children(p))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in reversed(tree):
            try:
                os.kill(p, sig)
            except OSError:
                pass
        time.sleep(0.5)
