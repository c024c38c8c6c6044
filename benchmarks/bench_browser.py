"""Key press to last update, in a real browser, for the main widgets of every page (issue 12).

    .venv/bin/python benchmarks/bench_browser.py                      # every page, 10 moves each
    .venv/bin/python benchmarks/bench_browser.py --pages rnn-jacobian,attention --repeats 5
    .venv/bin/python benchmarks/bench_browser.py --baseline-commit f69db05   # interleaved with a baseline

It starts ``streamlit run dashboard/app.py`` on a free localhost port and drives the system
Chromium (``/usr/bin/chromium``, the project's flags from tests/conftest.py) with Playwright.
For every page in ``benchmarks/browser_moves.py`` it moves each widget ``--repeats`` times as a
user would (keyboard on sliders: focus the thumb, ArrowRight / ArrowLeft alternately; selects;
typed text + Enter; clicks on segmented controls and toggles) and measures, in the page:

* **browser**: from the key press or mouse press as the page receives it (the first ``keydown`` or
  ``mousedown`` event after the move is marked, its ``performance.now()``) to the last DOM
  mutation in the app (a MutationObserver on the whole document, counting changes inside the app
  root ``stApp`` but not the header's running indicator nor the layers Streamlit puts outside the
  root: a tooltip that opens where the mouse rests, seconds later, or a closing dropdown), once
  Streamlit's script state is ``notRunning`` and nothing has changed for a quiet window (400 ms;
  the window is not part of the figure). Plotly redraws are DOM mutations, so a
  pending redraw is waited for. Playwright's own lead-in is not counted: before a click it waits
  for the element to hold still over two animation frames (50-130 ms no user waits); where no
  event arrives the figure starts at the mark, just before the driver's call.
* **server**: the summed duration of the Streamlit script runs (full or fragment) that started
  during the move, from a timing hook (``dashboard.runtime.install_timing``) that a generated
  ``sitecustomize`` installs in the server process; pages do not call it. ``runs`` says how many
  runs and whether they were fragment runs (``frag``) or full reruns (``full``).
* **engine**: where one is defined in ``_engine_calls`` (single neuron: ``relu_chain`` on six unit
  weights; RNN width N: ``jacobian_log_singular_values`` at N = 64/65, T = 100, tanh; RNN steps:
  the same at N = 128, T = 1,000; attention temperature: one ``ScaledDotAttention(16)`` forward on
  6 tokens), that engine call timed directly in this process (median of the same number of
  repeats). It approximates the call the page makes at its defaults; pages change, so check it.

Also: opening each page once its models are loaded, two ways: a full page load (a shared link or the
address bar: the app's JavaScript loads again) and a click on its sidebar link from Home (how a user
moves between pages: Streamlit switches pages in the open app), each to the last update; and
the cold start (server process start to Home drawn). With ``--baseline-commit`` a second server
runs from a git worktree of that commit (created under /tmp, removed at the end) and every move
alternates between the two servers, so both see the same machine load.

Figures depend on the machine's load: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.browser_moves import MOVES, Move  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]
QUIET_MS = 400
# a move that should rerun something waits this long for the run to start (a loaded server starts
# it seconds late; a move that changed no value, e.g. a slider at its end, costs this much time)
RUN_START_WAIT_MS = 15_000
MOVE_TIMEOUT_MS = 120_000

# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------
SITECUSTOMIZE = textwrap.dedent('''
    # Written by benchmarks/bench_browser.py: installs the script-run timer in the server.
    import os
    _log = os.environ.pop("GSL_TIMING_LOG", "")
    _runtime = os.environ.pop("GSL_TIMING_RUNTIME", "")
    if _log and _runtime:
        import importlib.util
        _spec = importlib.util.spec_from_file_location("_gsl_timing_runtime", _runtime)
        _mod = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_mod)
        _mod.install_timing(_log)
''')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    root: Path
    port: int
    proc: subprocess.Popen
    timing_log: Path
    tmp: Path
    started: float  # time.monotonic() at Popen
    started_epoch: float = 0.0  # time.time() at Popen
    healthy_s: float = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def runs_between(self, t0: float, t1: float) -> list[dict]:
        """Script runs (from the timing log) that started in [t0, t1] (epoch seconds)."""
        if not self.timing_log.exists():
            return []
        out = []
        for line in self.timing_log.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if t0 <= r["t0"] <= t1:
                out.append(r)
        return out

    def rss_mb(self) -> float:
        """Resident memory of the server and its children, MB (from /proc)."""
        total = 0
        for pid in [self.proc.pid, *_descendants(self.proc.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def stop(self) -> float:
        """SIGTERM, wait (kill after 20 s); returns the seconds it took to exit."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return time.monotonic() - t0


def _descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            kids.setdefault(int(stat[stat.rfind(")") + 2:].split()[1]), []).append(int(name))
    out, stack = [], [pid]
    while stack:
        for c in kids.get(stack.pop(), []):
            out.append(c)
            stack.append(c)
    return out


def _die_with_us() -> None:
    """In the server child before exec: SIGTERM it when this benchmark process dies (Linux)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_server(root: Path = ROOT, *, env: dict | None = None, wait: bool = True) -> Server:
    """``streamlit run <root>/dashboard/app.py`` on a free port, with the script-run timer."""
    tmp = Path(tempfile.mkdtemp(prefix="gsl-bench-"))
    (tmp / "site").mkdir()
    (tmp / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    timing = tmp / "timing.jsonl"
    port = free_port()
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp / "site"), str(root)]),
                    GSL_TIMING_LOG=str(timing), GSL_TIMING_RUNTIME=str(ROOT / "dashboard" / "runtime.py"),
                    **(env or {}))
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 (kept open for the server's lifetime)
    started, started_epoch = time.monotonic(), time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(root / "dashboard" / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=root, env=full_env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_us,
    )
    srv = Server(root, port, proc, timing, tmp, started, started_epoch)
    if wait:
        wait_healthy(srv)
    return srv


def wait_healthy(srv: Server, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{srv.base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    srv.healthy_s = time.monotonic() - srv.started
                    return
        except OSError:
            pass
        if srv.proc.poll() is not None or time.monotonic() > deadline:
            tail = (srv.tmp / "server.log").read_text(errors="replace")[-3000:]
            srv.proc.kill()
            raise RuntimeError(f"streamlit at {srv.root} did not become healthy:\n{tail}")
        time.sleep(0.1)


# ---------------------------------------------------------------------------
# In the page: a MutationObserver that remembers the last update
# ---------------------------------------------------------------------------
OBSERVER_JS = """
() => {
  if (window.__gsl) return true;
  const g = window.__gsl = {last: 0, count: 0, sawRunning: false, state: null, t0: 0, epoch0: Date.now(), press: null};
  // the user's press: the first keydown / mousedown after the mark (capture phase, before any handler)
  const pressed = () => { if (g.t0 && g.press === null) g.press = performance.now(); };
  for (const type of ["keydown", "mousedown"]) document.addEventListener(type, pressed, true);
  const skip = 'header, [data-testid="stStatusWidget"], [data-testid="stToolbar"], [data-testid="stDecoration"]';
  const isState = m => m.type === 'attributes' && m.attributeName && m.attributeName.startsWith('data-test-')
      && m.target.getAttribute && m.target.getAttribute('data-testid') === 'stApp';
  new MutationObserver(muts => {
    const now = performance.now();
    for (const m of muts) {
      if (!isState(m)) continue;
      const s = m.target.getAttribute('data-test-script-state');
      if (s !== g.state) { g.state = s; if (s === 'running') g.sawRunning = true; }
    }
    // All records of a batch share one time: the batch is an update if any record is. Looking from
    // the end and stopping at the first that counts keeps the observer cheap (a redraw makes
    // thousands of records; a closest() on each cost ~15 ms per move, timed as the page's).
    for (let i = muts.length - 1; i >= 0; i--) {
      const m = muts[i];
      if (isState(m)) continue;
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (el && el.closest && (el.closest(skip) || !el.closest('[data-testid="stApp"]'))) continue;
      g.last = now; g.count++; g.lastEl = el;
      break;
    }
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  return true;
}
"""

MARK_JS = """
() => { const g = window.__gsl; g.last = 0; g.count = 0; g.sawRunning = false; g.press = null;
        g.t0 = performance.now(); g.epoch0 = Date.now(); return [g.t0, g.epoch0]; }
"""

SETTLED_JS = """
([quiet, expectRun, maxWaitRun]) => {
  const g = window.__gsl, now = performance.now();
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!(g.last > g.t0)) return !g.sawRunning && now - g.t0 > 5000;  // nothing changed at all
  if (now - g.last < quiet) return false;
  if (expectRun && !g.sawRunning && now - g.t0 < maxWaitRun) return false;
  if (document.querySelectorAll('[data-testid^="stSkeleton"]').length) return false;
  return true;
}
"""


LAST_JS = """
() => { const g = window.__gsl;
  const el = g.lastEl && g.lastEl.closest ? g.lastEl.closest('[data-testid]') : null;
  const from = g.press !== null && g.press < g.last ? g.press : g.t0;
  return {ms: g.last > g.t0 ? g.last - from : null, count: g.count, sawRunning: g.sawRunning, epoch0: g.epoch0,
          lastTestid: el ? el.getAttribute('data-testid') : ''}; }
"""


def wait_settled(pg, *, expect_run: bool = True, quiet_ms: int = QUIET_MS, timeout_ms: int = MOVE_TIMEOUT_MS) -> dict:
    """Wait for the end of the update started at the last :data:`MARK_JS`; returns the record."""
    pg.wait_for_function(SETTLED_JS, arg=[quiet_ms, expect_run, RUN_START_WAIT_MS], timeout=timeout_ms, polling=50)
    return pg.evaluate(LAST_JS)


def new_page(browser):
    """A page in a fresh context whose documents all carry the update observer from the start."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.add_init_script(script=f"({OBSERVER_JS})()")
    return ctx, ctx.new_page()


def wait_app_done(pg, timeout_ms: int = MOVE_TIMEOUT_MS) -> float:
    """After a navigation: connected, script finished, nothing changing for the quiet window.

    Returns the time of the last update in ms since this document's navigation started.
    """
    pg.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    pg.evaluate(OBSERVER_JS)  # no-op when the init script installed it
    pg.wait_for_function(SETTLED_JS, arg=[QUIET_MS, False, 0], timeout=timeout_ms, polling=50)
    return float(pg.evaluate("() => window.__gsl.last"))


def open_page(pg, base: str, url_path: str) -> float:
    """Full page load of ``url_path``; ms from navigation start to the last update."""
    pg.goto("about:blank")
    pg.goto(f"{base}/{url_path}", wait_until="commit")
    return wait_app_done(pg)


def open_in_app(pg, base: str, url_path: str) -> float | None:
    """Open ``url_path`` the way a user moves between pages: from Home, a click on its sidebar link
    (Streamlit switches pages without reloading the app). ms from the click to the last update;
    None when the sidebar has no link to it."""
    open_page(pg, base, "")
    link = pg.locator(f'[data-testid="stSidebarNav"] a[href$="/{url_path}"]').first
    if link.count() == 0:
        return None
    pg.evaluate(MARK_JS)
    link.click()
    rec = wait_settled(pg)
    return None if rec.get("ms") is None else float(rec["ms"])


# ---------------------------------------------------------------------------
# Moving widgets
# ---------------------------------------------------------------------------
class WidgetMissing(Exception):
    pass


def _container(pg, key: str):
    loc = pg.locator(f".st-key-{key}")
    n = loc.count()
    if n == 0:
        raise WidgetMissing(f"no element with key {key!r} on the page")
    for j in range(n):
        if loc.nth(j).is_visible():
            box = loc.nth(j)
            box.scroll_into_view_if_needed(timeout=10_000)
            return box
    raise WidgetMissing(f"{key!r} is on the page but hidden (a closed tab or expander)")


def _press(pg, target, key: str) -> tuple[float, float]:
    t = pg.evaluate(MARK_JS)
    if target is None:
        pg.keyboard.press(key)
    else:
        target.press(key)
    return t


def do_move(pg, move: Move, i: int) -> None:
    """Perform the i-th move of ``move`` (alternating directions / values); marks t0 itself."""
    box = _container(pg, move.key)
    if move.kind == "slider":
        thumb = box.locator('[role="slider"], input[type="range"]').first
        if thumb.count() == 0:
            raise WidgetMissing(f"{move.key!r} has no slider thumb")
        thumb.focus()
        _press(pg, None, "ArrowRight" if i % 2 == 0 else "ArrowLeft")
    elif move.kind == "select":
        field_ = box.locator("input").first
        if field_.count() == 0:
            raise WidgetMissing(f"{move.key!r} has no select input")
        field_.click()
        pg.keyboard.press("ArrowDown" if i % 2 == 0 else "ArrowUp")
        _press(pg, None, "Enter")
    elif move.kind == "choice":
        opts = box.locator('button, label:has(input[type="radio"]), [role="radio"], [role="option"]')
        n = opts.count()
        if n < 2:
            raise WidgetMissing(f"{move.key!r}: fewer than two options found")
        # the option after the selected one (or the first if none is marked)
        sel = pg.evaluate(
            """(key) => { const box = document.querySelector('.st-key-' + key);
               const opts = box.querySelectorAll('button, label:has(input[type=radio]), [role=radio], [role=option]');
               for (let j = 0; j < opts.length; j++) { const o = opts[j];
                 if (o.getAttribute('aria-checked') === 'true' || o.getAttribute('aria-pressed') === 'true' ||
                     o.getAttribute('aria-selected') === 'true' || o.getAttribute('kind')?.endsWith('Active') ||
                     o.querySelector('input:checked')) return j; }
               return -1; }""", move.key)
        target = opts.nth((sel + 1) % n)
        pg.evaluate(MARK_JS)
        target.click()
    elif move.kind in ("text", "textarea"):
        field_ = box.locator("textarea" if move.kind == "textarea" else "input").first
        if field_.count() == 0:
            raise WidgetMissing(f"{move.key!r} has no text field")
        current = field_.input_value()
        choices = [v for v in move.values if v != current] or [f"{current} x{i}"]
        field_.fill(choices[i % len(choices)])
        _press(pg, field_, "Control+Enter" if move.kind == "textarea" else "Enter")
    elif move.kind == "number":
        btn = box.locator('[data-testid="stNumberInputStepUp"]' if i % 2 == 0
                          else '[data-testid="stNumberInputStepDown"]').first
        if btn.count() == 0:
            raise WidgetMissing(f"{move.key!r} has no step buttons")
        pg.evaluate(MARK_JS)
        btn.click()
    elif move.kind == "toggle":
        target = box.locator("label").first
        pg.evaluate(MARK_JS)
        target.click()
    else:
        raise ValueError(f"unknown move kind {move.kind!r}")


# ---------------------------------------------------------------------------
# Engine-only timings: the engine call the page makes, at the page's defaults
# ---------------------------------------------------------------------------
def _engine_calls() -> dict[tuple[str, str], Callable[[int], object]]:
    """(url_path, key) -> fn(i) doing the engine work that move i asks for. Built lazily."""
    import numpy as np

    calls: dict[tuple[str, str], Callable[[int], object]] = {}

    def rnn(n_of, t_of):
        from engine import gradients

        def call(i):
            n, t = n_of(i), t_of(i)
            rng = np.random.default_rng(0)
            w = rng.standard_normal((n, n)) / np.sqrt(n)
            x1 = rng.standard_normal(n)
            return gradients.jacobian_log_singular_values(w, x1, t, "tanh")
        return call

    calls[("rnn-jacobian", "rnn_n")] = rnn(lambda i: 64 + (1 if i % 2 == 0 else 0), lambda i: 100)
    calls[("rnn-jacobian", "rnn_steps")] = rnn(lambda i: 128, lambda i: 1000)

    def relu(i):
        from engine import gradients

        return gradients.relu_chain(1.0 + 0.05 * (i % 2), [1.0] * 6)

    calls[("single-neuron", "sn_x")] = relu

    def attention_temp(i):
        import torch

        from engine.attention import ScaledDotAttention

        torch.manual_seed(0)
        att = ScaledDotAttention(16)
        x = torch.randn(1, 6, 16)
        with torch.no_grad():
            return att(x, x, x)

    calls[("attention", "at_temp")] = attention_temp
    return calls


def time_engine(url_path: str, key: str, repeats: int) -> float | None:
    try:
        fn = _engine_calls().get((url_path, key))
    except Exception:  # noqa: BLE001 (an engine import failing means no engine column)
        return None
    if fn is None:
        return None
    try:
        fn(0)  # warm-up (imports, caches)
        out = []
        for i in range(repeats):
            t0 = time.perf_counter()
            fn(i)
            out.append((time.perf_counter() - t0) * 1000)
    except Exception as exc:  # noqa: BLE001
        print(f"  (engine timing for {url_path}/{key} failed: {type(exc).__name__}: {exc})")
        return None
    return statistics.median(out)


# ---------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------
def pct(xs: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation (numpy's default)."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass
class Row:
    page: str
    widget: str
    target: str  # "project" or "baseline"
    browser_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    last: list[str] = field(default_factory=list)  # data-testid of the element updated last
    no_update: int = 0  # moves after which nothing on the page changed
    engine_ms: float | None = None
    note: str = ""


def _move_once(pg, srv: Server, move: Move, i: int) -> tuple[float, float, str, str]:
    do_move(pg, move, i)
    rec = wait_settled(pg, expect_run=not move.training)
    t0 = rec["epoch0"] / 1000
    runs = srv.runs_between(t0 - 0.05, t0 + rec["ms"] / 1000 + 0.5)
    kind = ("frag" if all(r["fragments"] for r in runs) else "full") if runs else "none"
    if rec["ms"] is None:
        return None, 0.0, kind, ""
    return rec["ms"], sum(r["ms"] for r in runs), f"{len(runs)} {kind}", rec.get("lastTestid") or "?"


def run_bench(args) -> int:
    from playwright.sync_api import sync_playwright

    pages = [p for p in (args.pages.split(",") if args.pages else MOVES) if p]
    unknown = [p for p in pages if p not in MOVES]
    if unknown:
        print(f"unknown pages {unknown}; known: {', '.join(MOVES)}")
        return 2
    load0 = Path("/proc/loadavg").read_text().split()[:3]
    targets: list[tuple[str, Server]] = []
    worktree = None
    rows: list[Row] = []
    opens: dict[tuple[str, str], list[float]] = {}
    opens_in_app: dict[tuple[str, str], list[float]] = {}
    cold: dict[str, tuple[float, float]] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            to_start = [("project", ROOT)]
            if args.baseline_commit:
                worktree = Path(tempfile.mkdtemp(prefix="gsl-baseline-")) / "tree"
                subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree),
                                args.baseline_commit], check=True, capture_output=True)
                to_start.append(("baseline", worktree))
            for name, root in to_start:
                # cold start: process start -> Home drawn in a fresh browser context
                srv = start_server(root, wait=False)
                ctx, pg = new_page(browser)
                wait_healthy(srv)
                pg.goto(f"{srv.base}/", wait_until="commit")
                last = wait_app_done(pg)
                drawn_epoch = (pg.evaluate("() => performance.timeOrigin") + last) / 1000
                cold[name] = (srv.healthy_s, drawn_epoch - srv.started_epoch)
                ctx.close()
                targets.append((name, srv))
            contexts = {}
            for name, _srv in targets:
                contexts[name] = new_page(browser)
            engine_cache: dict[tuple[str, str], float | None] = {}
            for url_path in pages:
                print(f"page {url_path} ...", flush=True)
                for name, srv in targets:
                    pg = contexts[name][1]
                    open_page(pg, srv.base, url_path)  # first visit loads the models
                for _ in range(args.open_repeats):
                    for name, srv in targets:
                        pg = contexts[name][1]
                        opens.setdefault((url_path, name), []).append(open_page(pg, srv.base, url_path))
                        t_app = open_in_app(pg, srv.base, url_path)
                        if t_app is not None:
                            opens_in_app.setdefault((url_path, name), []).append(t_app)
                for name, srv in targets:  # the moves start on a freshly loaded page, as before
                    open_page(contexts[name][1], srv.base, url_path)
                for move in MOVES[url_path]:
                    per_target = {name: Row(url_path, move.label, name) for name, _ in targets}
                    move_path = f"{url_path}?{move.query}" if move.query else url_path
                    if move.query:  # the part of the page that holds the widget (untimed)
                        for name, srv in targets:
                            open_page(contexts[name][1], srv.base, move_path)
                    for i in range(args.repeats):
                        for name, srv in targets:
                            row = per_target[name]
                            if row.note:
                                continue
                            pg = contexts[name][1]
                            try:
                                b_ms, s_ms, kind, last = _move_once(pg, srv, move, i)
                            except WidgetMissing as exc:
                                row.note = f"skipped: {exc}"
                                print(f"  {name}: {move.label}: {row.note}")
                                continue
                            except Exception as exc:  # noqa: BLE001 (one widget failing is reported, not fatal)
                                row.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
                                print(f"  {name}: {move.label}: {row.note}")
                                open_page(pg, srv.base, move_path)
                                continue
                            if b_ms is None:
                                row.no_update += 1
                                continue
                            row.browser_ms.append(b_ms)
                            row.server_ms.append(s_ms)
                            row.kinds.append(kind)
                            row.last.append(last)
                    if move.query:
                        for name, srv in targets:
                            open_page(contexts[name][1], srv.base, url_path)
                    k = (url_path, move.key)
                    if k not in engine_cache:
                        engine_cache[k] = time_engine(url_path, move.key, args.repeats)
                    for row in per_target.values():
                        row.engine_ms = engine_cache[k]
                        rows.append(row)
                        _print_row(row)
            browser.close()
    finally:
        for _, srv in targets:
            srv.stop()
        if worktree is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                           capture_output=True)
    load1 = Path("/proc/loadavg").read_text().split()[:3]
    print()
    print(f"Browser benchmark (headless Chromium, key press to last update; quiet window {QUIET_MS} ms "
          f"excluded), {args.repeats} moves per widget. Load average before {' '.join(load0)}, "
          f"after {' '.join(load1)} (2 cores).")
    print("| page | widget | target | browser p50 / p95 ms | server script p50 ms (runs) | engine ms |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(_table_row(r))
    print()
    print("| page | target | open, models loaded: full load p50 / max ms | from Home's sidebar p50 / max ms |")
    print("|---|---|---|---|")
    for (url_path, name), xs in opens.items():
        ys = opens_in_app.get((url_path, name), [])
        in_app = f"{pct(ys, 0.5):,.0f} / {max(ys):,.0f}" if ys else "-"
        print(f"| {url_path} | {name} | {pct(xs, 0.5):,.0f} / {max(xs):,.0f} | {in_app} |")
    for name, (healthy, drawn) in cold.items():
        print(f"cold start ({name}): server healthy {healthy:.1f} s, Home drawn {drawn:.1f} s after process start")
    return 0


def _table_row(r: Row) -> str:
    if not r.browser_ms:
        return f"| {r.page} | {r.widget} | {r.target} | {r.note or 'no data'} | | |"
    kinds = sorted(set(r.kinds))
    eng = f"{r.engine_ms:.1f}" if r.engine_ms is not None else "-"
    nu = f" ({r.no_update} moves changed nothing)" if r.no_update else ""
    return (f"| {r.page} | {r.widget} | {r.target} | {pct(r.browser_ms, 0.5):,.0f} / {pct(r.browser_ms, 0.95):,.0f}{nu} | "
            f"{pct(r.server_ms, 0.5):,.0f} ({', '.join(kinds)}) | {eng} |")


def _print_row(r: Row) -> None:
    last = max(set(r.last), key=r.last.count) if r.last else "-"
    print("  " + _table_row(r) + f"  (updated last, most often: {last})", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", default="", help=f"comma-separated url paths (default all: {','.join(MOVES)})")
    ap.add_argument("--repeats", type=int, default=10, help="moves per widget (default 10)")
    ap.add_argument("--open-repeats", type=int, default=3, help="page opens timed per page (default 3)")
    ap.add_argument("--baseline-commit", default="", help="also run a git worktree of this commit, interleaved")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up (servers, worktree)
    return run_bench(args)


if __name__ == "__main__":
    sys.exit(main())
