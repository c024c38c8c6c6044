"""Training, evaluation, greedy decoding and sentence translation for the Pig Latin models.

Optimisation: AdamW, learning rate warmed up linearly over the first ``warmup_frac`` of
the steps to ``lr`` and then cosine-decayed to ``lr * final_lr_frac`` (Loshchilov & Hutter
2017); label-smoothed cross-entropy on the target tokens (Szegedy et al. 2016). Validation
loss is the plain (unsmoothed) mean cross-entropy per target token in nats, the quantity of
the write-up's Table 1. Early stopping keeps the parameters of the lowest validation loss
and stops after ``patience`` evaluations without improvement.

Token count: an example (source of n letters, target of m) costs n + m + 2 tokens
(decoder-only: SOS + source + EOP + target; encoder-decoder: source + EOS, SOS + target).
``max_tokens`` stops training once that many have been consumed (scaling sweeps, 6ND).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.nmt import assets
from engine.nmt.data import LETTERS, MAX_WORD_LEN, NMTData, Vocab, make_dataset, pig_latin
from engine.nmt.models import MAX_POSITIONS, build_model, count_params

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "nmt"
MODELS_DIR = ASSETS / "models"


def models_dir() -> Path:
    """The folder of the shipped models, read at call time (tests point MODELS_DIR at a copy)."""
    return Path(MODELS_DIR)
MAX_WORDS = 64  # words per sentence translated; the rest are cut with a note


@dataclass
class TrainConfig:
    arch: str = "decoder"  # "decoder" | "encdec"
    hidden_size: int = 128
    num_layers: int = 3
    num_heads: int = 4
    dataset: str = "small"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3  # peak learning rate
    seed: int = 0
    max_tokens: int | None = None  # stop once this many training tokens have been consumed
    warmup_frac: float = 0.05
    final_lr_frac: float = 0.02
    label_smoothing: float = 0.1
    weight_decay: float = 0.01
    patience: int = 3  # evaluations without val improvement before stopping
    evals_per_epoch: int = 1
    eval_accuracy: bool = True  # greedy-decode the held-out test words at the end
    max_seconds: float | None = None  # wall-clock cap (the page's "train now")
    threads: int | None = None  # torch.set_num_threads for this run (None: leave as is)


@dataclass
class TrainResult:
    model: nn.Module
    config: TrainConfig
    history: list[dict]
    val_loss: float  # lowest validation loss (nats per target token)
    word_accuracy: float  # fraction of held-out test words translated exactly (NaN if not evaluated)
    n_params: int
    n_params_non_embedding: int
    tokens_seen: int
    seconds: float
    stopped: str = ""  # why training ended: "epochs", "max_tokens", "early_stopping", "max_seconds"
    samples: list[dict] = field(default_factory=list)  # test words: source, target, output, correct
    vocab: Vocab = field(default_factory=Vocab)
    cpu_seconds: float = float("nan")  # process CPU time of training (robust to a loaded machine)


# ---------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------
def _pad(seqs: list[list[int]], pad: int) -> torch.Tensor:
    n = max(len(s) for s in seqs)
    return torch.tensor([s + [pad] * (n - len(s)) for s in seqs], dtype=torch.long)


def make_batch(pairs: list[tuple[str, str]], vocab: Vocab, arch: str) -> dict:
    """Tensors for a list of (source, target) pairs; targets outside the loss are -100."""
    v = vocab
    if arch == "decoder":
        inputs, targets = [], []
        for s, t in pairs:
            src, tgt = v.encode(s), v.encode(t)
            # input  = SOS s EOP t ;  target = s EOP t EOS, loss only on (t EOS)
            inputs.append([v.sos, *src, v.eop, *tgt])
            targets.append([-100] * (len(src) + 1) + [*tgt, v.eos])
        return {"ids": _pad(inputs, v.pad), "targets": _pad(targets, -100)}
    srcs = [[*v.encode(s), v.eos] for s, _ in pairs]
    tin = [[v.sos, *v.encode(t)] for _, t in pairs]
    tout = [[*v.encode(t), v.eos] for _, t in pairs]
    return {"src": _pad(srcs, v.pad), "tgt_in": _pad(tin, v.pad), "targets": _pad(tout, -100)}


def _logits(model, batch):
    if model.arch == "decoder":
        return model(batch["ids"])[0]
    return model(batch["src"], batch["tgt_in"])[0]


def _tokens(pairs) -> int:
    return sum(len(s) + len(t) + 2 for s, t in pairs)


@torch.no_grad()
def evaluate_loss(model, pairs, vocab: Vocab, batch_size: int = 256) -> float:
    """Mean cross-entropy (nats) per target token (target letters + EOS), no smoothing."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(pairs), batch_size):
        b = make_batch(pairs[i : i + batch_size], vocab, model.arch)
        logits = _logits(model, b)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), b["targets"].flatten(), ignore_index=-100, reduction="sum")
        total += float(loss)
        count += int((b["targets"] != -100).sum())
    return total / max(count, 1)


# ---------------------------------------------------------------------------
# Greedy decoding
# ---------------------------------------------------------------------------
@torch.no_grad()
def greedy(model, words: list[str], vocab: Vocab, max_new: int | None = None) -> list[str]:
    """Greedy-decode a list of lowercase a-z words in one batch. Each output stops at EOS or
    after ``len(word) + 6`` characters (Pig Latin adds at most 3).

    Decoder-only prompts ``SOS word EOP`` of different lengths are left-padded; padded keys
    are masked and each row keeps its own positions (0 at its SOS), so the batch gives the
    same outputs as decoding every word alone. Encoder-decoder: the encoder batch is
    right-padded and masked; all decoders start from SOS together.
    """
    model.eval()
    out = [""] * len(words)
    idx = [i for i, w in enumerate(words) if w]
    if not idx:
        return out
    longest = max(len(words[i]) for i in idx)
    budget = max_new if max_new is not None else longest + 6
    budget = max(1, min(budget, MAX_POSITIONS - longest - 3))
    b = len(idx)
    if model.arch == "decoder":
        prompts = [[vocab.sos, *vocab.encode(words[i]), vocab.eop] for i in idx]
        width = max(len(p) for p in prompts)
        lefts = torch.tensor([width - len(p) for p in prompts])
        seq = torch.tensor([[vocab.pad] * (width - len(p)) + p for p in prompts], dtype=torch.long)
        cols = torch.arange(width)[None, :]
        pad = cols < lefts[:, None]
        pos = (cols - lefts[:, None]).clamp(min=0)
    else:
        src = [[*vocab.encode(words[i]), vocab.eos] for i in idx]
        enc, enc_pad, _ = model.encode(_pad(src, vocab.pad))
        seq = torch.full((b, 1), vocab.sos)
    start = seq.size(1)
    done = torch.zeros(b, dtype=torch.bool)
    for _ in range(budget):
        if model.arch == "decoder":
            logits = model(seq, positions=pos, pad=pad)[0]
        else:
            logits = model.decode(enc, enc_pad, seq)[0]
        nxt = logits[:, -1].argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, vocab.pad), nxt)
        seq = torch.cat([seq, nxt[:, None]], dim=1)
        if model.arch == "decoder":
            pad = torch.cat([pad, torch.zeros(b, 1, dtype=torch.bool)], dim=1)
            pos = torch.cat([pos, pos[:, -1:] + 1], dim=1)
        done |= nxt.eq(vocab.eos)
        if bool(done.all()):
            break
    for row, i in enumerate(idx):
        ids = seq[row, start:].tolist()
        if vocab.eos in ids:
            ids = ids[: ids.index(vocab.eos)]
        out[i] = vocab.decode(ids)
    return out


def word_accuracy(model, pairs, vocab: Vocab) -> tuple[float, list[dict]]:
    """Fraction of pairs whose greedy output equals the target exactly, and the rows."""
    outs = greedy(model, [s for s, _ in pairs], vocab)
    rows = [{"source": s, "target": t, "output": o, "correct": o == t} for (s, t), o in zip(pairs, outs)]
    return (sum(r["correct"] for r in rows) / max(len(rows), 1)), rows


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------
def non_embedding_params(config: TrainConfig, vocab_size: int | None = None) -> int:
    """Non-embedding parameter count N of the model ``config`` describes (no training)."""
    v = vocab_size if vocab_size is not None else len(Vocab())
    model = build_model(config.arch, v, config.hidden_size, config.num_layers, config.num_heads, Vocab().pad)
    return count_params(model)[1]


def lr_at(step: int, total: int, config: TrainConfig) -> float:
    """Warmup + cosine: lr * step/warm for step < warm, then
    lr * (f + (1 - f) * (1 + cos(pi * progress)) / 2), f = final_lr_frac."""
    warm = max(1, int(config.warmup_frac * total))
    if step < warm:
        return config.lr * (step + 1) / warm
    prog = min(1.0, (step - warm) / max(1, total - warm))
    f = config.final_lr_frac
    return config.lr * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * prog)))


def train(
    config: TrainConfig,
    data: NMTData | None = None,
    progress: Callable[[dict], None] | None = None,
    check: Callable[[], None] | None = None,
) -> TrainResult:
    """Train one model; see the module docstring for the schedule, loss and stopping rules.

    ``check`` is called after every optimiser step and before the final evaluation; it may
    raise to abandon the run (the page's job queue passes ``ctx.check``, so Cancel and the
    time cap act within one step).

    ``progress`` is called with a dict (``epoch, step, total_steps, train_loss, val_loss``
    (None between evaluations), ``tokens_seen, seconds``) every few steps and at each
    evaluation; evaluation dicts are also appended to ``history``.
    """
    data = data if data is not None else make_dataset(config.dataset, seed=0)
    vocab = data.vocab
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_model(config.arch, len(vocab), config.hidden_size, config.num_layers, config.num_heads, vocab.pad)
    n_total, n_non_emb = count_params(model)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.98))
    train_pairs = list(data.train)
    steps_per_epoch = math.ceil(len(train_pairs) / config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    if config.max_tokens is not None:
        per_batch = _tokens(train_pairs) / steps_per_epoch
        total_steps = max(1, min(total_steps, math.ceil(config.max_tokens / per_batch)))
    eval_every = max(1, steps_per_epoch // max(1, config.evals_per_epoch))
    eval_every = min(eval_every, max(1, total_steps // 4)) if total_steps < steps_per_epoch else eval_every
    report_every = max(1, min(eval_every // 5, 20))

    history: list[dict] = []
    best_loss, best_state, bad = float("inf"), None, 0
    tokens_seen, step, stopped = 0, 0, "epochs"
    t0, c0 = time.perf_counter(), time.process_time()
    running, n_running = 0.0, 0
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=config.label_smoothing)

    def do_eval(epoch: float) -> bool:
        nonlocal best_loss, best_state, bad
        val = evaluate_loss(model, data.val, vocab)
        rec = {"epoch": epoch, "step": step, "train_loss": running / max(n_running, 1), "val_loss": val,
               "tokens_seen": tokens_seen, "seconds": time.perf_counter() - t0}
        history.append(rec)
        if progress:
            progress({**rec, "total_steps": total_steps})
        if val < best_loss - 1e-4:
            best_loss, bad = val, 0
            best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
        else:
            bad += 1
        model.train()
        return bad >= config.patience

    model.train()
    finished = False
    while not finished:
        order = rng.permutation(len(train_pairs))
        for bi in range(steps_per_epoch):
            batch_pairs = [train_pairs[j] for j in order[bi * config.batch_size : (bi + 1) * config.batch_size]]
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total_steps, config)
            b = make_batch(batch_pairs, vocab, config.arch)
            logits = _logits(model, b)
            loss = loss_fn(logits.flatten(0, 1), b["targets"].flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if check is not None:
                check()
            tokens_seen += _tokens(batch_pairs)
            running += float(loss.detach())
            n_running += 1
            epoch = step / steps_per_epoch
            if progress and step % report_every == 0:
                progress({"epoch": epoch, "step": step, "total_steps": total_steps, "train_loss": float(loss.detach()),
                          "val_loss": None, "tokens_seen": tokens_seen, "seconds": time.perf_counter() - t0})
            reason = None
            if step >= total_steps:
                reason = "max_tokens" if config.max_tokens is not None and total_steps < config.epochs * steps_per_epoch else "epochs"
            elif config.max_seconds is not None and time.perf_counter() - t0 > config.max_seconds:
                reason = "max_seconds"
            if step % eval_every == 0 or reason:
                if do_eval(epoch) and not reason:
                    reason = "early_stopping"
                running, n_running = 0.0, 0
            if reason:
                stopped, finished = reason, True
                break
    train_seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    acc, rows = (float("nan"), [])
    if config.eval_accuracy:
        if check is not None:
            check()
        acc, rows = word_accuracy(model, data.test, vocab)
    return TrainResult(model, config, history, best_loss, acc, n_total, n_non_emb, tokens_seen,
                       train_seconds, stopped, rows, vocab, cpu_seconds)


# ---------------------------------------------------------------------------
# Sentence translation
# ---------------------------------------------------------------------------
@dataclass
class AttentionMap:
    kind: str  # "self" (decoder-only), "encoder", "decoder" or "cross"
    layer: int
    weights: np.ndarray  # (heads, queries, keys), rows sum to 1
    query_tokens: list[str]
    key_tokens: list[str]


@dataclass
class WordTranslation:
    source: str  # the token as typed
    word: str  # the lowercase a-z letters sent to the model
    output: str  # model output with the typed prefix/suffix punctuation restored
    model_output: str  # raw model output for ``word``
    expected: str  # the rule's answer for ``word``
    correct: bool
    maps: list[AttentionMap] = field(default_factory=list)


@dataclass
class Translation:
    text: str
    words: list[WordTranslation]
    notes: list[str]
    max_word_len: int = MAX_WORD_LEN
    max_words: int = MAX_WORDS


def _tok_names(vocab: Vocab, ids) -> list[str]:
    return [vocab.itos[i] for i in ids]


@torch.no_grad()
def attention_maps(model, word: str, output: str, vocab: Vocab) -> list[AttentionMap]:
    """Per-layer, per-head attention of the model over ``word`` and its ``output``."""
    src = vocab.encode(word)
    tgt = vocab.encode(output)
    maps = []
    if model.arch == "decoder":
        ids = [vocab.sos, *src, vocab.eop, *tgt]
        _, ws = model(torch.tensor([ids]), need_weights=True)
        names = _tok_names(vocab, ids)
        for li, w in enumerate(ws):
            maps.append(AttentionMap("self", li, w[0].numpy(), names, names))
        return maps
    s_ids, t_ids = [*src, vocab.eos], [vocab.sos, *tgt]
    _, ws = model(torch.tensor([s_ids]), torch.tensor([t_ids]), need_weights=True)
    sn, tn = _tok_names(vocab, s_ids), _tok_names(vocab, t_ids)
    for li, w in enumerate(ws["encoder"]):
        maps.append(AttentionMap("encoder", li, w[0].numpy(), sn, sn))
    for li, w in enumerate(ws["decoder"]):
        maps.append(AttentionMap("decoder", li, w[0].numpy(), tn, tn))
    for li, w in enumerate(ws["cross"]):
        maps.append(AttentionMap("cross", li, w[0].numpy(), tn, sn))
    return maps


def translate(model_or_result, sentence: str, with_attention: bool = True, train_max_len: int = 12) -> Translation:
    """Translate a sentence word by word (whitespace-separated) with greedy decoding.

    Each token is split into leading punctuation, a core and trailing punctuation; the
    core's letters are lowercased and translated, other characters inside the core (digits,
    apostrophes, accents) are dropped with a note; a token without letters is kept as typed.
    Words longer than ``MAX_WORD_LEN`` letters are cut to it, and at most ``MAX_WORDS`` words
    are translated (both with a note). A capitalised word gets a capitalised output.
    """
    model = getattr(model_or_result, "model", model_or_result)
    vocab = getattr(model_or_result, "vocab", None) or Vocab()
    notes: list[str] = []
    text = sentence if isinstance(sentence, str) else ""
    tokens = text.split()
    if not tokens:
        return Translation("", [], ["Nothing to translate: the sentence is empty."])
    if len(tokens) > MAX_WORDS:
        notes.append(f"Only the first {MAX_WORDS} words are translated ({len(tokens)} given).")
        tokens = tokens[:MAX_WORDS]
    parsed = []
    dropped: set[str] = set()
    for tok in tokens:
        letters_at = [i for i, c in enumerate(tok) if c.lower() in LETTERS and c.isascii()]
        if not letters_at:
            parsed.append((tok, "", "", ""))
            notes.append(f"'{tok}' has no letters a-z; kept as typed.")
            continue
        a, b = letters_at[0], letters_at[-1] + 1
        core = tok[a:b]
        word = "".join(c.lower() for c in core if c.lower() in LETTERS and c.isascii())
        dropped.update(c for c in core if not (c.lower() in LETTERS and c.isascii()))
        if len(word) > MAX_WORD_LEN:
            notes.append(f"'{word}' has {len(word)} letters; cut to the {MAX_WORD_LEN}-letter cap.")
            word = word[:MAX_WORD_LEN]
        elif len(word) > train_max_len:
            notes.append(f"'{word}' ({len(word)} letters) is longer than any training word ({train_max_len}); "
                         "expect errors past the trained positions.")
        parsed.append((tok, tok[:a], word, tok[b:]))
    if dropped:
        notes.append("Dropped characters the model does not know: " + " ".join(repr(c) for c in sorted(dropped)) + ".")
    words = [w for _, _, w, _ in parsed if w]
    outs = dict(zip(words, greedy(model, words, vocab))) if words else {}
    result = []
    for tok, pre, word, post in parsed:
        if not word:
            result.append(WordTranslation(tok, "", tok, "", "", True))
            continue
        raw = outs[word]
        shown = raw.capitalize() if tok[len(pre)].isupper() else raw
        maps = attention_maps(model, word, raw, vocab) if with_attention else []
        exp = pig_latin(word)
        result.append(WordTranslation(tok, word, pre + shown + post, raw, exp, raw == exp, maps))
    return Translation(" ".join(w.output for w in result), result, notes)


# ---------------------------------------------------------------------------
# Saving and loading shipped models
# ---------------------------------------------------------------------------
def result_summary(res: TrainResult) -> dict:
    return {
        "config": asdict(res.config), "history": res.history, "val_loss": res.val_loss,
        "word_accuracy": res.word_accuracy, "n_params": res.n_params,
        "n_params_non_embedding": res.n_params_non_embedding, "tokens_seen": res.tokens_seen,
        "seconds": res.seconds, "cpu_seconds": res.cpu_seconds, "stopped": res.stopped,
        "samples": res.samples[:40], "errors": [r for r in res.samples if not r["correct"]][:40],
    }


def save_result(res: TrainResult, name: str, directory: Path | None = None, extra: dict | None = None) -> Path:
    from safetensors.torch import save_file

    directory = models_dir() if directory is None else Path(directory)

    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in res.model.state_dict().items()}
    save_file(state, str(directory / f"{name}.safetensors"))
    meta = {**result_summary(res), **(extra or {})}
    (directory / f"{name}.json").write_text(json.dumps(meta, indent=1, default=float))
    return directory / f"{name}.safetensors"


def shipped_names(directory: Path | None = None) -> list[str]:
    directory = models_dir() if directory is None else Path(directory)
    return sorted(p.stem for p in directory.glob("*.safetensors") if (directory / f"{p.stem}.json").exists())


def load_shipped(name: str, directory: Path | None = None) -> TrainResult:
    """A shipped model (weights from safetensors, no training) with its recorded metrics.

    Raises ``KeyError`` for an unknown name and :class:`engine.nmt.assets.AssetError`
    (naming the damaged file and how to restore it) when its JSON or weights are damaged,
    truncated or do not fit the recorded configuration."""
    from safetensors.torch import load_file

    directory = models_dir() if directory is None else Path(directory)
    path = directory / f"{name}.safetensors"
    if not path.exists():
        raise KeyError(f"no shipped model {name!r}; available: {shipped_names(directory)}")
    meta = read_meta(directory / f"{name}.json")
    assets.verify(path)
    try:
        cfg = TrainConfig(**{k: v for k, v in meta["config"].items() if k in TrainConfig.__dataclass_fields__})
        vocab = Vocab()
        model = build_model(cfg.arch, len(vocab), cfg.hidden_size, cfg.num_layers, cfg.num_heads, vocab.pad)
    except (KeyError, TypeError, ValueError) as e:
        raise assets.AssetError(directory / f"{name}.json", f"its config is not usable ({type(e).__name__}: {e})") from None
    try:
        state = load_file(str(path))
    except Exception as e:  # safetensors raises its own error types for bad headers / short files
        raise assets.AssetError(path, f"cannot be read as safetensors ({type(e).__name__}: {str(e)[:120]})") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise assets.AssetError(path, f"its tensors do not fit the model in {name}.json ({str(e)[:160]})") from None
    if not all(bool(torch.isfinite(t).all()) for t in state.values() if t.is_floating_point()):
        raise assets.AssetError(path, "it holds NaN or infinite weights")
    model.eval()
    try:
        return TrainResult(model, cfg, meta["history"], meta["val_loss"], meta["word_accuracy"], meta["n_params"],
                           meta["n_params_non_embedding"], meta["tokens_seen"], meta["seconds"], meta.get("stopped", ""),
                           meta.get("samples", []), vocab,
                           meta.get("cpu_seconds", float("nan")))
    except KeyError as e:
        raise assets.AssetError(directory / f"{name}.json", f"a field is missing ({e})") from None


def read_meta(path: Path) -> dict:
    """A shipped run's JSON, checked: raises :class:`engine.nmt.assets.AssetError` when it is
    missing, damaged, truncated or not a JSON object with a config."""
    assets.verify(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise assets.AssetError(path, f"is not valid JSON ({type(e).__name__}: {str(e)[:120]})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise assets.AssetError(path, "is not a run record (no 'config' object)")
    return meta


def accuracy_by_length(model_or_result, lengths=range(4, MAX_WORD_LEN + 1), n_per_length: int = 40,
                       seed: int = 0) -> list[tuple[int, float, int]]:
    """Exact-match accuracy against the Pig Latin rule on compound words of each length:
    two held-out test words glued together ("sun" + "flower"), so the letter statistics stay
    natural while the length goes past the 12 letters of the longest training word. Past
    that length the model works at positions it never trained on: the sinusoidal encodings
    exist there, but does the model generalise? ``seed`` fixes the sample.
    Returns ``[(length, accuracy, count), ...]`` (count < n_per_length if too few compounds)."""
    model = getattr(model_or_result, "model", model_or_result)
    vocab = getattr(model_or_result, "vocab", None) or Vocab()
    test = [w for w, _ in make_dataset("small").test]
    rng = np.random.default_rng(seed)
    want = {int(n): [] for n in lengths}
    for _ in range(200 * len(want) * n_per_length):
        a, b = test[rng.integers(len(test))], test[rng.integers(len(test))]
        bucket = want.get(len(a) + len(b))
        if bucket is not None and len(bucket) < n_per_length:
            bucket.append(a + b)
        if all(len(v) >= n_per_length for v in want.values()):
            break
    batch = [w for ws in want.values() for w in ws]
    outs = dict(zip(batch, greedy(model, batch, vocab)))
    return [(n, float(np.mean([outs[w] == pig_latin(w) for w in ws])) if ws else float("nan"), len(ws))
            for n, ws in want.items()]
