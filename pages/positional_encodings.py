"""Positional encodings: sinusoidal vs one-hot (write-up 2.1.3).

Widgets -> engine.positional (cached) -> dashboard.plots_attention (figures cached by their
inputs) -> ui.show. The view switcher is a URL-bound tab bar inside its own panel
(``st.fragment``), so only the chosen view's figures are built; the verdicts come from
``engine.positional.verdicts`` and are never given when a number they rest on is NaN.
"""

from __future__ import annotations

import streamlit as st

from dashboard import plots_attention as pa
from dashboard import ui, widgets
from engine import positional as pos
from pages.translation import preset_query

BASES = [10.0, 100.0, 1000.0, 10000.0, 100000.0]
VIEWS = ["Encodings", "Similarity vs distance", "Similarity matrices"]
PRESETS = {
    "2.1.3 our Pig Latin models (d = 64, L = 29)": {"pe_dim": 64, "pe_train": 29, "pe_beyond": 16, "pe_base": 10000.0,
                                                  "pe_shift": 3},
    "Fast frequencies (base 100)": {"pe_base": 100.0},
    "Short training, long shift (L = 4, k = 16)": {"pe_train": 4, "pe_shift": 16, "pe_beyond": 0},
}


# Figures are cached by ui.cache_figures (the object itself, never mutated); the read-only
# shipped results by st.cache_resource, for the same reason.

def preset_urls() -> dict[str, str]:
    """``{preset name: "/positional-encodings?..."}``: the URL that reopens each preset."""
    return {name: "/positional-encodings?" + preset_query(v) for name, v in PRESETS.items()}


@st.cache_data(max_entries=32, show_spinner=False)
def _tables(n_train: int, n_beyond: int, dim: int, base: float):
    n = n_train + n_beyond
    sin = pos.encodings("sinusoidal", n, dim, n_train, base)
    oh = pos.encodings("one-hot", n, dim, n_train)
    return sin, oh


@st.cache_data(max_entries=32, show_spinner=False)
def _props(n_train: int, dim: int, k: int, n_beyond: int, base: float):
    p = pos.properties(n_train, dim, k, n_beyond, base)
    return p, pos.verdicts(p)


@ui.cache_figures(32)
def _view_figs(view: str, n_train: int, n_beyond: int, dim: int, base: float):
    sin, oh = _tables(n_train, n_beyond, dim, base)
    if view == VIEWS[0]:
        return [pa.encoding_heatmap(sin, title=f"Sinusoidal, d = {dim}", n_train=n_train),
                pa.encoding_heatmap(oh, title=f"One-hot, d = L = {n_train}", n_train=n_train)]
    if view == VIEWS[1]:
        curves = {"sinusoidal": pos.cosine_by_distance(sin[:n_train]), "one-hot": pos.cosine_by_distance(oh[:n_train])}
        return [pa.dot_vs_distance(curves)]
    return [pa.similarity_matrix(pos.cosine_matrix(sin), title="cos(PE_p, PE_q): sinusoidal", n_train=n_train),
            pa.similarity_matrix(pos.cosine_matrix(oh), title="cos(PE_p, PE_q): one-hot", n_train=n_train)]


CAPTIONS = {
    VIEWS[0]: "Below the dashed line the one-hot rows are all zero: a position the model never saw has no code. "
              "Sinusoidal rows keep going with the same smooth pattern.",
    VIEWS[1]: "Sinusoidal similarity depends only on the distance (the band over $p$ has zero width) and falls off "
              "smoothly; one-hot is 1 at distance 0 and 0 everywhere else: no notion of 'near'.",
    VIEWS[2]: "$\\cos(PE_p, PE_q)$ for every pair; the dashed lines mark the longest training length $L$.",
}


@st.fragment
def _view_panel(n_train: int, n_beyond: int, dim: int, base: float) -> None:
    view = widgets.tab_bar("View", VIEWS, key="pe_view")
    for i, fig in enumerate(_view_figs(view, n_train, n_beyond, dim, base)):
        ui.show(fig, key=f"pe_fig_{i}")
    st.caption(CAPTIONS[view])


def _why(v: pos.Verdict) -> str:
    """The verdict's reason, when it is not already what the sentence says (fails / undetermined)."""
    return f" ({v.reason}.)" if v.verdict in ("fails", "undetermined") else ""


def render() -> None:
    ui.header(
        "Positional encodings",
        "Attention is permutation-invariant, so position must be added to each token. The write-up claims that "
        "sinusoidal encodings are continuous, generalise better to longer sequences and encode token distance, "
        "*as opposed to* one-hot (absolute) positions. Both tables are computed here; the dashed line marks the "
        "longest training length $L$.",
        source="Write-up §2.1.3 · Vaswani et al. 2017, §3.5",
    )
    widgets.preset_buttons(PRESETS)
    left, right = st.columns([1, 2])
    n_train = int(widgets.slider("Longest training length L (positions)", 4, 64, 29, key="pe_train", where=left))
    n_beyond = int(widgets.slider("Extra positions past L", 0, 64, 16, key="pe_beyond", where=left))
    dim = int(widgets.select_slider("Encoding width d (sinusoidal)", [8, 16, 32, 64, 128], key="pe_dim", where=left,
                                    value=64))
    base = float(widgets.select_slider("Frequency base", BASES, key="pe_base", where=left, value=10000.0))
    k = int(widgets.slider("Shift k for the linear-map check", 1, 16, 3, key="pe_shift", where=left))

    p, verdict = _props(n_train, dim, k, n_beyond, base)
    with right:
        b, d = f"{base:g}" if base < 1e5 else f"{base:.0f}", str(dim)
        st.latex(r"PE_{p,2i} = \sin\!\left(p / " + b + r"^{2i/" + d + r"}\right),\quad PE_{p,2i+1} = \cos\!\left(p / "
                 + b + r"^{2i/" + d + r"}\right)")
        st.latex(r"PE_p \cdot PE_q = \sum_i \cos\!\big(\omega_i (p-q)\big),\qquad PE_{p+" + str(k) + r"} = M_{"
                 + str(k) + r"}\, PE_p")
        c1, c2, c3 = st.columns(3)
        c1.metric("cos(neighbours): sinusoidal", ui.fmt_number(p.sin_adjacent_cosine))
        c1.metric("cos(neighbours): one-hot", ui.fmt_number(p.onehot_adjacent_cosine))
        c2.metric(f"shift-by-{k} map error: sinusoidal", ui.fmt_number(p.sin_shift_residual))
        c2.metric(f"one-hot shift map rank (of {n_train})", str(p.onehot_shift_rank))
        c3.metric("norm past L: sinusoidal", ui.fmt_number(p.sin_beyond_norm))
        c3.metric("norm past L: one-hot", ui.fmt_number(p.onehot_beyond_norm))
        st.caption(f"The shift map is checked at every position p = 0 … {n_train + max(n_beyond, 1) - 1} (the shown "
                   f"ones, and at least one past L), against PE at p + {k}; 'past L' uses at least one position.")
        _view_panel(n_train, n_beyond, dim, base)

    st.subheader("Where the write-up's claim holds, and where it needs care")
    v = verdict
    st.markdown(
        f"- {ui.verdict_badge(v['distance'].verdict)} **Distance.** Sinusoidal $PE_p \\cdot PE_q$ depends on $p-q$ "
        f"only (largest spread over $p$: {ui.fmt_number(p.sin_distance_std)}); neighbours have cosine "
        f"{ui.fmt_number(p.sin_adjacent_cosine)}, one-hot neighbours {ui.fmt_number(p.onehot_adjacent_cosine)}. "
        f"{_why(v['distance'])}\n"
        f"- {ui.verdict_badge(v['shift'].verdict)} **Relative shift as a linear map.** For sinusoidal, "
        f"$PE_{{p+{k}}} = M_{{{k}}} PE_p$ with a fixed rotation $M_{{{k}}}$ (relative error "
        f"{ui.fmt_number(p.sin_shift_residual)}) at every $p$, including past $L$. One-hot also has an exact shift "
        f"map, but it is singular (rank {p.onehot_shift_rank} of {n_train}): it pushes the last {min(k, n_train)} "
        f"positions off the table. {_why(v['shift'])}\n"
        f"- {ui.verdict_badge(v['longer'].verdict)} **Longer sequences.** Sinusoidal codes exist past $L$ (cosine to "
        f"the nearest training position ≥ {ui.fmt_number(p.sin_beyond_max_cosine)}), one-hot codes do not (norm "
        f"{ui.fmt_number(p.onehot_beyond_norm)}). Existing is not generalising: the model never trained on those "
        "positions. The Translation page shows the accuracy of our sinusoidal models on words longer than any "
        f"training word. {_why(v['longer'])}"
    )
    if any(x.verdict == "undetermined" for x in v.values()):
        ui.note("A verdict is 'undetermined' when a number it rests on is not finite (NaN or infinite); "
                "no verdict is drawn from such a number.")
