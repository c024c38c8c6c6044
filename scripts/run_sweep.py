"""Run an IsoFLOP sweep of the decoder-only Pig Latin model and save it as CSV.

Each (budget C, hidden size h) trains engine.nmt's decoder for D = C / (6 N) tokens
(N non-embedding parameters). Locally on a process pool by default, or on Ray:

    .venv/bin/python scripts/run_sweep.py --layers 1 --heads 2 --lr 1e-2 --budgets 3e9 --hidden-sizes 8 12 16 24 32 48
    .venv/bin/python scripts/run_sweep.py --backend ray --address auto ...      # join a cluster
    .venv/bin/python scripts/run_sweep.py --backend ray ...                     # start local Ray

The shipped results (assets/scaling/sweep_piglatin.csv, with a .json of the settings)
come from this script; the scaling page reads them so it opens instantly. The loss curve
of every run (validation loss at each evaluation) goes to ``<out>_curves.csv`` (Approach 1).
``--dry-run`` prints the plan (runs, tokens and an estimated time) without training.
``--replay assets/scaling/sweep_piglatin.json --out X.csv`` re-runs every recorded call in order
(the shipped sweep was built one budget per call, one worker, under ``nice``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import scaling as sc  # noqa: E402
from engine import sweeps as sw  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budgets", type=float, nargs="+", default=[3e9, 1e10, 3e10])
    ap.add_argument("--hidden-sizes", type=int, nargs="+", default=[16, 32, 48, 64])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dataset", default=None, help="engine.nmt dataset name (default: its own default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", choices=["local", "ray", "serial"], default="local")
    ap.add_argument("--address", default=None, help="Ray address, e.g. 'auto' or 'ray://host:10001'")
    ap.add_argument("--workers", type=int, default=None, help="process-pool size (local backend)")
    ap.add_argument("--trainer", choices=["nmt", "law"], default="nmt",
                    help="nmt: train the Pig Latin decoder; law: Hoffmann 2022 stand-in (no training)")
    ap.add_argument("--out", type=Path, default=ROOT / "assets" / "scaling" / "sweep_piglatin.csv")
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate (engine.nmt TrainConfig.lr)")
    ap.add_argument("--heads", type=int, default=None, help="attention heads (engine.nmt TrainConfig.num_heads)")
    ap.add_argument("--evals-per-epoch", type=int, default=None,
                    help="validation evaluations per epoch: the points of each loss curve (default 4)")
    ap.add_argument("--tokens-per-second", type=float, default=20_000.0,
                    help="throughput assumed by --dry-run for its time estimate (one worker)")
    ap.add_argument("--dry-run", action="store_true", help="print the plan (runs, tokens, estimated time) and exit")
    ap.add_argument("--replay", type=Path, default=None,
                    help="re-run every call recorded in a sweep's .json (e.g. assets/scaling/sweep_piglatin.json), "
                         "in order, writing to --out: regenerates a shipped sweep")
    ap.add_argument("--append", action="store_true",
                    help="add these runs to an existing --out (e.g. one more budget); settings are logged per call")
    args = ap.parse_args(argv)
    if args.replay is not None:
        return replay(args.replay, args.out, args.dry_run)

    count = None if args.trainer == "nmt" else sw.transformer_params
    extra = {k: v for k, v in (("lr", args.lr), ("num_heads", args.heads), ("evals_per_epoch", args.evals_per_epoch))
             if v is not None}
    jobs, skipped = sw.plan_sweep(args.budgets, args.hidden_sizes, num_layers=args.layers, seed=args.seed,
                                  dataset=args.dataset, count_params=count, extra=extra)
    for s in skipped:
        print("skipped:", s)
    total_tokens = sum(j.max_tokens for j in jobs)
    workers = 1 if args.backend == "serial" else (args.workers or 2)
    print(f"plan: {len(jobs)} runs, {total_tokens / 1e6:.1f} M tokens; at {args.tokens_per_second:.0f} tokens/s "
          f"per worker on {workers} worker(s): about {total_tokens / args.tokens_per_second / workers / 60:.0f} min")
    if args.dry_run:
        for c in sorted({j.budget for j in jobs}):
            row = [j for j in jobs if j.budget == c]
            print(f"  C = {c:.1e}: " + ", ".join(f"h={j.hidden_size} N={j.params} D={j.max_tokens / 1e6:.2f}M"
                                                  for j in row))
        return 0
    train_fn = None if args.trainer == "nmt" else sw.LawTrainer(sc.HOFFMANN_2022, noise=0.005)

    def progress(done, total, run):
        print(f"[{done}/{total}] C={run.budget:.1e} h={run.hidden_size} N={run.params:.0f} D={run.tokens:.0f} "
              f"loss={run.val_loss:.4f} ({run.seconds:.1f}s){' ERROR ' + run.error if run.error else ''}", flush=True)

    t0 = time.time()
    res = sw.run_sweep(jobs, backend=args.backend, address=args.address, max_workers=args.workers,
                       train_fn=train_fn, progress=progress, skipped=skipped)
    frame = res.as_frame()
    curves = res.curves_frame()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta_path = args.out.with_suffix(".json")
    curves_path = args.out.with_name(args.out.stem + "_curves.csv")
    meta = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
            if k not in ("out", "dry_run", "tokens_per_second")}
    meta.update(date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                seconds=round(time.time() - t0, 1), runs=len(frame), skipped=skipped,
                load_average=os.getloadavg()[0] if hasattr(os, "getloadavg") else None)
    calls = [meta]
    if args.append and args.out.exists():
        old = pd.read_csv(args.out, keep_default_na=False, na_values=[""])
        curves["run"] += len(old)
        frame = pd.concat([old, frame], ignore_index=True)
        if curves_path.exists():
            curves = pd.concat([pd.read_csv(curves_path), curves], ignore_index=True)
        if meta_path.exists():
            calls = json.loads(meta_path.read_text()).get("calls", []) + calls
    frame.to_csv(args.out, index=False)
    curves.to_csv(curves_path, index=False)
    meta_path.write_text(json.dumps({"command": "scripts/run_sweep.py", "calls": calls}, indent=2))
    ok = frame[frame["error"].fillna("").astype(str) == ""]
    runs = sc.RunTable(ok["flops"].to_numpy(float), ok["params"].to_numpy(float), ok["val_loss"].to_numpy(float),
                       ok["tokens"].to_numpy(float))
    fit = sc.fit_isoflop(runs.flops, runs.params, runs.loss, n_boot=1000)
    print(f"wrote {args.out} ({len(frame)} runs in total; this call {res.seconds:.0f} s)")
    for m in sc.budget_problems(fit):
        print("note:", m)
    if fit.ok:
        iv = fit.bootstrap.exponent_interval()
        print(f"N_opt = {fit.coefficient:.3g} C^{fit.exponent:.3f} (80% CI a in [{iv.low:.3f}, {iv.high:.3f}]); "
              f"N_opt(1e15) = {fit.predict_params(1e15):.3g}")
    return 0


OPTION_NAMES = {"budgets": "--budgets", "hidden_sizes": "--hidden-sizes", "layers": "--layers", "dataset": "--dataset",
                "seed": "--seed", "backend": "--backend", "address": "--address", "workers": "--workers",
                "trainer": "--trainer", "lr": "--lr", "heads": "--heads", "evals_per_epoch": "--evals-per-epoch"}


def replay_argv(call: dict, out: Path, first: bool) -> list[str]:
    """The command-line arguments that repeat one recorded call."""
    argv = ["--out", str(out)]
    for key, opt in OPTION_NAMES.items():
        value = call.get(key)
        if value is None:
            continue
        argv += [opt] + ([f"{v:g}" if isinstance(v, float) else str(v) for v in value] if isinstance(value, list)
                         else [f"{value:g}" if isinstance(value, float) else str(value)])
    if not first:
        argv.append("--append")
    return argv


def replay(meta_path: Path, out: Path, dry_run: bool = False) -> int:
    calls = json.loads(Path(meta_path).read_text()).get("calls", [])
    for i, call in enumerate(calls):
        argv = replay_argv(call, out, first=i == 0) + (["--dry-run"] if dry_run else [])
        print("scripts/run_sweep.py " + " ".join(argv), flush=True)
        rc = main(argv)
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
