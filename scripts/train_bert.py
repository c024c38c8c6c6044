"""Regenerate the shipped BERT lab results: ``assets/bert/results.json`` (+ the fine-tuned delta).

Runs (all on the same deterministic splits, seed 0, 4,000 training examples):

* ``embedded_full``            pretrained MiniLM, full fine-tuning, the better recipe
                               (encoder lr 1e-4, head lr 1e-3, 10% warmup + linear decay,
                               max_length 16, lazy Adam on used embedding rows), 3 epochs
* ``embedded_frozen``          pretrained MiniLM, frozen encoder, head on cached features
* ``embedded_frozen_uncached`` the same, but the frozen encoder runs on every batch (1 epoch)
* ``random_full`` / ``random_frozen``  same architecture, random init, same recipes
* ``embedded_full_baseline``   the issue's baseline: plain AdamW lr 5e-5, 3 epochs

Usage: ``.venv/bin/python scripts/train_bert.py [--only KEY ...] [--threads 2]``.
Results are merged into the existing JSON after every run, so a partial rerun keeps the rest.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import bert  # noqa: E402
from engine.arith_data import make_splits  # noqa: E402

FROZEN = dict(mode="frozen", epochs=20, head_lr=1e-2)
RUNS: dict[str, tuple[str, dict, str]] = {
    "embedded_full": ("embedded", dict(mode="full"), "pretrained MiniLM · full fine-tuning"),
    "embedded_frozen": ("embedded", FROZEN, "pretrained MiniLM · frozen encoder"),
    "embedded_frozen_uncached": (
        "embedded",
        dict(mode="frozen", epochs=1, head_lr=1e-2, cache_features=False),
        "pretrained MiniLM · frozen, encoder run every batch",
    ),
    "random_frozen": ("random", FROZEN, "random init · frozen encoder"),
    "random_full": ("random", dict(mode="full"), "random init · full fine-tuning"),
    "embedded_full_baseline": (
        "embedded",
        dict(mode="full", lr=5e-5, head_lr=5e-5, plain=True, schedule="constant", warmup_frac=0.0),
        "pretrained MiniLM · full, plain AdamW 5e-5 (baseline)",
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=list(RUNS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(bert.RESULTS_PATH))
    ap.add_argument("--no-delta", action="store_true")
    ap.add_argument("--eval-only", action="store_true",
                    help="only write assets/bert/shipped_eval.json (per-class accuracy and confusion matrix of the "
                         "shipped model on the test split)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.eval_only:
        ev = bert.write_shipped_eval()
        print(f"shipped model on {ev['n']} test expressions: accuracy {ev['accuracy']:.4f}, per class "
              f"{ev['per_class']}, confusion {ev['confusion']}", flush=True)
        return
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {"runs": {}}
    splits = make_splits(n_train=4000, n_val=600, n_test=600, seed=0)
    data["splits"] = {
        "n_train": len(splits.train_texts),
        "n_unique_train": splits.n_unique_train,
        "n_val": len(splits.val_texts),
        "n_test": len(splits.test_texts),
        "class_pool_sizes": splits.class_pool_sizes,
        "seed": 0,
    }
    for key in args.only:
        ckpt, overrides, label = RUNS[key]
        cfg = bert.TrainConfig(**overrides)
        t0 = time.perf_counter()
        last = [0.0]

        def progress(f: float, msg: str, key=key, last=last) -> None:
            if time.perf_counter() - last[0] > 10:
                last[0] = time.perf_counter()
                print(f"  [{key}] {100 * f:5.1f}% {msg}", flush=True)

        result, tok, model = bert.run_experiment(ckpt, cfg, splits, progress=progress, label=label)
        total = time.perf_counter() - t0
        result.extra["total_wall_s"] = total
        if key == "embedded_full" and not args.no_delta:
            size = bert.save_finetuned_delta(model)
            tok2, shipped = bert.load_finetuned()
            enc = bert.encode(tok2, splits.test_texts, cfg.max_length)
            pred = bert._predict_labels(shipped, enc, 256)
            result.extra["shipped_delta_bytes"] = size
            result.extra["shipped_model_test_accuracy"] = float((pred == torch.tensor(splits.test_labels).numpy()).mean())
            bert.write_shipped_eval()
        data["runs"][key] = result.to_dict()
        data["machine"] = {
            "torch_threads": args.threads,
            "platform": platform.platform(),
            "note": "measured on a shared 2-core machine under contention from other jobs",
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=1))
        print(
            f"{key}: test acc {result.test_accuracy:.4f} | val per epoch "
            f"{[round(e.val_accuracy, 4) for e in result.epochs][-5:]} | train {result.train_time_s:.1f} s "
            f"| features {result.feature_time_s:.1f} s | total {total:.1f} s | {result.extra}",
            flush=True,
        )


if __name__ == "__main__":
    main()
