"""Scaled dot-product attention, step by step (write-up 2.1.1, 2.1.2).

Widgets -> engine.attention.attention_steps (cached) -> dashboard.plots_attention -> ui.show.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import plots_attention as pa
from dashboard import ui, widgets
from engine import attention as att

MAX_TOKENS = 12
TEMPERATURES = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0]


@st.cache_data(max_entries=64, show_spinner=False)
def _steps(tokens: tuple[str, ...], hidden: int, causal: bool, temperature: float, seed: int):
    return att.attention_steps(list(tokens), hidden, causal, temperature, seed)


def render() -> None:
    ui.header(
        "Attention, step by step",
        "Self-attention of a short sequence through a randomly initialised `ScaledDotAttention` "
        "(or `CausalScaledDotAttention`): scores Q K^T, the 1/sqrt(h) scaling, the causal mask, the "
        "row softmax and the context. Each token gets a fixed random embedding, so a repeated word "
        "gets the same query, key and value.",
        source="Write-up §2.1.1–2.1.2 · Vaswani et al. 2017, eq. 1",
    )
    widgets.preset_buttons({
        "Causal, T = 1": {"at_causal": True, "at_temp": 1.0},
        "Nearly argmax (T = 0.05)": {"at_temp": 0.05},
        "Nearly uniform (T = 100)": {"at_temp": 100.0},
    })
    left, right = st.columns([1, 2])
    text = widgets.text_input("Tokens (space-separated)", "the cat sat on the mat", key="at_tokens", where=left,
                              max_chars=200)
    hidden = widgets.select_slider("Hidden size h", [2, 4, 8, 16, 32, 64], key="at_hidden", where=left, value=8)
    causal = widgets.toggle("Causal mask", value=False, key="at_causal", where=left)
    temp = widgets.select_slider("Temperature T", TEMPERATURES, key="at_temp", where=left, value=1.0)
    seed = widgets.number_input("Seed", 0, 9999, 0, key="at_seed", where=left, step=1)

    tokens = text.split()
    if not tokens:
        ui.error("Type at least one token.", hint="For example: the cat sat on the mat")
        return
    if len(tokens) > MAX_TOKENS:
        left.caption(f"Showing the first {MAX_TOKENS} of {len(tokens)} tokens.")
        tokens = tokens[:MAX_TOKENS]
    s = _steps(tuple(tokens), int(hidden), bool(causal), float(temp), int(seed))
    n = len(tokens)

    with right:
        right.latex(
            r"\alpha = \mathrm{softmax}\!\left(\frac{(W_q x)(W_k x)^\top}{\sqrt{h}\,T}"
            + (r" + M" if causal else "")
            + r"\right),\qquad \text{context} = \alpha\,(W_v x)"
        )
        right.latex(r"\frac{1}{\sqrt{h}\,T} = \frac{1}{\sqrt{" + str(hidden) + r"}\cdot " + ui.fmt_number(temp) + "} = "
                    + ui.fmt_number(s.scale) + (r",\qquad M_{ij} = -\infty \text{ for } j > i" if causal else ""))
        c1, c2, c3 = right.columns(3)
        c1.metric("scale 1/(sqrt(h) T)", ui.fmt_number(s.scale))
        c2.metric("mean row entropy (nats)", ui.fmt_number(float(s.entropy.mean())))
        c3.metric("max |row sum - 1|", ui.fmt_number(float(np.abs(s.row_sums - 1).max())))
        masked_zero = int((s.weights[~s.mask] == 0).sum())
        right.caption(
            f"{int((~s.mask).sum())} masked entries; {masked_zero} of them have weight exactly 0."
            if causal else "No mask: every query sees every key."
        )
        tabs = right.tabs(["1. Q K^T", "2. scaled", "3. masked", "4. softmax", "5. context", "inputs"])
        ui.show(pa.matrix(s.qk, tokens, tokens, title="Scores (W_q x)(W_k x)^T", colorbar="score", diverging=True),
                where=tabs[0], key="at_fig_qk")
        ui.show(pa.matrix(s.scaled, tokens, tokens, title=f"Scaled scores x {ui.fmt_number(s.scale)}",
                          colorbar="scaled", diverging=True), where=tabs[1], key="at_fig_scaled")
        ui.show(pa.matrix(s.masked, tokens, tokens, title="After the mask (blank = -inf)", colorbar="scaled",
                          diverging=True), where=tabs[2], key="at_fig_masked")
        ui.show(pa.matrix(s.weights, tokens, tokens, title="Attention weights (rows sum to 1)", colorbar="weight"),
                where=tabs[3], key="at_fig_w")
        tabs[3].caption("Row i is what query i reads. With the causal mask the upper triangle is exactly 0 and "
                        "row 0 puts all its weight on itself. Lower T sharpens each row towards its largest score.")
        ui.show(pa.vectors(s.context, tokens, title="Context = weights x (W_v x)"), where=tabs[4], key="at_fig_ctx")
        ui.show(pa.vectors(s.queries, tokens, title="Queries W_q x"), where=tabs[5], key="at_fig_q")
        ui.show(pa.vectors(s.values, tokens, title="Values W_v x"), where=tabs[5], key="at_fig_v")
        max_ent = np.log(s.mask.sum(1))
        ui.show(pa.entropy_bars(s.entropy, tokens, max_ent), key="at_fig_ent")
        right.caption(f"{n} tokens. Entropy ln(#keys) means uniform attention; 0 means one key takes all the weight.")
