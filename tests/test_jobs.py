"""The server-wide job queue (dashboard/jobs.py), operator settings and runtime knobs.

Synchronisation uses events and generous waits; nothing asserts a duration.
"""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from dashboard import jobs, settings
from dashboard.jobs import JobQueue

WAIT = 30.0  # generous upper bound for a job to react; never an asserted duration


def _until(pred, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def _blocking(release: threading.Event, log: list | None = None, name: str = ""):
    def fn(ctx):
        if log is not None:
            log.append(name)
        while not release.is_set():
            ctx.check()
            time.sleep(0.005)
        return name

    return fn


@pytest.fixture
def q():
    queue = JobQueue(max_jobs=1, session_alive=lambda sid: True, grace_s=0.0, watchdog_s=0.02)
    yield queue
    queue.shutdown(kill_children=False)


def test_fifo_order_and_positions(q):
    release, log = threading.Event(), []
    ids = [q.submit("t", f"job {i}", _blocking(release, log, f"j{i}"), owner=None) for i in range(4)]
    _until(lambda: q.status(ids[0]).state == "running")
    assert [q.status(i).position for i in ids] == [0, 1, 2, 3]
    s = q.status(ids[2])
    assert s.state == "queued" and s.running == 1
    assert jobs.queue_text(s) == "2nd in queue, 1 job running"
    release.set()
    finals = [q.wait(i, WAIT) for i in ids]
    assert [f.state for f in finals] == ["done"] * 4
    assert log == ["j0", "j1", "j2", "j3"]
    assert [f.result for f in finals] == ["j0", "j1", "j2", "j3"]
    assert all(f.position == 0 and f.fraction == 1.0 for f in finals)


def test_limit_respected():
    q = JobQueue(max_jobs=2, session_alive=lambda sid: True, watchdog_s=0.02)
    release = threading.Event()
    lock, now, peak = threading.Lock(), [0], [0]

    def fn(ctx):
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        try:
            while not release.is_set():
                ctx.check()
                time.sleep(0.005)
        finally:
            with lock:
                now[0] -= 1

    ids = [q.submit("t", f"job {i}", fn, owner=None) for i in range(5)]
    _until(lambda: q.counts() == (2, 3))
    assert [q.status(i).state for i in ids] == ["running", "running", "queued", "queued", "queued"]
    release.set()
    assert all(q.wait(i, WAIT).state == "done" for i in ids)
    assert peak[0] == 2
    q.shutdown(kill_children=False)


def test_cancel_queued_job_never_runs(q):
    release, log = threading.Event(), []
    first = q.submit("t", "first", _blocking(release, log, "first"), owner=None)
    second = q.submit("t", "second", _blocking(release, log, "second"), owner=None)
    third = q.submit("t", "third", _blocking(release, log, "third"), owner=None)
    assert q.cancel(second) is True
    s = q.status(second)
    assert s.state == "cancelled" and "cancelled" in s.error
    assert q.status(third).position == 1
    release.set()
    assert q.wait(third, WAIT).state == "done"
    assert log == ["first", "third"]
    assert q.cancel(second) is False and q.cancel(first) is False


def test_cancel_running_job_runs_on_stop(q):
    stopped = threading.Event()

    def fn(ctx):
        ctx.on_stop(stopped.set)
        ctx.report(0.25, "working", curve=[3.0, 2.0])
        while True:
            ctx.check()
            time.sleep(0.005)

    jid = q.submit("t", "forever", fn, owner=None)
    _until(lambda: q.status(jid).fraction == 0.25)
    s = q.status(jid)
    assert s.state == "running" and s.message == "working" and s.data == {"curve": [3.0, 2.0]}
    assert s.eta_s is not None and s.eta_s >= 0
    assert q.cancel(jid)
    assert stopped.is_set()  # callbacks run when the stop is requested
    final = q.wait(jid, WAIT)
    assert final.state == "cancelled" and final.error == "cancelled by the user"


def test_timeout_at_cap(q):
    def fn(ctx):
        while True:
            ctx.check()
            time.sleep(0.005)

    jid = q.submit("t", "slow", fn, cap_s=0.05, owner=None)
    final = q.wait(jid, WAIT)
    assert final.state == "timeout"
    assert "time cap" in final.error and final.cap_s == 0.05


def test_cap_is_smaller_of_setting_and_argument(monkeypatch, q):
    monkeypatch.setenv("GSL_JOB_CAP_S", "7")
    settings.reload()
    try:
        a = q.submit("t", "a", lambda ctx: 1, cap_s=300, owner=None)
        b = q.submit("t", "b", lambda ctx: 1, cap_s=3, owner=None)
        assert q.status(a).cap_s == 7.0 and q.status(b).cap_s == 3.0
        q.wait(b, WAIT)
    finally:
        monkeypatch.delenv("GSL_JOB_CAP_S")
        settings.reload()


def test_exception_marks_failed_and_next_job_runs(q):
    stopped = threading.Event()

    def bad(ctx):
        ctx.on_stop(stopped.set)
        raise ValueError("boom")

    jid = q.submit("t", "bad", bad, owner=None)
    nxt = q.submit("t", "next", lambda ctx: "ok", owner=None)
    final = q.wait(jid, WAIT)
    assert final.state == "failed" and final.error == "ValueError: boom"
    assert stopped.is_set()
    assert q.wait(nxt, WAIT).result == "ok"


def test_session_end_cancels_after_grace():
    alive = {"s1": True, "s2": True}
    q = JobQueue(max_jobs=2, session_alive=lambda sid: alive[sid], grace_s=0.0, watchdog_s=3600)
    stopped = threading.Event()

    def fn(ctx):
        ctx.on_stop(stopped.set)
        while True:
            ctx.check()
            time.sleep(0.005)

    j1 = q.submit("t", "mine", fn, owner="s1")
    j2 = q.submit("t", "other", _blocking(threading.Event()), owner="s2")
    _until(lambda: q.counts() == (2, 0))
    q.tick()
    assert q.status(j1).state == "running"
    alive["s1"] = False
    q.tick()  # the watchdog's pass (its own thread sleeps an hour here)
    # fn may register its on_stop callback just after the stop (it then runs at once)
    _until(stopped.is_set)
    final = q.wait(j1, WAIT)
    assert final.state == "cancelled" and "session ended" in final.error
    assert q.status(j2).state == "running"  # another user's job is untouched
    q.shutdown(kill_children=False)
    assert q.wait(j2, WAIT).state == "cancelled"


def test_session_reconnect_within_grace_keeps_job():
    alive = {"s1": False}
    q = JobQueue(max_jobs=1, session_alive=lambda sid: alive[sid], grace_s=3600, watchdog_s=3600)
    release = threading.Event()
    jid = q.submit("t", "mine", _blocking(release), owner="s1")
    _until(lambda: q.status(jid).state == "running")
    q.tick()
    q.tick()
    assert q.status(jid).state == "running" and not q.status(jid).stopping
    release.set()
    assert q.wait(jid, WAIT).state == "done"


def test_track_process_killed_on_cancel(q):
    started = {}

    def fn(ctx):
        proc = subprocess.Popen(["sleep", "120"])
        started["proc"] = proc
        ctx.track_process(proc)
        while True:
            ctx.check()
            time.sleep(0.005)

    jid = q.submit("t", "with a child", fn, owner=None)
    _until(lambda: "proc" in started)
    q.cancel(jid)
    assert started["proc"].wait(timeout=WAIT) is not None
    assert q.wait(jid, WAIT).state == "cancelled"


def _pool_task(pid_file: str) -> None:
    """In a pool worker: start a grandchild, record both pids, then work until killed."""
    import os

    child = subprocess.Popen(["sleep", "120"])
    with open(pid_file, "a") as f:
        f.write(f"{os.getpid()} {child.pid}\n")
    time.sleep(120)


def test_track_executor_kills_workers_and_their_children(q, tmp_path):
    """What a sweep does: a spawn ProcessPoolExecutor whose tasks start processes; Cancel kills all."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from dashboard import runtime

    pid_file = tmp_path / "pids.txt"

    def fn(ctx):
        pool = ProcessPoolExecutor(2, mp_context=mp.get_context("spawn"), initializer=runtime.worker_initializer)
        ctx.track_executor(pool)
        with pool:
            futures = [pool.submit(_pool_task, str(pid_file)) for _ in range(2)]
            while True:
                ctx.check()
                time.sleep(0.01)
        return futures

    jid = q.submit("t", "sweep-like", fn, owner=None)
    _until(lambda: pid_file.exists() and len(pid_file.read_text().split()) == 4, timeout=120)
    pids = [int(x) for x in pid_file.read_text().split()]
    assert all(jobs._alive(p) for p in pids)
    q.cancel(jid)
    assert q.wait(jid, WAIT).state == "cancelled"
    _until(lambda: not any(jobs._alive(p) for p in pids))


def test_shutdown_stops_running_and_queued(q):
    release = threading.Event()
    a = q.submit("t", "a", _blocking(release), owner=None)
    b = q.submit("t", "b", _blocking(release), owner=None)
    _until(lambda: q.status(a).state == "running")
    q.shutdown(kill_children=False)
    assert q.wait(a, WAIT).state == "cancelled" and "shutting down" in q.status(a).error
    assert q.status(b).state == "cancelled"
    late = q.submit("t", "late", lambda ctx: 1, owner=None)
    assert q.status(late).state == "cancelled"


def test_helpers_text():
    assert [jobs.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]
    assert jobs.md_escape("[x](http://e.com) `y`") == "\\[x\\]\\(http\\:\\/\\/e\\.com\\) \\`y\\`".replace("\\/", "/")
    assert jobs.fmt_seconds(3.21) == "3.2 s" and jobs.fmt_seconds(125) == "2 min 05 s"


def test_settings_env_then_default(monkeypatch):
    for name in ("GSL_MAX_JOBS", "GSL_TORCH_THREADS", "GSL_MODEL_DIRS", "GSL_RAY_ADDRESS", "GSL_MAX_UPLOAD_ROWS"):
        monkeypatch.delenv(name, raising=False)
    settings.reload()
    assert settings.max_jobs() == 1 and settings.torch_threads() == 1
    assert settings.model_dirs() == [] and settings.ray_address() is None
    assert settings.max_upload_rows() == 200_000 and settings.job_cap_s("x") == 600.0
    monkeypatch.setenv("GSL_MAX_JOBS", "3")
    monkeypatch.setenv("GSL_MODEL_DIRS", "/tmp/a:/tmp/b")
    monkeypatch.setenv("GSL_RAY_ADDRESS", "local")
    monkeypatch.setenv("GSL_TORCH_THREADS", "not a number")
    monkeypatch.setenv("GSL_JOB_CAP_S_NMT_TRAIN", "120")
    settings.reload()
    try:
        assert settings.max_jobs() == 3
        assert [str(p) for p in settings.model_dirs()] == ["/tmp/a", "/tmp/b"]
        assert settings.ray_address() == "local"
        assert settings.torch_threads() == 1  # malformed: default, with a log warning
        assert settings.job_cap_s("nmt-train") == 120.0 and settings.job_cap_s("sweep") == 600.0
    finally:
        monkeypatch.undo()
        settings.reload()


def test_settings_from_secrets_file(monkeypatch, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('GSL_MAX_JOBS = 4\n[gsl]\nmax_upload_rows = 1000\nmax_jobs = 9\n')
    monkeypatch.delenv("GSL_MAX_JOBS", raising=False)
    monkeypatch.delenv("GSL_MAX_UPLOAD_ROWS", raising=False)
    monkeypatch.setattr(settings, "_secrets_files", lambda: [secrets])
    settings.reload()
    try:
        assert settings.max_jobs() == 4  # the top-level GSL_ name wins over the [gsl] table
        assert settings.max_upload_rows() == 1000
        monkeypatch.setenv("GSL_MAX_JOBS", "2")  # the environment wins over the file
        settings.reload()
        assert settings.max_jobs() == 2
    finally:
        monkeypatch.undo()
        settings.reload()


_APP = """
import sys, threading
sys.path.insert(0, {root!r})
import streamlit as st
from dashboard import jobs

gate = threading._gsl_test_gate
if "job" not in st.session_state:
    def fn(ctx):
        ctx.report(0.5, "half way", curve=[1.0, 0.5])
        while not gate.is_set():
            ctx.check()
        return 42
    st.session_state.job = jobs.submit(kind="test", label="Tiny job", fn=fn, cap_s=600, size="tiny")

def done(s):
    st.session_state.result = s.result
    st.session_state.done_calls = st.session_state.get("done_calls", 0) + 1

jobs.progress_panel("job", render_live=lambda s: st.text(f"live {{s.data.get('curve')}}"), on_done=done)
st.text(f"result={{st.session_state.get('result')}} calls={{st.session_state.get('done_calls', 0)}}")
"""


def _apptest():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    return AppTest.from_string(_APP.format(root=str(ROOT)), default_timeout=60)


def _texts(at) -> str:
    return "\n".join(str(t.value) for t in at.text)


def test_progress_panel_apptest_done():
    gate = threading.Event()
    threading._gsl_test_gate = gate
    at = _apptest().run()
    assert not at.exception
    jid = at.session_state["job"]
    _until(lambda: jobs.status(jid).fraction == 0.5)
    at.run()
    assert "live [1.0, 0.5]" in _texts(at)
    assert any("Tiny job" in p.proto.text for p in at.get("progress"))
    assert [b.label for b in at.button] == ["Cancel"]
    assert "result=None" in _texts(at)
    gate.set()
    assert jobs.QUEUE.wait(jid, WAIT).state == "done"
    at.run()
    assert not at.exception
    assert "result=42 calls=1" in _texts(at)
    assert "finished in" in at.success[0].value
    at.run()
    assert "result=42 calls=1" in _texts(at)  # on_done ran once


def test_progress_panel_apptest_cancel():
    threading._gsl_test_gate = threading.Event()  # never set: the job runs until cancelled
    at = _apptest().run()
    jid = at.session_state["job"]
    _until(lambda: jobs.status(jid).state == "running")
    at.run()
    at.button[0].click().run()
    assert jobs.QUEUE.wait(jid, WAIT).state == "cancelled"
    at.run()
    assert not at.exception
    assert "cancelled by the user" in at.warning[0].value
    assert "calls=1" in _texts(at)


def test_interactive_torch_sets_threads_once(monkeypatch):
    pytest.importorskip("torch")
    import torch

    from dashboard import runtime

    monkeypatch.setenv("GSL_TORCH_THREADS", "1")
    settings.reload()
    monkeypatch.setattr(runtime, "_torch_threads", None)
    before = torch.get_num_threads()
    try:
        assert runtime.interactive_torch() == 1
        assert torch.get_num_threads() == 1
        torch.set_num_threads(2)
        assert runtime.interactive_torch() == 1  # once per process: not applied again
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
        settings.reload()


def test_is_active_for_none_unknown_running_and_finished():
    assert not jobs.is_active(None) and not jobs.is_active("no-such-job")
    release = threading.Event()
    jid = jobs.submit(kind="t", label="blocking", fn=_blocking(release), cap_s=60)
    assert jobs.is_active(jid)
    release.set()
    _until(lambda: not jobs.is_active(jid))
    assert jobs.status(jid).state == "done"


def _own_niceness() -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _pool_niceness() -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, 0)


def test_jobs_and_their_workers_run_at_lower_priority(q, monkeypatch):
    """Issue 17: page runs get the CPU first; the job thread and its workers are niced (GSL_JOB_NICE).
    (fork, not spawn: after an AppTest run, a spawned child would re-run AppTest's script as __main__.)"""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from dashboard import runtime

    monkeypatch.setenv("GSL_JOB_NICE", "7")
    settings.reload()
    try:
        def fn(ctx):
            pool = ProcessPoolExecutor(1, mp_context=mp.get_context("fork"), initializer=runtime.worker_initializer)
            ctx.track_executor(pool)
            with pool:
                return _own_niceness(), pool.submit(_pool_niceness).result(timeout=120)

        before = _own_niceness()
        final = q.wait(q.submit("t", "niced", fn, owner=None), 180)
        assert final.state == "done", (final.state, final.error)
        job_nice, worker_nice = final.result
        assert job_nice >= 7 and worker_nice >= 7
        assert _own_niceness() == before  # the submitting (page) thread keeps its priority
    finally:
        settings.reload()
