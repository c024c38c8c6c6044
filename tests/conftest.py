"""Shared test harness.

* ``run_page`` / ``page_app``: run one page's ``render()`` in Streamlit's AppTest,
  optionally with URL query parameters; set widgets by key and read what is shown.
* ``streamlit_server``: ``streamlit run dashboard/app.py`` on a free localhost port,
  started once per session and stopped at the end.
* ``browser`` / ``page``: Playwright driving the system Chromium (``/usr/bin/chromium``)
  with the project's flags. Browser tests skip, with a printed reason, only when
  Chromium is missing and ``REQUIRE_BROWSER`` is unset; with ``REQUIRE_BROWSER=1`` a
  missing browser is a failure.
* ``wait_for_app(page)``: wait until the app has finished its run (no fixed sleeps).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------------------
# AppTest helpers
# ---------------------------------------------------------------------------
_PAGE_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from dashboard import widgets
widgets.begin_run()
import importlib
importlib.import_module({module!r}).render()
widgets.report_unknown_params()
widgets.show_notices()
"""


def page_app(module: str, query: dict | None = None, timeout: float = 120):
    """An AppTest (not yet run) that renders ``pages.<module>`` alone.

    ``module`` may be given with or without the ``pages.`` prefix. ``query`` sets URL
    query parameters before the first run.
    """
    from streamlit.testing.v1 import AppTest

    if not module.startswith("pages."):
        module = f"pages.{module}"
    at = AppTest.from_string(_PAGE_SCRIPT.format(root=str(ROOT), module=module), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at


def run_page(module: str, query: dict | None = None, timeout: float = 120):
    """Render a page once in AppTest and assert it raised no exception."""
    at = page_app(module, query, timeout).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def walk_tree(node):
    """Every node of an AppTest element tree (``at._tree``), depth first, in page order."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk_tree(child)


def shown_figures(at) -> list[dict]:
    """The figures an AppTest run displayed (``ui.show``: the gsl_chart component, or
    ``st.plotly_chart`` where static serving is off), as parsed plotly JSON, in page order."""
    import json

    out: list[dict] = []
    for node in walk_tree(at._tree):
        kind, proto = getattr(node, "type", ""), getattr(node, "proto", None)
        if kind == "plotly_chart":
            out.append(json.loads(proto.spec))
        elif kind == "bidi_component" and proto.component_name == "gsl_chart":
            out.append(json.loads(json.loads(proto.json)["spec"]))
    return out


def shown_text(at) -> str:
    """All markdown, captions, plain text (URL notices), metrics, alerts and LaTeX an
    AppTest run displayed, as one string."""
    parts: list[str] = []
    for group in ("title", "header", "subheader", "markdown", "caption", "text", "latex", "info", "warning", "error",
                  "success", "code"):
        for el in getattr(at, group, []):
            parts.append(str(el.value))
    for m in at.metric:
        parts.append(f"{m.label}: {m.value}")
    return "\n".join(parts)


def metric(at, label: str) -> str:
    """The displayed value of the metric whose label starts with ``label``."""
    for m in at.metric:
        if m.label.startswith(label):
            return m.value
    raise KeyError(f"no metric labelled {label!r}; have {[m.label for m in at.metric]}")


def shown_table(at, index: int = 0):
    """The ``index``-th table the run showed (``ui.table``: a static ``st.table``, or an
    ``st.dataframe`` for long data) as a DataFrame with the markdown escapes removed, so
    cells read as the user sees them (``2.3.1``, not ``2\\.3\\.1``)."""
    tables = [*at.table, *at.dataframe]
    frame = tables[index].value.copy()

    def plain(v):
        return re.sub(r"\\(.)", r"\1", v) if isinstance(v, str) else v

    frame.columns = [plain(c) for c in frame.columns]
    for col in frame.columns:
        frame[col] = frame[col].map(plain)
    return frame


@pytest.fixture
def shared_dir() -> Path:
    """../shared (real published data for tests, read in place)."""
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not present: these tests read the published data in place "
                    f"({SHARED / 'data' / 'chinchilla_fig4_epoch_extracted.csv'}); CI lays it beside the clone")
    return SHARED


# ---------------------------------------------------------------------------
# Browser harness
# ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _browser_available() -> tuple[bool, str]:
    if not Path(CHROMIUM).exists():
        return False, f"Chromium not found at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False, "playwright is not installed"
    return True, ""


def _require_browser() -> None:
    ok, why = _browser_available()
    if ok:
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {why}")
    print(f"skipping browser test: {why}")
    pytest.skip(why)


def wait_healthy(proc: subprocess.Popen, base: str, timeout: float = 90, log: Path | None = None) -> None:
    """Wait until ``streamlit run`` (``proc``) answers ``/_stcore/health`` at ``base``; fail the
    test (after killing it) if it exits or does not answer within ``timeout`` seconds, with the
    tail of its output file ``log``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            out = log.read_text(errors="replace") if log is not None else ""
            proc.kill()
            pytest.fail(f"streamlit did not become healthy:\n{out[-3000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory):
    """Base URL of ``streamlit run dashboard/app.py`` on a free localhost port.

    The server writes to a file, never to a pipe: nobody reads a pipe while the tests run, and a
    full pipe (64 KiB of log lines over a session) blocks the server's event loop on a write, so
    the browser loses its connection and every widget turns disabled."""
    _require_browser()
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    _SERVER_LOGS.append(log_path)
    log = open(log_path, "wb")  # noqa: SIM115 (kept open for the server's lifetime)
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
            "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, base, timeout=90, log=log_path)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser page. What it logs and its websocket openings and closings are kept for
    the failure report (see ``pytest_runtest_makereport``)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    t0 = time.monotonic()
    events: list[str] = []
    request.node.gsl_page, request.node.gsl_events = pg, events

    def note(text: str) -> None:
        events.append(f"{time.monotonic() - t0:8.2f} s  {text}")

    pg.on("console", lambda m: m.type in ("error", "warning") and note(f"console {m.type}: {m.text[:300]}"))
    pg.on("websocket", lambda ws: (note(f"websocket open {ws.url}"),
                                   ws.on("close", lambda _ws: note("websocket closed"))))
    pg.on("crash", lambda _pg: note("page crashed"))
    yield pg
    context.close()


_SERVER_LOGS: list[Path] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test reports what the page showed of its connection, what the browser
    logged, and the tail of the Streamlit server's log (CI keeps nothing else)."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed or not hasattr(item, "gsl_events"):
        return
    try:
        state = item.gsl_page.evaluate(
            """() => { const a = document.querySelector('[data-testid="stApp"]');
                       return a ? `${a.dataset.testConnectionState} / ${a.dataset.testScriptState}` : 'no stApp'; }""")
    except Exception as exc:  # noqa: BLE001 (a crashed or closed page)
        state = f"unknown ({exc.__class__.__name__})"
    report.sections.append(("browser", f"connection / script state now: {state}\n" + "\n".join(item.gsl_events[-60:])))
    for log in _SERVER_LOGS:
        if log.exists():
            report.sections.append(("streamlit server log (tail)", log.read_text(errors="replace")[-6000:]))


def draw_all_charts(pg, timeout: float = 120_000) -> None:
    """Draw the charts that wait out of view (dashboard/chart.js) and wait until all are drawn."""
    # Each poll draws what waits: a rerun may still deliver a newer figure while this waits.
    try:
        pg.wait_for_function(
            """() => { if (window.gslDrawAll) window.gslDrawAll();
                       return Array.from(document.querySelectorAll('[data-testid="gslChart"]'))
                         .every(el => el.dataset.gslState === 'drawn' || el.dataset.gslState === 'error'); }""",
            timeout=timeout,
            polling=100,
        )
    except Exception as exc:  # noqa: BLE001 (a timeout): say which charts and in what state
        states = pg.evaluate(
            """() => Array.from(document.querySelectorAll('[data-testid="gslChart"]')).map(el => ({
                 state: el.dataset.gslState || '', svg: el.querySelector('.main-svg') !== null,
                 job: !!el.__gslJob, drawing: el.__gslDrawing || 0, near: el.__gslNear, observed: !!el.__gslObserver,
                 connected: el.isConnected, height: el.getBoundingClientRect().height}))""")
        raise AssertionError(f"charts not drawn: {states}") from exc


def wait_for_app(pg, timeout: float = 120_000, *, draw_all: bool = True) -> None:
    """Wait until Streamlit is connected and its script run has finished.

    With ``draw_all`` (the default) every chart is then drawn, those out of view too, so that
    a test reads and a screenshot shows the whole page; without it, until the charts near the
    view are drawn and the others wait (what a user's browser does).
    """
    pg.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout)
    # The script state goes initial -> running -> notRunning; wait for a finished run.
    pg.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    pg.wait_for_load_state("networkidle", timeout=timeout)
    # Lazily loaded widget code shows skeletons until it arrives.
    pg.wait_for_function(
        """() => document.querySelectorAll('[data-testid^="stSkeleton"], [data-testid="stAppSkeleton"]').length === 0""",
        timeout=timeout,
    )
    # Let the plotly charts finish drawing (their SVG exists) before screenshots.
    pg.wait_for_function(
        """() => Array.from(document.querySelectorAll('[data-testid="gslChart"]'))
                 .every(el => el.dataset.gslState === 'waiting' || el.querySelector('.main-svg') !== null)""",
        timeout=timeout,
    )
    if draw_all:
        draw_all_charts(pg, timeout)


def screenshot(pg, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    draw_all_charts(pg)
    pg.screenshot(path=str(path), full_page=True)
    return path
