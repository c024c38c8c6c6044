"""Relative-attention page: re-render cost of a slider move at sequence length 512.

Target (issue 4): a slider move re-renders (engine + figures) in under 200 ms at n = 512.

A re-render = the engine calls the moved slider invalidates (the page caches the rest with
st.cache_data) + building every figure on the page + serialising them to JSON (what
Streamlit ships to the browser). Three moves are timed:

* beta slider (max-pool tab): one max-pool layer; curve and beta-needed stay cached;
* kernel edit (conv tab): solve_conv, the heads on x, the comparison;
* new input (worst case): every engine call of both tabs, including the 41-point
  error-vs-beta curve and the bisection for the beta needed.

Baseline: the same work with the textbook dense layer (n x n scores, masked softmax over
full rows) in place of the banded O(n |p|) one. Baseline and project run interleaved (A, B,
A, B, ...) with the same number of repeats.

Issue 12 (panels): "page before" is the re-render above (the old page rebuilt both tabs'
figures on every move); "page after" is what the new page recomputes: only the open part
(a URL-bound switcher replaced st.tabs), only the panel whose control moved (fragments), and
no figure whose inputs did not change (cached). Then Streamlit's AppTest reruns the old page
(git show f69db05:pages/relative_attention.py) and the current one, interleaved; AppTest
reruns the whole script even for a widget inside a fragment, so "after" is an upper bound.

    .venv/bin/python benchmarks/bench_relattn.py [--repeats 7] [--no-apptest]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard import plots_relattn as pr  # noqa: E402
from engine import relattn as ra  # noqa: E402

N = 512
TARGET_MS = 200.0
REPEATS = 7
BASELINE_COMMIT = "f69db05"  # the page before issue 12


def dense_layer(x, w_q, w_k, w_v, p):
    """Baseline: full n x n scores alpha_ij = w_q w_k x_i x_j + p_{i-j}, masked softmax per row."""
    n = x.size
    d = np.arange(n)[:, None] - np.arange(n)[None, :]
    bias = np.full((n, n), -np.inf)
    for off, v in p.items():
        bias[d == off] = v
    s = w_q * w_k * np.outer(x, x) + bias
    m = s.max(axis=1, keepdims=True)
    e = np.exp(s - m)
    a = e / e.sum(axis=1, keepdims=True)
    return w_v * a @ x


class Dense:
    """Swap the engine's banded layer for the dense baseline (same results)."""

    def __enter__(self):
        self._orig = ra.rel_attn

        def rel_attn(x, w_q, w_k, w_v, p, d_k=1.0):
            res = self._orig(x, w_q, w_k, w_v, p, d_k)
            res.output = dense_layer(np.asarray(x, float), w_q, w_k, w_v, {k: v for k, v in p.items() if v > -math.inf})
            return res

        ra.rel_attn = rel_attn
        return self

    def __exit__(self, *exc):
        ra.rel_attn = self._orig


def figures_conv(x, kernel, heads, cmp, attn):
    figs = [
        pr.kernel_figure(kernel, cmp.effective),
        pr.overlay_figure(cmp.x, cmp.output, cmp.target, cmp.interior, target_name="true Conv1D"),
        pr.error_figure(cmp.error, cmp.interior),
        pr.attention_heatmap(*ra.attention_window(attn[0], N // 2 - 16, 32)),
    ]
    for h in heads:
        pr.latex_head(h)
    pr.latex_effective(cmp.effective)
    return figs


def figures_pool(res, curve, need, beta, eps):
    return [
        pr.beta_curve_figure(curve, beta_now=beta, eps=eps, beta_needed=need.beta),
        pr.overlay_figure(res.x, res.output, res.target, res.interior, target_name="true MaxPool"),
        pr.error_figure(res.error, res.interior, show_eps=False),
        pr.attention_heatmap(*ra.attention_window(res.attention, N // 2 - 16, 32)),
    ]


def conv_engine(x, kernel):
    heads = ra.solve_conv(kernel)
    cmp = ra.compare_conv(x, kernel, heads)
    attn = [ra.rel_attn(x, *h) for h in heads]
    return heads, cmp, attn


def move(kind: str, x, cache: dict) -> float:
    """One re-render after a slider move; returns milliseconds."""
    k, eps, beta, kernel = 1, 0.01, cache["beta"], cache["kernel"]
    t0 = time.perf_counter()
    if kind in ("kernel", "input"):
        cache["conv"] = conv_engine(x, kernel)
    if kind in ("beta", "input"):
        cache["res"] = ra.maxpool_attention(x, k, beta)
    if kind == "input":
        cache["curve"] = ra.maxpool_error_curve(x, k)
        cache["need"] = ra.beta_for_error(x, k, eps)
    figs = figures_conv(x, kernel, *cache["conv"]) + figures_pool(cache["res"], cache["curve"], cache["need"], beta, eps)
    for f in figs:
        f.to_json()
    return (time.perf_counter() - t0) * 1e3


def bench(kind: str) -> tuple[list[float], list[float]]:
    """Interleaved ours / dense-baseline moves; milliseconds per move for each."""
    x = ra.make_input("random non-negative", N, seed=0)
    caches = {d: {"beta": 1.0, "kernel": [1.0, -2.0, 1.0]} for d in (False, True)}
    times = {False: [], True: []}
    for d in (False, True):
        with Dense() if d else _Null():
            move("input", x, caches[d])                      # warm-up, fills the cache
    for r in range(REPEATS):
        for d in (False, True):
            cache = caches[d]
            cache["beta"] = [1.0, 10.0, 100.0][r % 3]
            cache["kernel"] = [[1.0, -2.0, 1.0], [2.0, 0.0, 1.0], [1, 2, -3, 2, 1]][r % 3]
            with Dense() if d else _Null():
                times[d].append(move(kind, x, cache))
    return times[False], times[True]


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def move_after(kind: str, x, cache: dict) -> float:
    """What the new page recomputes after one move (only the open part, only the moved panel)."""
    k, eps, beta, kernel = 1, 0.01, cache["beta"], cache["kernel"]
    t0 = time.perf_counter()
    if kind == "beta":                                       # max-pool panel only
        res = ra.maxpool_attention(x, k, beta)
        figs = figures_pool(res, cache["curve"], cache["need"], beta, eps)
    else:                                                    # kernel edit, or a new input on the conv part
        figs = figures_conv(x, kernel, *conv_engine(x, kernel))
    for f in figs:
        f.to_json()
    return (time.perf_counter() - t0) * 1e3


def bench_page() -> None:
    x = ra.make_input("random non-negative", N, seed=0)
    before = {"beta": 1.0, "kernel": [1.0, -2.0, 1.0]}
    move("input", x, before)
    after = {"curve": before["curve"], "need": before["need"]}
    for kind, label in (("beta", "beta slider"), ("kernel", "kernel edit"), ("input", "new input / n")):
        tb, ta = [], []
        for r in range(REPEATS):
            before["beta"] = after["beta"] = [1.0, 10.0, 100.0][r % 3]
            before["kernel"] = after["kernel"] = [[1.0, -2.0, 1.0], [2.0, 0.0, 1.0], [1, 2, -3, 2, 1]][r % 3]
            tb.append(move(kind, x, before))
            ta.append(move_after(kind, x, after))
        b, a = statistics.median(tb), statistics.median(ta)
        print(f"{label:24s} page before {b:7.1f} ms | page after {a:7.1f} ms | {b / a:4.1f}x "
              f"(engine + figures + JSON, median of {REPEATS})")


def main() -> None:
    global REPEATS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=REPEATS)
    ap.add_argument("--no-apptest", action="store_true")
    args = ap.parse_args()
    REPEATS = args.repeats
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"load average {' '.join(load)} on {os.cpu_count()} CPUs")
    print(f"relative attention page, n = {N}, median of {REPEATS} interleaved moves (engine + all figures + JSON)")
    for kind, label in (("beta", "beta slider"), ("kernel", "kernel edit"), ("input", "new input (worst case)")):
        t_ours, t_base = bench(kind)
        ours, base = statistics.median(t_ours), statistics.median(t_base)
        verdict = "PASS" if ours < TARGET_MS else "FAIL"
        print(f"{label:24s} ours {ours:7.1f} ms | baseline dense n x n layer {base:7.1f} ms | "
              f"speed-up {base / ours:4.1f}x | target < {TARGET_MS:.0f} ms: {verdict}")
    x = ra.make_input("random non-negative", N, seed=0)
    fns = {"ours": lambda: ra.rel_attn_layer(x, 1.0, 1.0, 1.0, ra.maxpool_p(2)),
           "base": lambda: dense_layer(x, 1.0, 1.0, 1.0, ra.maxpool_p(2))}
    t = {k: [] for k in fns}
    for _ in range(max(REPEATS, 5)):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            t[k].append((time.perf_counter() - t0) * 1e3)
    ours, base = statistics.median(t["ours"]), statistics.median(t["base"])
    print(f"{'one layer call (k=2)':24s} ours {ours:7.2f} ms | baseline dense n x n layer {base:7.2f} ms | "
          f"speed-up {base / ours:4.1f}x")
    print("issue 12, per slider move:")
    bench_page()
    if not args.no_apptest:
        apptest_rows()


def _app(script_module: str, extra_path: str | None, query: dict):
    from streamlit.testing.v1 import AppTest

    script = (f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
              + (f"sys.path.insert(0, {extra_path!r})\n" if extra_path else "")
              + "from dashboard import widgets\nwidgets.begin_run()\nimport importlib\n"
              f"importlib.import_module({script_module!r}).render()\n")
    at = AppTest.from_string(script, default_timeout=300)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def apptest_rows() -> None:
    """Whole-page AppTest reruns, old page against the current one, interleaved."""
    try:
        old_src = subprocess.run(["git", "show", f"{BASELINE_COMMIT}:pages/relative_attention.py"], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        print("AppTest rows skipped: the baseline page needs git and commit", BASELINE_COMMIT)
        return
    tmp = tempfile.mkdtemp(prefix="gsl_bench_")
    Path(tmp, "gsl_old_relative_attention.py").write_text(old_src)
    for label, widget, values, query in (
        ("beta move (max pooling)", "ra_beta", (2, 5, 10, 20, 50, 100, 200), {"ra_tab": "Max pooling (1.3.2)"}),
        ("n move (shared control)", "ra_n", (448, 480, 496, 464, 432, 416, 400), {}),
    ):
        apps = {"before": _app("gsl_old_relative_attention", tmp, {"ra_n": "512"}),
                "after": _app("pages.relative_attention", None, {"ra_n": "512", **query})}
        for at in apps.values():
            at.run()
        times = {k: [] for k in apps}
        for r in range(REPEATS):
            for k, at in apps.items():
                w = at.select_slider(key=widget) if widget == "ra_beta" else at.slider(key=widget)
                t0 = time.perf_counter()
                w.set_value(values[r % len(values)]).run()
                times[k].append((time.perf_counter() - t0) * 1e3)
                assert not at.exception, at.exception
        b, a = statistics.median(times["before"]), statistics.median(times["after"])
        print(f"AppTest {label:26s} before {b:7.1f} ms | after {a:7.1f} ms | {b / a:4.1f}x (whole-page rerun)")


if __name__ == "__main__":
    main()
