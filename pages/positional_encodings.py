"""Positional encodings: sinusoidal vs one-hot (write-up 2.1.3).

Widgets -> engine.positional (cached) -> dashboard.plots_attention -> ui.show.
"""

from __future__ import annotations

import streamlit as st

from dashboard import plots_attention as pa
from dashboard import ui, widgets
from engine import positional as pos

BASES = [10.0, 100.0, 1000.0, 10000.0, 100000.0]


@st.cache_data(max_entries=32, show_spinner=False)
def _tables(n_train: int, n_beyond: int, dim: int, base: float):
    n = n_train + n_beyond
    sin = pos.encodings("sinusoidal", n, dim, n_train, base)
    oh = pos.encodings("one-hot", n, dim, n_train)
    return sin, oh, pos.cosine_by_distance(sin[:n_train]), pos.cosine_by_distance(oh[:n_train]), \
        pos.cosine_matrix(sin), pos.cosine_matrix(oh)


@st.cache_data(max_entries=32, show_spinner=False)
def _props(n_train: int, dim: int, k: int, n_beyond: int):
    return pos.properties(n_train, dim, k, max(n_beyond, 1))


def render() -> None:
    ui.header(
        "Positional encodings",
        "Attention is permutation-invariant, so position must be added to each token. The write-up claims "
        "sinusoidal encodings (i) encode distance, (ii) generalise to longer sequences, unlike one-hot. "
        "Here both tables are computed; the dashed line marks the longest training length.",
        source="Write-up §2.1.3 · Vaswani et al. 2017, §3.5",
    )
    widgets.preset_buttons({
        "Our Pig Latin models (h = 64, 29 positions)": {"pe_dim": 64, "pe_train": 29, "pe_beyond": 16},
        "Fast frequencies (base 100)": {"pe_base": 100.0},
    })
    left, right = st.columns([1, 2])
    n_train = widgets.slider("Longest training length L (positions)", 4, 64, 29, key="pe_train", where=left)
    n_beyond = widgets.slider("Extra positions past L", 0, 64, 16, key="pe_beyond", where=left)
    dim = widgets.select_slider("Encoding width d (sinusoidal)", [8, 16, 32, 64, 128], key="pe_dim", where=left,
                                value=64)
    base = widgets.select_slider("Frequency base", BASES, key="pe_base", where=left, value=10000.0)
    k = widgets.slider("Shift k for the linear-map check", 1, 16, 3, key="pe_shift", where=left)

    sin, oh, sin_d, oh_d, sin_c, oh_c = _tables(int(n_train), int(n_beyond), int(dim), float(base))
    p = _props(int(n_train), int(dim), int(k), int(n_beyond))
    with right:
        b, d = f"{base:g}" if base < 1e5 else f"{base:.0f}", str(dim)
        right.latex(r"PE_{p,2i} = \sin\!\left(p / " + b + r"^{2i/" + d + r"}\right),\quad PE_{p,2i+1} = \cos\!\left(p / "
                    + b + r"^{2i/" + d + r"}\right)")
        right.latex(r"PE_p \cdot PE_q = \sum_i \cos\!\big(\omega_i (p-q)\big),\qquad PE_{p+" + str(k) + r"} = M_{"
                    + str(k) + r"}\, PE_p")
        c1, c2, c3 = right.columns(3)
        c1.metric("cos(neighbours): sinusoidal", ui.fmt_number(p.sin_adjacent_cosine))
        c1.metric("cos(neighbours): one-hot", ui.fmt_number(p.onehot_adjacent_cosine))
        c2.metric(f"shift-by-{k} map error: sinusoidal", ui.fmt_number(p.sin_shift_residual))
        c2.metric(f"one-hot shift map rank (of {n_train})", str(p.onehot_shift_rank))
        c3.metric("norm past L: sinusoidal", ui.fmt_number(p.sin_beyond_norm))
        c3.metric("norm past L: one-hot", ui.fmt_number(p.onehot_beyond_norm))
        tabs = right.tabs(["Encodings", "Similarity vs distance", "Similarity matrices"])
        ui.show(pa.encoding_heatmap(sin, title=f"Sinusoidal, d = {dim}", n_train=int(n_train)), where=tabs[0],
                key="pe_fig_sin")
        ui.show(pa.encoding_heatmap(oh, title=f"One-hot, d = L = {n_train}", n_train=int(n_train)), where=tabs[0],
                key="pe_fig_oh")
        tabs[0].caption("Below the dashed line the one-hot rows are all zero: a position the model never saw has no "
                        "code. Sinusoidal rows keep going with the same smooth pattern.")
        ui.show(pa.dot_vs_distance({"sinusoidal": sin_d, "one-hot": oh_d}), where=tabs[1], key="pe_fig_dist")
        tabs[1].caption("Sinusoidal similarity depends only on the distance (the band over p has zero width) and "
                        "falls off smoothly; one-hot is 1 at distance 0 and 0 everywhere else: no notion of "
                        "'near'.")
        ui.show(pa.similarity_matrix(sin_c, title="cos(PE_p, PE_q): sinusoidal", n_train=int(n_train)),
                where=tabs[2], key="pe_fig_simsin")
        ui.show(pa.similarity_matrix(oh_c, title="cos(PE_p, PE_q): one-hot", n_train=int(n_train)),
                where=tabs[2], key="pe_fig_simoh")

    st.subheader("Where the write-up's claim holds, and where it needs care")
    st.markdown(
        f"- **Distance**: holds. Sinusoidal PE_p·PE_q depends on p−q only (largest spread over p: "
        f"{ui.fmt_number(p.sin_distance_std)}); neighbours have cosine {ui.fmt_number(p.sin_adjacent_cosine)}, "
        "one-hot neighbours 0.\n"
        f"- **Relative shift as a linear map**: holds for both, with a difference. For sinusoidal, "
        f"PE_(p+{k}) = M_{k} PE_p with a fixed rotation M_{k} (error {ui.fmt_number(p.sin_shift_residual)}) at every p, "
        f"including past L. One-hot also has an exact shift map, but it is singular (rank {p.onehot_shift_rank} of "
        f"{n_train}): it pushes the last {k} positions off the table.\n"
        "- **Longer sequences**: holds with a caveat. Sinusoidal codes exist past L (cosine to the nearest training "
        f"position ≥ {ui.fmt_number(p.sin_beyond_max_cosine)}), one-hot codes do not (norm 0). Existing is not "
        "generalising: the model never trained on those positions. The Translation page shows the accuracy of our "
        "sinusoidal models on words longer than any training word."
    )
