"""Train the embedded tiny CLIP on procedurally drawn scenes (engine.scenes).

    .venv/bin/python scripts/train_tiny_clip.py            # full run, writes assets/clip/tiny/
    .venv/bin/python scripts/train_tiny_clip.py --steps 3 --batch 16 --out /tmp/x --eval 64   # smoke

Model: open_clip's ``CLIP`` class built from ``assets/clip/tiny/open_clip_config.json``
(a 64 x 64 ViT image tower, patch 8, and a small causal text transformer over open_clip's
own BPE vocabulary, so the standard ``SimpleTokenizer`` works offline).

Loss (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
Supervision", Fig. 3), with two changes for a tiny label space:

1. *Multi-positive* symmetric InfoNCE: with s_ij = tau * <f_i, g_j> (unit vectors, tau =
   exp(logit_scale)), the target of row i is uniform over the captions j whose scene has
   the same (count, colour, shape) as image i (duplicates in a batch are not negatives).
2. *All-class text negatives*: each image is also scored against the 96 canonical captions
   "<count> <colour> <shape>" and trained with cross-entropy to its own -- the same
   softmax zero-shot classification uses at test time.

Half of every batch is *count-contrastive*: groups of four scenes with the same colour
and shape and counts one..four, so the only way to tell their captions apart is counting
(count is the hardest attribute for a tiny CLIP).

Reproducible from ``--seed`` (data, init and batch order; deterministic CPU kernels; the
same ``--threads``). The default is one thread: on a shared 2-core machine two OpenMP threads
were 5-10x slower per step (each waits for the other to be scheduled); on an idle machine
``--threads 2`` is a little faster. Runs on CUDA when available, else on the CPU.
Writes the config, fp16 safetensors weights and ``eval.json`` (held-out zero-shot accuracy
for count, colour and shape separately) into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import open_clip  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from engine import scenes  # noqa: E402

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)

MODEL_CFG = {
    "embed_dim": 96,
    "vision_cfg": {"image_size": 64, "layers": 3, "width": 96, "head_width": 32, "patch_size": 8, "mlp_ratio": 3.0},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 96, "heads": 3, "layers": 2, "mlp_ratio": 3.0},
}
PREPROCESS_CFG = {"size": 64, "mean": list(MEAN), "std": list(STD), "interpolation": "bicubic",
                  "resize_mode": "shortest"}


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (n, h, w, 3) -> normalised float (n, 3, h, w), (x/255 - mean) / std as the preprocess does."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def make_batch(rng: np.random.Generator, batch: int) -> tuple[np.ndarray, list[scenes.SceneSpec], list[str]]:
    """Half count-contrastive groups (same colour+shape, counts 1..4), half random scenes."""
    specs: list[scenes.SceneSpec] = []
    n_groups = batch // 8
    for _ in range(n_groups):
        base = scenes.sample_spec(rng)
        specs.extend(scenes.SceneSpec(n, base.colour, base.shape) for n in range(1, 5))
    while len(specs) < batch:
        specs.append(scenes.sample_spec(rng))
    images = np.stack([np.asarray(scenes.draw_scene(s, rng)) for s in specs])
    captions = [scenes.caption(s, rng) for s in specs]
    return images, specs, captions


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """No weight decay on biases, norms, embeddings, logit_scale (open_clip's convention)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim < 2 or "embedding" in name or "logit_scale" in name or "ln" in name or "bn" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@torch.no_grad()
def evaluate(model, tokenizer, n: int, seed: int, device: torch.device, batch: int = 250) -> dict:
    """Held-out zero-shot accuracy: 96-way softmax over canonical captions, per attribute.

    The prediction is argmax_k <f(image), g(caption_k)>; count/colour/shape accuracy is the
    fraction of test scenes whose predicted caption has the right count/colour/shape.
    """
    model.eval()
    classes = scenes.all_specs()
    text = tokenizer([c.label for c in classes]).to(device)
    g = F.normalize(model.encode_text(text), dim=-1)
    images, specs = scenes.make_dataset(n, seed)
    preds = []
    for i in range(0, n, batch):
        f = F.normalize(model.encode_image(to_tensor(images[i:i + batch]).to(device)), dim=-1)
        preds.extend((f @ g.T).argmax(dim=1).tolist())
    pred_specs = [classes[k] for k in preds]
    res = {
        "n_test": n,
        "test_seed": seed,
        "count": float(np.mean([p.count == s.count for p, s in zip(pred_specs, specs)])),
        "colour": float(np.mean([p.colour == s.colour for p, s in zip(pred_specs, specs)])),
        "shape": float(np.mean([p.shape == s.shape for p, s in zip(pred_specs, specs)])),
        "joint": float(np.mean([p == s for p, s in zip(pred_specs, specs)])),
    }
    model.train()
    return res


def train(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG}, indent=2) + "\n")
    model, _, _ = open_clip.create_model_and_transforms(f"local-dir:{out}", load_weights=False)
    tokenizer = open_clip.get_tokenizer(f"local-dir:{out}")
    model = model.to(device).train()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"params {n_params / 1e6:.2f} M on {device}", flush=True)

    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
    warmup = max(1, min(args.warmup, args.steps // 5))

    def lr_at(step: int) -> float:  # linear warm-up then cosine decay to 0
        if step < warmup:
            return args.lr * (step + 1) / warmup
        return args.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, args.steps - warmup)))

    classes = scenes.all_specs()
    class_tokens = tokenizer([c.label for c in classes]).to(device)
    class_index = {c: k for k, c in enumerate(classes)}
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    history = []
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        images, specs, captions = make_batch(rng, args.batch)
        x = to_tensor(images).to(device)
        tokens = tokenizer(captions).to(device)
        f = F.normalize(model.encode_image(x), dim=-1)
        g = F.normalize(model.encode_text(torch.cat([tokens, class_tokens])), dim=-1)
        g_batch, g_class = g[: len(captions)], g[len(captions):]
        tau = model.logit_scale.exp()
        # (1) multi-positive symmetric InfoNCE over the batch
        ids = torch.tensor([class_index[s] for s in specs], device=device)
        same = (ids[:, None] == ids[None, :]).float()
        target = same / same.sum(dim=1, keepdim=True)
        logits = tau * f @ g_batch.T
        loss_batch = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
        # (2) each image against all 96 canonical captions
        loss_class = F.cross_entropy(tau * f @ g_class.T, ids)
        loss = loss_batch + loss_class
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % args.log_every == 0 or step == args.steps - 1:
            el = time.time() - t0
            print(f"step {step:5d} loss {loss.item():.4f} (batch {loss_batch.item():.3f} class {loss_class.item():.3f}) "
                  f"tau {tau.item():.1f} lr {lr_at(step):.2e} {el:.0f}s", flush=True)
            history.append({"step": step, "loss": round(loss.item(), 5), "seconds": round(el, 1)})
        if args.eval_every and step and step % args.eval_every == 0:
            print("  eval", evaluate(model, tokenizer, min(args.eval, 400), args.seed + 999, device), flush=True)
    train_seconds = time.time() - t0
    model.eval()
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "open_clip_model.safetensors"))
    model.load_state_dict({k: v.float() for k, v in state.items()})  # evaluate exactly the shipped fp16 weights
    result = evaluate(model, tokenizer, args.eval, args.seed + 10_000, device)
    result.update({
        "seed": args.seed, "steps": args.steps, "batch": args.batch, "lr": args.lr, "params": n_params,
        "train_seconds": round(train_seconds, 1), "device": str(device), "threads": args.threads,
        "history": history,
    })
    (out / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    print("final", {k: result[k] for k in ("count", "colour", "shape", "joint", "train_seconds")}, flush=True)
    return result


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "assets" / "clip" / "tiny"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=2600)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--wd", type=float, default=0.05)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eval", type=int, default=2000, help="held-out test scenes")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--log-every", type=int, default=50)
    return train(p.parse_args(argv))


if __name__ == "__main__":
    main()
