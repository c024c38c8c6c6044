"""One trained attention head, step by step: the Attention page's view of a shipped Pig
Latin model (write-up 2.1.1-2.1.2 on learned weights instead of random ones).

For the chosen layer and head of a trained model, the input that layer's attention module
really receives for a word (after the embeddings, positional encodings, earlier blocks and
the block's LayerNorm) is captured with a forward pre-hook, and the head's computation is
then redone explicitly, in float64, exposing every intermediate::

    q = x W_q^(head),  k = x_kv W_k^(head),  v = x_kv W_v^(head)      (n_q, d), (n_k, d)
    scores = q k^T;  scaled = scores / (sqrt(d) T);  masked = scaled + M (M_ij = -inf, j > i)
    alpha = softmax_rows(masked);  context = alpha v                    (before W^O)

with d = h / heads and T = 1 reproducing the model (T != 1 is the page's temperature).
Token layout: decoder-only ``SOS word EOP output``; encoder-decoder: the encoder reads
``word EOS``, the decoder ``SOS output``, cross-attention has decoder queries and encoder
keys (Vaswani et al. 2017, eq. 1 and 4).
"""

from __future__ import annotations

import math

import torch

from engine.attention import AttentionSteps, steps_from_projections
from engine.nmt.data import LETTERS, MAX_WORD_LEN, Vocab
from engine.nmt.train import greedy

KINDS = {"decoder": ("self",), "encdec": ("encoder", "decoder", "cross")}
KIND_TITLES = {"self": "self-attention (causal)", "encoder": "encoder self-attention",
               "decoder": "decoder self-attention (causal)", "cross": "cross-attention (decoder → encoder)"}


def attention_module(model, kind: str, layer: int):
    """The MultiHeadAttention module of ``kind`` at ``layer`` (0-based)."""
    if model.arch == "decoder":
        if kind != "self":
            raise ValueError("a decoder-only model has only 'self' attention")
        blocks = model.blocks
    else:
        if kind not in KINDS["encdec"]:
            raise ValueError(f"an encoder-decoder model has {KINDS['encdec']} attention, not {kind!r}")
        blocks = model.encoder if kind == "encoder" else model.decoder
    if not 0 <= layer < len(blocks):
        raise ValueError(f"layer {layer + 1} does not exist (the model has {len(blocks)})")
    blk = blocks[layer]
    return blk.cross_attn if kind == "cross" else blk.self_attn


def clean_word(text: str) -> str:
    """The lowercase a-z letters of ``text`` (what the models read), cut to MAX_WORD_LEN."""
    return "".join(c for c in text.lower() if c in LETTERS)[:MAX_WORD_LEN]


@torch.no_grad()
def layer_attention_steps(model_or_result, word: str, *, kind: str, layer: int, head: int,
                          temperature: float = 1.0, output: str | None = None) -> AttentionSteps:
    """Every step of head ``head`` of the ``kind`` attention in ``layer`` of a trained model,
    on ``word`` and the model's own greedy ``output`` (computed when not given).

    Raises ``ValueError`` for an empty word, a bad layer/head/kind or T <= 0."""
    model = getattr(model_or_result, "model", model_or_result)
    vocab = getattr(model_or_result, "vocab", None) or Vocab()
    word = clean_word(word)
    if not word:
        raise ValueError("type a word with letters a-z")
    if not temperature > 0 or not math.isfinite(temperature):
        raise ValueError("temperature must be a positive number")
    module = attention_module(model, kind, layer)
    if not 0 <= head < module.num_heads:
        raise ValueError(f"head {head + 1} does not exist (the layer has {module.num_heads})")
    if output is None:
        output = greedy(model, [word], vocab)[0]
    model.eval()
    captured = {}

    def hook(_mod, args, kwargs):
        captured["q"], captured["k"], captured["v"] = args[0], args[1], args[2]

    src, tgt = vocab.encode(word), vocab.encode(output)
    handle = module.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        if model.arch == "decoder":
            ids = [vocab.sos, *src, vocab.eop, *tgt]
            model(torch.tensor([ids]))
            q_names = k_names = [vocab.itos[i] for i in ids]
        else:
            s_ids, t_ids = [*src, vocab.eos], [vocab.sos, *tgt]
            model(torch.tensor([s_ids]), torch.tensor([t_ids]))
            sn, tn = [vocab.itos[i] for i in s_ids], [vocab.itos[i] for i in t_ids]
            q_names, k_names = {"encoder": (sn, sn), "decoder": (tn, tn), "cross": (tn, sn)}[kind]
    finally:
        handle.remove()
    sl = slice(head * module.head_dim, (head + 1) * module.head_dim)

    def proj(lin, x):
        w, b = lin.weight.double()[sl], lin.bias.double()[sl]
        return x[0].double() @ w.T + b  # (n, d)

    q, k, v = proj(module.Q, captured["q"]), proj(module.K, captured["k"]), proj(module.V, captured["v"])
    return steps_from_projections(
        q, k, v, module.scaling_factor, temperature, module.causal, list(q_names),
        key_tokens=None if kind in ("self", "encoder", "decoder") else list(k_names),
        source=f"{KIND_TITLES[kind]}, layer {layer + 1}, head {head + 1}",
    )
