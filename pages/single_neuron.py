"""Single neuron chain (write-up 1.1): |df/dx| and the bound prod gamma|w_i| against depth.

One panel (an ``st.fragment``): every control feeds the same chain, so moving one reruns only
the panel, and the engine call and the figures are cached by their inputs.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import plots_gradients as plots
from dashboard import ui, widgets
from engine import gradients

MAX_LAYERS = 12
MAX_DEPTH = 200


def _per_layer(weights: list[float], x: float = 1.0, act: str = "relu") -> dict:
    out = {"sn_act": act, "sn_mode": "per layer", "sn_layers": len(weights), "sn_x": x}
    out.update({f"sn_w{i}": float(w) for i, w in enumerate(weights, start=1)})
    return out


# Presets named after the write-up section they reproduce (the tour links to them).
PRESETS = {
    "§1.1.1: ReLU, all weights 1": _per_layer([1.0] * 6, x=1.0),
    "§1.1.1: ReLU, x < 0 (gradient 0)": _per_layer([1.0] * 6, x=-1.0),
    "§1.1.2: every w_i < 1 (vanishing)": {"sn_act": "relu", "sn_mode": "all equal", "sn_depth": 50, "sn_w": 0.9,
                                          "sn_x": 1.0},
    "§1.1.2: every w_i > 1, x < 0": {"sn_act": "relu", "sn_mode": "all equal", "sn_depth": 10, "sn_w": 1.5,
                                     "sn_x": -0.5},
    "§1.1.2: mixed weights": _per_layer([2.0, 0.5, 2.0, 0.5, 2.0, 0.5], x=1.0),
}
PRESET_HELP = {
    "§1.1.1: ReLU, all weights 1": "Write-up 1.1.1: weights 1, ReLU, x >= 0: df/dx = 1, the upper end of 0 <= |df/dx| <= 1.",
    "§1.1.1: ReLU, x < 0 (gradient 0)": "Write-up 1.1.1: x < 0 turns the first ReLU off: df/dx = 0, the lower end.",
    "§1.1.2: every w_i < 1 (vanishing)": "Write-up 1.1.2: 'if all the w_i are less than 1, the gradients may vanish'.",
    "§1.1.2: every w_i > 1, x < 0": "Write-up 1.1.2 says they 'cannot vanish' when every w_i > 1: a negative input makes "
    "the gradient exactly 0.",
    "§1.1.2: mixed weights": "Write-up 1.1.2: 'a mix of the range of w_i': the product of |w_i| decides (here 1).",
}



def preset_query(name: str) -> dict[str, str]:
    """The URL query parameters that open preset ``name`` (as Streamlit writes them)."""
    return {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in PRESETS[name].items()}

@st.cache_data(show_spinner=False, max_entries=256)
def _chain(x: float, weights: tuple[float, ...], activation: str):
    return gradients.scalar_chain(x, weights, activation)


@ui.cache_figures(128)
def _figures(x: float, weights: tuple[float, ...], activation: str):
    chain = _chain(x, weights, activation)
    return plots.chain_figure(chain), plots.hidden_figure(chain)


def _signed(log_abs: float, sign: float) -> str:
    txt = ui.fmt_ln(log_abs)
    return ("-" + txt) if sign < 0 and not txt.startswith("0") else txt


def render() -> None:
    ui.header(
        "Single neuron: why gradients vanish or explode",
        r"A chain of $n$ one-unit layers, $h_i = \phi(w_i h_{i-1})$, $h_0 = x$. The gradient is the product "
        r"of the local derivatives, $\frac{\partial f}{\partial x} = \prod_{i=1}^{n} w_i\,\phi'(w_i h_{i-1})$; "
        r"the bound replaces each $\phi'$ by its supremum $\gamma$. Move the weights and the input: one dead ReLU "
        "zeroes the whole gradient, weights below 1 shrink it geometrically, weights above 1 blow it up.",
        source="Write-up 1.1.1-1.1.2 (single-neuron RNN). All products are taken in log space.",
    )
    names = list(PRESETS)
    widgets.preset_buttons({k: PRESETS[k] for k in names[:2]}, help=PRESET_HELP)
    widgets.preset_buttons({k: PRESETS[k] for k in names[2:]}, help=PRESET_HELP)
    chain_panel()


@st.fragment
def chain_panel() -> None:
    plot, controls = st.columns([2, 1], gap="large")  # plot first: above its controls on narrow screens
    activation = widgets.segmented_control("Activation", list(gradients.ACTIVATIONS[:3]), key="sn_act",
                                           default="relu", where=controls)
    mode = widgets.radio("Weights", ["per layer", "all equal"], key="sn_mode", where=controls, horizontal=True,
                         help="Per layer: up to 12 sliders. All equal: one w, depth up to 200.")
    x = widgets.slider("Input x", -3.0, 3.0, 1.0, key="sn_x", step=0.05, where=controls,
                       help="A negative x turns the first ReLU off: the gradient is exactly 0.")
    if mode == "all equal":
        depth = widgets.slider("Depth n", 1, MAX_DEPTH, 50, key="sn_depth", where=controls)
        w = widgets.slider("Weight w (every layer)", -3.0, 3.0, 0.9, key="sn_w", step=0.01, where=controls)
        weights = (float(w),) * int(depth)
    else:
        n = widgets.slider("Layers n", 1, MAX_LAYERS, 6, key="sn_layers", where=controls)
        weights = tuple(
            float(widgets.slider(f"w_{i}", -3.0, 3.0, 1.0 if i % 2 else 0.8, key=f"sn_w{i}", step=0.05,
                                 where=controls))
            for i in range(1, int(n) + 1)
        )
    if activation is None:
        ui.error("Pick an activation to compute the chain.")
        return

    try:
        chain = _chain(float(x), weights, activation)
        chain_fig, hidden_fig = _figures(float(x), weights, activation)
    except ValueError as exc:
        ui.error(f"Cannot compute this chain: {exc}")
        return

    sign = float(np.prod(np.sign(chain.local_derivatives))) if chain.depth else 1.0
    with plot:
        ui.show(chain_fig, key="sn_fig")
        st.caption(
            r"Solid: the exact $|\partial h_k/\partial x|$ after $k$ layers; dashed: the bound "
            r"$\prod_{i\le k}\gamma|w_i|$. The gap between them is what the bound gives away ($\phi' < \gamma$, "
            "or an inactive ReLU). A break in the solid line means the gradient is exactly 0 from there on."
        )
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("f(x) = h_n", ui.fmt_number(chain.value))
    c2.metric("df/dx", _signed(chain.log_abs_gradient, sign))
    c3.metric("bound prod gamma|w_i|", ui.fmt_ln(chain.log_bound))
    c4.metric("bound holds", "yes" if chain.bound_holds else "NO")

    g_txt = r"\tfrac14" if activation == "sigmoid" else "1"
    grad_txt = ui.fmt_ln(chain.log_abs_gradient).replace("_", r"\_")
    bound_txt = ui.fmt_ln(chain.log_bound).replace("_", r"\_")
    # two lines, so the formula never runs off the right edge
    st.latex(
        r"\begin{aligned}"
        rf"\left|\frac{{\partial f}}{{\partial x}}\right| &= \prod_{{i=1}}^{{{chain.depth}}} "
        rf"|w_i\,\phi'(w_i h_{{i-1}})| = \text{{{grad_txt}}} \\ "
        rf"&\le \prod_{{i=1}}^{{{chain.depth}}} {g_txt}\,|w_i| = \text{{{bound_txt}}}"
        r"\end{aligned}"
    )
    if activation == "relu":
        if chain.first_dead_layer is not None:
            st.markdown(
                f"The ReLU in layer **{chain.first_dead_layer}** is off ($w_i h_{{i-1}} \\le 0$), so "
                r"**$\partial f/\partial x = 0$ exactly**: the lower bound 0 of write-up 1.1.1 is attained."
            )
        if all(wi > 1 for wi in weights) and chain.log_abs_gradient == -np.inf:
            ui.note(
                "Write-up 1.1.2 says that with every $w_i > 1$ 'the gradients may explode but cannot vanish'. "
                "Here every $w_i > 1$ and the gradient is exactly 0 (the input is negative): that claim fails."
            )
        if any(wi < 0 for wi in weights):
            st.caption(
                r"Write-up 1.1.2 writes $\partial h_i/\partial h_{i-1} = w_i$ when $h_{i-1} \ge 0$; the correct "
                r"condition is $w_i h_{i-1} > 0$, which differs as soon as a weight is negative (the computation "
                "here uses the correct one)."
            )
    with widgets.expander("Hidden values and local derivatives", key="sn_x_hidden") as box:
        if not box.open:  # built only when open: a closed box costs nothing on a slider move
            return
        ui.show(hidden_fig, key="sn_hidden")
        rows = [
            {"layer i": i + 1, "w_i": chain.weights[i], "h_i": chain.hidden[i + 1],
             "dh_i/dh_(i-1)": chain.local_derivatives[i]}
            for i in range(min(chain.depth, 50))
        ]
        ui.table(rows)
        if chain.depth > 50:
            st.caption(f"First 50 of {chain.depth} layers shown.")
