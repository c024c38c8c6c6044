"""Figure builders and LaTeX for the relative-attention page (engine.relattn results in,
plotly figures / LaTeX strings out; no math beyond formatting)."""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import plotly.graph_objects as go

from dashboard import figures

ERROR_FLOOR = 1e-17  # errors below this are drawn at the floor (log axis; 0 is exact)


@functools.lru_cache(maxsize=64)
def _template(kind: str, items: tuple) -> dict:
    """The project's styled layout (figures.new_figure / figures.heatmap), built once per style."""
    kw = dict(items)
    if kind == "heatmap":
        return figures.heatmap(np.zeros((1, 1)), **kw).to_dict()["layout"]
    return figures.new_figure(**kw).to_dict()["layout"]


def _figure(data: list[dict], *, kind: str = "xy", layout: dict | None = None, **style_kwargs) -> go.Figure:
    """A figure on the cached project layout. Plotly's per-property validation costs ~8 ms
    a figure, most of a slider move's budget, so the (fixed, tested) structure is assembled
    unvalidated; tests/test_relattn_page.py re-validates every builder's output."""
    lay = copy.deepcopy(_template(kind, tuple(sorted(style_kwargs.items()))))
    for k, v in (layout or {}).items():
        if isinstance(v, dict) and isinstance(lay.get(k), dict):
            lay[k].update(v)
        else:
            lay[k] = v
    try:
        return go.Figure(data=data, layout=lay, _validate=False)
    except TypeError:  # pragma: no cover - plotly without the private switch
        return go.Figure(data=data, layout=lay)


def _fmt(v: float, digits: int = 4) -> str:
    if v == -math.inf:
        return r"-\infty"
    if v == math.inf:
        return r"+\infty"
    if math.isnan(v):
        return r"\text{undefined}"
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:.{digits}g}"
    m, e = f"{v:.{digits - 1}e}".split("e")
    return rf"{m}\times 10^{{{int(e)}}}"


def _p_value(v: float) -> str:
    """p as ln of something when that is recognisable (ln 2 = 0.6931...)."""
    if v == -math.inf:
        return r"-\infty"
    if v == 0:
        return "0"
    if not math.isfinite(v) or abs(v) > math.log(1000.0) + 1e-9:
        return _fmt(v)  # beyond ln 1000 nothing is named; exp(v) could under/overflow
    ratio = math.exp(v)
    for cand in (ratio, 1 / ratio):
        if abs(cand - round(cand)) < 1e-9 and 1 <= round(cand) <= 1000:
            s = rf"\ln {int(round(cand))}" if cand == ratio else rf"-\ln {int(round(cand))}"
            return rf"{s} = {_fmt(v)}"
    return _fmt(v)


def latex_head(head, index: int | None = None) -> str:
    """W_Q, W_K, W_V and every p_d of one head, with the current numbers."""
    w_q, w_k, w_v, p = head
    sup = f"^{{({index})}}" if index is not None else ""
    ps = ",\\; ".join(rf"p{sup}_{{{d:+d}}} = {_p_value(float(p[d]))}" for d in sorted(p))
    return rf"W_Q{sup} = {_fmt(w_q)},\; W_K{sup} = {_fmt(w_k)},\; W_V{sup} = {_fmt(w_v)};\quad {ps}"


def latex_effective(eff, lhs: str = r"\mathrm{out}_i") -> str:
    """out_i = sum_j k_j x_{i+j} for an engine EffectiveKernel."""
    terms = []
    for t, w in zip(eff.taps, eff.weights):
        if abs(w) < 1e-15:
            continue
        idx = "i" if t == 0 else f"i{int(t):+d}"
        sign = "-" if w < 0 else "+"
        coef = "" if abs(abs(float(w)) - 1.0) < 1e-12 else rf"{_fmt(abs(float(w)))}\,"
        terms.append((sign, rf"{coef}x_{{{idx}}}"))
    if not terms:
        return rf"{lhs} = 0"
    body = ("-" if terms[0][0] == "-" else "") + terms[0][1] + "".join(f" {s} {t}" for s, t in terms[1:])
    return rf"{lhs} = {body}"


def latex_softmax_conv(kernel) -> list[str]:
    """The general construction for a sign group S (two display lines)."""
    m = len(kernel) // 2
    return [
        r"\mathrm{Conv1D}(x;w)_i=\sum_{j=-" + str(m) + "}^{" + str(m) + r"} x_{i+j}\,w_{j+" + str(m) + r"}"
        r",\qquad p_{-j}=\ln|w_{j+" + str(m) + r"}|\ (j\in S)",
        r"W_Q=W_K=0,\;\; W_V=\sum_{j\in S} w_{j+" + str(m) + r"}\;\Rightarrow\; W_V\,\frac{e^{p_{-j}}}{\sum_{l\in S} e^{p_{-l}}}"
        r"=w_{j+" + str(m) + r"}",
    ]


def _line(x, y, name: str, colour: str, *, width: float = 2, dash: str = "solid", mode: str = "lines",
          hover: str = "%{y:.4g}") -> dict:
    return dict(type="scatter", x=np.asarray(x), y=np.asarray(y), name=name, mode=mode,
                line=dict(color=colour, width=width, dash=dash),
                hovertemplate=f"%{{x:.4g}}<br>{hover}<extra>{name}</extra>")


def kernel_figure(kernel, eff, *, other=None, other_name: str = "write-up") -> go.Figure:
    """Bars per tap j (weight on x_{i+j}): the target kernel against what the heads compute."""
    m = len(kernel) // 2
    bars = [("target kernel w", list(range(-m, m + 1)), [float(v) for v in kernel], figures.color(7)),
            ("heads compute", eff.taps.tolist(), eff.weights.tolist(), figures.color(0))]
    if other is not None:
        bars.append((other_name, other.taps.tolist(), other.weights.tolist(), figures.color(3)))
    data = [dict(type="bar", x=x, y=y, name=name, marker=dict(color=c),
                 hovertemplate="tap j = %{x}<br>weight %{y:.4g}<extra>" + name + "</extra>") for name, x, y, c in bars]
    return _figure(data, layout=dict(barmode="group", xaxis=dict(dtick=1)),
                   x_title="tap j (weight on x_{i+j})", y_title="weight", height=320)


def attention_heatmap(rows, cols, mat, *, title: str = "attention weights") -> go.Figure:
    """softmax(alpha)_{i,j} for a window of query rows (first row at the top)."""
    trace = dict(type="heatmap", z=np.asarray(mat), x=np.asarray(cols), y=np.asarray(rows),
                 colorscale=figures.SEQUENTIAL, zmin=0, colorbar=dict(title=dict(text="weight")),
                 hovertemplate="query i=%{y}<br>key j=%{x}<br>weight %{z:.4g}<extra></extra>")
    return _figure([trace], kind="heatmap", title=title, x_title="key position j", y_title="query position i",
                   height=380)


def _edge_shapes(interior) -> list[dict]:
    interior = np.asarray(interior, dtype=bool)
    n = interior.size
    if not interior.any():
        return []
    first = int(np.argmax(interior))
    last = n - 1 - int(np.argmax(interior[::-1]))
    return [dict(type="rect", xref="x", yref="paper", x0=a, x1=b, y0=0, y1=1, fillcolor="grey", opacity=0.15,
                 line=dict(width=0), layer="below")
            for a, b in ((-0.5, first - 0.5), (last + 0.5, n - 0.5)) if b > a]


def overlay_figure(x, output, target, interior, *, target_name: str, output_name: str = "attention") -> go.Figure:
    """Input, true operation and attention output against position (edges shaded)."""
    pos = np.arange(len(x))
    data = [
        _line(pos, x, "input x", figures.color(5), width=1),
        _line(pos, target, target_name, figures.color(7), width=3),
        _line(pos, output, output_name, figures.color(1), dash="dash"),
    ]
    return _figure(data, layout=dict(shapes=_edge_shapes(interior)), x_title="position i", y_title="value", height=360)


def _hline(y: float, xs, name: str, colour: str, dash: str) -> list[dict]:
    """A horizontal reference line as a legend trace (annotations misplace on log axes)."""
    xs = np.asarray(xs)
    if xs.size == 0:
        return []
    return [_line([xs.min(), xs.max()], [y, y], name, colour, width=1.5, dash=dash, hover="%{y:.3g}")]


def _vline(x: float, lo: float, hi: float, name: str, colour: str, dash: str) -> dict:
    """A vertical reference line as a legend trace."""
    return _line([x, x], [lo, hi], name, colour, dash=dash, hover=name)


def error_figure(error, interior, *, title: str = "|output - target|", show_eps: bool = True) -> go.Figure:
    """Absolute error per interior position on a log axis (exact zeros drawn at the floor)."""
    err = np.abs(np.asarray(error, dtype=float))
    interior = np.asarray(interior, dtype=bool)
    pos = np.arange(err.size)[interior]
    data = [_line(pos, np.maximum(err[interior], ERROR_FLOOR), "interior error", figures.color(3), hover="%{y:.3e}")]
    if show_eps:
        data += _hline(2.2e-16, pos, "float64 eps 2.2e-16", "grey", "dot")
    return _figure(data, layout=dict(yaxis=dict(exponentformat="power")), x_title="position i",
                   y_title="absolute error (log)", log_y=True, height=300, title=title)


def beta_curve_figure(curve, *, beta_now: float, eps: float, beta_needed: float | None = None) -> go.Figure:
    """Max/mean interior error against beta (log-log) with the 2k/(e beta q_min) bound."""
    floor = ERROR_FLOOR
    mx = np.maximum(curve.max_error, floor)
    mn = np.maximum(curve.mean_error, floor)
    data = [
        _line(curve.betas, mx, "max error", figures.color(3), mode="lines+markers", hover="%{y:.3e}"),
        _line(curve.betas, mn, "mean error", figures.color(0), hover="%{y:.3e}"),
    ]
    bound = np.where(np.isfinite(curve.bound), curve.bound, np.nan)
    if np.isfinite(bound).any():
        data.append(_line(curve.betas, bound, "bound min(2k/(e beta q_min), range)", figures.color(7), dash="dot",
                          hover="%{y:.3e}"))
    data += _hline(eps, curve.betas, f"eps = {eps:g}", figures.color(2), "dash")
    if curve.limit_error > 0:
        data += _hline(curve.limit_error, curve.betas, "beta -> inf limit (some x_i + c = 0)", figures.color(4), "dashdot")
    ys = np.concatenate([mx, mn, [eps]])
    lo = float(ys.min())
    hi = float(max(ys.max(), np.nanmax(np.where(np.isfinite(bound), bound, 0.0))))
    data.append(_vline(beta_now, lo, hi, f"current beta = {beta_now:g}", figures.color(1), "solid"))
    if beta_needed is not None and math.isfinite(beta_needed) and beta_needed > 0:
        data.append(_vline(beta_needed, lo, hi, f"beta needed = {beta_needed:.3g}", figures.color(2), "dash"))
    return _figure(data, layout=dict(xaxis=dict(exponentformat="power"), yaxis=dict(exponentformat="power")),
                   x_title="beta = W_Q W_K (log)", y_title="interior error (log)", log_x=True, log_y=True, height=380)
