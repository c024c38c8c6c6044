"""Transformer encoder-decoder and decoder-only models for character-level Pig Latin
(write-up sections 2.1.4 and 2.2), built on :mod:`engine.attention`.

Both use pre-LayerNorm blocks (Xiong et al. 2020) with residual connections::

    x = x + SelfAttn(LN(x));   [x = x + CrossAttn(LN(x), enc)];   x = x + MLP(LN(x))

with MLP(x) = W_2 GELU(W_1 x), W_1: h -> 4h, and fixed sinusoidal positional encodings
added to the character embeddings (``engine.positional.sinusoidal``). The write-up's
model has no LayerNorm and a one-layer MLP; we add LayerNorm and the 4h MLP so that the
models train reliably in minutes on a CPU (the page says so).

Decoder-only token layout (write-up 2.2.1)::

    input   = SOS  s_1 .. s_n  EOP  t_1 .. t_m
    target  = s_1 .. s_n  EOP  t_1 .. t_m  EOS

and the loss is taken on the target part only (positions whose target is t_1..t_m, EOS).
Encoder-decoder: encoder reads ``s_1 .. s_n EOS``; decoder reads ``SOS t_1 .. t_m`` and
predicts ``t_1 .. t_m EOS`` attending to the encoder output.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.attention import MultiHeadAttention
from engine.positional import sinusoidal

MAX_POSITIONS = 64


class MLP(nn.Module):
    def __init__(self, hidden_size: int):
        super().__init__()
        self.fc1 = nn.Linear(hidden_size, 4 * hidden_size)
        self.fc2 = nn.Linear(4 * hidden_size, hidden_size)

    def forward(self, x):
        # MLP(x) = W_2 GELU(W_1 x + b_1) + b_2
        return self.fc2(torch.nn.functional.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-LN transformer block; ``cross=True`` adds encoder-decoder attention."""

    def __init__(self, hidden_size: int, num_heads: int, causal: bool, cross: bool = False):
        super().__init__()
        self.ln1 = nn.LayerNorm(hidden_size)
        self.self_attn = MultiHeadAttention(hidden_size, num_heads, causal=causal)
        self.cross = cross
        if cross:
            self.ln_x = nn.LayerNorm(hidden_size)
            self.cross_attn = MultiHeadAttention(hidden_size, num_heads, causal=False)
        self.ln2 = nn.LayerNorm(hidden_size)
        self.mlp = MLP(hidden_size)

    def forward(self, x, pad=None, enc=None, enc_pad=None, need_weights=False):
        h = self.ln1(x)
        a, w_self = self.self_attn(h, h, h, key_padding=pad, need_weights=need_weights)
        x = x + a
        w_cross = None
        if self.cross:
            a, w_cross = self.cross_attn(self.ln_x(x), enc, enc, key_padding=enc_pad, need_weights=need_weights)
            x = x + a
        x = x + self.mlp(self.ln2(x))
        return x, w_self, w_cross


class _Embed(nn.Module):
    def __init__(self, vocab_size: int, hidden_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, hidden_size)
        pe = torch.tensor(sinusoidal(MAX_POSITIONS, hidden_size), dtype=torch.float32)
        self.register_buffer("positional_encodings", pe, persistent=False)

    def forward(self, ids, positions=None):
        n = ids.size(1)
        if n > MAX_POSITIONS:
            raise ValueError(f"sequence of {n} tokens exceeds the {MAX_POSITIONS}-position limit")
        # embed = E[ids] + PE[:n]   (E ~ N(0, 1) and PE entries in [-1, 1]: same scale, so
        # the position signal is not drowned by the token signal). ``positions`` (B, T) gives
        # per-row positions instead (left-padded batches in greedy decoding).
        pe = self.positional_encodings[:n] if positions is None else self.positional_encodings[positions]
        return self.embedding(ids) + pe


class DecoderOnly(nn.Module):
    """Causal transformer over SOS + source + EOP + target (+ EOS)."""

    arch = "decoder"

    def __init__(self, vocab_size: int, hidden_size: int, num_layers: int, num_heads: int):
        super().__init__()
        self.embed = _Embed(vocab_size, hidden_size)
        self.blocks = nn.ModuleList(Block(hidden_size, num_heads, causal=True) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(hidden_size)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids, need_weights: bool = False, positions=None, pad=None):
        """ids (B, T) -> logits (B, T, V), list of per-layer self-attention weights
        (B, H, T, T) (empty unless ``need_weights``). ``positions`` (B, T) and ``pad`` (B, T,
        True = padding) support left-padded batches of different prompt lengths."""
        x = self.embed(ids, positions)
        weights = []
        for blk in self.blocks:
            x, w, _ = blk(x, pad=pad, need_weights=need_weights)
            if need_weights:
                weights.append(w)
        return self.out(self.ln_f(x)), weights


class EncoderDecoder(nn.Module):
    """Bidirectional encoder over source + EOS; causal decoder with cross-attention."""

    arch = "encdec"

    def __init__(self, vocab_size: int, hidden_size: int, num_layers: int, num_heads: int, pad_id: int):
        super().__init__()
        self.pad_id = pad_id
        self.enc_embed = _Embed(vocab_size, hidden_size)
        self.dec_embed = _Embed(vocab_size, hidden_size)
        self.encoder = nn.ModuleList(Block(hidden_size, num_heads, causal=False) for _ in range(num_layers))
        self.decoder = nn.ModuleList(Block(hidden_size, num_heads, causal=True, cross=True) for _ in range(num_layers))
        self.ln_enc = nn.LayerNorm(hidden_size)
        self.ln_f = nn.LayerNorm(hidden_size)
        self.out = nn.Linear(hidden_size, vocab_size)

    def encode(self, src, need_weights: bool = False):
        pad = src.eq(self.pad_id)
        x = self.enc_embed(src)
        weights = []
        for blk in self.encoder:
            x, w, _ = blk(x, pad=pad, need_weights=need_weights)
            if need_weights:
                weights.append(w)
        return self.ln_enc(x), pad, weights

    def decode(self, enc, enc_pad, tgt_in, need_weights: bool = False):
        x = self.dec_embed(tgt_in)
        self_w, cross_w = [], []
        for blk in self.decoder:
            x, ws, wc = blk(x, enc=enc, enc_pad=enc_pad, need_weights=need_weights)
            if need_weights:
                self_w.append(ws)
                cross_w.append(wc)
        return self.out(self.ln_f(x)), self_w, cross_w

    def forward(self, src, tgt_in, need_weights: bool = False):
        enc, pad, enc_w = self.encode(src, need_weights)
        logits, self_w, cross_w = self.decode(enc, pad, tgt_in, need_weights)
        return logits, {"encoder": enc_w, "decoder": self_w, "cross": cross_w}


def build_model(arch: str, vocab_size: int, hidden_size: int, num_layers: int, num_heads: int, pad_id: int):
    if arch == "decoder":
        return DecoderOnly(vocab_size, hidden_size, num_layers, num_heads)
    if arch == "encdec":
        return EncoderDecoder(vocab_size, hidden_size, num_layers, num_heads, pad_id)
    raise ValueError(f"unknown arch {arch!r}; use 'decoder' or 'encdec'")


def count_params(model: nn.Module) -> tuple[int, int]:
    """(total, non-embedding) parameter counts. Non-embedding N (Kaplan et al. 2020)
    excludes the token embedding tables and the output (un-embedding) layer; the
    positional encodings are fixed buffers and never counted."""
    total = sum(p.numel() for p in model.parameters())
    emb = sum(p.numel() for n, p in model.named_parameters() if "embedding" in n or n.startswith("out."))
    return total, total - emb
