"""Figure builders for the gradient pages (single neuron, RNN Jacobian).

They take engine results (``engine.gradients`` / ``engine.spectra`` dataclasses) and return
plotly figures; quantities that span decades are plotted as log10 values computed by the
engine in log space (so nothing under/overflows on the way to the plot).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from dashboard import figures

LN10 = math.log(10.0)


def _log10(a) -> np.ndarray:
    a = np.asarray(a, dtype=float) / LN10
    return np.where(np.isfinite(a), a, np.nan)  # -inf (exact zero) leaves a gap


def chain_figure(chain) -> go.Figure:
    """log10 |dh_k/dx| and log10 of the bound prod_{i<=k} gamma|w_i| against depth k."""
    k = np.arange(len(chain.log_abs_gradient_path))
    fig = figures.new_figure(x_title="depth k (layers)", y_title="log10 of |dh_k / dx|")
    fig.add_trace(
        go.Scatter(
            x=k, y=_log10(chain.log_abs_gradient_path), name="|df/dx| (exact)", mode="lines+markers",
            line=dict(color=figures.color(0), width=3),
            hovertemplate="k=%{x}<br>log10 |dh_k/dx|=%{y:.4g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=k, y=_log10(chain.log_bound_path), name="bound  prod gamma|w_i|", mode="lines",
            line=dict(color=figures.color(1), dash="dash", width=2.5),
            hovertemplate="k=%{x}<br>log10 bound=%{y:.4g}<extra></extra>",
        )
    )
    dead = chain.first_dead_layer
    if dead is not None:
        fig.add_vline(x=dead, line=dict(color=figures.color(3), dash="dot"),
                      annotation_text=f"gradient exactly 0 from layer {dead}", annotation_position="top left")
    # The axis spans the layers, whatever is finite: with a gradient exactly 0 the solid line
    # is a single point and plotly's autorange (-100..200 seen) shrank the curve to a dot.
    depth = max(int(k[-1]) if k.size else 0, 1)
    fig.update_xaxes(range=[-0.02 * depth - 0.3, depth * 1.02 + 0.3])
    return fig


def hidden_figure(chain) -> go.Figure:
    """Hidden values h_k against depth (symmetric-log is avoided: plain values)."""
    k = np.arange(len(chain.hidden))
    fig = figures.new_figure(x_title="depth k (layers)", y_title="hidden value h_k", height=260)
    fig.add_trace(go.Scatter(x=k, y=chain.hidden, mode="lines+markers", name="h_k",
                             line=dict(color=figures.color(2)),
                             hovertemplate="k=%{x}<br>h_k=%{y:.4g}<extra></extra>"))
    return fig


def sigma_max_path_figure(spec) -> go.Figure:
    """log10 sigma_max(d x_{t+1}/d x_1) against depth t, with the bound (gamma sigma_max(W))^t."""
    t = np.arange(spec.steps + 1)
    fig = figures.new_figure(x_title="depth t (steps)", y_title="log10 sigma_max of the Jacobian")
    fig.add_trace(go.Scatter(x=t, y=_log10(spec.log_bound_path), name="bound (gamma sigma_max(W))^t", mode="lines",
                             line=dict(color=figures.color(1), dash="dash", width=3),
                             hovertemplate="t=%{x}<br>log10 bound=%{y:.6g}<extra></extra>"))
    if spec.log_sigma_max_path is not None:
        path = np.asarray(spec.log_sigma_max_path, dtype=float)
        done = ~np.isnan(path)  # NaN: a step the tracking skipped (-inf, an exact 0, leaves a gap)
        fig.add_trace(go.Scatter(x=t[done], y=_log10(path[done]), name="measured sigma_max", mode="lines",
                                 line=dict(color=figures.color(0), width=3),
                                 hovertemplate="t=%{x}<br>log10 sigma_max=%{y:.6g}<extra></extra>"))
    return fig


def spectrum_figure(spec, theory=None, *, bins: int = 40) -> go.Figure:
    """Histogram (density) of log10 sigma_i of the Jacobian at one depth. ``theory``: optional
    (log10 sigma grid, density in log10 sigma) from the Fuss-Catalan law."""
    ls = _log10(spec.log_singular_values)
    ls = ls[np.isfinite(ls)]
    fig = figures.new_figure(x_title=f"log10 singular value at depth {spec.steps}", y_title="density (per unit log10)")
    if ls.size:
        fig.add_trace(go.Histogram(x=ls, histnorm="probability density", nbinsx=bins, name="measured",
                                   marker=dict(color=figures.color(0)), opacity=0.75,
                                   hovertemplate="log10 sigma=%{x}<br>density=%{y:.3g}<extra></extra>"))
    if theory is not None:
        fig.add_trace(go.Scatter(x=theory[0], y=theory[1], name="Fuss-Catalan (N -> inf)", mode="lines",
                                 line=dict(color=figures.color(3), width=3),
                                 hovertemplate="log10 sigma=%{x:.3f}<br>density=%{y:.3g}<extra></extra>"))
    return fig


def lyapunov_figure(measured: np.ndarray, theory: np.ndarray | None, theory_name: str = "theory") -> go.Figure:
    """Lyapunov exponents (per step, natural log) by index, measured against theory."""
    i = np.arange(1, len(measured) + 1)
    fig = figures.new_figure(x_title="index i", y_title="Lyapunov exponent (nats per step)")
    fig.add_trace(go.Scatter(x=i, y=np.where(np.isfinite(measured), measured, np.nan), name="measured (QR)",
                             mode="markers", marker=dict(color=figures.color(0), size=7),
                             hovertemplate="i=%{x}<br>lambda=%{y:.5g}<extra></extra>"))
    if theory is not None:
        fig.add_trace(go.Scatter(x=i, y=np.where(np.isfinite(theory), theory, np.nan), name=theory_name,
                                 mode="lines", line=dict(color=figures.color(3), width=3),
                                 hovertemplate="i=%{x}<br>theory=%{y:.5g}<extra></extra>"))
    return fig


def non_normal_figure(cx) -> go.Figure:
    """ln sigma_max(W^k) against k ln sigma_max(W) (the write-up's SVD-power identity)."""
    k = np.arange(len(cx.log_sigma_max_powers))
    fig = figures.new_figure(x_title="power k", y_title="log10 sigma_max")
    fig.add_trace(go.Scatter(x=k, y=k * math.log10(cx.sigma_max_W), name="sigma_max(W)^k (write-up's identity)",
                             mode="lines", line=dict(color=figures.color(1), dash="dash", width=3)))
    fig.add_trace(go.Scatter(x=k, y=_log10(cx.log_sigma_max_powers), name="sigma_max(W^k) (measured)",
                             mode="lines+markers", line=dict(color=figures.color(0), width=3)))
    return fig


def pascanu_figure(px) -> go.Figure:
    """log10 sigma_max(J^l) for the nilpotent-W counterexample against what the eigenvalue
    condition predicts (vanishing)."""
    fig = figures.new_figure(x_title="depth l", y_title="log10 sigma_max(J^l)")
    fig.add_trace(go.Scatter(x=px.depths, y=_log10(px.log_sigma_max_Jl), name="measured: grows like 2^l",
                             mode="lines+markers", line=dict(color=figures.color(3), width=3)))
    fig.add_trace(go.Scatter(x=px.depths, y=np.zeros(len(px.depths)), name="level 1 (arXiv v1 wording: rho(W) = 0 < 1, so vanish)",
                             mode="lines", line=dict(color=figures.color(7), dash="dot")))
    return fig


def isometry_figure(results: dict, lo: float = -5.0, hi: float = 2.0) -> go.Figure:
    """Histograms (fraction per bin) of log10 of squared singular values for several
    configurations; values below 10^lo (e.g. ReLU's dead directions) are piled into the
    first bin and counted in the legend."""
    fig = figures.new_figure(x_title="log10 squared singular value of the L-layer Jacobian",
                             y_title="fraction of singular values")
    for i, (name, r) in enumerate(results.items()):
        lam = np.asarray(r.squared_singular_values, dtype=float)
        with np.errstate(divide="ignore"):
            y = np.log10(np.where(lam > 0, lam, 0.0))
        low = int(np.sum(y < lo))
        y = np.clip(y, lo, hi)
        extra = f", {low} below 1e{lo:g}" if low else ""
        fig.add_trace(go.Histogram(x=y, histnorm="probability", xbins=dict(start=lo, end=hi, size=(hi - lo) / 50),
                                   opacity=0.6, name=f"{name}: var/mean^2 {r.normalized_variance:.3g}{extra}",
                                   marker=dict(color=figures.color(i)),
                                   hovertemplate="log10 sigma^2=%{x}<br>fraction=%{y:.3f}<extra></extra>"))
    fig.update_layout(barmode="overlay")
    return figures.legend_below(fig)
