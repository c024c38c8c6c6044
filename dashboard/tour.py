"""The presenter tour (issue 14): the write-up told as steps, one screen each, 1.1 to 4.2.

Each :class:`Step` holds the claim (quoted from the write-up), the audit checks that judge
it (``engine.audit`` function names), the full page it comes from, and a ``draw`` function
that creates the step's own URL-bound controls (their defaults are the write-up's numbers:
the step's preset), builds the live figure with the engine and a ``dashboard/plots_*.py``
builder, and returns the URL query that opens the full page in the same state.

Widget keys are ``tour_<tag>_<name>``; the current step is the URL parameter ``tour_step``.
No maths here: every number comes from the engine.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from dashboard import plots_attention as pa
from dashboard import plots_audit as pau
from dashboard import plots_bert as pb
from dashboard import plots_clip as pc
from dashboard import plots_gradients as pg
from dashboard import plots_relattn as pr
from dashboard import plots_scaling as ps
from dashboard import ui, widgets
from engine import audit

NAV_KEY = "_gsl_nav_pages"  # where dashboard/app.py (via dashboard.nav) stores the StreamlitPage objects


# ---------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------
def page_url(url_path: str, query: dict | None = None) -> str:
    """Relative URL of a page with its query string, e.g. ``/single-neuron?sn_x=1.0``."""
    qs = urllib.parse.urlencode({k: str(v) for k, v in (query or {}).items()})
    return f"/{url_path}" + (f"?{qs}" if qs else "")


def page_link(url_path: str, query: dict | None, *, label: str, where=st) -> None:
    """An in-app link to ``url_path`` with ``query`` in the URL; outside the app's
    navigation (one page rendered alone) a caption with the URL instead."""
    page = st.session_state.get(NAV_KEY, {}).get(url_path)
    if page is None:
        where.caption(f"{label}: {page_url(url_path, query)}")
        return
    where.page_link(page, label=label, icon=":material/open_in_new:",
                    query_params={k: str(v) for k, v in (query or {}).items()})


@st.cache_data(show_spinner=False, max_entries=64)
def verdict(check_name: str) -> audit.Check:
    """The audit's verdict for one claim (engine.audit; cached per process)."""
    return audit.check_for(check_name)


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    id: str
    title: str
    claim: str
    checks: tuple[str, ...]
    page: str
    draw: Callable[[Step, object, object], dict]
    preset: dict = field(default_factory=dict)  # widget key -> the write-up's value (the controls' defaults)
    presets: dict = field(default_factory=dict)  # extra named presets: label -> {key: value}
    latex: str = ""  # the claim typeset, where the write-up states it as a formula

    def key(self, name: str) -> str:
        return f"tour_{self.id.replace('.', '')}_{name}"

    @property
    def keys(self) -> list[str]:
        keys = list(self.preset)
        for values in self.presets.values():
            keys += [k for k in values if k not in keys]
        return keys


def _k(step_id: str, name: str) -> str:
    return f"tour_{step_id.replace('.', '')}_{name}"


@st.cache_data(show_spinner=False, max_entries=32)
def _chain(x: float, w: float, depth: int):
    from engine import gradients

    return gradients.relu_chain(float(x), [float(w)] * int(depth))


def _draw_chain(step: Step, left, right, *, weight_control: bool) -> dict:
    depth = widgets.slider("Depth n (layers)", 1, 50, step.preset[step.key("depth")], key=step.key("depth"), where=left)
    x = widgets.slider("Input x", -3.0, 3.0, step.preset[step.key("x")], key=step.key("x"), step=0.05, where=left)
    w = 1.0
    if weight_control:
        w = widgets.slider("Weight w (every layer)", -3.0, 3.0, step.preset[step.key("w")], key=step.key("w"),
                           step=0.05, where=left)
    chain = _chain(x, w, depth)
    with right:
        st.latex(r"\frac{\partial f}{\partial x} = \prod_{i=1}^{n} w_i\,\mathbf{1}[w_i h_{i-1} > 0],\qquad "
                 r"0 \le \left|\frac{\partial f}{\partial x}\right| \le \prod_{i=1}^{n} |w_i|")
        right.metric("df/dx", ui.fmt_number(float(chain.gradient)), help="Exact derivative of the ReLU chain")
        ui.show(pg.chain_figure(chain), key=step.key("fig"))
    return {"sn_act": "relu", "sn_mode": "all equal", "sn_depth": str(int(depth)), "sn_w": f"{float(w):.2f}",
            "sn_x": f"{float(x):.2f}"}


def draw_1_1_1(step, left, right):
    return _draw_chain(step, left, right, weight_control=False)


def draw_1_1_2(step, left, right):
    return _draw_chain(step, left, right, weight_control=True)


@st.cache_data(show_spinner=False, max_entries=32)
def _rnn(n: int, steps: int, s: float):
    from engine import gradients

    W = gradients.make_weights("sigma_max", n, s, 0)
    x1 = np.random.default_rng(7).standard_normal(n)
    return gradients.jacobian_spectrum(W, x1, steps, "sigmoid", track_sigma_max=True)


def draw_1_2_1(step, left, right):
    steps = widgets.select_slider("Steps n - 1", [1, 2, 5, 10, 20, 50, 100], key=step.key("steps"), where=left,
                                  value=step.preset[step.key("steps")])
    n = widgets.slider("Width N", 2, 64, step.preset[step.key("n")], key=step.key("n"), where=left)
    s = widgets.select_slider("sigma_max(W)", [0.25, 0.5, 1.0, 2.0, 4.0], key=step.key("s"), where=left,
                              value=step.preset[step.key("s")])
    spec = _rnn(int(n), int(steps), float(s))
    with right:
        st.latex(r"\sigma_{\max}\!\left(\frac{\partial x_n}{\partial x_1}\right) \le \prod_{i=1}^{n-1}"
                 r"\sigma_{\max}(D_i)\,\sigma_{\max}(W) \le \left(\tfrac14\,\sigma_{\max}(W)\right)^{n-1}")
        ui.show(pg.sigma_max_path_figure(spec), key=step.key("fig"))
    return {"rnn_family": "sigma_max", "rnn_scale": str(float(s)), "rnn_act": "sigmoid", "rnn_tied": "true",
            "rnn_n": str(int(n)), "rnn_steps": str(int(steps)) if int(steps) in (1, 2, 5, 10, 20, 50, 100) else "10"}


@st.cache_data(show_spinner=False, max_entries=16)
def _non_normal(k: int):
    from engine import gradients

    return gradients.non_normal_counterexample(sigma_max_target=0.25, k=int(k))


def draw_1_2_1_svd(step, left, right):
    k = widgets.slider("Power k", 1, 60, step.preset[step.key("k")], key=step.key("k"), where=left)
    cx = _non_normal(int(k))
    with right:
        st.latex(r"\sigma_{\max}(W^k) \le \sigma_{\max}(W)^k,\quad \text{with equality for normal } W \text{ only}")
        c1, c2 = right.columns(2)
        c1.metric(f"ln sigma_max(W^{int(k)})", ui.fmt_number(float(cx.log_sigma_max_Wk)))
        c2.metric(f"{int(k)} ln sigma_max(W)", ui.fmt_number(float(cx.log_sigma_max_W_pow_k)))
        ui.show(pg.non_normal_figure(cx), key=step.key("fig"))
    return {"rnn_family": "jordan", "rnn_scale": "0.25", "rnn_act": "linear", "rnn_tied": "true", "rnn_n": "8",
            "rnn_steps": "50"}


@st.cache_data(show_spinner=False, max_entries=8)
def _conv(heads_kind: str):
    from engine import relattn as ra

    kernel = ra.parse_kernel("2, 0, 1")
    heads = ra.writeup_conv_heads() if heads_kind == "write-up" else ra.solve_conv(kernel)
    x = ra.make_input("random non-negative", 64, 0)
    return kernel, heads, ra.compare_conv(x, kernel, heads)


def draw_1_3_1(step, left, right):
    kind = widgets.radio("Heads", ["write-up", "correct"], key=step.key("heads"), where=left,
                         index=["write-up", "correct"].index(step.preset[step.key("heads")]),
                         help="write-up: p_-1 = ln 2, p_0 = -inf, p_1 = -ln 2, W_Q = W_K = 0, W_V = 3")
    kernel, heads, cmp = _conv(kind)
    with right:
        for i, h in enumerate(heads):
            st.latex(pr.latex_head(h, i + 1 if len(heads) > 1 else None))
        st.latex(pr.latex_effective(cmp.effective, r"\text{heads compute}\;\mathrm{out}_i"))
        right.metric("Conv max interior error", ui.fmt_number(cmp.max_abs_error, 3))
        ui.show(pr.kernel_figure(kernel, cmp.effective), key=step.key("fig"))
    return {"ra_tab": "Convolution (1.3.1)", "ra_kernel": "2, 0, 1", "ra_mode": "Kernel -> heads", "ra_wq": "0.0", "ra_wk": "0.0",
            "ra_method": "write-up's answer for [2, 0, 1]" if kind == "write-up" else "one head per sign group"}


@st.cache_data(show_spinner=False, max_entries=16)
def _maxpool(k: int, eps: float):
    from engine import relattn as ra

    x = ra.make_input("random non-negative", 128, 0)
    return ra.maxpool_error_curve(x, k), ra.beta_for_error(x, k, eps)


def draw_1_3_2(step, left, right):
    betas = [0.1, 1, 10, 100, 1000, 10000]
    beta = widgets.select_slider("beta = W_Q W_K", betas, key=step.key("beta"), where=left,
                                 value=step.preset[step.key("beta")], help="The write-up uses W_Q = W_K = 1.")
    k = widgets.slider("Half-width k", 1, 5, step.preset[step.key("k")], key=step.key("k"), where=left)
    eps = 0.01
    curve, need = _maxpool(int(k), eps)
    with right:
        st.latex(r"\mathrm{out}_i = \sum_{|j-i|\le k} \frac{e^{\beta x_i x_j}}{\sum_{|l-i|\le k} e^{\beta x_i x_l}}"
                 r"\,x_j \;\to\; \max_{|j-i|\le k} x_j \text{ only as } \beta x_i \to \infty")
        ui.show(pr.beta_curve_figure(curve, beta_now=float(beta), eps=eps,
                                     beta_needed=need.beta if need.achievable else None), key=step.key("fig"))
    return {"ra_tab": "Max pooling (1.3.2)", "ra_input": "random non-negative", "ra_offset": "0.0",
            "ra_k": str(int(k)), "ra_beta": str(beta), "ra_eps": "0.01",
            "ra_construction": "write-up: scores beta x_i x_j"}


@st.cache_data(show_spinner=False, max_entries=16)
def _attention(causal: bool, temperature: float):
    from engine import attention as att

    tokens = "the cat sat on the mat".split()
    return tokens, att.attention_steps(tokens, 8, causal, temperature, 0)


def draw_2_1_2(step, left, right):
    causal = widgets.toggle("Causal mask", step.preset[step.key("causal")], key=step.key("causal"), where=left)
    temp = widgets.select_slider("Temperature T", [0.05, 0.2, 0.5, 1.0, 2.0, 5.0], key=step.key("temp"), where=left,
                                 value=step.preset[step.key("temp")])
    tokens, s = _attention(bool(causal), float(temp))
    with right:
        st.latex(r"\alpha = \mathrm{softmax}\!\left(\frac{(W_q x)(W_k x)^\top}{\sqrt{h}\,T} + M\right),\quad "
                 r"M_{ij} = -\infty \text{ for } j > i")
        ui.show(pa.matrix(s.weights, tokens, tokens, title="Attention weights (rows sum to 1)", colorbar="weight"),
                key=step.key("fig"))
    return {"at_causal": "true" if causal else "false", "at_temp": str(float(temp))}


@st.cache_data(show_spinner=False, max_entries=16)
def _positional(n_train: int, dim: int):
    from engine import positional

    n = n_train + 16
    sin = positional.encodings("sinusoidal", n, dim, n_train)
    oh = positional.encodings("one-hot", n, dim, n_train)
    return positional.cosine_matrix(sin), positional.cosine_matrix(oh)


def draw_2_1_3(step, left, right):
    n_train = widgets.slider("Training length L", 4, 48, step.preset[step.key("L")], key=step.key("L"), where=left)
    dim = widgets.select_slider("Width d (sinusoidal)", [16, 32, 64, 128], key=step.key("d"), where=left,
                                value=step.preset[step.key("d")])
    sin_c, oh_c = _positional(int(n_train), int(dim))
    with right:
        st.latex(r"PE_{p,2i} = \sin(p\,\omega_i),\; PE_{p,2i+1} = \cos(p\,\omega_i);\quad "
                 r"\text{one-hot: } PE_p = e_p,\; p < L \text{ only}")
        c1, c2 = right.columns(2)
        with c1:
            ui.show(pa.similarity_matrix(sin_c, title="cos(PE_p, PE_q): sinusoidal", n_train=int(n_train)),
                    key=step.key("fig_sin"))
        with c2:
            ui.show(pa.similarity_matrix(oh_c, title="cos(PE_p, PE_q): one-hot", n_train=int(n_train)),
                    key=step.key("fig_oh"))
    return {"pe_train": str(int(n_train)), "pe_beyond": "16", "pe_dim": str(int(dim))}


@st.cache_data(show_spinner=False, max_entries=2)
def _nmt():
    from engine.nmt import results

    return results.shipped_results()


def draw_2_1_4(step, left, right):
    show = widgets.radio("Show", ["Table 1", "accuracy by word length"], key=step.key("show"), where=left,
                         index=0 if step.preset[step.key("show")] == "Table 1" else 1)
    r = _nmt()
    with right:
        if show == "Table 1":
            rows = [{"label": f"h={x.hidden_size}, {x.dataset}", "writeup": x.writeup_val_loss, "ours": x.val_loss}
                    for x in r.table1 if x.val_loss is not None]
            ui.show(pa.table1_bars(rows), key=step.key("fig"))
            st.caption("Write-up Table 1: h = 64 has 0.478 (small) and 0.569 (large): more data gave the worse loss.")
        else:
            ui.show(pa.accuracy_by_length({n: x.by_length for n, x in r.runs.items() if x.by_length}),
                    key=step.key("fig_len"))
    return {"tr_model_a": "encdec_h64_large", "tr_model_b": "encdec_h64_small"}


def draw_2_2_3(step, left, right):
    xaxis = widgets.segmented_control("Loss curves against", ["epoch", "tokens_seen", "seconds"], key=step.key("x"),
                                      where=left, default=step.preset[step.key("x")])
    r = _nmt()
    names = [n for n in (r.decoder_name, r.encdec_name) if n]
    with right:
        ui.show(pa.loss_curves({n: r.runs[n].history for n in names}, x=xaxis or "epoch"), key=step.key("fig"))
    return {"tr_model_a": r.decoder_name or "", "tr_model_b": r.encdec_name or ""}


@st.cache_data(show_spinner=False, max_entries=16)
def _flops(layers: int, tokens: float):
    from engine import scaling, sweeps

    t = scaling.load_table2()
    h = t.hidden_size.to_numpy()
    params = np.array([sweeps.nmt_params(int(x), int(layers)) for x in h], dtype=float)
    return h, scaling.hidden_squared_vs_6nd(h, params, np.full(len(h), float(tokens)))


def draw_2_3_1(step, left, right):
    layers = widgets.slider("Decoder layers L", 1, 6, step.preset[step.key("layers")], key=step.key("layers"),
                            where=left)
    tokens = widgets.number_input("Training tokens D", 1e3, 1e12, step.preset[step.key("tokens")], key=step.key("tokens"),
                                  where=left, format="%.0f", step=100_000.0)
    h, cmp = _flops(int(layers), float(tokens))
    with right:
        st.latex(r"C \approx 6\,N\,D,\qquad N \approx 12\,L\,h^2 \quad\text{vs. the write-up's } C = h^2")
        ui.show(pau.claimed_vs_computed({f"h={int(a)}": (float(b), float(c)) for a, b, c in
                                         zip(h, cmp.approx_flops, cmp.flops_6nd)}, log_scale=True,
                                        title="FLOPs: write-up (h^2) vs 6ND"), key=step.key("fig"))
    return {"sl_source": "Write-up Table 2"}


@st.cache_data(show_spinner=False, max_entries=16)
def _isoflop(noise: float, points: int):
    from engine import scaling

    rt = scaling.synthetic_isoflop(scaling.HOFFMANN_2022, points_per_budget=int(points), width=2.0, noise=float(noise),
                                   seed=0)
    return scaling.fit_isoflop(rt.flops, rt.params, rt.loss)


def draw_2_3_2(step, left, right):
    noise = widgets.select_slider("Loss noise (std)", [0.0, 0.002, 0.005, 0.01, 0.02], key=step.key("noise"),
                                  where=left, value=step.preset[step.key("noise")])
    points = widgets.slider("Runs per budget", 3, 15, step.preset[step.key("points")], key=step.key("points"),
                            where=left)
    fit = _isoflop(float(noise), int(points))
    with right:
        st.latex(r"L(\log_{10} N) \approx p_0 x^2 + p_1 x + p_2,\quad \log_{10} N_{opt} = -\frac{p_1}{2p_0}")
        ui.show(ps.isoflop_figure(fit), key=step.key("fig"))
    return {"sl_source": "Synthetic (from a reference law)", "sl_law": "Hoffmann 2022", "sl_noise": f"{float(noise):g}",
            "sl_points": str(int(points)), "sl_width": "2.0"}


def _latex_number(x: float) -> str:
    """A number for LaTeX: 2.22 \\times 10^{12} (plain below 10^4)."""
    if abs(x) < 1e4:
        return ui.fmt_number(x)
    mantissa, exponent = f"{x:.3e}".split("e")
    return rf"{float(mantissa):.3g} \times 10^{{{int(exponent)}}}"


def _laws_figure(step, right, n: float, verdicts, title: str) -> None:
    with right:
        ui.show(pau.claimed_vs_computed({v.law: (float(n), float(v.optimal_params)) for v in verdicts},
                                        log_scale=True, title=title), key=step.key("fig"))
        st.caption("'write-up' bars: the parameter count in question; 'computed': N_opt of each reference law.")


def draw_2_3_3(step, left, right):
    from engine import scaling

    c = widgets.number_input("Budget C (FLOPs)", 1e6, 1e26, step.preset[step.key("c")], key=step.key("c"), where=left,
                             format="%.3g")
    n = widgets.number_input("Claimed N_opt (parameters)", 1.0, 1e15, step.preset[step.key("n")], key=step.key("n"),
                             where=left, format="%.3g")
    chk = scaling.check_claimed_optimum(float(c), float(n))
    right.latex(r"D = \frac{C}{6N} = " + _latex_number(chk.claimed_tokens) + r"\ \text{tokens}")
    _laws_figure(step, right, n, chk.verdicts, "Claimed N_opt vs each law's N_opt")
    return {"sl_at": f"{float(np.log10(max(float(c), 1e10))):.1f}"}


def draw_2_3_4(step, left, right):
    from engine import scaling

    n = widgets.number_input("Parameters N", 1.0, 1e15, step.preset[step.key("n")], key=step.key("n"), where=left,
                             format="%.0f", step=10_000.0)
    d = widgets.number_input("Training tokens D", 1.0, 1e16, step.preset[step.key("d")], key=step.key("d"), where=left,
                             format="%.0f", step=100_000.0, help="The write-up never states D; the preset is our 2.2.3 decoder run's.")
    o = scaling.is_compute_optimal(float(n), float(d))
    right.latex(r"C = 6ND = " + _latex_number(o.flops) + r",\qquad \text{ratio} = N / N_{opt}(C)")
    ui.table([{"law": v.law, "N / N_opt": round(v.ratio, 3), "says": v.verdict} for v in o.verdicts], where=right)
    _laws_figure(step, right, n, o.verdicts, "N vs each law's N_opt at C = 6ND")
    return {"sl_chk_n": f"{float(n):g}", "sl_chk_d": f"{float(d):g}"}


@st.cache_data(show_spinner=False, max_entries=2)
def _bert_runs():
    from engine import bert

    return bert.load_results()["runs"]


def draw_3_2(step, left, right):
    cached = widgets.toggle("Include the cached-features run (not like for like)", step.preset[step.key("cached")],
                            key=step.key("cached"), where=left)
    runs = _bert_runs()
    names = ["embedded_full", "embedded_frozen_uncached"] + (["embedded_frozen"] if cached else [])
    chosen = [runs[n] for n in names if n in runs]
    with right:
        ui.show(pb.time_per_epoch(chosen), key=step.key("fig"))
        st.caption("Like for like: full fine-tuning vs frozen encoder run on every batch (the write-up's setting). "
                   "Times measured on a shared 2-core machine under load (assets/bert/results.json).")
    return {"bert_mode": "frozen"}


def draw_3_3(step, left, right):
    axis = widgets.segmented_control("x axis", ["epoch", "time"], key=step.key("axis"), where=left,
                                     default=step.preset[step.key("axis")])
    runs = _bert_runs()
    chosen = [runs[n] for n in ("embedded_full", "random_full", "embedded_frozen", "random_frozen") if n in runs]
    with right:
        ui.show(pb.accuracy_curves(chosen, x=axis or "epoch"), key=step.key("fig"))
    return {"bert_ckpt": "random: same architecture, no pretraining", "bert_mode": "full"}


@st.cache_resource(show_spinner=False)
def _clip_bundle():
    from dashboard import runtime
    from engine import clip

    runtime.interactive_torch()
    return clip.load_clip("embedded")


@st.cache_data(show_spinner=False, max_entries=16)
def _sensitivity(variants: tuple[str, ...], n_images: int):
    from engine import clip

    s = clip.prompt_sensitivity(_clip_bundle(), clip.goldfish_images(int(n_images), 0), list(variants))
    return [(r.prompt, float(r.probability), float(r.win_rate), float(r.match_rate)) for r in s.rows], s.min_cosine


def draw_4_2(step, left, right):
    text = widgets.text_area("Prompts (one per line, at most 6)", step.preset[step.key("prompts")],
                             key=step.key("prompts"), where=left, height=130, max_chars=300)
    n_images = widgets.select_slider("Scenes of two goldfish", [8, 12, 24], key=step.key("n"), where=left,
                                     value=step.preset[step.key("n")])
    variants = tuple(dict.fromkeys(p.strip() for p in text.splitlines() if p.strip()))[:6]
    if not variants:
        ui.note("Type at least one prompt.")
        return {}
    with st.spinner("Scoring the prompts with the tiny CLIP..."):
        rows, min_cos = _sensitivity(variants, int(n_images))
    with right:
        ui.show(pc.sensitivity_bars([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                                    [r[3] for r in rows], min_cosine=min_cos), key=step.key("fig"))
    return {"cl_variants": "\n".join(variants)}


def _step(step_id, title, claim, checks, page, draw, preset, presets=None, latex="") -> Step:
    return Step(step_id, title, claim, tuple(checks), page, draw,
                {_k(step_id, k): v for k, v in preset.items()},
                {name: {_k(step_id, k): v for k, v in vals.items()} for name, vals in (presets or {}).items()}, latex)


STEPS: list[Step] = [
    _step("1.1.1", "A single-neuron ReLU chain, all weights 1",
          "Thus we have bounded 0 <= |df(x)/dx| <= 1.", ["check_1_1_1"], "single-neuron", draw_1_1_1,
          {"depth": 10, "x": 1.0}, {"x = +1: gradient 1": {"x": 1.0}, "x = -1: gradient 0": {"x": -1.0}},
          r"0 \le \left|\frac{\partial f(x)}{\partial x}\right| \le 1"),
    _step("1.1.2", "Different weights",
          "If all the w_i's are greater than 1, then we can say that the gradients may explode but cannot vanish.",
          ["check_1_1_2_bound", "check_1_1_2_cannot_vanish", "check_1_1_2_case_rule"], "single-neuron", draw_1_1_2,
          {"depth": 10, "x": 1.0, "w": 1.5},
          {"w = 1.5, x = +1: explodes": {"w": 1.5, "x": 1.0}, "w = 1.5, x = -1: vanishes": {"w": 1.5, "x": -1.0},
           "w = 0.5: vanishes": {"w": 0.5, "x": 1.0}},
          r"w_i > 1\ \forall i \;\Rightarrow\; \text{the gradients may explode but cannot vanish}"),
    _step("1.2.1", "The RNN Jacobian bound, sigma_max(W) = 1/4",
          "0 <= sigma_max(dx_n/dx_1) <= (1/16)^(n-1)",
          ["check_1_2_1_bound", "check_1_2_1_hint", "check_1_2_1_diag"], "rnn-jacobian", draw_1_2_1,
          {"steps": 10, "n": 16, "s": 0.25}, None,
          r"0 \le \sigma_{\max}\!\left(\frac{\partial x_n}{\partial x_1}\right) \le \left(\frac{1}{16}\right)^{n-1}"),
    _step("1.2.1b", "The SVD step: sigma_max(W^k) = sigma_max(W)^k?",
          "Using the known property of SVD: if W = U Sigma V^T, then W^i = U Sigma^i V^T",
          ["check_1_2_1_svd_step"], "rnn-jacobian", draw_1_2_1_svd, {"k": 20}, None,
          r"W = U\Sigma V^\top \;\Rightarrow\; W^i = U\Sigma^i V^\top,\quad "
          r"\sigma_{\max}(W^{n-1}) = \left(\tfrac14\right)^{n-1}"),
    _step("1.3.1", "A convolution [2, 0, 1] from relative attention",
          "p_{-1} = ln 2, p_0 = -inf, p_1 = -ln 2, W_Q = W_K = 0, W_V = 3", ["check_1_3_1"], "relative-attention",
          draw_1_3_1, {"heads": "write-up"}, None,
          r"p_{-1} = \ln 2,\; p_0 = -\infty,\; p_1 = -\ln 2,\; W_Q = W_K = 0,\; W_V = 3"),
    _step("1.3.2", "Max pooling from relative attention",
          "This ensures that the relative attention layers approximates a 1D max pooling with stride 1 and window "
          "size 2k + 1.", ["check_1_3_2"], "relative-attention", draw_1_3_2, {"beta": 1, "k": 1},
          {"beta = 1 (write-up)": {"beta": 1}, "beta = 10,000": {"beta": 10000}}),
    _step("2.1.2", "Scaled dot-product and causal attention",
          "mask = torch.tril(torch.ones(k_len, seq_len)).bool() ... unnormalized_attention[~mask] = self.neg_inf",
          ["check_2_1_1", "check_2_1_2"], "attention", draw_2_1_2, {"causal": True, "temp": 1.0}),
    _step("2.1.3", "Sinusoidal vs one-hot positions",
          "Sinusoidal positional encodings are continious and allow the model to generalize better to longer "
          "sequences and allows more pattern learning beased on token distance, as opposed to the raw absolute "
          "positions of OHE.", ["check_2_1_3"], "positional-encodings", draw_2_1_3, {"L": 29, "d": 64}),
    _step("2.1.4", "Table 1: hidden size and dataset size",
          "On the other hand, the model with hidden size 64 benefits from more data, achieving better generalization.",
          ["check_2_1_4_hidden", "check_2_1_4_data", "check_2_1_4_h64_data"], "translation", draw_2_1_4,
          {"show": "Table 1"}),
    _step("2.2.3", "Decoder-only vs encoder-decoder",
          "The decoder only approach is superior with a loss of 0.2, which is far less than all the encoder-decoder "
          "models.", ["check_2_2_3"], "translation", draw_2_2_3, {"x": "epoch"}),
    _step("2.3.1", "What Table 2 calls FLOPs",
          "Approx. FLOPs = hidden^2 (Table 2: 16 -> 256, 32 -> 1024, ..., 128 -> 16384)", ["check_2_3_1"],
          "scaling-laws", draw_2_3_1, {"layers": 3, "tokens": 1_424_180.0}),
    _step("2.3.2", "The quadratic fit", "p = np.polyfit(x, y, 2); optimal_params = -p[1]/(2*p[0])",
          ["check_2_3_2"], "scaling-laws", draw_2_3_2, {"noise": 0.0, "points": 9}, None,
          r"p = \mathrm{polyfit}(x, y, 2),\qquad \mathrm{optimal} = -\frac{p_1}{2p_0}"),
    _step("2.3.3", "1e10 parameters at 1e15 FLOPs?",
          "Based on the plot, the optimal number of parameters for 1e15 FLOPs is 1e10.", ["check_2_3_3"],
          "scaling-laws", draw_2_3_3, {"c": 1e15, "n": 1e10}),
    _step("2.3.4", "Is the 2.2.3 decoder compute-optimal?",
          "The model has too many parameters (260,000) relative to the available training tokens and compute budget.",
          ["check_2_3_4"], "scaling-laws", draw_2_3_4, {"n": 260_000.0, "d": 1_424_180.0}),
    _step("3.2", "Freezing BERT: time and accuracy",
          "The train time is far less when only training the classifier compared to fine-tuning as we see a decrease "
          "from 1 second per epoch to 0, or an increase from 15 batches per second to 60.",
          ["check_3_2_time", "check_3_2_accuracy"], "bert", draw_3_2, {"cached": False}),
    _step("3.3", "What pretraining buys",
          "MathBERT was trained on math initially, so it has a head start in understanding math content",
          ["check_3_3_pretraining", "check_3_3_frozen"], "bert", draw_3_3, {"axis": "epoch"}),
    _step("4.2", "Prompting CLIP: two nemos",
          'I used the prompt "two goldfish" immediately and it was successful, so I tried "two nemo" which also worked '
          'so I then tried "two nemos", which does not work, interestingly.', ["check_4_2"], "clip", draw_4_2,
          {"prompts": "two goldfish\ntwo nemo\ntwo nemos", "n": 12}),
]
BY_ID: dict[str, Step] = {s.id: s for s in STEPS}
STEP_IDS: list[str] = [s.id for s in STEPS]

