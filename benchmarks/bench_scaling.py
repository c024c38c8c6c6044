"""Benchmark: IsoFLOP fit + 1,000 bootstrap resamples on 100 runs (target < 300 ms).

Baseline: the same bootstrap as a Python loop of np.polyfit calls per resample and
budget (the write-up's 2.3.2/2.3.3 code applied 1,000 times).
Run: .venv/bin/python benchmarks/bench_scaling.py
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import scaling as sc  # noqa: E402

N_BOOT = 1000


def loop_bootstrap(fit, n_boot, seed=0):
    rng = np.random.default_rng(seed)
    out = np.full(n_boot, np.nan)
    for r in range(n_boot):
        xs, cs = [], []
        for b in fit.included:
            idx = rng.integers(0, b.params.size, size=b.params.size)
            x = np.log10(b.params)[idx]
            p = np.polyfit(x, b.loss[idx], 2)
            xv = -p[1] / (2 * p[0])
            if p[0] > 0 and math.log10(b.params.min()) <= xv <= math.log10(b.params.max()):
                xs.append(xv)
                cs.append(math.log10(b.flops))
        if len(xs) >= 2:
            out[r] = np.polyfit(cs, xs, 1)[0]
    return out


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
    return min(times), res


def main():
    runs = sc.synthetic_isoflop(sc.HOFFMANN_2022, budgets=tuple(np.logspace(18, 21, 10)), points_per_budget=10,
                                noise=0.01, seed=0)
    assert runs.flops.size == 100

    def ours():
        return sc.fit_isoflop(runs.flops, runs.params, runs.loss, n_boot=N_BOOT, seed=0)

    ours()  # warm-up
    t_ours, fit = best_of(ours, 7)
    t_base, base = best_of(lambda: loop_bootstrap(fit, N_BOOT), 1)
    iv = fit.bootstrap.exponent_interval()
    print(f"runs {runs.flops.size}, budgets {len(fit.included)}, bootstrap resamples {N_BOOT}")
    print(f"a = {fit.exponent:.4f} (true {sc.HOFFMANN_2022.exponent:.4f}), 80% CI [{iv.low:.4f}, {iv.high:.4f}]; "
          f"loop CI [{np.nanpercentile(base, 10):.4f}, {np.nanpercentile(base, 90):.4f}]")
    verdict = "PASS" if t_ours < 0.300 else "FAIL"
    print(f"fit + {N_BOOT} bootstrap: ours {t_ours * 1e3:.1f} ms | baseline per-resample np.polyfit loop "
          f"{t_base * 1e3:.0f} ms | speed-up {t_base / t_ours:.1f}x | target < 300 ms: {verdict}")


if __name__ == "__main__":
    main()
