"""Server lifecycle (issue 17): SIGTERM stops ``streamlit run`` promptly and leaves no worker behind.

A real server (``streamlit run dashboard/app.py``) is started with a ``sitecustomize`` module
on its PYTHONPATH (written to a temporary folder by this test; it is imported by every Python
process at start-up). When ``GSL_TEST_JOB`` is set, it waits for Streamlit's runtime, then
submits one job through ``dashboard.jobs`` that does what a sweep does: starts a
``ProcessPoolExecutor`` (spawn, like ``engine/sweeps.py``) whose workers run a long task and
start a grandchild process each, plus a plain ``subprocess`` child. The job writes every pid to
a file. The test then sends SIGTERM (or SIGKILL) to the server and checks, from /proc, that the
server exited and that none of those processes remains.

``GSL_TEST_JOB=untracked`` registers nothing with the job context (only the server's exit hook
can clean up); ``tracked`` uses ``initializer=dashboard.runtime.worker_initializer`` and
``ctx.track_executor`` (what a sweep should do), which also covers SIGKILL of the server.

The bound on the exit time is generous (30 s, against a 5 s target) so the test is not flaky on
a loaded machine; the measured time is printed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import wait_healthy

ROOT = Path(__file__).resolve().parents[1]
EXIT_BOUND_S = 30.0

SITECUSTOMIZE = textwrap.dedent('''
    import os, sys, threading, time

    _MODE = os.environ.pop("GSL_TEST_JOB", "")   # children (spawned workers) do not inherit it
    _PIDS = os.environ.get("GSL_TEST_PIDS", "")


    def _record(**kw):
        import json
        with open(_PIDS, "a") as f:
            f.write(json.dumps(kw) + "\\n")


    def long_task(seconds):
        """Runs in a pool worker: start a grandchild, then work (sleep) for a long time."""
        import subprocess
        child = subprocess.Popen(["sleep", str(int(seconds))])
        _record(role="grandchild", pid=child.pid)
        _record(role="worker", pid=os.getpid())
        t_end = time.time() + seconds
        while time.time() < t_end:
            time.sleep(0.05)
        return os.getpid()


    def _job(ctx):
        import multiprocessing as mp
        import subprocess
        from concurrent.futures import ProcessPoolExecutor
        from dashboard import runtime

        child = subprocess.Popen(["sleep", "600"])
        _record(role="child", pid=child.pid)
        kwargs = {}
        if _MODE == "tracked":
            ctx.track_process(child)
            kwargs["initializer"] = runtime.worker_initializer
        pool = ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn"), **kwargs)
        if _MODE == "tracked":
            ctx.track_executor(pool)
        futures = [pool.submit(long_task, 600) for _ in range(2)]
        with pool:   # like engine/sweeps.py: the context manager waits for its workers
            for i in range(1_000_000):
                if ctx.should_stop():
                    break
                ctx.report(min(0.99, i / 10000), "running")
                time.sleep(0.05)
            return [f.result() for f in futures if f.done()]


    def _submit_when_ready():
        from streamlit.runtime import Runtime
        while not Runtime.exists():
            time.sleep(0.05)
        sys.path.insert(0, os.environ["GSL_TEST_ROOT"])
        from dashboard import jobs
        jid = jobs.submit(kind="test", label="lifecycle test job", fn=_job, cap_s=3600)
        _record(role="job", id=jid, server=os.getpid())


    if _MODE and _PIDS:
        threading.Thread(target=_submit_when_ready, name="gsl-test-submit", daemon=True).start()
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (from /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _start_server(tmp_path: Path, mode: str):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    pids = tmp_path / "pids.jsonl"
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]), GSL_TEST_JOB=mode,
               GSL_TEST_PIDS=str(pids), GSL_TEST_ROOT=str(ROOT), GSL_MAX_JOBS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_healthy(proc, f"http://127.0.0.1:{port}", timeout=120)
    # wait until the job's pool workers and their grandchildren are up
    deadline = time.monotonic() + 120
    while True:
        recs = _records(pids)
        roles = [r["role"] for r in recs]
        if roles.count("worker") >= 2 and roles.count("grandchild") >= 2 and "child" in roles:
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the test job did not start its processes: {recs}")
        time.sleep(0.2)
    return proc, recs


def _cleanup(pids: list[int]) -> None:
    for p in pids:
        if _alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def _stop_and_check(proc: subprocess.Popen, recs: list[dict], sig: int) -> float:
    spawned = [r["pid"] for r in recs if "pid" in r]
    assert all(_alive(p) for p in spawned)
    t0 = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(timeout=EXIT_BOUND_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        _cleanup(spawned)
        pytest.fail(f"server still running {EXIT_BOUND_S:.0f} s after signal {sig}")
    took = time.monotonic() - t0
    # Orphans are re-parented to init; give the kernel a moment to deliver death signals.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in spawned):
        time.sleep(0.1)
    left = [r for r in recs if "pid" in r and _alive(r["pid"])]
    _cleanup(spawned)
    assert not left, f"orphaned processes after signal {sig}: {left}"
    print(f"server exited {took:.2f} s after signal {sig}; {len(spawned)} job processes all gone")
    return took


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["untracked", "tracked"])
def test_sigterm_exits_and_leaves_no_orphans(tmp_path, mode):
    proc, recs = _start_server(tmp_path, mode)
    _stop_and_check(proc, recs, signal.SIGTERM)


@pytest.mark.slow
def test_sigkill_leaves_no_tracked_workers(tmp_path):
    """After a forced kill only PR_SET_PDEATHSIG helps: workers started with the initializer die."""
    proc, recs = _start_server(tmp_path, "tracked")
    workers = [r for r in recs if r["role"] == "worker"]
    spawned = [r["pid"] for r in recs if "pid" in r]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=EXIT_BOUND_S)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(r["pid"]) for r in workers):
        time.sleep(0.1)
    left = [r for r in workers if _alive(r["pid"])]
    _cleanup(spawned)
    assert not left, f"pool workers orphaned after SIGKILL: {left}"
