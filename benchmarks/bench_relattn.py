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
full rows) in place of the banded O(n |p|) one.

    .venv/bin/python benchmarks/bench_relattn.py
"""

from __future__ import annotations

import math
import statistics
import sys
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


def bench(kind: str, dense: bool) -> float:
    x = ra.make_input("random non-negative", N, seed=0)
    cache = {"beta": 1.0, "kernel": [1.0, -2.0, 1.0]}
    times = []
    ctx = Dense() if dense else None
    if ctx:
        ctx.__enter__()
    try:
        move("input", x, cache)                      # warm-up, fills the cache
        for r in range(REPEATS):
            cache["beta"] = [1.0, 10.0, 100.0][r % 3]
            cache["kernel"] = [[1.0, -2.0, 1.0], [2.0, 0.0, 1.0], [1, 2, -3, 2, 1]][r % 3]
            times.append(move(kind, x, cache))
    finally:
        if ctx:
            ctx.__exit__(None, None, None)
    return statistics.median(times)


def main() -> None:
    print(f"relative attention page, n = {N}, median of {REPEATS} moves (engine + all figures + JSON)")
    for kind, label in (("beta", "beta slider"), ("kernel", "kernel edit"), ("input", "new input (worst case)")):
        ours = bench(kind, dense=False)
        base = bench(kind, dense=True)
        verdict = "PASS" if ours < TARGET_MS else "FAIL"
        print(f"{label:24s} ours {ours:7.1f} ms | baseline dense n x n layer {base:7.1f} ms | "
              f"speed-up {base / ours:4.1f}x | target < {TARGET_MS:.0f} ms: {verdict}")
    x = ra.make_input("random non-negative", N, seed=0)
    t0 = time.perf_counter()
    for _ in range(20):
        ra.rel_attn_layer(x, 1.0, 1.0, 1.0, ra.maxpool_p(2))
    ours = (time.perf_counter() - t0) / 20 * 1e3
    t0 = time.perf_counter()
    for _ in range(5):
        dense_layer(x, 1.0, 1.0, 1.0, ra.maxpool_p(2))
    base = (time.perf_counter() - t0) / 5 * 1e3
    print(f"{'one layer call (k=2)':24s} ours {ours:7.2f} ms | baseline dense n x n layer {base:7.2f} ms | "
          f"speed-up {base / ours:4.1f}x")
    apptest_row()


def apptest_row() -> None:
    """End to end, for reference: the whole page rerun in Streamlit's AppTest after a beta
    move at n = 512 (adds widget, LaTeX, dataframe and protobuf work on top of the target)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import page_app

    at = page_app("relative_attention", {"ra_n": "512"}).run()
    times = []
    for beta in (2, 5, 10, 20, 50):
        t0 = time.perf_counter()
        at.select_slider(key="ra_beta").set_value(beta).run()
        times.append((time.perf_counter() - t0) * 1e3)
        assert not at.exception
    print(f"{'AppTest full rerun':24s} ours {statistics.median(times):7.1f} ms (beta move, whole page incl. "
          f"Streamlit; reference only, no baseline)")


if __name__ == "__main__":
    main()
