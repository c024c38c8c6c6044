"""Speed figures for issue 3 (gradient dynamics), printed side by side with their baselines.

    .venv/bin/python benchmarks/bench_gradients.py

1. Full log-singular-value spectrum of d x_1001 / d x_1, N = 128, tanh, Gaussian W (g = 1):
   engine.gradients.jacobian_spectrum (blocked Benettin QR, graded R) against the classic
   per-step ``np.linalg.qr`` loop (which gives only the Lyapunov sums), both on one BLAS
   thread, in the same run. Target: < 250 ms and >= 4x faster.
2. A slider move on the RNN Jacobian page with N <= 64: the engine call plus every figure
   the page builds (engine + figures, no Streamlit). Target: < 300 ms.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from dashboard import plots_gradients as plots  # noqa: E402
from engine import gradients, spectra  # noqa: E402


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def bench_spectrum() -> None:
    n, steps = 128, 1000
    W = gradients.gaussian_weights(n, 1.0, 0)
    x1 = np.random.default_rng(0).standard_normal(n)
    t_ours, spec = best_of(lambda: gradients.jacobian_spectrum(W, x1, steps, "tanh"), 3)
    with threadpool_limits(limits=1, user_api="blas"):
        t_base, base = best_of(lambda: gradients.per_step_qr_lyapunov(W, x1, steps, "tanh"), 2)
    speedup = t_base / t_ours
    agree = float(np.max(np.abs(spec.lyapunov_exponents - base / steps)))
    print(f"[1] full log-spectrum N={n}, steps={steps} (tanh, g=1): ours {t_ours * 1e3:.0f} ms "
          f"({spec.n_qr} QRs) | baseline per-step np.linalg.qr loop {t_base * 1e3:.0f} ms ({steps} QRs) | "
          f"speed-up {speedup:.1f}x | target < 250 ms: {verdict(t_ours < 0.25)}, >= 4x: {verdict(speedup >= 4)}")
    print(f"    Lyapunov exponents, ours vs per-step baseline: max |diff| = {agree:.2e} per step; "
          f"sigma_max = 10^{spec.log_singular_values[0] / math.log(10):.1f}, "
          f"sigma_min = 10^{spec.log_singular_values[-1] / math.log(10):.1f} (all finite: "
          f"{bool(np.all(np.isfinite(spec.log_singular_values)))})")


def page_render(n: int, steps: int, activation: str, family: str, scale: float, tied: bool, seed: int = 0,
                with_cached_extras: bool = False):
    """What the RNN page recomputes after one slider move (engine + figures)."""
    x1 = np.random.default_rng(seed + 7).standard_normal(n)
    W = gradients.make_weights(family, n, scale, seed)
    spec = gradients.jacobian_spectrum(W, x1, steps, activation, track_sigma_max=True)
    figs = [plots.sigma_max_path_figure(spec), plots.spectrum_figure(spec, None)]
    with np.errstate(divide="ignore"):
        th = np.sort(np.log(np.abs(np.linalg.eigvals(W))))[::-1]
    figs.append(plots.lyapunov_figure(spec.lyapunov_exponents, th))
    mf = spectra.mean_field(scale, 0.0, activation) if family in ("gaussian", "orthogonal") else None
    if with_cached_extras:  # the N slider also changes the cached side panels
        depth = max(1, min(steps, 50))
        iso = {
            "relu g": spectra.measure_isometry(n, depth, "relu", "gaussian", math.sqrt(2), seed=seed),
            "relu o": spectra.measure_isometry(n, depth, "relu", "orthogonal", math.sqrt(2), seed=seed),
            "tanh o": spectra.measure_isometry(n, depth, "tanh", "orthogonal", 1.0, seed=seed),
        }
        figs.append(plots.isometry_figure(iso))
        cx = gradients.non_normal_counterexample(n=min(n, 8), sigma_max_target=0.25, k=max(1, min(steps, 200)))
        figs.append(plots.non_normal_figure(cx))
    for f in figs:
        f.to_dict()  # serialise as Streamlit does
    return spec, mf


def bench_page() -> None:
    cases = [
        ("default (write-up 1.2.1), N=32, T=100", dict(n=32, steps=100, activation="sigmoid", family="sigma_max", scale=0.25, tied=True)),
        ("steps slider, N=64, T=100, tanh", dict(n=64, steps=100, activation="tanh", family="gaussian", scale=1.0, tied=True)),
        ("steps slider, N=64, T=1000, tanh", dict(n=64, steps=1000, activation="tanh", family="orthogonal", scale=1.0, tied=True)),
        ("N slider incl. side panels, N=64, T=100", dict(n=64, steps=100, activation="tanh", family="gaussian", scale=1.0, tied=True, with_cached_extras=True)),
    ]
    page_render(**cases[0][1])  # warm imports
    for name, kw in cases:
        t, _ = best_of(lambda kw=kw: page_render(**kw), 3)
        print(f"[2] slider move, {name}: engine+figures {t * 1e3:.0f} ms | target < 300 ms: {verdict(t < 0.3)}")


if __name__ == "__main__":
    bench_spectrum()
    bench_page()
