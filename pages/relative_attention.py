"""Relative attention as convolution and max pooling (write-up 1.3).

Widgets -> engine.relattn (cached) -> dashboard.plots_relattn -> ui.show. No math here.

Panels (issue 12): the input controls read by both parts sit at the top; a URL-bound
segmented control (``ra_tab``) picks the part, and only that part runs. Each part is an
``st.fragment`` holding its own controls, with the attention heatmap (head and zoom) a
fragment of its own; engine calls and figures are cached by their inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import plots_relattn as pr
from dashboard import ui, widgets
from engine import relattn as ra

P_OPTIONS = ["-inf"] + [f"{v / 10:.1f}" for v in range(-40, 41)]
BETAS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
EPS = [0.1, 0.03, 0.01, 0.003, 0.001]
METHODS = {
    "sign": "one head per sign group",
    "per_tap": "one head per tap (Cordonnier et al. 2020)",
    "writeup": "write-up's answer for [2, 0, 1]",
}
ZOOM = 32  # query rows shown in the attention heatmap
BIG_BETA = 1e4  # the "beta -> infinity" column of the failure-case table


def _p_key(d: int) -> str:
    return f"ra_p_{'m' if d < 0 else 'p'}{abs(d)}"


# ---------------------------------------------------------------------------
# Cached engine calls (pure)
# ---------------------------------------------------------------------------
@st.cache_data(max_entries=64, show_spinner=False)
def _input(kind: str, n: int, seed: int, offset: float):
    return ra.make_input(kind, n, seed, offset)


@st.cache_data(max_entries=64, show_spinner=False)
def _conv(kernel: tuple, method: str, wq: float, wk: float, raw: tuple | None, wv: float,
          kind: str, n: int, seed: int, offset: float):
    x = _input(kind, n, seed, offset)
    if raw is not None:
        heads = [ra.Head(wq, wk, wv, dict(raw))]
    else:
        base = ra.writeup_conv_heads() if method == "writeup" else ra.solve_conv(kernel, method)
        heads = [ra.Head(wq, wk, h.w_v, h.p) for h in base]
    cmp = ra.compare_conv(x, kernel, heads)
    attn = [ra.rel_attn(x, *h) for h in heads]
    return heads, cmp, attn


@st.cache_data(max_entries=8, show_spinner=False)
def _writeup_conv():
    return ra.audit_writeup_conv()


@st.cache_data(max_entries=64, show_spinner=False)
def _maxpool(kind: str, n: int, seed: int, offset: float, k: int, beta: float, shift: float):
    return ra.maxpool_attention(_input(kind, n, seed, offset), k, beta, shift)


@st.cache_data(max_entries=64, show_spinner=False)
def _beta_curve(kind: str, n: int, seed: int, offset: float, k: int, shift: float):
    return ra.maxpool_error_curve(_input(kind, n, seed, offset), k, shift=shift)


@st.cache_data(max_entries=64, show_spinner=False)
def _beta_needed(kind: str, n: int, seed: int, offset: float, k: int, shift: float, eps: float):
    return ra.beta_for_error(_input(kind, n, seed, offset), k, eps, shift)


@st.cache_data(max_entries=16, show_spinner=False)
def _writeup_maxpool(k: int, eps: float):
    return ra.audit_writeup_maxpool(k, eps)


@st.cache_data(max_entries=32, show_spinner=False)
def _failures(k: int, beta: float, shift: float):
    return ra.maxpool_failure_cases(k, beta, shift)


TAB_CONV = "Convolution (1.3.1)"
TAB_POOL = "Max pooling (1.3.2)"
TABS = [TAB_CONV, TAB_POOL]

# Presets named after the write-up section they reproduce (the tour links to them).
PRESETS = {
    "§1.3.1: write-up's [2,0,1] answer": {"ra_tab": TAB_CONV, "ra_kernel": "2, 0, 1", "ra_method": "writeup",
                                          "ra_mode": "kernel", "ra_wq": 0.0, "ra_wk": 0.0},
    "§1.3.1: correct heads for [2,0,1]": {"ra_tab": TAB_CONV, "ra_kernel": "2, 0, 1", "ra_method": "sign",
                                          "ra_mode": "kernel", "ra_wq": 0.0, "ra_wk": 0.0},
    "Laplacian [1,-2,1]: two heads": {"ra_tab": TAB_CONV, "ra_kernel": "1, -2, 1", "ra_method": "sign",
                                      "ra_mode": "kernel", "ra_wq": 0.0, "ra_wk": 0.0, "ra_input": "sine"},
    "§1.3.2: write-up's W_Q = W_K = 1": {"ra_tab": TAB_POOL, "ra_beta": 1, "ra_construction": "writeup",
                                         "ra_input": "random non-negative", "ra_offset": 0.0},
    "§1.3.2: a query with x_i = 0": {"ra_tab": TAB_POOL, "ra_beta": 100, "ra_construction": "writeup",
                                     "ra_input": "spike", "ra_offset": 0.0},
}
PRESET_HELP = {
    "§1.3.1: write-up's [2,0,1] answer": "p_-1 = ln 2, p_0 = -inf, p_1 = -ln 2, W_V = 3: computes "
    "2.4 x_(i+1) + 0.6 x_(i-1), not 2 x_(i-1) + x_(i+1)",
    "§1.3.1: correct heads for [2,0,1]": "p_+1 = ln 2, p_-1 = 0, W_V = 3: exactly 2 x_(i-1) + x_(i+1)",
    "§1.3.2: write-up's W_Q = W_K = 1": "beta = W_Q W_K = 1 on inputs in [0, 1): far from a max pool",
    "§1.3.2: a query with x_i = 0": "A spike on zeros: queries with x_i = 0 average their window for every beta",
}

_LABELS = {
    "ra_method": METHODS,
    "ra_mode": {"kernel": "Kernel -> heads", "raw": "Raw p (edit scores)"},
    "ra_construction": {"writeup": "write-up: scores beta x_i x_j", "shifted": "shifted: run on x + c, subtract c"},
}


def preset_query(name: str) -> dict[str, str]:
    """The URL query parameters that open preset ``name`` (choices as their shown labels,
    as Streamlit writes them to the URL)."""
    out = {}
    for k, v in PRESETS[name].items():
        out[k] = _LABELS[k][v] if k in _LABELS else ("true" if v is True else "false" if v is False else str(v))
    return out


# ---------------------------------------------------------------------------
# Cached figures (an unchanged panel is not rebuilt)
# ---------------------------------------------------------------------------
@ui.cache_figures(32)
def _conv_figures(kernel: tuple, method: str, wq: float, wk: float, raw: tuple | None, wv: float,
                  kind: str, n: int, seed: int, offset: float, mode: str):
    heads, cmp, _ = _conv(kernel, method, wq, wk, raw, wv, kind, n, seed, offset)
    other = _writeup_conv().correct_effective if method == "writeup" and mode == "kernel" else None
    return (pr.kernel_figure(np.asarray(kernel), cmp.effective, other=other, other_name="correct heads"),
            pr.overlay_figure(cmp.x, cmp.output, cmp.target, cmp.interior, target_name="true Conv1D"),
            pr.error_figure(cmp.error, cmp.interior))


@ui.cache_figures(32)
def _pool_figures(kind: str, n: int, seed: int, offset: float, k: int, beta: float, shift: float, eps: float):
    res = _maxpool(kind, n, seed, offset, k, beta, shift)
    curve = _beta_curve(kind, n, seed, offset, k, shift)
    need = _beta_needed(kind, n, seed, offset, k, shift, eps)
    return (pr.beta_curve_figure(curve, beta_now=beta, eps=eps, beta_needed=need.beta),
            pr.overlay_figure(res.x, res.output, res.target, res.interior, target_name="true MaxPool"),
            pr.error_figure(res.error, res.interior, title="MaxPool - output", show_eps=False))


@ui.cache_figures(64)
def _heatmap_figure(source: tuple, h: int, start: int):
    """The attention window of head ``h`` for the conv (``("conv", *args)``) or max-pool
    (``("pool", *args)``) construction."""
    attn = _conv(*source[1:])[2][h] if source[0] == "conv" else _maxpool(*source[1:]).attention
    rows, cols, mat = ra.attention_window(attn, start, ZOOM)
    return pr.attention_heatmap(rows, cols, mat, title=f"softmax(alpha)_(i,j), head {h + 1}")


# ---------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------
def render() -> None:
    ui.header(
        "Relative attention: convolution and max pooling",
        "One relative-attention head scores key j from query i by "
        "$\\alpha_{i,j} = Q_iK_j/\\sqrt{d_k} + p_{i-j}$. With $W_Q=W_K=0$ the scores are the position "
        "biases $p$ alone, so softmax gives fixed positive weights: a convolution whose taps share a sign, "
        "and with one head per sign group, any kernel. With $W_QW_K=\\beta>0$ the scores $\\beta x_ix_j$ "
        "favour large $x_j$: a *soft* max pool whose sharpness depends on $x_i$ itself. "
        "Offsets are $d=i-j$: the weight on $x_{i-1}$ comes from $p_{+1}$.",
        source="Write-up §1.3 (1.3.1 convolution, 1.3.2 max pooling); Cordonnier, Loukas & Jaggi 2020, "
        "“On the relationship between self-attention and convolutional layers”.",
    )
    names = list(PRESETS)
    widgets.preset_buttons({k: PRESETS[k] for k in names[:3]}, help=PRESET_HELP)
    widgets.preset_buttons({k: PRESETS[k] for k in names[3:]}, help=PRESET_HELP)
    c1, c2, c3, c4 = st.columns([1.4, 1, 0.8, 1])  # room for "random non-negative" in lecture mode
    kind = widgets.selectbox("Input", list(ra.INPUT_KINDS), key="ra_input", where=c1, index=2,
                             help="Sample sequences; all are >= 0 before the offset.")
    n = widgets.slider("Sequence length n", 16, 512, 128, key="ra_n", where=c2, step=16)
    seed = widgets.number_input("Seed", 0, 10_000, 0, key="ra_seed", where=c3, step=1)
    offset = widgets.slider("Offset added to x", -1.0, 2.0, 0.0, key="ra_offset", where=c4, step=0.1,
                            help="Negative offsets make negative inputs, which the max-pool construction cannot take.")
    tab = widgets.segmented_control("Part", TABS, key="ra_tab", default=TAB_CONV, required=True,
                                    label_visibility="collapsed",
                                    help="Only the chosen part is computed; the choice is part of the URL.")
    if tab == TAB_POOL:
        pool_panel(kind, int(n), int(seed), float(offset))
    else:
        conv_panel(kind, int(n), int(seed), float(offset))


@st.fragment
def heatmap_panel(source: tuple, heads, n: int, key_prefix: str, caption: str) -> None:
    """Head and zoom controls with the attention window (reruns alone when they move)."""
    hc1, hc2 = st.columns(2)
    h = 0
    if len(heads) > 1:
        h = widgets.selectbox("Head shown", list(range(len(heads))), key=f"{key_prefix}_head", where=hc1,
                              format_func=lambda i: f"head {i + 1} (W_V = {heads[i].w_v:.3g})")
        h = min(int(h), len(heads) - 1)
    start = widgets.slider("First query row shown", 0, max(n - ZOOM, 0),
                           min(n // 2 - ZOOM // 2, max(n - ZOOM, 0)) if n > ZOOM else 0,
                           key=f"{key_prefix}_zoom", where=hc2)
    start = min(int(start), max(n - ZOOM, 0))
    ui.show(_heatmap_figure(source, h, start), key=f"{key_prefix}_heatmap")
    st.caption(caption)


@st.fragment
def conv_panel(kind: str, n: int, seed: int, offset: float) -> None:
    right, left = st.columns([2, 1])  # figures first: above their controls on narrow screens
    mode = widgets.radio("Mode", ["kernel", "raw"], key="ra_mode", where=left, horizontal=True,
                         format_func=lambda m: {"kernel": "Kernel -> heads", "raw": "Raw p (edit scores)"}[m])
    text = widgets.text_input("Kernel w (3 to 7 taps, comma separated)", "2, 0, 1", key="ra_kernel", where=left,
                              max_chars=80, help="Conv1D(x; w)_i = sum_(j=-m..m) x_(i+j) w_(j+m): the first tap multiplies x_(i-m).")
    wq = widgets.slider("W_Q", -2.0, 2.0, 0.0, key="ra_wq", where=left, step=0.1,
                        help="Nonzero W_Q W_K adds the content term Q_i K_j: the weights then depend on x and the layer is no longer a convolution.")
    wk = widgets.slider("W_K", -2.0, 2.0, 0.0, key="ra_wk", where=left, step=0.1)
    raw = None
    wv = 1.0
    method = "sign"
    if mode == "raw":
        m = widgets.slider("Half-width m of p", 1, 3, 1, key="ra_m", where=left)
        defaults = {-1: "0.7", 0: "-inf", 1: "-0.7"}
        raw = []
        for d in range(-int(m), int(m) + 1):
            label = "p_0 (weight on x_i)" if d == 0 else f"p_{d:+d} (weight on x_(i{-d:+d}))"
            v = widgets.select_slider(label, P_OPTIONS, key=_p_key(d), where=left,
                                      value=defaults.get(d, "-inf"))
            raw.append((d, -math.inf if v == "-inf" else float(v)))
        wv = widgets.slider("W_V", -5.0, 5.0, 3.0, key="ra_wv", where=left, step=0.1)
        raw = tuple(raw)
        if all(v == -math.inf for _, v in raw):
            ui.error("Every offset is masked (p = -inf everywhere): softmax has nothing to normalise, so the "
                     "layer is undefined.", hint="Give at least one offset a finite p.")
            return
    else:
        method = widgets.selectbox("Construction", list(METHODS), key="ra_method", where=left,
                                   format_func=METHODS.get)
    try:
        kernel = ra.parse_kernel(text)
    except ra.RelAttnInputError as exc:
        ui.error(f"Kernel not usable: {exc}.", hint="Conv1D needs an odd number (3 to 7) of taps, not all zero, e.g. `2, 0, 1` or `1, -2, 1`.")
        return
    if not 3 <= kernel.size <= 7:
        ui.error(f"The kernel has {kernel.size} taps; this page takes 3 to 7 (an odd number).",
                 hint="Conv1D(x; w)_i = sum_(j=-m..m) x_(i+j) w_(j+m) with m = 1, 2 or 3.")
        return
    if kernel.size > n:
        ui.error("The sequence is shorter than the kernel.")
        return
    if mode == "kernel" and method == "writeup" and tuple(kernel) != ra.WRITEUP_KERNEL:
        ui.note("The write-up's heads are its answer for w = [2, 0, 1]; they are compared against your kernel.")

    args = (tuple(float(v) for v in kernel), method, float(wq), float(wk), raw, float(wv), kind, n, seed, offset)
    heads, cmp, attn = _conv(*args)
    kernel_fig, overlay_fig, error_fig = _conv_figures(*args, mode)
    eff = cmp.effective
    with right:
        st.markdown("**Construction with the current numbers**")
        if raw is None:
            for line in pr.latex_softmax_conv(kernel):
                st.latex(line)
        else:
            st.latex(r"\alpha_{i,j} = W_QW_K\,x_ix_j + p_{i-j}")
            st.latex(r"\mathrm{out}_i = W_V \sum_j \mathrm{softmax}_j(\alpha_{i,\cdot})\,x_j")
        for i, h in enumerate(heads):
            st.latex(pr.latex_head(h, i + 1 if len(heads) > 1 else None))
        st.latex(pr.latex_effective(eff, r"\text{heads compute}\;\mathrm{out}_i"))
        st.latex(pr.latex_effective(ra.kernel_as_effective(kernel), r"\text{Conv1D target}\;y_i"))
        st.caption("$S$: the taps of one sign (one head each); offsets not listed have $p = -\\infty$ (masked).")
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Heads", len(heads))
        m2.metric("Conv max interior error", ui.fmt_number(cmp.max_abs_error, 3))
        m3.metric("Conv relative error", ui.fmt_number(cmp.rel_error, 3))
        m4.metric("Kernel error max_j", ui.fmt_number(ra.kernel_error(heads, kernel), 3))
        if eff.content_dependent:
            st.warning("$W_Q W_K \\ne 0$: the content term $Q_i K_j$ makes the weights depend on x, so the heads no "
                       "longer compute a fixed kernel (the bars show the $x_i = 0$ weights).")
        ui.show(kernel_fig, key="ra_kernel_fig")
        st.caption("Bars per tap $j$ (weight on $x_{i+j}$). Where the blue bars miss the black ones the heads "
                   "compute a different kernel; the write-up's answer swaps the two outer taps and rescales them.")
    ui.show(overlay_fig, key="ra_conv_overlay")
    st.caption("Grey bands: edge positions (the write-up ignores them; there softmax renormalises over fewer keys).")
    g1, g2 = st.columns(2)
    with g1:
        ui.show(error_fig, key="ra_conv_error")
        st.caption("Exact constructions sit at float64 rounding (~1e-16); wrong ones at the size of the signal.")
    with g2:
        heatmap_panel(("conv", *args), heads, n, "ra_conv",
                      "Each row is one query's softmax over keys; with $W_Q = W_K = 0$ every interior row is the "
                      "same band, shifted: that is a convolution. Rows near the edges renormalise over fewer keys.")
    with widgets.expander("Write-up 1.3.1 checked: what $p_{-1} = \\ln 2$, $p_1 = -\\ln 2$, $W_V = 3$ computes",
                          key="ra_x_writeup", expanded=method == "writeup") as box:
        if box.open:
            a = _writeup_conv()
            w = a.writeup_effective.as_dict()
            e1, e2, e3 = st.columns(3)
            e1.metric("Write-up weight on x_(i+1)", ui.fmt_number(w[1], 4))
            e2.metric("Write-up weight on x_(i-1)", ui.fmt_number(w[-1], 4))
            e3.metric("Write-up max error (random input)", ui.fmt_number(a.writeup_error, 3))
            st.latex(pr.latex_effective(a.writeup_effective, r"\text{write-up computes}"))
            st.latex(r"\text{claimed: } 2x_{i-1} + x_{i+1}")
            st.latex(r"\text{correct: }" + pr.latex_head(a.correct_heads[0]))
            st.markdown("\n".join(f"- {s}" for s in a.explanation_md))
            st.markdown("Each mistake alone: " + "; ".join(
                f"*{name}*: $" + " + ".join(f"{v:.3g}\\,x_{{i{t:+d}}}" for t, v in sorted(k.items()) if v) + "$"
                for name, k in a.mistakes.items()))


@st.fragment
def pool_panel(kind: str, n: int, seed: int, offset: float) -> None:
    right, left = st.columns([2, 1])  # figures first: above their controls on narrow screens
    k = widgets.slider("Half-width k (window 2k+1)", 1, 5, 1, key="ra_k", where=left)
    beta = widgets.select_slider("beta = W_Q W_K", BETAS, key="ra_beta", where=left, value=1,
                                 help="The write-up uses W_Q = W_K = 1, i.e. beta = 1.")
    construction = widgets.radio(
        "Construction", ["writeup", "shifted"], key="ra_construction", where=left,
        format_func=lambda c: {"writeup": "write-up: scores beta x_i x_j", "shifted": "shifted: run on x + c, subtract c"}[c],
    )
    shift = 0.0
    if construction == "shifted":
        shift = float(widgets.slider("Shift c", 0.0, 5.0, 1.0, key="ra_shift", where=left, step=0.1,
                                     help="Needs a constant channel (or bias) the write-up's layer lacks; the temperature becomes beta (x_i + c) >= beta c."))
    eps = widgets.select_slider("Target error eps", EPS, key="ra_eps", where=left, value=0.01)
    k, beta, eps = int(k), float(beta), float(eps)
    try:
        res = _maxpool(kind, n, seed, offset, k, beta, shift)
        need = _beta_needed(kind, n, seed, offset, k, shift, eps)
        curve_fig, overlay_fig, error_fig = _pool_figures(kind, n, seed, offset, k, beta, shift, eps)
    except ra.RelAttnInputError as exc:
        ui.error(f"Input not usable for max pooling: {exc}",
                 hint="The construction needs x >= 0 (write-up 1.3: x_i >= 0 for all i). Set the offset to 0 or more.")
        return
    with right:
        st.markdown("**Construction with the current numbers**")
        rs = res.attention.head.w_q  # sqrt(beta), as the engine built the head
        c_txt = "" if shift == 0 else f"+{shift:g}"
        st.latex(rf"W_Q = W_K = \sqrt{{\beta}} = {rs:.4g},\; W_V = 1,\; p_m = 0\ (|m|\le {k}),\ -\infty\ \text{{else}}")
        st.latex(rf"\alpha_{{i,j}} = {beta:g}\,(x_i{c_txt})(x_j{c_txt}) + p_{{i-j}}")
        st.latex(rf"\mathrm{{out}}_i = \sum_j \mathrm{{softmax}}_j(\alpha_{{i,\cdot}})\,(x_j{c_txt})"
                 + (rf" - {shift:g}" if shift else ""))
        st.latex(r"\mathrm{MaxPool}(x)_i - \mathrm{out}_i \;\le\; \frac{2k}{e\,\beta\,(x_i + c)} = "
                 + (r"\infty" if not math.isfinite(res.bound) else f"{res.bound:.4g}"))
        st.caption("The bound at the worst interior position.")
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Max-pool max error", ui.fmt_number(res.max_error, 3))
        m2.metric("Max-pool mean error", ui.fmt_number(res.mean_error, 3))
        m3.metric(f"beta for error < {eps:g}",
                  ui.fmt_number(need.beta, 3) if need.achievable else "unreachable")
        m4.metric("Queries with x_i + c = 0", int(res.zero_query.sum()))
        if not need.achievable:
            st.warning(f"No $\\beta$ reaches error < {eps:g} on this input: {need.reason}.")
        else:
            st.caption(f"The bound guarantees it from $\\beta$ = {ui.fmt_number(need.bound_beta, 3)}; measured on "
                       f"this input: {ui.fmt_number(need.beta, 3)}.")
        ui.show(curve_fig, key="ra_beta_curve")
        st.caption(r"The error never increases with $\beta$ ($\frac{d}{dt}$ of a $\mathrm{softmax}(t x)$-average of "
                   r"$x$ is a variance $\ge 0$), but with a query $x_i = 0$ it stops at the window's max - mean.")
    ui.show(overlay_fig, key="ra_pool_overlay")
    g1, g2 = st.columns(2)
    with g1:
        ui.show(error_fig, key="ra_pool_error")
        st.caption(r"Large where $x_i$ is small: the effective temperature is $\beta x_i$, not $\beta$.")
    with g2:
        heatmap_panel(("pool", kind, n, seed, offset, k, beta, shift), [res.attention.head], n, "ra_pool",
                      "Each row is one query's softmax over its window: one-hot on the window's maximum is max "
                      r"pooling. Rows with small $x_i$ stay spread out however large $\beta$ is.")
    with widgets.expander("The write-up's $W_Q = W_K = 1$ on sample inputs, and where each construction fails",
                          key="ra_x_samples") as box:
        if box.open:
            rows = [{"input": c.name, "max error": c.max_error, "mean error": c.mean_error,
                     "max error / range": c.relative_error,
                     f"beta for error < {eps:g}": ui.fmt_number(c.beta_needed, 3) if math.isfinite(c.beta_needed)
                     else "unreachable (x_i = 0)"}
                    for c in _writeup_maxpool(k, eps)]
            ui.table(rows)
            st.caption(r"$\beta = 1$ is far from a max pool at these scales, and the error depends on the input's scale: "
                       r"scores $\beta x_i x_j$ change with units, a max does not.")
            c_fail = shift if shift > 0 else 1.0
            fails = _failures(k, beta, c_fail)
            fails_big = _failures(k, BIG_BETA, c_fail)
            ui.table(pd.DataFrame([
                {"case": f.name, "window (query in the middle)": ", ".join(f"{v:.3g}" for v in f.window), "max": f.target,
                 f"write-up, beta={beta:g}": f.writeup, f"write-up, beta={BIG_BETA:g}": g.writeup if same else None,
                 f"shifted c={c_fail:g}, beta={beta:g}": f.shifted, f"shifted, beta={BIG_BETA:g}": g.shifted if same else None}
                for f, g in zip(fails, fails_big) for same in [bool(np.array_equal(f.window, g.window))]]))
            st.caption("Cells showing None: that case's window is defined by beta itself (the near tie sits at gap 1/(beta x_i)).")
            st.markdown("\n".join(f"- **{f.name}**: {f.comment}" for f in fails))
            st.caption(r"Within the write-up's layer (scalar weights, no bias) no parameters fix $x_i = 0$: "
                       r"$\alpha_{ij} = p_{i-j}$ there, so the output is a fixed average.")
