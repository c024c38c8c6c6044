"""Scaled dot-product attention, step by step (write-up 2.1.1, 2.1.2).

Two sources for the layer: a randomly initialised ``ScaledDotAttention`` on typed tokens,
or one head of a shipped, trained Pig Latin model on a typed word (its learned Q, K, V).

Widgets -> engine.attention.attention_steps / engine.nmt.steps.layer_attention_steps
(cached by their inputs) -> dashboard.plots_attention (figures cached by their inputs) -> ui.show.
The step switcher is a URL-bound tab bar inside its own panel (``st.fragment``): choosing a
step builds that step's figure only and reruns nothing else.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import plots_attention as pa
from dashboard import ui, widgets
from engine import attention as att
from engine import nmt
from engine.nmt import assets as nassets
from engine.nmt.steps import clean_word, layer_attention_steps
from pages.translation import asset_problem, load_model, preset_query

MAX_TOKENS = 12
TEMPERATURES = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0]
STEPS = ["1. Q K^T", "2. scaled", "3. masked", "4. softmax", "5. context", "inputs"]
SOURCES = ["random layer", "trained layer"]  # shown as is, and written to the URL as is
ENC_KINDS = ["encoder", "decoder", "cross"]

# Presets: the write-up's examples (2.1.1, 2.1.2, 2.2.1-2.2.2) and the regimes worth showing.
PRESETS = {
    "2.1.1 scaled dot-product, T = 1": {"at_source": "random layer", "at_causal": False, "at_temp": 1.0, "at_hidden": 8},
    "2.1.2 causal mask, T = 1": {"at_source": "random layer", "at_causal": True, "at_temp": 1.0, "at_hidden": 8},
    "Nearly argmax (T = 0.05)": {"at_temp": 0.05},
    "Nearly uniform (T = 100)": {"at_temp": 100.0},
    "2.2 trained decoder-only: shopping, layer 3": {"at_source": "trained layer", "at_model": "decoder_h64",
                                                   "at_word": "shopping", "at_layer": 3, "at_head": 1,
                                                   "at_temp": 1.0},
    "2.1.4 trained enc-dec cross-attention: string": {"at_source": "trained layer", "at_model": "encdec_h64_small",
                                                      "at_word": "string", "at_kind": "cross", "at_layer": 3,
                                                      "at_head": 1, "at_temp": 1.0},
}


# Figures are cached by ui.cache_figures (the object itself, never mutated); the read-only
# shipped results by st.cache_resource, for the same reason.

def preset_urls() -> dict[str, str]:
    """``{preset name: "/attention?..."}``: the URL that reopens each preset."""
    return {name: "/attention?" + preset_query(v) for name, v in PRESETS.items()}


@st.cache_data(max_entries=64, show_spinner=False)
def _random_steps(tokens: tuple[str, ...], hidden: int, causal: bool, temperature: float, seed: int):
    return att.attention_steps(list(tokens), hidden, causal, temperature, seed)


@st.cache_data(max_entries=64, show_spinner=False)
def _trained_steps(model: str, word: str, kind: str, layer: int, head: int, temperature: float):
    return layer_attention_steps(load_model(model), word, kind=kind, layer=layer, head=head, temperature=temperature)


def _steps(spec: tuple):
    return _random_steps(*spec[1:]) if spec[0] == "random" else _trained_steps(*spec[1:])


@ui.cache_figures(128)
def _step_fig(spec: tuple, step: str):
    """The figure of one step, cached by the inputs of the computation and the step."""
    s = _steps(spec)
    rows, cols = s.tokens, s.keys_shown
    if step == STEPS[0]:
        return [pa.matrix(s.qk, rows, cols, title="Scores (W_q x)(W_k x)^T", colorbar="score", diverging=True)]
    if step == STEPS[1]:
        return [pa.matrix(s.scaled, rows, cols, title=f"Scaled scores x {ui.fmt_number(s.scale)}", colorbar="scaled",
                          diverging=True)]
    if step == STEPS[2]:
        return [pa.matrix(s.masked, rows, cols, title="After the mask (blank = -inf)", colorbar="scaled",
                          diverging=True)]
    if step == STEPS[3]:
        return [pa.matrix(s.weights, rows, cols, title="Attention weights (rows sum to 1)", colorbar="weight")]
    if step == STEPS[4]:
        return [pa.vectors(s.context, rows, title="Context = weights x (W_v x)")]
    return [pa.vectors(s.queries, rows, title="Queries W_q x"), pa.vectors(s.keys, cols, title="Keys W_k x"),
            pa.vectors(s.values, cols, title="Values W_v x")]


@ui.cache_figures(64)
def _entropy_fig(spec: tuple):
    s = _steps(spec)
    return pa.entropy_bars(s.entropy, s.tokens, np.log(s.mask.sum(1)))


CAPTIONS = {
    STEPS[0]: "Raw scores $s_{ij} = q_i \\cdot k_j$: how well query $i$ matches key $j$.",
    STEPS[1]: "Scores times $1/(\\sqrt{d}\\,T)$: keeps their spread independent of the width $d$.",
    STEPS[2]: "Masked entries are $-\\infty$, so their softmax weight is exactly 0.",
    STEPS[3]: "Row $i$ is what query $i$ reads: $\\alpha_{ij} = e^{\\tilde s_{ij}} / \\sum_{j'} e^{\\tilde s_{ij'}}$. "
              "With the causal mask the upper triangle is exactly 0 and row 0 puts all its weight on itself. "
              "Lower $T$ sharpens each row towards its largest score.",
    STEPS[4]: "Context $c_i = \\sum_j \\alpha_{ij} v_j$: a weighted average of the values.",
    STEPS[5]: "The projected queries, keys and values the steps start from.",
}


@st.fragment
def _step_panel(spec: tuple) -> None:
    step = widgets.tab_bar("Step", STEPS, key="at_step")
    for i, fig in enumerate(_step_fig(spec, step)):
        ui.show(fig, key=f"at_fig_step_{i}")
    st.caption(CAPTIONS[step])


def _random_controls(left):
    text = widgets.text_input("Tokens (space-separated)", "the cat sat on the mat", key="at_tokens", where=left,
                              max_chars=200)
    hidden = widgets.select_slider("Hidden size h", [2, 4, 8, 16, 32, 64], key="at_hidden", where=left, value=8)
    causal = widgets.toggle("Causal mask", value=False, key="at_causal", where=left)
    temp = widgets.select_slider("Temperature T", TEMPERATURES, key="at_temp", where=left, value=1.0)
    seed = widgets.number_input("Seed", 0, 9999, 0, key="at_seed", where=left, step=1)
    tokens = text.split()
    if not tokens:
        ui.error("Type at least one token.", hint="For example: the cat sat on the mat")
        return None
    if len(tokens) > MAX_TOKENS:
        left.caption(f"Showing the first {MAX_TOKENS} of {len(tokens)} tokens.")
        tokens = tokens[:MAX_TOKENS]
    return ("random", tuple(tokens), int(hidden), bool(causal), float(temp), int(seed))


def _trained_controls(left):
    names = nmt.shipped_names()
    if not names:
        ui.note("No shipped Pig Latin model found in assets/nmt/models; run scripts/train_nmt.py.")
        return None
    default = names.index("decoder_h64") if "decoder_h64" in names else 0
    name = widgets.selectbox("Trained model", names, key="at_model", where=left, index=default,
                             help="A shipped Pig Latin model (see the Translation page).")
    try:
        res = load_model(name)
    except nassets.AssetError as e:
        asset_problem(e, where=left)
        return None
    typed = widgets.text_input("Word", "shopping", key="at_word", where=left, max_chars=40,
                               help="Letters a–z; other characters are dropped.")
    word = clean_word(typed)
    if not word:
        ui.error("Type a word with letters a–z.", hint="For example: shopping")
        return None
    if word != typed.strip():
        left.text(f"The model reads: {word}")
    c = res.config
    if c.arch == "decoder":
        kind = "self"
    else:
        kind = widgets.segmented_control("Attention", ENC_KINDS, key="at_kind", where=left, default="cross",
                                         required=True, help="encoder: encoder self-attention; decoder: decoder "
                                         "self-attention (causal); cross: decoder queries, encoder keys.")
    layer = widgets.segmented_control("Layer", list(range(1, c.num_layers + 1)), key="at_layer", where=left,
                                      default=c.num_layers, required=True)
    head = widgets.segmented_control("Head", list(range(1, c.num_heads + 1)), key="at_head", where=left,
                                     default=1, required=True)
    temp = widgets.select_slider("Temperature T", TEMPERATURES, key="at_temp", where=left, value=1.0,
                                 help="T = 1 is the model as trained.")
    return ("trained", name, word, kind or "cross", int(layer or c.num_layers) - 1, int(head or 1) - 1, float(temp))


def render() -> None:
    ui.header(
        "Attention, step by step",
        "Self-attention of a short sequence, one step at a time: scores $QK^\\top$, the scaling "
        "$1/\\sqrt{d}$, the causal mask, the row softmax and the context. Run it on a randomly initialised "
        "`ScaledDotAttention` (or `CausalScaledDotAttention`), where each token gets a fixed random embedding "
        "(a repeated word gets the same query, key and value), or on one head of a trained Pig Latin model, "
        "to see what attention learned.",
        source="Write-up §2.1.1–2.1.2 · Vaswani et al. 2017, eq. 1",
    )
    widgets.preset_buttons(PRESETS)
    source = widgets.segmented_control("Layer to inspect", SOURCES, key="at_source", default=SOURCES[0], required=True,
                                       help="A randomly initialised layer on typed tokens, or one head of a shipped, "
                                            "trained Pig Latin model on a typed word.")
    left, right = st.columns([1, 2])
    spec = _trained_controls(left) if source == SOURCES[1] else _random_controls(left)
    if spec is None:
        return
    try:
        s = _steps(spec)
    except nassets.AssetError as e:
        asset_problem(e, where=right)
        return
    except ValueError as e:
        ui.error(str(e))
        return
    causal = bool(s.mask.size and not s.mask.all())
    with right:
        if spec[0] == "trained":
            st.markdown(f"**{spec[1]}**, {s.source}. Tokens: the model's own input for the word.")
        d = s.queries.shape[1]
        temp = spec[-2] if spec[0] == "random" else spec[-1]
        st.latex(
            r"\alpha = \mathrm{softmax}\!\left(\frac{(x W_q)(x W_k)^\top}{\sqrt{d}\,T}"
            + (r" + M" if causal else "")
            + r"\right),\qquad \text{context} = \alpha\,(x W_v)"
        )
        st.latex(r"\frac{1}{\sqrt{d}\,T} = \frac{1}{\sqrt{" + str(d) + r"}\cdot " + ui.fmt_number(temp) + "} = "
                 + ui.fmt_number(s.scale) + (r",\qquad M_{ij} = -\infty \text{ for } j > i" if causal else ""))
        c1, c2, c3 = st.columns(3)
        c1.metric("scale 1/(√d·T)", ui.fmt_number(s.scale))
        c2.metric("mean row entropy (nats)", ui.fmt_number(float(s.entropy.mean())))
        c3.metric("max |row sum − 1|", ui.fmt_number(float(np.abs(s.row_sums - 1).max())))
        masked_zero = int((s.weights[~s.mask] == 0).sum())
        st.caption(
            f"{int((~s.mask).sum())} masked entries; {masked_zero} of them have weight exactly 0."
            if causal else "No mask: every query sees every key."
        )
        _step_panel(spec)
        ui.show(_entropy_fig(spec), key="at_fig_ent")
        st.caption(f"{len(s.tokens)} query tokens. Entropy $\\ln(\\#\\text{{keys}})$ means uniform attention; 0 means "
                   "one key takes all the weight.")
