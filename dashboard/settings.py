"""Operator settings: read from the server's environment, never from a widget or the URL.

Each setting is looked up, in order, in

1. the environment variable (``GSL_MAX_JOBS=2 streamlit run dashboard/app.py``);
2. ``.streamlit/secrets.toml`` (the project's, then the one in the current folder, then
   ``~/.streamlit/secrets.toml``), either as a top-level key with the environment variable's
   name (``GSL_MAX_JOBS = 2``) or in a ``[gsl]`` table under the short name (``max_jobs = 2``);
3. the default below.

=========================  ===============================================  ==========
variable                   meaning                                          default
=========================  ===============================================  ==========
``GSL_RAY_ADDRESS``        Ray cluster for sweeps (``host:port``, ``auto``;  unset: no
                           ``local`` starts a local Ray instance)           Ray
``GSL_MODEL_DIRS``         folders models may be loaded from (os.pathsep-   none
                           separated); unset: hub ids and shipped models
``GSL_MAX_JOBS``           training/sweep jobs run at once (server-wide)    1
``GSL_JOB_CAP_S``          wall-clock cap of one job, seconds               600
``GSL_JOB_CAP_S_<KIND>``   cap for one kind (``nmt-train`` -> ``NMT_TRAIN``) GSL_JOB_CAP_S
``GSL_TORCH_THREADS``      torch threads for interactive model calls        1
``GSL_MAX_UPLOAD_ROWS``    rows accepted from an uploaded CSV               200000
``GSL_SESSION_GRACE_S``    a job whose session is gone this long is         15
                           cancelled (a reconnect within it keeps the job)
``GSL_JOB_NICE``           niceness added to job threads and their worker   10
                           processes (0: same priority as page runs)
=========================  ===============================================  ==========

Values are read once per process (``functools.lru_cache``); :func:`reload` clears that
cache (tests). A malformed value falls back to the default with a warning in the server
log, so a typo never takes the server down. This module does not import Streamlit.
"""

from __future__ import annotations

import functools
import logging
import os
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_LOG = logging.getLogger(__name__)

DEFAULT_MAX_JOBS = 1
DEFAULT_JOB_CAP_S = 600.0
DEFAULT_TORCH_THREADS = 1
DEFAULT_MAX_UPLOAD_ROWS = 200_000
DEFAULT_SESSION_GRACE_S = 15.0
DEFAULT_JOB_NICE = 10


def _secrets_files() -> list[Path]:
    return [ROOT / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml",
            Path.home() / ".streamlit" / "secrets.toml"]


@functools.lru_cache(maxsize=1)
def _secrets() -> dict[str, Any]:
    """The merged secrets files (first file wins per key); {} when none exists or parses."""
    merged: dict[str, Any] = {}
    seen: set[Path] = set()
    for path in _secrets_files():
        try:
            path = path.resolve()
            if path in seen or not path.is_file():
                continue
            seen.add(path)
            with path.open("rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            _LOG.warning("settings: cannot read %s (%s); ignoring it", path, exc)
            continue
        for k, v in data.items():
            if k == "gsl" and isinstance(v, dict):
                merged.setdefault("gsl", {})
                for k2, v2 in v.items():
                    merged["gsl"].setdefault(k2, v2)
            else:
                merged.setdefault(k, v)
    return merged


def raw(name: str) -> Any:
    """The raw value of setting ``GSL_<NAME>`` (env, then secrets), or None when unset."""
    env_name = name if name.startswith("GSL_") else f"GSL_{name.upper()}"
    value = os.environ.get(env_name)
    if value is not None and value.strip() != "":
        return value.strip()
    sec = _secrets()
    if env_name in sec:
        return sec[env_name]
    short = env_name[4:].lower()
    table = sec.get("gsl")
    if isinstance(table, dict) and short in table:
        return table[short]
    return None


def _number(name: str, default: float, *, lo: float, hi: float, integer: bool) -> float:
    value = raw(name)
    if value is None:
        return default
    try:
        x = float(value)
        if x != x or not lo <= x <= hi or (integer and x != int(x)):
            raise ValueError
    except (TypeError, ValueError):
        _LOG.warning("settings: %s=%r is not %s in [%g, %g]; using %r", name, value,
                     "an integer" if integer else "a number", lo, hi, default)
        return default
    return int(x) if integer else x


@functools.lru_cache(maxsize=1)
def ray_address() -> str | None:
    """GSL_RAY_ADDRESS: ``host:port``, ``auto`` or ``local``; None when the operator set none."""
    value = raw("GSL_RAY_ADDRESS")
    return str(value) if value not in (None, "") else None


@functools.lru_cache(maxsize=1)
def model_dirs() -> list[Path]:
    """GSL_MODEL_DIRS: the folders local models may be loaded from (resolved); [] when unset."""
    value = raw("GSL_MODEL_DIRS")
    if value is None:
        return []
    parts = value if isinstance(value, list) else str(value).split(os.pathsep)
    return [Path(p).expanduser().resolve() for p in parts if str(p).strip()]


@functools.lru_cache(maxsize=1)
def max_jobs() -> int:
    """GSL_MAX_JOBS: how many training/sweep jobs run at once on this server (default 1)."""
    return int(_number("GSL_MAX_JOBS", DEFAULT_MAX_JOBS, lo=1, hi=64, integer=True))


@functools.lru_cache(maxsize=64)
def job_cap_s(kind: str = "") -> float:
    """Wall-clock cap of one job in seconds: GSL_JOB_CAP_S_<KIND>, else GSL_JOB_CAP_S (600)."""
    default = float(_number("GSL_JOB_CAP_S", DEFAULT_JOB_CAP_S, lo=1, hi=7 * 86400, integer=False))
    if kind:
        suffix = "".join(c if c.isalnum() else "_" for c in kind).upper()
        return float(_number(f"GSL_JOB_CAP_S_{suffix}", default, lo=1, hi=7 * 86400, integer=False))
    return default


@functools.lru_cache(maxsize=1)
def torch_threads() -> int:
    """GSL_TORCH_THREADS: torch intra-op threads for interactive model calls (default 1)."""
    return int(_number("GSL_TORCH_THREADS", DEFAULT_TORCH_THREADS, lo=1, hi=256, integer=True))


@functools.lru_cache(maxsize=1)
def max_upload_rows() -> int:
    """GSL_MAX_UPLOAD_ROWS: rows accepted from one uploaded CSV (default 200,000)."""
    return int(_number("GSL_MAX_UPLOAD_ROWS", DEFAULT_MAX_UPLOAD_ROWS, lo=1, hi=10**9, integer=True))


@functools.lru_cache(maxsize=1)
def session_grace_s() -> float:
    """GSL_SESSION_GRACE_S: seconds a job outlives its disconnected session (default 15)."""
    return float(_number("GSL_SESSION_GRACE_S", DEFAULT_SESSION_GRACE_S, lo=0, hi=86400, integer=False))


@functools.lru_cache(maxsize=1)
def job_nice() -> int:
    """GSL_JOB_NICE: niceness a job's thread and worker processes add to their own (default 10), so
    the CPU serves page runs first while training and sweeps use what is left (0 turns it off)."""
    return int(_number("GSL_JOB_NICE", DEFAULT_JOB_NICE, lo=0, hi=19, integer=True))


def reload() -> None:
    """Forget the cached values (tests; a running server reads its settings once)."""
    for fn in (_secrets, ray_address, model_dirs, max_jobs, job_cap_s, torch_threads, max_upload_rows,
               session_grace_s):
        fn.cache_clear()
