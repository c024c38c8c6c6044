"""Regenerate every shipped Pig Latin result in assets/nmt/ (write-up 2.1.4 and 2.2).

Runs, in order (each saved as soon as it finishes, so a partial run still ships results):

* ``decoder_h64``: the decoder-only model of write-up 2.2 (3 layers, 4 heads, hidden 64,
  small dataset) -- also the "trainable in minutes" model of the issue.
* ``decoder_h64_large``: the same decoder-only model and the same number of optimiser steps
  (5 epochs of "large" = 20 of "small"), but every step sees new words: the fast model that
  reaches >= 97 % held-out accuracy.
* ``decoder_h128``: the 3-layer, 128-wide decoder-only size of the issue's prototype.
* ``encdec_h32_small``, ``encdec_h32_large``, ``encdec_h64_small``, ``encdec_h64_large``:
  the encoder-decoder grid of the write-up's Table 1 (hidden 32/64 x small/large).

Each writes ``assets/nmt/models/<name>.safetensors`` + ``<name>.json`` (config, loss
history, val loss, word accuracy, samples, accuracy by word length up to 20 letters); then ``assets/nmt/results.csv`` summarises all
and ``SHA256SUMS`` in both folders records every file's digest (checked on load).

Run: ``PYTHONPATH=. .venv/bin/python scripts/train_nmt.py [--only NAME ...] [--threads 2]``
Timings depend on machine load; the JSON records wall-clock seconds and the load average.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from engine.nmt import TrainConfig, accuracy_by_length, load_shipped, make_dataset, train  # noqa: E402
from engine.nmt.assets import write_sums  # noqa: E402
from engine.nmt.train import ASSETS, MODELS_DIR, save_result  # noqa: E402

RUNS: dict[str, TrainConfig] = {
    "decoder_h64": TrainConfig(arch="decoder", hidden_size=64, num_layers=3, num_heads=4, dataset="small",
                               epochs=20, batch_size=64, lr=3e-3, patience=4),
    "encdec_h32_small": TrainConfig(arch="encdec", hidden_size=32, num_layers=3, num_heads=4, dataset="small",
                                    epochs=10, batch_size=64, lr=3e-3, patience=4),
    "encdec_h64_small": TrainConfig(arch="encdec", hidden_size=64, num_layers=3, num_heads=4, dataset="small",
                                    epochs=10, batch_size=64, lr=3e-3, patience=4),
    "encdec_h32_large": TrainConfig(arch="encdec", hidden_size=32, num_layers=3, num_heads=4, dataset="large",
                                    epochs=5, batch_size=64, lr=3e-3, patience=4, evals_per_epoch=2),
    "encdec_h64_large": TrainConfig(arch="encdec", hidden_size=64, num_layers=3, num_heads=4, dataset="large",
                                    epochs=5, batch_size=64, lr=3e-3, patience=4, evals_per_epoch=2),
    "decoder_h64_large": TrainConfig(arch="decoder", hidden_size=64, num_layers=3, num_heads=4, dataset="large",
                                     epochs=5, batch_size=64, lr=3e-3, patience=4, evals_per_epoch=4),
    "decoder_h128": TrainConfig(arch="decoder", hidden_size=128, num_layers=3, num_heads=4, dataset="small",
                                epochs=12, batch_size=64, lr=2e-3, patience=4),
}


def summarise() -> None:
    rows = []
    names = [n for n in RUNS if (MODELS_DIR / f"{n}.json").exists()]
    names += sorted(p.stem for p in MODELS_DIR.glob("*.json") if p.stem not in RUNS)
    for name in names:
        m = json.loads((MODELS_DIR / f"{name}.json").read_text())
        c = m["config"]
        rows.append({"name": name, "arch": c["arch"], "hidden_size": c["hidden_size"], "num_layers": c["num_layers"],
                     "num_heads": c["num_heads"], "dataset": c["dataset"], "epochs_run": m["history"][-1]["epoch"],
                     "val_loss": m["val_loss"], "word_accuracy": m["word_accuracy"], "n_params": m["n_params"],
                     "n_params_non_embedding": m["n_params_non_embedding"], "tokens_seen": m["tokens_seen"],
                     "seconds": m["seconds"], "cpu_seconds": m.get("cpu_seconds", ""), "load_avg": m.get("load_avg", "")})
    if rows:
        with open(ASSETS / "results.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    refresh_sums()


def refresh_sums() -> None:
    """Record the SHA-256 of every shipped file, so a damaged copy is detected and named."""
    write_sums(MODELS_DIR)
    write_sums(ASSETS, "*.*")


def add_by_length(name: str) -> None:
    """Store engine.nmt.accuracy_by_length (compound words of 4..20 letters) in <name>.json."""
    path = MODELS_DIR / f"{name}.json"
    meta = json.loads(path.read_text())
    meta["by_length"] = accuracy_by_length(load_shipped(name))
    path.write_text(json.dumps(meta, indent=1, default=float))
    refresh_sums()
    print(f"{name}: by-length accuracy stored", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--threads", type=int, default=1)  # 2 threads thrash on a loaded 2-core box
    ap.add_argument("--summarise", action="store_true", help="only rewrite results.csv from the shipped JSON")
    ap.add_argument("--by-length", action="store_true",
                    help="only (re)compute accuracy by word length for the shipped models")
    args = ap.parse_args()
    if args.summarise:
        summarise()
        return
    if args.by_length:
        torch.set_num_threads(args.threads)
        for p in sorted(MODELS_DIR.glob("*.json")):
            add_by_length(p.stem)
        return
    torch.set_num_threads(args.threads)
    for name, cfg in RUNS.items():
        if args.only and name not in args.only:
            continue
        data = make_dataset(cfg.dataset, seed=0)
        load0 = os.getloadavg()[0]

        def progress(h, name=name):
            if h["val_loss"] is not None:
                print(f"{name} epoch {h['epoch']:.2f} step {h['step']} train {h['train_loss']:.3f} "
                      f"val {h['val_loss']:.3f} {h['seconds']:.0f}s", flush=True)

        t0 = time.perf_counter()
        res = train(cfg, data, progress)
        extra = {"load_avg": round((load0 + os.getloadavg()[0]) / 2, 2), "threads": args.threads,
                 "wall_seconds_incl_eval": time.perf_counter() - t0}
        save_result(res, name, extra=extra)
        add_by_length(name)
        print(f"== {name}: val_loss {res.val_loss:.4f} word_acc {res.word_accuracy:.4f} "
              f"params {res.n_params} ({res.n_params_non_embedding} non-emb) {res.seconds:.0f}s stopped={res.stopped}",
              flush=True)
        summarise()


if __name__ == "__main__":
    main()
