"""Time the write-up audit: one cold run of every check, then a warm (in-process) run.

    .venv/bin/python benchmarks/bench_audit.py
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.audit import run_audit  # noqa: E402


def main() -> None:
    t0 = time.perf_counter()
    checks = run_audit()
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_audit()
    warm = time.perf_counter() - t0
    counts = Counter(c.verdict for c in checks)
    shipped = sum(not c.computed_now for c in checks)
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"write-up audit, {len(checks)} checks: cold {cold:.2f} s | second run in-process {warm:.2f} s "
          f"| baseline: none (the page caches the result with st.cache_data) | load average {load}")
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"sources: {len(checks) - shipped} computed now, {shipped} read (partly) from shipped runs")


if __name__ == "__main__":
    main()
