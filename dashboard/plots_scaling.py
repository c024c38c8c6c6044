"""Figure builders for the scaling-law page (engine.scaling results -> plotly figures)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from dashboard import figures

GREY = "#9a9a9a"


def isoflop_figure(fit, selected=None) -> go.Figure:
    """Loss against parameters per budget: runs, fitted parabola over the sampled range,
    and the vertex N_opt. Budgets left out of the fit are grey, their reason in the hover."""
    fig = figures.new_figure(x_title="parameters N (non-embedding)", y_title="final loss", log_x=True, height=460)
    for i, b in enumerate(fit.budgets):
        use = b.included and (selected is None or selected[i])
        col = figures.color(i) if use else GREY
        name = f"C = {b.flops:.2g}" + ("" if use else " (left out)")
        why = b.reason if not b.included else ("outside the selected budget range" if not use else "")
        fig.add_trace(go.Scatter(
            x=b.params, y=b.loss, mode="markers", name=name, legendgroup=name,
            marker=dict(color=col, size=8, opacity=1.0 if use else 0.5),
            hovertemplate=f"C ~ {b.flops:.3g} FLOPs<br>N = %{{x:.3g}}<br>loss = %{{y:.4f}}"
                          + (f"<br>left out: {why}" if why else "") + "<extra></extra>",
        ))
        if math.isfinite(b.coeffs[0]):
            xs = np.logspace(np.log10(b.params.min()), np.log10(b.params.max()), 80)
            fig.add_trace(go.Scatter(
                x=xs, y=b.parabola(xs), mode="lines", line=dict(color=col, width=2, dash="solid" if use else "dot"),
                legendgroup=name, showlegend=False, hoverinfo="skip",
            ))
        if b.included:
            fig.add_trace(go.Scatter(
                x=[b.optimal_params], y=[b.optimal_loss], mode="markers", legendgroup=name, showlegend=False,
                marker=dict(symbol="star", size=15, color=col, line=dict(color="black", width=1)),
                hovertemplate=f"vertex of C ~ {b.flops:.3g}<br>N_opt = %{{x:.3g}}<br>loss = %{{y:.4f}}<extra></extra>",
            ))
    return fig


def optimal_figure(fit, laws, c_grid, at, *, quantity="params", band=None, law_curves=None) -> go.Figure:
    """N_opt (or D_opt) against C, log-log: budget vertices, the fitted line with its
    bootstrap band, the reference laws, and the chosen extrapolation budget.

    ``band`` is (low, high) arrays over ``c_grid``; ``law_curves`` maps a law's name to
    its N_opt (or D_opt) over ``c_grid``.
    """
    label = "N_opt (parameters)" if quantity == "params" else "D_opt (tokens)"
    fig = figures.new_figure(x_title="training compute C (FLOPs)", y_title=label, log_x=True, log_y=True, height=420)
    if band is not None and np.isfinite(band[0]).any():
        fig.add_trace(go.Scatter(x=np.concatenate([c_grid, c_grid[::-1]]),
                                 y=np.concatenate([band[1], band[0][::-1]]), fill="toself",
                                 fillcolor="rgba(0,114,178,0.18)", line=dict(width=0), name="bootstrap band",
                                 hoverinfo="skip"))
    if fit is not None and fit.ok:
        y = fit.predict_params(c_grid) if quantity == "params" else fit.predict_tokens(c_grid)
        fig.add_trace(go.Scatter(x=c_grid, y=y, mode="lines", name=f"fit: a = {fit.exponent:.3f}",
                                 line=dict(color=figures.color(0), width=3),
                                 hovertemplate="C = %{x:.3g}<br>" + label + " = %{y:.3g}<extra>fit</extra>"))
    if fit is not None and len(fit.included):
        yv = fit.optimal_params if quantity == "params" else fit.optimal_tokens
        fig.add_trace(go.Scatter(x=fit.budget_flops, y=yv, mode="markers", name="parabola vertices",
                                 marker=dict(symbol="star", size=13, color=figures.color(0),
                                             line=dict(color="black", width=1)),
                                 hovertemplate="C = %{x:.3g}<br>" + label + " = %{y:.3g}<extra>vertex</extra>"))
    for i, (name, curve) in enumerate((law_curves or {}).items(), start=1):
        fig.add_trace(go.Scatter(x=c_grid, y=curve, mode="lines", name=name,
                                 line=dict(color=figures.color(i), width=2, dash="dash"),
                                 hovertemplate="C = %{x:.3g}<br>" + label + " = %{y:.3g}<extra>" + name + "</extra>"))
    fig.add_vline(x=at, line=dict(color="black", width=1, dash="dot"))
    # legend below the axes: inside, it would hide vertices or the band for some data sets
    fig.update_layout(legend=dict(orientation="h", x=0.0, y=-0.22, xanchor="left", yanchor="top", font=dict(size=11)),
                      margin=dict(t=20, b=150), height=520)
    return fig


def bias_figure(points) -> go.Figure:
    """Approach 2 on noise-free data: fitted/true N_opt at the target budget and the
    exponent error, against the width of the sampling grid."""
    w = [p.width for p in points]
    fig = figures.new_figure(x_title="grid width (decades of N per budget)",
                             y_title="fitted / true N_opt at the target budget", height=380)
    fig.add_trace(go.Scatter(x=w, y=[p.params_ratio for p in points], mode="lines+markers", name="N_opt ratio",
                             line=dict(color=figures.color(0)),
                             hovertemplate="width %{x:.2f}<br>ratio %{y:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=w, y=[1 + p.exponent_error for p in points], mode="lines+markers",
                             name="1 + (fitted a - true a)", line=dict(color=figures.color(1), dash="dash"),
                             hovertemplate="width %{x:.2f}<br>1 + error %{y:.4f}<extra></extra>"))
    fig.add_hline(y=1.0, line=dict(color="black", width=1, dash="dot"))
    return fig


def sweep_figure(frame) -> go.Figure:
    """Validation loss against tokens for each (budget, hidden size) of a sweep."""
    fig = figures.new_figure(x_title="parameters N (non-embedding)", y_title="validation loss", log_x=True, height=380)
    for i, (c, g) in enumerate(frame.groupby("budget")):
        fig.add_trace(go.Scatter(x=g["params"], y=g["val_loss"], mode="lines+markers", name=f"C = {c:.2g}",
                                 marker=dict(color=figures.color(i)), customdata=g[["hidden_size", "tokens"]],
                                 hovertemplate="hidden %{customdata[0]}<br>N = %{x:.3g}<br>tokens %{customdata[1]:.3g}"
                                               "<br>loss %{y:.4f}<extra></extra>"))
    return fig
