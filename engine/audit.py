"""Write-up audit: every claim of the course write-up, checked live against the engine.

``run_audit()`` calls one check function per claim (registered in ``CHECKS``). Each check
calls the engine module that computes the claim and derives its verdict from the numbers
it gets back; nothing here stores a verdict. A check that raises is reported with the
error in its evidence (``Check.error``) and does not stop the others.

Verdicts: "holds", "fails", "holds with caveat" (the claim holds only under an assumption
we had to make, or on a stand-in for the write-up's own setting; the evidence says which).
Sections refer to the write-up (``../shared/seed/000_ff4132e6a74a6f98.txt``).
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from engine import gradients, relattn, scaling, sweeps

HOLDS, FAILS, CAVEAT = "holds", "fails", "holds with caveat"
VERDICTS = (HOLDS, FAILS, CAVEAT)


@dataclass
class Check:
    """One audited claim.

    ``numbers``: the deciding numbers by name. ``compare``: optional {label: (claimed,
    computed)} pairs for a small bar chart. ``correction``: the correct version where the
    claim fails (or needs a caveat). ``error``: set only when the check itself crashed.
    """

    section: str
    claim: str
    verdict: str
    evidence: str
    page: str
    numbers: dict = field(default_factory=dict)
    correction: str | None = None
    compare: dict | None = None
    log_scale: bool = False
    error: str | None = None


class _Context:
    """Engine results shared by several checks, computed lazily once per ``run_audit``."""

    @cached_property
    def nmt(self):
        from engine.nmt import results

        return results.shipped_results()

    @cached_property
    def nmt_claims(self):
        from engine.nmt import results

        return results.check_claims(self.nmt)

    def nmt_claim(self, *keywords: str):
        for c in self.nmt_claims:
            if all(k.lower() in c.claim.lower() for k in keywords):
                return c
        raise LookupError(f"engine.nmt.results.check_claims has no claim with {keywords}")

    @cached_property
    def bert(self):
        from engine import bert

        return bert.writeup_evidence()

    @cached_property
    def nmt_settings(self) -> str:
        r = self.nmt
        d = r.runs[r.decoder_name]
        return (
            f"project runs: {d.num_layers} layers, {d.num_heads} heads, pre-LN, label smoothing {d.label_smoothing}, "
            f"val loss = cross-entropy per target token (floor {r.smoothing_floor:.3f}); see /translation"
        )


def _verdict(ok: bool, caveat: bool = False) -> str:
    if not ok:
        return FAILS
    return CAVEAT if caveat else HOLDS


# ---------------------------------------------------------------------------
# 1.1 single-neuron ReLU chain
# ---------------------------------------------------------------------------
def check_1_1_1(ctx: _Context) -> Check:
    """|df/dx| in [0, 1] for ReLU chains with all w_i = 1, random inputs and depths."""
    rng = np.random.default_rng(0)
    grads = []
    for _ in range(200):
        n = int(rng.integers(1, 30))
        grads.append(gradients.relu_chain(float(rng.normal()), [1.0] * n).gradient)
    g = np.abs(np.array(grads))
    ok = bool(np.all((g >= 0) & (g <= 1.0)))
    return Check(
        "1.1.1",
        "Thus we have bounded 0 <= |df(x)/dx| <= 1.",
        _verdict(ok),
        f"200 random ReLU chains (depth 1-29, w_i = 1, x ~ N(0,1)): |df/dx| ranges over "
        f"[{g.min():g}, {g.max():g}]; {int(np.sum(g == 0))} chains are exactly 0 (x < 0), the rest exactly 1.",
        "single-neuron",
        {"chains": 200, "min |df/dx|": float(g.min()), "max |df/dx|": float(g.max())},
    )


def check_1_1_2_bound(ctx: _Context) -> Check:
    """0 <= |df/dx| <= prod |w_i| on random chains with random signs and magnitudes."""
    rng = np.random.default_rng(1)
    worst = -math.inf
    holds = 0
    n_chains = 300
    for _ in range(n_chains):
        n = int(rng.integers(1, 40))
        w = rng.normal(0, 1.5, n)
        r = gradients.relu_chain(float(rng.normal(0, 3)), list(w))
        if r.gradient == 0:
            holds += 1
            continue
        margin = r.log_abs_gradient - r.log_bound  # <= 0 when the bound holds
        worst = max(worst, margin)
        holds += int(margin <= 1e-9)
    ok = holds == n_chains
    return Check(
        "1.1.2",
        "0 <= |df(x)/dx| <= prod_{i=1}^{n} |w_i|.",
        _verdict(ok),
        f"{holds}/{n_chains} random ReLU chains (depth 1-39, w_i ~ N(0, 1.5^2), x ~ N(0, 9)) satisfy the bound; "
        f"largest ln|df/dx| - ln prod|w_i| over non-zero gradients = {worst:.3g} (must be <= 0).",
        "single-neuron",
        {"chains": n_chains, "within bound": holds, "max ln(|grad| / bound)": float(worst)},
    )


def check_1_1_2_cannot_vanish(ctx: _Context) -> Check:
    """Counterexample: all w_i > 1 and a negative input gives gradient exactly 0."""
    w = [1.5] * 10
    neg = gradients.relu_chain(-1.0, w)
    pos = gradients.relu_chain(1.0, w)
    ok = neg.gradient != 0  # the claim needs a non-zero gradient whenever all w_i > 1
    return Check(
        "1.1.2",
        "If all the w_i's are greater than 1, then we can say that the gradients may explode but cannot vanish.",
        _verdict(ok),
        f"ReLU chain, 10 layers, every w_i = 1.5: x = -1 gives df/dx = {neg.gradient:g} (the first unit is off); "
        f"x = +1 gives df/dx = {pos.gradient:.4g} = 1.5^10.",
        "single-neuron",
        {"df/dx at x=-1": float(neg.gradient), "df/dx at x=+1": float(pos.gradient), "prod w_i": float(pos.bound)},
        correction=(
            "With ReLU the gradient is exactly 0 as soon as one pre-activation w_i h_(i-1) is <= 0 (e.g. x < 0), "
            "whatever the weights. Only if x > 0 and all w_i > 1 is df/dx = prod w_i > 1."
        ),
    )


def check_1_1_2_case_rule(ctx: _Context) -> Check:
    """The write-up's rule dh_i/dh_(i-1) = w_i when h_(i-1) >= 0 ignores the sign of w_i."""
    r = gradients.relu_chain(1.0, [-2.0, 3.0])
    actual = float(r.local_derivatives[0]) + 0.0  # + 0.0 turns -0.0 into 0.0
    claimed = -2.0  # the write-up's rule: x = 1 >= 0, so dh_1/dx = w_1
    ok = math.isclose(actual, claimed)
    return Check(
        "1.1.2",
        "dh_i/dh_(i-1) = 0 if h_(i-1) < 0; w_i if h_(i-1) >= 0.",
        _verdict(ok),
        f"x = 1, w_1 = -2: the rule gives dh_1/dx = w_1 = -2 (x >= 0), but h_1 = ReLU(-2) = 0 and the "
        f"engine's derivative is {actual:g}.",
        "single-neuron",
        {"rule": claimed, "actual": actual},
        correction="dh_i/dh_(i-1) = w_i if w_i h_(i-1) > 0, else 0 (the case split is on the pre-activation).",
        compare={"dh_1/dx": (claimed, actual)},
    )


# ---------------------------------------------------------------------------
# 1.2.1 RNN Jacobian
# ---------------------------------------------------------------------------
def check_1_2_1_bound(ctx: _Context) -> Check:
    """sigma_max(dx_n/dx_1) <= (1/16)^(n-1) for sigmoid and sigma_max(W) = 1/4 (random W, x_1)."""
    worst = -math.inf
    n_steps = 10
    for seed in range(5):
        W = gradients.rescale_to_sigma_max(gradients.gaussian_weights(16, 1.0, seed), 0.25)
        x1 = np.random.default_rng(100 + seed).normal(0, 2, 16)
        log_sv = gradients.jacobian_log_singular_values(W, x1, n_steps, "sigmoid")
        bound = gradients.log_sigma_max_bound(W, n_steps, "sigmoid")
        worst = max(worst, float(np.max(log_sv)) - bound)
    claimed = n_steps * math.log(1 / 16)
    ok = worst <= 1e-9
    return Check(
        "1.2.1",
        "0 <= sigma_max(dx_n/dx_1) <= (1/16)^(n-1)",
        _verdict(ok),
        f"5 random 16x16 W rescaled to sigma_max(W) = 1/4, sigmoid, n - 1 = {n_steps}: "
        f"largest ln sigma_max(J) - ln (1/16)^(n-1) = {worst:.3g} (must be <= 0; ln bound = {claimed:.3f}).",
        "rnn-jacobian",
        {"n-1": n_steps, "ln bound": claimed, "max ln(sigma_max / bound)": worst},
    )


def check_1_2_1_svd_step(ctx: _Context) -> Check:
    """sigma_max(W^k) = sigma_max(W)^k fails for non-normal W (Jordan-type counterexample)."""
    c = gradients.non_normal_counterexample()
    ok = bool(c.identity_holds)
    return Check(
        "1.2.1",
        "Using the known property of SVD: if W = U Sigma V^T, then W^i = U Sigma^i V^T ... "
        "sigma_max(W^(n-1)) = (1/4)^(n-1)",
        _verdict(ok),
        f"Non-normal W ({c.W.shape[0]}x{c.W.shape[0]}, sigma_max(W) = {c.sigma_max_W:.4g}, spectral radius "
        f"{c.spectral_radius:.4g}): ln sigma_max(W^{c.k}) = {c.log_sigma_max_Wk:.3f} but "
        f"ln sigma_max(W)^{c.k} = {c.log_sigma_max_W_pow_k:.3f}. The final bound still holds: {c.bound_holds}.",
        "rnn-jacobian",
        {
            "k": c.k,
            "ln sigma_max(W^k)": float(c.log_sigma_max_Wk),
            "k ln sigma_max(W)": float(c.log_sigma_max_W_pow_k),
            "W normal": bool(c.is_normal),
        },
        correction=(
            "W^i = U Sigma^i V^T only for normal W (U = V up to signs). In general only "
            "sigma_max(W^i) <= sigma_max(W)^i (submultiplicativity), which is all the bound needs."
        ),
        compare={f"ln sigma_max at k = {c.k}": (float(c.log_sigma_max_W_pow_k), float(c.log_sigma_max_Wk))},
    )


def check_1_2_1_diag(ctx: _Context) -> Check:
    """prod sigma_max(D_i) = (1/4)^(n-1) is only an upper bound (equality needs W x_i to hit 0)."""
    n_steps = 10
    W = gradients.rescale_to_sigma_max(gradients.gaussian_weights(16, 1.0, 0), 0.25)
    x = np.random.default_rng(100).normal(0, 2, 16)
    log_prod = 0.0
    for _ in range(n_steps):
        z = W @ x
        s = 1.0 / (1.0 + np.exp(-z))
        # D_i = diag(sigma'(W x_i)), sigma' = s (1 - s); sigma_max(D_i) = max_j |D_i,jj|
        log_prod += math.log(float(np.max(s * (1 - s))))
        x = s
    claimed = n_steps * math.log(0.25)
    equal = abs(log_prod - claimed) < 1e-9
    ok = log_prod <= claimed + 1e-12
    return Check(
        "1.2.1",
        "prod_{i=1}^{n-1} sigma_max(D_i) = (1/4)^(n-1)",
        HOLDS if equal else (CAVEAT if ok else FAILS),
        f"Random W (sigma_max 1/4), sigmoid, n - 1 = {n_steps}: ln prod sigma_max(D_i) = {log_prod:.4f} vs "
        f"ln (1/4)^(n-1) = {claimed:.4f}. Equality would need a pre-activation exactly 0 at every step; "
        "as an upper bound it holds and is all the proof needs.",
        "rnn-jacobian",
        {"ln prod sigma_max(D_i)": log_prod, "ln (1/4)^(n-1)": claimed},
        correction="prod sigma_max(D_i) <= (1/4)^(n-1) (sigma' <= 1/4), with equality only where W x_i has a zero entry.",
        compare={"ln prod sigma_max(D_i)": (claimed, log_prod)},
    )


def check_1_2_1_pascanu(ctx: _Context) -> Check:
    """The write-up's bound uses sigma_max, not eigenvalues; Pascanu's rho(W) < 1 condition is not enough."""
    c = gradients.pascanu_counterexample()
    grows = c.growth_rate > 0
    ok = bool(c.spectral_radius_W < 1 and c.sigma_max_W > 1 and grows)
    return Check(
        "1.2.1",
        "Hint: if C = AB, then sigma_max(C) <= sigma_max(A) sigma_max(B) (the bound is in singular values, not eigenvalues).",
        _verdict(ok),
        f"Pascanu-style W: spectral radius {c.spectral_radius_W:g}, sigma_max(W) = {c.sigma_max_W:g}; the Jacobian "
        f"still grows at rate {c.growth_rate:.4f} per layer (ln 2 = {math.log(2):.4f}). An eigenvalue condition "
        "would predict vanishing; only sigma_max controls the bound, as the write-up uses.",
        "rnn-jacobian",
        {"rho(W)": float(c.spectral_radius_W), "sigma_max(W)": float(c.sigma_max_W), "growth rate": float(c.growth_rate)},
    )


# ---------------------------------------------------------------------------
# 1.3 relative attention
# ---------------------------------------------------------------------------
def _kernel_text(eff) -> str:
    w = dict(zip((int(t) for t in eff.taps), (float(v) for v in eff.weights)))
    terms = [f"{w.get(o, 0.0):.4g} x_{{i{'+' if o > 0 else '-'}1}}" for o in (1, -1) if abs(w.get(o, 0.0)) > 1e-12]
    return " + ".join(terms) or "0"


def check_1_3_1(ctx: _Context) -> Check:
    a = relattn.audit_writeup_conv()
    eff = dict(zip((int(t) for t in a.writeup_effective.taps), (float(v) for v in a.writeup_effective.weights)))
    ok = a.writeup_error < 1e-9
    heads = "; ".join(
        f"p = {{{', '.join(f'{k}: {v:.4g}' for k, v in sorted(h.p.items()))}}}, W_Q = {h.w_q:g}, W_K = {h.w_k:g}, W_V = {h.w_v:g}"
        for h in a.correct_heads
    )
    return Check(
        "1.3.1",
        "p_{-1} = ln 2, p_0 = -inf, p_1 = -ln 2, W_Q = W_K = 0, W_V = 3 [computes 2 x_{i-1} + x_{i+1}]",
        _verdict(ok),
        f"The write-up's parameters compute {_kernel_text(a.writeup_effective)} "
        + ("as claimed" if ok else "instead of 2 x_{i-1} + 1 x_{i+1}")
        + f" (max error {a.writeup_error:.3g} on the test input)."
        + ("" if ok else " Why: " + "; ".join(a.explanation[:3]) + "."),
        "relative-attention",
        {"weight on x_{i+1}": eff.get(1, 0.0), "weight on x_{i-1}": eff.get(-1, 0.0), "error": float(a.writeup_error),
         "error of the correct heads": float(a.correct_error)},
        correction=f"{heads} (measured error {a.correct_error:.2g}).",
        compare={"x_{i-1}": (float(a.claimed_weights.get(-1, 0.0)), eff.get(-1, 0.0)),
                 "x_{i+1}": (float(a.claimed_weights.get(1, 0.0)), eff.get(1, 0.0))},
    )


def check_1_3_2(ctx: _Context) -> Check:
    eps = 0.01
    checks = relattn.audit_writeup_maxpool(k=1, eps=eps, n=128)
    worst = max(checks, key=lambda c: c.max_error)
    ok = all(c.max_error <= eps for c in checks)
    x = relattn.make_input("random non-negative", 128, 0)  # U[0, 1)
    need = relattn.beta_for_error(x, 1, eps)
    rows = "; ".join(f"{c.name}: max error {c.max_error:.3g}" for c in checks)
    need_text = (f" To reach error {eps} on U[0, 1) input: beta = W_Q W_K ~ {need.beta:.3g}."
                 if need.achievable else f" Error {eps} is not reachable on U[0, 1) input: {need.reason}")
    return Check(
        "1.3.2",
        "W_Q = 1, W_K = 1, W_V = 1, p_m = 0 for |m| <= k ... This ensures that the relative attention layer "
        "approximates a 1D max pooling",
        _verdict(ok),
        f"beta = W_Q W_K = 1, k = 1, target error {eps}: {rows}. Worst: {worst.name}.{need_text}",
        "relative-attention",
        {c.name: float(c.max_error) for c in checks},
        correction=(
            "Scale the scores: W_Q = W_K = sqrt(beta) with beta large (error <= 2k/(e beta x_i) for x_i > 0). "
            "Where x_i = 0 all scores are equal and no beta helps (the output is the window mean)."
        ),
        compare={c.name: (eps, float(c.max_error)) for c in checks},
        log_scale=True,
    )


# ---------------------------------------------------------------------------
# 2.1 attention code, positional encodings, Table 1
# ---------------------------------------------------------------------------
def _attention_diff(causal: bool, k_len: int, s_len: int):
    import torch
    import torch.nn.functional as F

    from engine import attention

    torch.manual_seed(0)
    h = 16
    mod = (attention.CausalScaledDotAttention if causal else attention.ScaledDotAttention)(h)
    q_in, kv = torch.randn(3, k_len, h), torch.randn(3, s_len, h)
    with torch.no_grad():
        ctx_out, weights = mod(q_in, kv, kv)
        mask = attention.causal_mask(k_len, s_len) if causal else None
        ref = F.scaled_dot_product_attention(mod.Q(q_in), mod.K(kv), mod.V(kv), attn_mask=mask,
                                             scale=mod.scaling_factor)
    diff = float((ctx_out - ref).abs().max())
    return mod, ctx_out, weights, diff, mask


def check_2_1_1(ctx: _Context) -> Check:
    _, out, w, diff, _ = _attention_diff(False, 5, 7)
    shapes_ok = tuple(w.shape) == (3, 5, 7) and tuple(out.shape) == (3, 5, 16)
    sums = float((w.sum(-1) - 1).abs().max())
    ok = shapes_ok and diff < 1e-5 and sums < 1e-5
    return Check(
        "2.1.1",
        "numerator = W_qQ @ W_kK.transpose(1, 2) # (bs, k, seq_len) ... context = attention_weights @ W_vV # (bs x k x h)",
        _verdict(ok),
        f"batch 3, k = 5 queries, seq_len = 7, h = 16: weights {tuple(w.shape)}, context {tuple(out.shape)}; "
        f"max |context - torch.nn.functional.scaled_dot_product_attention| = {diff:.2e}; rows sum to 1 within {sums:.1e}. "
        "(The code's comment '# (bs, seq_len, k)' on attention_weights is wrong: it is (bs, k, seq_len).)",
        "attention",
        {"max abs diff vs torch": diff, "weights shape": str(tuple(w.shape))},
    )


def check_2_1_2(ctx: _Context) -> Check:
    _, out, w, diff, mask = _attention_diff(True, 6, 6)
    future = float(w[:, ~mask].abs().max())
    returned = tuple(w.transpose(1, 2).shape)
    ok = diff < 1e-5 and future == 0.0
    return Check(
        "2.1.2",
        "mask = torch.tril(torch.ones(k_len, seq_len)).bool() ... unnormalized_attention[~mask] = self.neg_inf ... "
        "return context, attention_weights.transpose(1, 2)",
        _verdict(ok, caveat=True),
        f"k = seq_len = 6: max |context - torch SDPA(is causal)| = {diff:.2e}; largest weight on a future key = {future:g} "
        f"(exactly 0). Caveat: the write-up returns the weights transposed, {returned} = (bs, seq_len, k), unlike 2.1.1's "
        "(bs, k, seq_len); and tril(ones(k, S)) is only the right mask when k = S (queries are the last k positions otherwise).",
        "attention",
        {"max abs diff vs torch": diff, "max future weight": future},
        correction="Return attention_weights (bs, k, seq_len) as in 2.1.1; for k != S use j <= i + (S - k).",
    )


def check_2_1_3(ctx: _Context) -> Check:
    c = ctx.nmt_claim("sinusoidal")
    return Check(
        "2.1.3",
        "Sinusoidal positional encodings are continious and allow the model to generalize better to longer sequences",
        _verdict(c.holds),
        f"{c.evidence} ({ctx.nmt_settings})",
        "positional-encodings",
        {"holds (engine.nmt.results)": bool(c.holds)},
        correction=("The encodings are defined past the training length and their similarity depends only on distance, "
                    "but a model trained on short words still fails on longer ones: extrapolation is not automatic."),
    )


def check_2_1_4_hidden(ctx: _Context) -> Check:
    c = ctx.nmt_claim("hidden 64 beats hidden 32")
    rows = ", ".join(f"h{r.hidden_size}/{r.dataset}: write-up {r.writeup_val_loss:.3f}, ours {r.val_loss:.4f}"
                     for r in ctx.nmt.table1)
    return Check(
        "2.1.4",
        "Increasing hidden size from 32 to 64 significantly improves model performance, as shown by lower validation "
        "loss on both the small and large datasets",
        _verdict(c.holds, caveat=True),
        f"{c.evidence}. Table 1: {rows}. Caveat: our differences are small (models near the label-smoothing floor). "
        f"({ctx.nmt_settings})",
        "translation",
        {f"h{r.hidden_size} {r.dataset}": float(r.val_loss) for r in ctx.nmt.table1},
        compare={f"h{r.hidden_size} {r.dataset}": (float(r.writeup_val_loss), float(r.val_loss)) for r in ctx.nmt.table1},
    )


def check_2_1_4_data(ctx: _Context) -> Check:
    c = ctx.nmt_claim("hidden 32 does worse")
    return Check(
        "2.1.4",
        "Increasing the dataset size, however, does not always lead to better generalization: for hidden size 32 "
        "(0.799 small vs 1.156 large)",
        _verdict(c.holds),
        f"{c.evidence}. ({ctx.nmt_settings})",
        "translation",
        {"holds (engine.nmt.results)": bool(c.holds)},
        correction="Trained to convergence with the same schedule, more data lowers the validation loss at both widths.",
    )


def check_2_2_3(ctx: _Context) -> Check:
    c = ctx.nmt_claim("decoder-only beats")
    r = ctx.nmt
    d, e = r.runs[r.decoder_name], r.runs[r.encdec_name]
    return Check(
        "2.2.3",
        "The decoder only approach is superior with a loss of 0.2, which is far less than all the encoder-decoder models.",
        _verdict(c.holds),
        f"{c.evidence}. ({ctx.nmt_settings})",
        "translation",
        {"decoder-only val loss": float(d.val_loss), "enc-dec val loss": float(e.val_loss),
         "decoder-only accuracy": float(d.word_accuracy), "enc-dec accuracy": float(e.word_accuracy)},
        correction=(f"With both trained well on the small data at h = {d.hidden_size}, the encoder-decoder is slightly better "
                    f"({e.val_loss:.3f} vs {d.val_loss:.3f} val loss, {e.word_accuracy:.1%} vs {d.word_accuracy:.1%} words)."),
        compare={"val loss": (float(r.writeup_decoder_loss), float(d.val_loss))},
    )


# ---------------------------------------------------------------------------
# 2.3 scaling laws
# ---------------------------------------------------------------------------
def check_2_3_1(ctx: _Context) -> Check:
    t = scaling.load_table2()
    h = t.hidden_size.to_numpy()
    run = ctx.nmt.runs[ctx.nmt.decoder_name]
    params = np.array([sweeps.nmt_params(int(x), run.num_layers) for x in h], dtype=float)
    cmp = scaling.hidden_squared_vs_6nd(h, params, np.full(len(h), float(run.tokens_seen)))
    lo, hi = float(np.min(cmp.log10_ratio)), float(np.max(cmp.log10_ratio))
    ok = hi < 1.0  # within a factor of 10 everywhere would count as "approx"
    return Check(
        "2.3.1",
        "Approx. FLOPs = hidden^2 (Table 2: 16 -> 256, 32 -> 1024, ..., 128 -> 16384)",
        _verdict(ok),
        f"6 N D with N = non-embedding params of a {run.num_layers}-layer decoder (12 L h^2 + 13 L h + 2h) and "
        f"D = {run.tokens_seen:,} tokens (our decoder_h64 run; the write-up states no D): 6ND / h^2 = 10^{lo:.2f} to 10^{hi:.2f}. "
        "hidden^2 is not a FLOP count (no depth, no tokens, no factor 6).",
        "scaling-laws",
        {f"h={int(a)}: log10(6ND / h^2)": float(b) for a, b in zip(h, cmp.log10_ratio)},
        correction="Training FLOPs C ~ 6 N D with N ~ 12 L h^2 (non-embedding) and D the tokens seen.",
        compare={f"h={int(a)}": (float(b), float(c)) for a, b, c in zip(h, cmp.approx_flops, cmp.flops_6nd)},
        log_scale=True,
    )


def check_2_3_2(ctx: _Context) -> Check:
    rt = scaling.synthetic_isoflop(budgets=(1e18, 1e19, 1e20), points_per_budget=9)
    fit = scaling.fit_isoflop(rt.flops, rt.params, rt.loss)
    worst = 0.0
    for b in fit.budgets:
        if not b.included:
            continue
        x = np.log10(np.asarray(rt.params)[b.rows])
        y = np.asarray(rt.loss)[b.rows]
        p = np.polyfit(x, y, 2)  # the write-up's code
        vertex = -p[1] / (2 * p[0])
        worst = max(worst, abs(vertex - math.log10(b.optimal_params)))
    ok = worst < 1e-6
    return Check(
        "2.3.2",
        "p = np.polyfit(x, y, 2); optimal_params = -p[1]/(2*p[0])",
        _verdict(ok, caveat=True),
        f"On 3 synthetic IsoFLOP profiles (Hoffmann law) the vertex -p1/(2 p0) matches engine.scaling.fit_isoflop's "
        f"optimum to {worst:.1e} decades. Caveat: x must be log10 N, so the result is log10 N_opt (take 10^vertex).",
        "scaling-laws",
        {"max |vertex - log10 N_opt|": worst},
    )


def check_2_3_3(ctx: _Context) -> Check:
    c = scaling.check_claimed_optimum(1e15, 1e10)
    too_many = [v for v in c.verdicts if v.verdict != "compute-optimal"]
    ok = len(too_many) == 0
    laws = "; ".join(f"{v.law}: N_opt = {v.optimal_params:.3g} ({v.verdict})" for v in c.verdicts)
    return Check(
        "2.3.3",
        "Based on the plot, the optimal number of parameters for 1e15 FLOPs is 1e10.",
        _verdict(ok),
        f"1e10 params at 1e15 FLOPs leaves D = C/(6N) = {c.claimed_tokens:,.0f} tokens "
        f"({c.tokens_per_param:.1e} tokens per parameter). {laws}.",
        "scaling-laws",
        {"claimed tokens": float(c.claimed_tokens), **{v.law: float(v.optimal_params) for v in c.verdicts}},
        correction=("At 1e15 FLOPs the reference laws give N_opt ~ "
                    f"{min(v.optimal_params for v in c.verdicts):.2g} to {max(v.optimal_params for v in c.verdicts):.2g} "
                    "parameters (read off the fitted line: N_opt = k C^a)."),
        compare={v.law: (1e10, float(v.optimal_params)) for v in c.verdicts},
        log_scale=True,
    )


def check_2_3_4(ctx: _Context) -> Check:
    run = ctx.nmt.runs[ctx.nmt.decoder_name]
    o = scaling.is_compute_optimal(260_000, float(run.tokens_seen))
    too_many = [v for v in o.verdicts if v.verdict == "too many parameters"]
    ok = len(too_many) > 0
    laws = "; ".join(f"{v.law}: N_opt = {v.optimal_params:.3g} ({v.verdict})" for v in o.verdicts)
    return Check(
        "2.3.4",
        "No, the setup in Section 2.2.3 is not compute optimal. The model has too many parameters (260,000) "
        "relative to the available training tokens and compute budget.",
        _verdict(ok, caveat=True),
        f"Assumption: D = {run.tokens_seen:,} tokens, the token count of our 2.2.3 decoder run (the write-up never "
        f"states D); C = 6ND = {o.flops:.3g}. {laws}. {len(too_many)}/{len(o.verdicts)} laws say too many parameters.",
        "scaling-laws",
        {"tokens (assumed)": float(run.tokens_seen), "C = 6ND": float(o.flops),
         **{v.law: float(v.optimal_params) for v in o.verdicts}},
        correction="The answer depends on D and on the law: under Hoffmann 2022 this allocation is within 2x of optimal.",
        compare={v.law: (260_000.0, float(v.optimal_params)) for v in o.verdicts},
        log_scale=True,
    )


# ---------------------------------------------------------------------------
# 3 BERT, 4 CLIP
# ---------------------------------------------------------------------------
_BERT_STANDIN = ("Our runs: MiniLM-L6 BERT on the verbal-arithmetic sign task (4,000 train, 426 test), full fine-tuning "
                 "3 epochs vs frozen encoder + cached features 20 epochs; see /bert.")


def check_3_2_time(ctx: _Context) -> Check:
    e = ctx.bert
    ok = e.frozen_speedup > 1
    return Check(
        "3.2",
        "The train time is far less when only training the classifier ... an increase from 15 batches per second to 60.",
        _verdict(ok),
        f"Time per epoch: full {e.full_time_per_epoch_s:.1f} s vs frozen {e.frozen_time_per_epoch_s:.3f} s "
        f"(speed-up {e.frozen_speedup:.0f}x; without the feature cache {e.frozen_uncached_time_per_epoch_s:.1f} s). "
        f"Trainable parameters {e.full_trainable_params:,} vs {e.frozen_trainable_params:,}. {_BERT_STANDIN}",
        "bert",
        {"speed-up": float(e.frozen_speedup), "full s/epoch": float(e.full_time_per_epoch_s),
         "frozen s/epoch": float(e.frozen_time_per_epoch_s)},
        compare={"speed-up (x)": (e.claimed_frozen_batches_per_s / e.claimed_full_batches_per_s, float(e.frozen_speedup))},
        log_scale=True,
    )


def check_3_2_accuracy(ctx: _Context) -> Check:
    e = ctx.bert
    ok = bool(e.freezing_costs_accuracy)
    return Check(
        "3.2",
        "The performance takes a big hit, and drops from 92% to 74%",
        _verdict(ok),
        f"Validation accuracy: full {e.full_val_accuracy:.1%} vs frozen {e.frozen_val_accuracy:.1%} "
        f"(write-up {e.claimed_full_val_accuracy:.0%} vs {e.claimed_frozen_val_accuracy:.0%}). {_BERT_STANDIN}",
        "bert",
        {"full val acc": float(e.full_val_accuracy), "frozen val acc": float(e.frozen_val_accuracy)},
        compare={"full": (e.claimed_full_val_accuracy, float(e.full_val_accuracy)),
                 "frozen": (e.claimed_frozen_val_accuracy, float(e.frozen_val_accuracy))},
    )


def check_3_3_pretraining(ctx: _Context) -> Check:
    e = ctx.bert
    ok = bool(e.pretraining_helps)
    return Check(
        "3.3",
        "MathBERT was trained on math initially, so it has a head start ... BERTweet achieves 72% validation accuracy",
        _verdict(ok, caveat=True),
        f"Stand-in (MathBERT and BERTweet cannot be downloaded here): pretrained vs random initialisation, full "
        f"fine-tuning: {e.full_val_accuracy:.1%} vs {e.random_full_val_accuracy:.1%} validation accuracy. "
        "Caveat: this tests 'pretraining helps', not 'maths pretraining beats tweet pretraining'.",
        "bert",
        {"pretrained full": float(e.full_val_accuracy), "random full": float(e.random_full_val_accuracy)},
    )


def check_3_3_frozen(ctx: _Context) -> Check:
    e = ctx.bert
    ok = bool(e.pretrained_frozen_beats_random_full)
    return Check(
        "3.3",
        "72% validation accuracy, which is no where near MathBERT, even when it is frozen.",
        _verdict(ok, caveat=True),
        f"Stand-in: pretrained frozen {e.frozen_val_accuracy:.1%} vs random-init full fine-tuning "
        f"{e.random_full_val_accuracy:.1%} validation accuracy (write-up: frozen MathBERT 74% vs BERTweet 72%, a 2-point gap).",
        "bert",
        {"pretrained frozen": float(e.frozen_val_accuracy), "random full": float(e.random_full_val_accuracy)},
        correction="On our stand-in a frozen pretrained encoder does not beat a fully fine-tuned weaker start; "
                   "even in the write-up's own numbers 74% vs 72% is not 'no where near'.",
        compare={"frozen pretrained": (0.74, float(e.frozen_val_accuracy)),
                 "other start, full": (0.72, float(e.random_full_val_accuracy))},
    )


def check_4_2(ctx: _Context) -> Check:
    from engine import clip

    s = clip.goldfish_sensitivity(n_images=12)
    gold, nemo, nemos = s.row("two goldfish"), s.row("two nemo"), s.row("two nemos")
    ok = bool(gold.works and nemo.works and not nemos.works)
    return Check(
        "4.2",
        'I used the prompt "two goldfish" immediately and it was successful, so I tried "two nemo" which also worked '
        'so I then tried "two nemos", which does not work',
        _verdict(ok, caveat=True),
        "Project's tiny CLIP on 12 synthetic two-goldfish scenes (each prompt vs count-swapped and other captions; "
        f"works = {s.criterion}): " + "; ".join(
            f"'{r.prompt}': p = {r.probability:.2f}, first on {r.win_rate:.0%} ({'works' if r.works else 'fails'})"
            for r in s.rows) + ". Caveat: a tiny model trained here, where 'nemos' never occurs in training; "
        "the write-up used OpenAI CLIP.",
        "clip",
        {r.prompt: float(r.probability) for r in s.rows},
        compare={r.prompt: (1.0 if r.prompt != "two nemos" else 0.0, float(r.win_rate)) for r in s.rows},
    )


CHECKS: list[Callable[[_Context], Check]] = [
    check_1_1_1, check_1_1_2_bound, check_1_1_2_cannot_vanish, check_1_1_2_case_rule,
    check_1_2_1_bound, check_1_2_1_svd_step, check_1_2_1_diag, check_1_2_1_pascanu,
    check_1_3_1, check_1_3_2,
    check_2_1_1, check_2_1_2, check_2_1_3, check_2_1_4_hidden, check_2_1_4_data, check_2_2_3,
    check_2_3_1, check_2_3_2, check_2_3_3, check_2_3_4,
    check_3_2_time, check_3_2_accuracy, check_3_3_pretraining, check_3_3_frozen,
    check_4_2,
]

def _section_of(fn: Callable) -> str:
    parts = [p for p in fn.__name__.removeprefix("check_").split("_") if p.isdigit()]
    return ".".join(parts)


def run_audit(checks: list[Callable[[_Context], Check]] | None = None) -> list[Check]:
    """Run every registered check (or ``checks``) and return one ``Check`` per claim.

    A check that raises yields a ``Check`` with verdict "fails", ``error`` set and the
    error in its evidence; the other checks still run.
    """
    ctx = _Context()
    out: list[Check] = []
    for fn in checks or CHECKS:
        try:
            c = fn(ctx)
            if c.verdict not in VERDICTS:
                raise ValueError(f"invalid verdict {c.verdict!r}")
        except Exception as exc:  # noqa: BLE001 - reported, never swallowed silently
            msg = f"{type(exc).__name__}: {exc}"
            c = Check(_section_of(fn), fn.__doc__ or fn.__name__, FAILS,
                      f"The check could not run ({msg}).", "audit", error=msg + "\n" + traceback.format_exc(limit=3))
        out.append(c)
    return out


def summary(checks: list[Check]) -> dict[str, int]:
    """Counts per verdict, e.g. {"holds": 12, "fails": 9, "holds with caveat": 4}."""
    return {v: sum(c.verdict == v for c in checks) for v in VERDICTS}
