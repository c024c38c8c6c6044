"""Single neuron chain (write-up 1.1): |df/dx| and the bound prod gamma|w_i| against depth."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import plots_gradients as plots
from dashboard import ui, widgets
from engine import gradients

MAX_LAYERS = 12
MAX_DEPTH = 200


@st.cache_data(show_spinner=False, max_entries=256)
def _chain(x: float, weights: tuple[float, ...], activation: str):
    return gradients.scalar_chain(x, weights, activation)


def _signed(log_abs: float, sign: float) -> str:
    txt = ui.fmt_ln(log_abs)
    return ("-" + txt) if sign < 0 and not txt.startswith("0") else txt


def render() -> None:
    ui.header(
        "Single neuron: why gradients vanish or explode",
        "A chain of n one-unit layers, h_i = phi(w_i h_{i-1}), h_0 = x. The gradient is the product "
        "of the local derivatives w_i phi'(w_i h_{i-1}); the bound replaces each phi' by its supremum gamma. "
        "Move the weights and the input: one dead ReLU zeroes the whole gradient, weights below 1 shrink it "
        "geometrically, weights above 1 blow it up.",
        source="Write-up 1.1.1-1.1.2 (single-neuron RNN). All products are taken in log space.",
    )
    controls, plot = st.columns([1, 2], gap="large")
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
    except ValueError as exc:
        ui.error(f"Cannot compute this chain: {exc}")
        return

    sign = float(np.prod(np.sign(chain.local_derivatives))) if chain.depth else 1.0
    with plot:
        ui.show(plots.chain_figure(chain), key="sn_fig")
        st.caption(
            "Solid: the exact |dh_k/dx| after k layers; dashed: the bound. The gap between them is what the "
            "bound gives away (phi' < gamma, or an inactive ReLU). A break in the solid line means the "
            "gradient is exactly 0 from there on."
        )
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("f(x) = h_n", ui.fmt_number(chain.value))
    c2.metric("df/dx", _signed(chain.log_abs_gradient, sign))
    c3.metric("bound prod gamma|w_i|", ui.fmt_ln(chain.log_bound))
    c4.metric("bound holds", "yes" if chain.bound_holds else "NO")

    g_txt = r"\tfrac14" if activation == "sigmoid" else "1"
    grad_txt = ui.fmt_ln(chain.log_abs_gradient).replace("_", r"\_")
    bound_txt = ui.fmt_ln(chain.log_bound).replace("_", r"\_")
    st.latex(
        rf"\left|\frac{{\partial f}}{{\partial x}}\right| = \prod_{{i=1}}^{{{chain.depth}}} "
        rf"|w_i\,\phi'(w_i h_{{i-1}})| = \text{{{grad_txt}}} \;\le\; \prod_{{i=1}}^{{{chain.depth}}} "
        rf"{g_txt}\,|w_i| = \text{{{bound_txt}}}"
    )
    if activation == "relu":
        if chain.first_dead_layer is not None:
            st.markdown(
                f"The ReLU in layer **{chain.first_dead_layer}** is off (w_i h_(i-1) <= 0), so "
                "**df/dx = 0 exactly**: the lower bound 0 of write-up 1.1.1 is attained."
            )
        if all(wi > 1 for wi in weights) and chain.log_abs_gradient == -np.inf:
            ui.note(
                "Write-up 1.1.2 says that with every w_i > 1 'the gradients may explode but cannot vanish'. "
                "Here every w_i > 1 and the gradient is exactly 0 (the input is negative): that claim fails."
            )
        if any(wi < 0 for wi in weights):
            st.caption(
                "Write-up 1.1.2 writes dh_i/dh_(i-1) = w_i when h_(i-1) >= 0; the correct condition is "
                "w_i h_(i-1) > 0, which differs as soon as a weight is negative (the computation here uses the "
                "correct one)."
            )
    with st.expander("Hidden values and local derivatives"):
        ui.show(plots.hidden_figure(chain), key="sn_hidden")
        rows = [
            {"layer i": i + 1, "w_i": chain.weights[i], "h_i": chain.hidden[i + 1],
             "dh_i/dh_(i-1)": chain.local_derivatives[i]}
            for i in range(min(chain.depth, 50))
        ]
        st.dataframe(rows, hide_index=True)
        if chain.depth > 50:
            st.caption(f"First 50 of {chain.depth} layers shown.")
