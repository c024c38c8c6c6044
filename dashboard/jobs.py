"""One server-wide queue for heavy work (training, sweeps): admitted, capped, cancellable.

Usage in a page::

    from dashboard import jobs

    def train(ctx: jobs.JobContext):              # runs in a worker thread, not in the script run
        for step in range(n_steps):
            ctx.check()                           # raises jobs.Cancelled on Cancel/cap/session end
            loss = one_step()
            ctx.report((step + 1) / n_steps, f"step {step + 1}", losses=history)
        return model_state

    if st.button("Train"):
        st.session_state["nmt_job"] = jobs.submit(kind="nmt-train", label="Train h=64", fn=train,
                                                  cap_s=300, size="2 layers, h=64, 20 epochs")
    jobs.progress_panel("nmt_job", render_live=lambda s: plot(s.data.get("losses")),
                        on_done=lambda s: st.session_state.update(model=s.result))

How it works
------------
* **One queue per server process** (:data:`QUEUE`, kept on the ``threading`` module so it
  survives Streamlit's module reloads and is shared by every session). It admits
  ``settings.max_jobs()`` jobs at a time (``GSL_MAX_JOBS``, default 1), first in first out;
  each admitted job runs in its own daemon thread. A queued job knows its 1-based position.
* **Caps.** A job's wall-clock cap is ``min(cap_s, settings.job_cap_s(kind))``
  (``GSL_JOB_CAP_S``, default 600 s). A watchdog thread (every 0.25 s) requests a stop when a
  job passes its cap (state ``timeout``) or when the Streamlit session that submitted it has
  been gone for ``GSL_SESSION_GRACE_S`` seconds (state ``cancelled``; a browser that reconnects
  within the grace keeps its job). The owner session is read from the current script run
  context at :func:`submit` (None outside Streamlit: such jobs have no session to lose).
* **Priority.** A job's thread (and the worker processes it forks) runs at niceness
  ``settings.job_nice()`` (``GSL_JOB_NICE``, default 10): on a busy machine the scheduler
  serves page runs first, and training uses the CPU they leave.
* **Stopping is cooperative**: ``ctx.should_stop()`` turns True and ``ctx.check()`` raises
  :class:`Cancelled`; fn must look at least every ~0.5 s. The ``ctx.on_stop`` callbacks run at
  once when the stop is requested (and when fn fails), e.g. to kill worker processes; a job keeps
  its slot until its thread returns, so a job that ignores the stop still counts against the limit.
* **Outcome**: ``done`` (result), ``failed`` (error = ``"ExceptionType: message"``, the traceback
  goes to the server log), ``cancelled`` or ``timeout`` (error says why). Finished jobs are
  kept for 30 minutes (at most 200) so a page can read the result.

Server shutdown (issue 17)
--------------------------
``streamlit run`` stops on SIGTERM by ending its event loop; the interpreter then runs the
``threading`` exit hooks and joins non-daemon threads. ``concurrent.futures.process`` registers
such a hook that joins every ProcessPoolExecutor's manager thread, which waits for the workers
to finish their current task: with a sweep running, SIGTERM hung for minutes, and after a
SIGKILL the workers were orphaned and kept training. This module imports
``concurrent.futures.process`` first and then registers its own ``threading`` exit hook, which
therefore runs *before* the executor's (the hooks run last-registered first). The hook
(:meth:`JobQueue.shutdown`) requests a stop of every job, runs their ``on_stop`` callbacks, then
sends SIGTERM to every descendant process of the server and SIGKILL to those still alive 1.5 s
later (the server is made a child subreaper at the first submit, so grandchildren whose parent
was killed first are still found). In a ``streamlit run`` process whose runtime is stopping, the
hook then runs the ``atexit`` handlers and ends the process with ``os._exit(0)``: the
interpreter's own finalisation (garbage-collecting torch, transformers, plotly) took 3 to 6 s
on a loaded machine after a training job (``GSL_FAST_EXIT=0`` turns this off). Measured with
tests/test_server_lifecycle.py: without the hook SIGTERM did not stop the server within 40 s;
with it the server exits in about 2 s and leaves no process.
For SIGKILL of the server, workers started with
``initializer=dashboard.runtime.worker_initializer`` ask Linux (``PR_SET_PDEATHSIG``) to kill them
when the server dies. Jobs that start processes should also register them with
:meth:`JobContext.track_executor` / :meth:`JobContext.track_process` so that Cancel, the cap and a
closed session stop them at once.
"""

from __future__ import annotations

import atexit
import concurrent.futures.process  # noqa: F401  (import first: our exit hook must run before its)
import itertools
import logging
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dashboard import runtime, settings

_LOG = logging.getLogger(__name__)

ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("done", "failed", "cancelled", "timeout")
KEEP_FINISHED_S = 1800.0
KEEP_FINISHED_MAX = 200
WATCHDOG_S = 0.25

_STOP_TEXT = {
    "cancelled": "cancelled by the user",
    "timeout": "stopped at its time cap",
    "session": "its browser session ended",
    "shutdown": "the server is shutting down",
}


class Cancelled(Exception):
    """Raised by :meth:`JobContext.check` once the job must stop (``reason`` says why)."""

    def __init__(self, reason: str = "cancelled"):
        super().__init__(_STOP_TEXT.get(reason, reason))
        self.reason = reason


@dataclass
class JobStatus:
    """A snapshot of one job (safe to keep; later changes do not affect it)."""

    id: str
    kind: str
    label: str
    state: str  # queued | running | done | failed | cancelled | timeout
    position: int  # 1-based place in the queue; 0 when running or finished
    fraction: float  # progress in [0, 1]
    message: str
    data: dict
    result: Any
    error: str
    started: float | None  # time.time() when admitted
    finished: float | None
    cap_s: float
    eta_s: float | None  # estimated seconds left, from the progress rate; None when unknown
    size: str = ""
    submitted: float = 0.0
    running: int = 0  # jobs running on the server right now
    owner: str | None = None
    stopping: str = ""  # why a stop was requested ("" when none)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def elapsed_s(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started


@dataclass(eq=False)
class _Job:
    id: str
    kind: str
    label: str
    fn: Callable[[JobContext], Any]
    cap_s: float
    size: str
    owner: str | None
    submitted: float
    state: str = "queued"
    fraction: float = 0.0
    message: str = ""
    data: dict = field(default_factory=dict)
    result: Any = None
    error: str = ""
    started: float | None = None
    started_mono: float | None = None
    finished: float | None = None
    stop_reason: str = ""
    stop_event: threading.Event = field(default_factory=threading.Event)
    callbacks: list = field(default_factory=list)
    callbacks_ran: bool = False
    inactive_since: float | None = None
    thread: threading.Thread | None = None


class JobContext:
    """Handed to a job's ``fn``: report progress, look for a stop, register clean-up."""

    def __init__(self, queue: JobQueue, job: _Job):
        self._queue = queue
        self._job = job

    @property
    def job_id(self) -> str:
        return self._job.id

    @property
    def cap_s(self) -> float:
        return self._job.cap_s

    def elapsed_s(self) -> float:
        return time.monotonic() - (self._job.started_mono or time.monotonic())

    def report(self, fraction: float, message: str = "", **data: Any) -> None:
        """Store progress (clipped to [0, 1]), a short message and the latest live data."""
        try:
            f = float(fraction)
        except (TypeError, ValueError):
            f = 0.0
        f = min(max(f if f == f else 0.0, 0.0), 1.0)
        with self._queue._lock:
            self._job.fraction = f
            self._job.message = str(message)
            if data:
                self._job.data = {**self._job.data, **data}

    def should_stop(self) -> bool:
        """True once the job is cancelled, over its cap, its session ended or the server stops."""
        return self._job.stop_event.is_set() or self.elapsed_s() > self._job.cap_s

    def check(self) -> None:
        """Raise :class:`Cancelled` if :meth:`should_stop`."""
        if self.should_stop():
            reason = self._job.stop_reason or "timeout"
            raise Cancelled(reason)

    def on_stop(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` when the job is stopped (cancel, cap, session end, shutdown) or fails.

        Registered after the stop was requested, it runs at once.
        """
        run_now = False
        with self._queue._lock:
            if self._job.callbacks_ran:
                run_now = True
            else:
                self._job.callbacks.append(callback)
        if run_now:
            _safe_call(callback)

    def track_process(self, proc: Any) -> None:
        """Kill ``proc`` (a ``subprocess.Popen``, ``multiprocessing.Process`` or a pid) and its
        descendants when the job is stopped."""
        pid = proc if isinstance(proc, int) else proc.pid
        self.on_stop(lambda: kill_tree(pid))

    def track_executor(self, executor: Any) -> None:
        """Stop a ``concurrent.futures.ProcessPoolExecutor`` when the job is stopped: cancel its
        pending futures and kill its worker processes (and their children)."""

        def stop() -> None:
            workers = [p.pid for p in list((getattr(executor, "_processes", None) or {}).values())]
            # list every worker's descendants before killing any: the executor terminates the
            # other workers as soon as one dies, which would orphan their children
            pids = [d for w in workers for d in descendants(w)] + workers
            kill_pids(pids, grace_s=0.5)
            try:
                executor.shutdown(wait=False, cancel_futures=True)
            except Exception:  # noqa: BLE001 (best effort during a stop)
                pass

        self.on_stop(stop)


def _log_event(job: _Job) -> None:
    """With ``GSL_JOBS_LOG`` set (benchmarks/load_test.py), append the finished job as a JSON line."""
    path = os.environ.get("GSL_JOBS_LOG")
    if not path:
        return
    import json

    record = {"id": job.id, "kind": job.kind, "state": job.state, "submitted": job.submitted,
              "started": job.started, "finished": job.finished, "error": job.error}
    try:
        with _LOG_LOCK, open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    except OSError:
        pass


_LOG_LOCK = threading.Lock()


def _safe_call(cb: Callable[[], Any]) -> None:
    try:
        cb()
    except Exception:  # noqa: BLE001 (a clean-up callback must not break the queue)
        _LOG.exception("jobs: on_stop callback failed")


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------
def _children_map() -> dict[int, list[int]]:
    """ppid -> [pid] for every process visible in /proc."""
    out: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # fields after the command name (which may contain spaces and parentheses)
        rest = stat[stat.rfind(")") + 2:].split()
        if len(rest) < 2 or rest[0] == "Z":
            continue
        out.setdefault(int(rest[1]), []).append(int(name))
    return out


def descendants(pid: int | None = None) -> list[int]:
    """Live (non-zombie) descendant pids of ``pid`` (default: this process), from /proc."""
    root = os.getpid() if pid is None else pid
    if not os.path.isdir("/proc"):
        return []
    kids = _children_map()
    out, stack = [], [root]
    while stack:
        for c in kids.get(stack.pop(), []):
            out.append(c)
            stack.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            stat = f.read()
        return stat[stat.rfind(")") + 2:].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill_pids(pids: list[int], *, grace_s: float = 1.5) -> None:
    """SIGTERM every pid, then SIGKILL those still alive after ``grace_s`` seconds."""
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    for p in pids:
        if _alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def kill_tree(pid: int, *, grace_s: float = 1.5, include_root: bool = True) -> None:
    """Kill ``pid`` and all its descendants (listed first, so none is orphaned and missed)."""
    kill_pids(descendants(pid) + ([pid] if include_root else []), grace_s=grace_s)


_SUBREAPER = False


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``).

    A grandchild whose parent died (a pool worker killed by its executor) is then re-parented to
    the server instead of init, so :func:`descendants` still finds it at shutdown. Called at the
    first :func:`submit`. Such orphans, once dead, stay zombies of the server until it exits
    (they hold no memory).
    """
    global _SUBREAPER
    if _SUBREAPER:
        return True
    try:
        import ctypes

        _SUBREAPER = ctypes.CDLL("libc.so.6").prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        _SUBREAPER = False
    return _SUBREAPER


# ---------------------------------------------------------------------------
# The queue
# ---------------------------------------------------------------------------
def _current_session_id() -> str | None:
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    except ImportError:
        return None
    ctx = get_script_run_ctx(suppress_warning=True)
    return getattr(ctx, "session_id", None) if ctx is not None else None


def _streamlit_session_alive(session_id: str) -> bool:
    """Whether Streamlit's runtime still has this session connected (True outside a server)."""
    try:
        from streamlit.runtime import Runtime
    except ImportError:
        return True
    if not Runtime.exists():
        return True
    try:
        return Runtime.instance().is_active_session(session_id)
    except Exception:  # noqa: BLE001 (runtime stopping)
        return False


class JobQueue:
    """FIFO queue admitting ``max_jobs`` jobs at a time; see the module docstring."""

    def __init__(
        self,
        max_jobs: int | Callable[[], int] | None = None,
        *,
        session_alive: Callable[[str], bool] | None = None,
        grace_s: float | Callable[[], float] | None = None,
        watchdog_s: float = WATCHDOG_S,
    ):
        self._max_jobs = max_jobs if max_jobs is not None else settings.max_jobs
        self._session_alive = session_alive or _streamlit_session_alive
        self._grace_s = grace_s if grace_s is not None else settings.session_grace_s
        self._watchdog_s = watchdog_s
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._queue: list[str] = []
        self._running: set[str] = set()
        self._counter = itertools.count(1)
        self._watchdog: threading.Thread | None = None
        self._closed = False

    # -- settings ---------------------------------------------------------------
    def max_jobs(self) -> int:
        m = self._max_jobs() if callable(self._max_jobs) else self._max_jobs
        return max(1, int(m))

    def grace_s(self) -> float:
        return float(self._grace_s() if callable(self._grace_s) else self._grace_s)

    # -- public API ---------------------------------------------------------------
    def submit(self, kind: str, label: str, fn: Callable[[JobContext], Any], *, cap_s: float | None = None,
               size: str = "", owner: str | None | object = ...) -> str:
        cap = settings.job_cap_s(kind)
        if cap_s is not None and cap_s > 0:
            cap = min(cap, float(cap_s))
        job = _Job(
            id=f"{kind}-{next(self._counter)}-{uuid.uuid4().hex[:8]}", kind=str(kind), label=str(label), fn=fn,
            cap_s=cap, size=str(size), owner=_current_session_id() if owner is ... else owner, submitted=time.time(),
        )
        become_subreaper()
        with self._lock:
            if self._closed:
                job.state, job.error, job.finished = "cancelled", _STOP_TEXT["shutdown"], time.time()
                self._jobs[job.id] = job
                return job.id
            self._prune()
            self._jobs[job.id] = job
            self._queue.append(job.id)
            self._ensure_watchdog()
            self._admit()
        return job.id

    def status(self, job_id: str) -> JobStatus:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise KeyError(f"unknown job {job_id!r}")
            return self._snapshot(job)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job at once, or request a running one to stop; False if unknown/finished."""
        return self._request_stop(job_id, "cancelled")

    def list(self, *, owner: str | None | object = ..., active_only: bool = False) -> list[JobStatus]:
        with self._lock:
            out = [self._snapshot(j) for j in self._jobs.values()
                   if (owner is ... or j.owner == owner) and (not active_only or j.state in ACTIVE_STATES)]
        return sorted(out, key=lambda s: s.submitted)

    def counts(self) -> tuple[int, int]:
        """(running, queued) right now."""
        with self._lock:
            return len(self._running), len(self._queue)

    def wait(self, job_id: str, timeout: float | None = None) -> JobStatus:
        """Block until the job has finished (tests, scripts); returns its status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            s = self.status(job_id)
            if s.state in FINAL_STATES:
                return s
            if deadline is not None and time.monotonic() > deadline:
                return s
            time.sleep(0.01)

    def shutdown(self, *, kill_children: bool = True, grace_s: float = 1.5) -> None:
        """Stop every job (reason ``shutdown``), run on_stop callbacks, kill this process's children."""
        before = descendants() if kill_children else []
        with self._lock:
            self._closed = True
            ids = list(self._jobs)
        for job_id in ids:
            self._request_stop(job_id, "shutdown")
        if kill_children:
            kill_pids(sorted(set(before) | set(descendants())), grace_s=grace_s)

    # -- internals ------------------------------------------------------------------
    def _snapshot(self, job: _Job) -> JobStatus:
        position = self._queue.index(job.id) + 1 if job.state == "queued" and job.id in self._queue else 0
        eta = None
        if job.state == "running" and job.started_mono is not None and job.fraction > 0:
            elapsed = time.monotonic() - job.started_mono
            eta = max(0.0, elapsed * (1.0 - job.fraction) / job.fraction)
        return JobStatus(
            id=job.id, kind=job.kind, label=job.label, state=job.state, position=position,
            fraction=job.fraction, message=job.message, data=dict(job.data), result=job.result, error=job.error,
            started=job.started, finished=job.finished, cap_s=job.cap_s, eta_s=eta, size=job.size,
            submitted=job.submitted, running=len(self._running), owner=job.owner, stopping=job.stop_reason,
        )

    def _admit(self) -> None:
        with self._lock:
            while self._queue and len(self._running) < self.max_jobs() and not self._closed:
                job = self._jobs[self._queue.pop(0)]
                job.state = "running"
                job.started = time.time()
                job.started_mono = time.monotonic()
                self._running.add(job.id)
                job.thread = threading.Thread(target=self._run, args=(job,), name=f"gsl-job-{job.id}", daemon=True)
                job.thread.start()

    def _run(self, job: _Job) -> None:
        ctx = JobContext(self, job)
        result, error, failed = None, "", False
        runtime.lower_priority(settings.job_nice())  # page runs get the CPU first
        try:
            result = job.fn(ctx)
        except Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 (a job's failure is reported, never raised)
            failed = True
            error = f"{type(exc).__name__}: {exc}"
            _LOG.error("jobs: %s (%s) failed:\n%s", job.id, job.label, traceback.format_exc())
        if failed:
            self._run_callbacks(job)
        with self._lock:
            if not job.stop_reason and ctx.should_stop():  # over the cap, seen by the job before the watchdog
                job.stop_reason = "timeout"
            job.finished = time.time()
            if job.stop_reason:
                job.state = "timeout" if job.stop_reason == "timeout" else "cancelled"
                job.error = _STOP_TEXT[job.stop_reason]
                if job.stop_reason == "timeout":
                    job.error += f" of {job.cap_s:g} s"
                if failed:
                    job.error += f" ({error})"
                job.result = result
            elif failed:
                job.state, job.error = "failed", error
            else:
                job.state, job.result, job.fraction = "done", result, 1.0
            job.fn = None  # type: ignore[assignment]  (free closures)
            job.thread = None
            self._running.discard(job.id)
            self._admit()
        _log_event(job)

    def _request_stop(self, job_id: str, reason: str) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state in FINAL_STATES:
                return False
            was_queued = job.state == "queued"
            if was_queued:
                if job_id in self._queue:
                    self._queue.remove(job_id)
                job.stop_reason = reason
                job.state = "timeout" if reason == "timeout" else "cancelled"
                job.error = _STOP_TEXT[reason]
                job.finished = time.time()
                job.stop_event.set()
                job.fn = None  # type: ignore[assignment]
            elif job.stop_reason:
                return True
            else:
                job.stop_reason = reason
                job.stop_event.set()
        if was_queued:
            _log_event(job)
        else:
            self._run_callbacks(job)
        return True

    def _run_callbacks(self, job: _Job) -> None:
        with self._lock:
            if job.callbacks_ran:
                return
            job.callbacks_ran = True
            callbacks, job.callbacks = job.callbacks, []
        for cb in callbacks:
            _safe_call(cb)

    def _prune(self) -> None:
        now = time.time()
        done = [j for j in self._jobs.values() if j.state in FINAL_STATES]
        done.sort(key=lambda j: j.finished or 0)
        excess = len(done) - KEEP_FINISHED_MAX
        for i, j in enumerate(done):
            if i < excess or now - (j.finished or now) > KEEP_FINISHED_S:
                del self._jobs[j.id]

    def _ensure_watchdog(self) -> None:
        if self._watchdog is None or not self._watchdog.is_alive():
            self._watchdog = threading.Thread(target=self._watch, name="gsl-job-watchdog", daemon=True)
            self._watchdog.start()

    def _watch(self) -> None:
        while True:
            time.sleep(self._watchdog_s)
            try:
                self.tick()
            except Exception:  # noqa: BLE001 (the watchdog must survive)
                _LOG.exception("jobs: watchdog tick failed")

    def tick(self) -> None:
        """One watchdog pass: enforce caps and cancel jobs whose session has ended."""
        now = time.monotonic()
        stops: list[tuple[str, str]] = []
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.state in ACTIVE_STATES]
        grace = None
        for job in jobs:
            if job.state == "running" and not job.stop_reason and job.started_mono is not None \
                    and now - job.started_mono > job.cap_s:
                stops.append((job.id, "timeout"))
                continue
            if job.owner is None or job.stop_reason:
                continue
            if self._session_alive(job.owner):
                job.inactive_since = None
                continue
            if job.inactive_since is None:
                job.inactive_since = now
            grace = self.grace_s() if grace is None else grace
            if now - job.inactive_since >= grace:
                stops.append((job.id, "session"))
        for job_id, reason in stops:
            self._request_stop(job_id, reason)


# ---------------------------------------------------------------------------
# The server-wide singleton and the module-level contract
# ---------------------------------------------------------------------------
def _get_queue() -> JobQueue:
    q = getattr(threading, "_gsl_job_queue", None)
    if q is None:
        with _SINGLETON_LOCK:
            q = getattr(threading, "_gsl_job_queue", None)
            if q is None:
                q = JobQueue()
                threading._gsl_job_queue = q  # type: ignore[attr-defined]
                _register_exit_hook(q)
    return q


_SINGLETON_LOCK = getattr(threading, "_gsl_job_queue_lock", None) or threading.Lock()
threading._gsl_job_queue_lock = _SINGLETON_LOCK  # type: ignore[attr-defined]


def _stopped_streamlit_server() -> bool:
    """True in a ``streamlit run`` process whose runtime is stopping normally (SIGTERM, Ctrl+C)."""
    if os.environ.get("GSL_FAST_EXIT", "1") == "0":
        return False
    if "streamlit.web.bootstrap" not in sys.modules:  # not a `streamlit run` server (tests, AppTest)
        return False
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.runtime import RuntimeState

        return Runtime.exists() and Runtime.instance().state in (RuntimeState.STOPPING, RuntimeState.STOPPED)
    except Exception:  # noqa: BLE001
        return False


def _register_exit_hook(q: JobQueue) -> None:
    def hook() -> None:
        try:
            q.shutdown()
        except Exception:  # noqa: BLE001 (exiting anyway)
            _LOG.exception("jobs: shutdown hook failed")
        if _stopped_streamlit_server():
            # Skip the interpreter's finalisation: garbage-collecting torch, transformers and
            # plotly took 3 to 6 s on a loaded machine after every job was already stopped.
            # The atexit handlers still run; the exit status of a normal stop is 0.
            try:
                atexit._run_exitfuncs()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except Exception:  # noqa: BLE001
                        pass
                os._exit(0)

    try:
        # Runs before the non-daemon threads are joined and before the hook that
        # concurrent.futures.process registered at its import (LIFO).
        threading._register_atexit(hook)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        atexit.register(hook)


QUEUE = _get_queue()


def submit(kind: str, label: str, fn: Callable[[JobContext], Any], *, cap_s: float | None = None,
           size: str = "") -> str:
    """Queue ``fn(ctx)``; returns the job id (store it in st.session_state). See the module docstring."""
    return _get_queue().submit(kind, label, fn, cap_s=cap_s, size=size)


def status(job_id: str) -> JobStatus:
    """The job's :class:`JobStatus`; KeyError for an unknown (or expired) id."""
    return _get_queue().status(job_id)


def is_active(job_id: str | None) -> bool:
    """True while the job ``job_id`` is queued or running; False for None or an unknown id."""
    if not job_id:
        return False
    try:
        return status(job_id).active
    except KeyError:
        return False


def cancel(job_id: str) -> bool:
    """Cancel a queued job or ask a running one to stop. False when unknown or already finished."""
    return _get_queue().cancel(job_id)


def counts() -> tuple[int, int]:
    """(running, queued) on this server now."""
    return _get_queue().counts()


# ---------------------------------------------------------------------------
# Streamlit UI
# ---------------------------------------------------------------------------
_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")


def md_escape(text: str) -> str:
    """Backslash-escape every markdown-special character (text shown in markdown-rendering widgets)."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text))


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def fmt_seconds(s: float) -> str:
    s = max(0.0, float(s))
    if s < 10:
        return f"{s:.1f} s"
    if s < 90:
        return f"{s:.0f} s"
    m, sec = divmod(int(round(s)), 60)
    if m < 90:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def queue_text(s: JobStatus) -> str:
    """'2nd in queue, 1 job running' (plain text)."""
    return f"{ordinal(s.position)} in queue, {s.running} job{'' if s.running == 1 else 's'} running"


def outcome_text(s: JobStatus) -> str:
    """One plain-text line saying how a finished job ended."""
    took = fmt_seconds(s.elapsed_s) if s.started is not None else ""
    if s.state == "done":
        return f"{s.label}: finished in {took}."
    if s.state == "failed":
        return f"{s.label}: failed after {took}: {s.error}"
    if s.state == "timeout":
        return f"{s.label}: {s.error} (ran {took}); the partial result is shown if the job kept one."
    return f"{s.label}: {s.error}" + (f" after {took}." if took else ".")


def _finish_once(state_key: str, s: JobStatus, on_done: Callable[[JobStatus], Any] | None) -> bool:
    """Call on_done(s) the first time this job is seen finished in this session; True then."""
    import streamlit as st

    done_key = f"{state_key}__done"
    if st.session_state.get(done_key) == s.id:
        return False
    st.session_state[done_key] = s.id
    if on_done is not None:
        on_done(s)
    return True


def _draw_active(state_key: str, s: JobStatus) -> None:
    import streamlit as st

    cap = f"cap {fmt_seconds(s.cap_s)}"
    size = f" · {s.size}" if s.size else ""
    if s.state == "queued":
        st.progress(0.0, text=md_escape(f"{s.label}: waiting, {queue_text(s)} · {cap}{size}"))
    else:
        eta = f" · about {fmt_seconds(s.eta_s)} left" if s.eta_s is not None else ""
        stopping = f" · stopping ({_STOP_TEXT.get(s.stopping, s.stopping)})" if s.stopping else ""
        st.progress(s.fraction, text=md_escape(
            f"{s.label}: {s.fraction:.0%}{eta} · {fmt_seconds(s.elapsed_s)} of {cap}{size}{stopping}"))
        if s.message:
            st.text(s.message)
    st.button("Cancel", key=f"{state_key}__cancel", on_click=cancel, args=(s.id,), disabled=bool(s.stopping),
              help="Stop this job; a queued job leaves the queue at once.", icon=":material/cancel:")


def _draw_final(s: JobStatus) -> None:
    import streamlit as st

    text = md_escape(outcome_text(s))
    if s.state == "done":
        st.success(text, icon=":material/check_circle:")
    elif s.state == "failed":
        st.error(text, icon=":material/error:")
    else:
        st.warning(text, icon=":material/timer_off:" if s.state == "timeout" else ":material/cancel:")


def _poll_s() -> float:
    return 0.5


def _live_panel(state_key: str, render_live, on_done) -> None:
    import streamlit as st

    job_id = st.session_state.get(state_key)
    try:
        s = status(job_id) if job_id else None
    except KeyError:
        s = None
    if s is None or s.state in FINAL_STATES:
        # Finished (or gone) since the last refresh: hand over to a full rerun once, so the
        # page's result panels (outside this fragment) see what on_done stored.
        if s is not None:
            _finish_once(state_key, s, on_done)
        st.rerun()
        return
    _draw_active(state_key, s)
    if render_live is not None:
        render_live(s)


_live_fragment = None


def _get_live_fragment():
    global _live_fragment
    if _live_fragment is None:
        import streamlit as st

        _live_fragment = st.fragment(run_every=_poll_s())(_live_panel)
    return _live_fragment


def progress_panel(state_key: str, *, render_live: Callable[[JobStatus], Any] | None = None,
                   on_done: Callable[[JobStatus], Any] | None = None) -> JobStatus | None:
    """Show the job whose id is in ``st.session_state[state_key]``; returns its status (None if none).

    While the job is queued or running: a fragment refreshing itself every 0.5 s with the
    queue position, a progress bar with the ETA and the cap, a Cancel button and
    ``render_live(status)``. When the job ends: ``on_done(status)`` once per job and session,
    one full rerun (so result panels elsewhere on the page appear), then the outcome line and
    ``render_live(status)`` (the last live data) on every later run.
    """
    import streamlit as st

    job_id = st.session_state.get(state_key)
    if not job_id:
        return None
    try:
        s = status(job_id)
    except KeyError:
        st.caption("That job is no longer known to the server (it restarted, or the result expired). "
                   "Start it again.")
        del st.session_state[state_key]
        return None
    if s.state in ACTIVE_STATES:
        _get_live_fragment()(state_key, render_live, on_done)
        return s
    first = _finish_once(state_key, s, on_done)
    if first:
        st.rerun()
    _draw_final(s)
    if render_live is not None:
        render_live(s)
    return s
