"""Process-wide runtime knobs of the server: torch threads, and an optional script-run timer.

``interactive_torch()``
    Call it before interactive model calls (e.g. inside a ``st.cache_resource`` loader).
    The first call in a process imports torch and sets ``torch.set_num_threads`` to the
    operator setting ``GSL_TORCH_THREADS`` (default 1): on a shared 2-core server one
    thread per call is faster than torch's default (which oversubscribes the cores when
    several sessions call a model at once). Later calls return at once. Training jobs run
    in the job queue and may set their own count.

``install_timing(path)``
    Benchmarks only. Wraps Streamlit's ``ScriptRunner._run_script`` so that every script
    run (full or fragment) appends one JSON line to ``path``:
    ``{"t0": wall-clock start, "t1": end, "ms": duration, "fragments": [...], "page": ...}``.
    Pages never call it; ``benchmarks/bench_browser.py`` starts the server with the
    environment variable ``GSL_TIMING_LOG`` and a ``sitecustomize`` that calls
    :func:`install_timing_from_env`.
"""

from __future__ import annotations

import json
import os
import threading
import time

_torch_lock = threading.Lock()
_torch_threads: int | None = None
_timing_installed = False


def interactive_torch() -> int:
    """Set torch's intra-op thread count once per process; returns the count in force."""
    global _torch_threads
    if _torch_threads is not None:
        return _torch_threads
    with _torch_lock:
        if _torch_threads is None:
            import torch

            from dashboard import settings

            n = settings.torch_threads()
            if torch.get_num_threads() != n:
                torch.set_num_threads(n)
            _torch_threads = n
    return _torch_threads


def install_timing(path: str) -> bool:
    """Log the duration of every Streamlit script run to ``path`` (JSON lines). Idempotent."""
    global _timing_installed
    if _timing_installed:
        return False
    from streamlit.runtime.scriptrunner import script_runner as sr

    original = sr.ScriptRunner._run_script
    lock = threading.Lock()

    def timed(self, rerun_data, *args, **kwargs):
        t0 = time.time()
        p0 = time.perf_counter()
        try:
            return original(self, rerun_data, *args, **kwargs)
        finally:
            ms = (time.perf_counter() - p0) * 1000.0
            record = {
                "t0": t0, "t1": time.time(), "ms": round(ms, 3),
                "fragments": list(getattr(rerun_data, "fragment_id_queue", []) or []),
                "page": getattr(rerun_data, "page_name", None) or getattr(rerun_data, "page_script_hash", None),
                "session": getattr(self, "_session_id", None),
            }
            try:
                with lock, open(path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
            except OSError:
                pass

    sr.ScriptRunner._run_script = timed
    _timing_installed = True
    return True


def install_timing_from_env() -> bool:
    """``install_timing(os.environ["GSL_TIMING_LOG"])`` when that variable is set."""
    path = os.environ.get("GSL_TIMING_LOG")
    if not path:
        return False
    return install_timing(path)


# ---------------------------------------------------------------------------
# Worker processes: die with the server
# ---------------------------------------------------------------------------
PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = 9) -> bool:
    """In a child process: ask Linux to send ``sig`` (default SIGKILL) when the parent dies.

    Covers the one case the server cannot handle itself: a forced kill (SIGKILL, OOM
    killer) of the server, after which its pool workers would otherwise be orphaned and
    keep training. Linux only (``prctl(PR_SET_PDEATHSIG)``); returns False elsewhere.
    Note that Linux fires the signal when the *thread* that started the child exits; pool
    workers started from a job's worker thread therefore also die when that job ends.
    """
    import ctypes
    import multiprocessing

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # the parent died before prctl
        os._exit(1)
    return True


def worker_initializer() -> None:
    """``initializer=`` for ``ProcessPoolExecutor`` / ``multiprocessing.Pool`` in jobs.

    Makes the worker die with the server (:func:`die_with_parent`) and run at the jobs'
    lower CPU priority (:func:`lower_priority`; a forked worker already inherits it from
    the job thread that started it, a spawned one does not). Imports nothing beyond the
    standard library and dashboard.settings, so it is cheap in a spawned worker.
    """
    die_with_parent()
    from dashboard import settings

    lower_priority(settings.job_nice())


def lower_priority(nice: int) -> int:
    """Raise the calling *thread's* niceness to at least ``nice`` (Linux schedules threads
    separately; elsewhere the whole process); returns the niceness now in force. A thread
    can always lower its own priority; failures (no permission, no such call) leave it as is."""
    try:
        tid = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, tid)
        if nice > now:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        return os.getpriority(os.PRIO_PROCESS, tid)
    except (AttributeError, OSError):
        return 0
