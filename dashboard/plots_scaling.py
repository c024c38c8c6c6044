"""Figure builders for the scaling-law page (engine.scaling results -> plotly figures)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from dashboard import figures

GREY = "#9a9a9a"
# One colour per approach on every figure of the page (Okabe-Ito: orange, green, purple),
# and the reference laws in the remaining colours (dashed).
APPROACH_COLOURS = (figures.color(1), figures.color(2), figures.color(4))
LAW_COLOURS = (figures.color(3), figures.color(5), figures.color(7))


def _budget_colour(lc: float, lo: float, hi: float) -> str:
    """Colour of a budget on a continuous scale of log10 C (viridis), so any number of
    budgets shares one colour bar instead of one legend entry each (issue 14)."""
    from plotly.colors import sample_colorscale

    t = 0.5 if hi <= lo else (lc - lo) / (hi - lo)
    return sample_colorscale(figures.SEQUENTIAL, [min(max(t, 0.0), 1.0)])[0]


def isoflop_figure(fit, selected=None) -> go.Figure:
    """Loss against parameters per budget: runs, fitted parabola over the sampled range,
    and the vertex N_opt. Budgets are coloured by log10 C on one colour bar (no per-budget
    legend entries: Chinchilla has 14 budgets); budgets left out of the fit are grey, with
    the reason in the hover."""
    fig = figures.new_figure(x_title="parameters N (non-embedding)", y_title="final loss (nats/token)", log_x=True,
                             height=460)
    lcs = [math.log10(b.flops) for b in fit.budgets] or [0.0]
    lo, hi = min(lcs), max(lcs)
    for i, b in enumerate(fit.budgets):
        use = b.included and (selected is None or selected[i])
        col = _budget_colour(math.log10(b.flops), lo, hi) if use else GREY
        why = b.reason if not b.included else ("outside the selected budget range" if not use else "")
        fig.add_trace(go.Scatter(
            x=b.params, y=b.loss, mode="markers", name=f"C = {b.flops:.2g}", showlegend=False,
            marker=dict(color=col, size=8, opacity=1.0 if use else 0.5, line=dict(color="white", width=0.5)),
            hovertemplate=f"C ~ {b.flops:.3g} FLOPs<br>N = %{{x:.3g}}<br>loss = %{{y:.4f}}"
                          + (f"<br>left out: {why}" if why else "") + "<extra></extra>",
        ))
        if math.isfinite(b.coeffs[0]):
            xs = np.logspace(np.log10(b.params.min()), np.log10(b.params.max()), 80)
            fig.add_trace(go.Scatter(
                x=xs, y=b.parabola(xs), mode="lines", line=dict(color=col, width=2, dash="solid" if use else "dot"),
                showlegend=False, hoverinfo="skip",
            ))
    inc = [b for b in fit.budgets if b.included]
    if inc:
        fig.add_trace(go.Scatter(
            x=[b.optimal_params for b in inc], y=[b.optimal_loss for b in inc], mode="markers", name="parabola vertex",
            marker=dict(symbol="star", size=15, color=[_budget_colour(math.log10(b.flops), lo, hi) for b in inc],
                        line=dict(color="black", width=1)),
            customdata=[b.flops for b in inc],
            hovertemplate="vertex of C ~ %{customdata:.3g}<br>N_opt = %{x:.3g}<br>loss = %{y:.4f}<extra></extra>",
        ))
    if fit.excluded:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="budget left out (hover for why)",
                                 marker=dict(color=GREY, size=8)))
    # one colour bar for log10 C (an invisible trace carries it)
    fig.add_trace(go.Scatter(
        x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(color=[lo, hi], colorscale=figures.SEQUENTIAL, cmin=lo, cmax=hi if hi > lo else lo + 1,
                    showscale=True, colorbar=dict(title=dict(text="log10 C", side="right"), thickness=12, len=0.8)),
    ))
    return fig


# Grid of the iso-loss contours per axis. L(N, C/6N) is smooth in log space: 60 x 60 draws the same
# contours as 120 x 120 (plotly smooths the lines), and the browser fills a quarter of the cells
# on every move of the scaling page's shared controls (issue 12).
CONTOUR_GRID = 60


def contour_figure(law, runs, frontiers, c_range, n_range, at=None) -> go.Figure:
    """Chinchilla Fig. 4 (left): iso-loss contours of a fitted L(N, D = C/(6N)) in the
    (C, N) plane, the efficient frontier N_opt(C) of each approach, and the runs.

    ``law`` has ``.loss(N, D)``; ``runs`` has flops, params, loss; ``frontiers`` maps a
    name to (c_grid, n_opt, colour). Axes are log10 values (plotly draws contours on a
    regular grid), labelled as such.
    """
    lc = np.linspace(math.log10(c_range[0]), math.log10(c_range[1]), CONTOUR_GRID)
    ln = np.linspace(math.log10(n_range[0]), math.log10(n_range[1]), CONTOUR_GRID)
    cc, nn = np.meshgrid(10.0**lc, 10.0**ln)
    with np.errstate(all="ignore"):
        z = np.log10(np.asarray(law.loss(nn, cc / (6.0 * nn)), dtype=float))
    fig = figures.new_figure(x_title="log10 training compute C (FLOPs)", y_title="log10 parameters N", height=460)
    finite = z[np.isfinite(z)]
    if finite.size:
        zlo, zhi = np.percentile(finite, [1, 90])
        fig.add_trace(go.Contour(
            x=lc, y=ln, z=z, colorscale="Blues_r", zmin=zlo, zmax=zhi, ncontours=18,
            contours=dict(coloring="fill", showlines=True), line=dict(width=0.5, color="white"), opacity=0.85,
            colorbar=dict(title=dict(text="log10 loss", side="right"), thickness=12, len=0.8),
            hovertemplate="log10 C = %{x:.2f}<br>log10 N = %{y:.2f}<br>log10 L = %{z:.3f}<extra>fitted L(N, D)</extra>",
            name="iso-loss contours", showlegend=False,
        ))
    dashes = ["solid", "dash", "dot"]
    for i, (name, (c_grid, n_opt, colour)) in enumerate(frontiers.items()):
        ok = np.isfinite(n_opt) & (n_opt > 0)
        fig.add_trace(go.Scatter(x=np.log10(c_grid[ok]), y=np.log10(n_opt[ok]), mode="lines", name=name,
                                 line=dict(color=colour, width=3, dash=dashes[i % 3]),
                                 hovertemplate="C = 10^%{x:.2f}<br>N_opt = 10^%{y:.2f}<extra>" + name + "</extra>"))
    if runs is not None and runs.flops.size:
        fig.add_trace(go.Scatter(
            x=np.log10(runs.flops), y=np.log10(runs.params), mode="markers", name="runs",
            marker=dict(color="#222222", size=5, symbol="circle-open"), customdata=runs.loss,
            hovertemplate="C = 10^%{x:.2f}<br>N = 10^%{y:.2f}<br>loss %{customdata:.4f}<extra>run</extra>"))
    if at is not None:
        fig.add_vline(x=math.log10(at), line=dict(color="black", width=1, dash="dot"))
    fig.update_xaxes(range=[lc[0], lc[-1]])
    fig.update_yaxes(range=[ln[0], ln[-1]])
    return fig


def envelope_figure(curves, env) -> go.Figure:
    """Approach 1: every run's loss against the compute spent so far (grey, coloured by
    size on hover), and the lower envelope (min over runs at each C), coloured by the N of
    the run that reaches it."""
    fig = figures.new_figure(x_title="compute spent C = 6 N D_seen (FLOPs)", y_title="validation loss (nats/token)",
                             log_x=True, height=460)
    if curves is not None and curves.flops.size:
        order = np.lexsort((curves.flops, curves.run))
        run, c, y, n = curves.run[order], curves.flops[order], curves.loss[order], curves.params[order]
        breaks = np.flatnonzero(np.diff(run)) + 1
        xs = np.insert(c.astype(float), breaks, np.nan)
        ys = np.insert(y.astype(float), breaks, np.nan)
        ns = np.insert(n.astype(float), breaks, np.nan)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="training curves", customdata=ns,
                                 line=dict(color="rgba(120,120,120,0.45)", width=1),
                                 hovertemplate="N = %{customdata:.3g}<br>C = %{x:.3g}<br>loss %{y:.4f}<extra></extra>"))
    on = np.isfinite(env.loss) if env is not None else np.zeros(0, bool)
    if on.any():
        fig.add_trace(go.Scatter(
            x=env.flops[on], y=env.loss[on], mode="markers", name="lower envelope",
            marker=dict(size=6, color=np.log10(env.params[on]), colorscale=figures.SEQUENTIAL, showscale=True,
                        colorbar=dict(title=dict(text="log10 N on envelope", side="right"), thickness=12, len=0.8)),
            customdata=env.params[on],
            hovertemplate="C = %{x:.3g}<br>envelope loss %{y:.4f}<br>N = %{customdata:.3g}<extra></extra>"))
    return fig


def approaches_figure(entries, c_grid, at, *, quantity="params", laws=None) -> go.Figure:
    """N_opt (or D_opt) against C for each approach (line + bootstrap band) and the
    reference laws (dashed). ``entries``: list of (name, fit) with predict_params and
    params_interval / tokens_interval."""
    label = "N_opt (parameters)" if quantity == "params" else "D_opt (tokens)"
    fig = figures.new_figure(x_title="training compute C (FLOPs)", y_title=label, log_x=True, log_y=True, height=460)
    for i, (name, fit) in enumerate(entries):
        if fit is None or not fit.ok:
            continue
        col = APPROACH_COLOURS[i % len(APPROACH_COLOURS)]
        try:
            lo, hi = (fit.params_interval(c_grid) if quantity == "params" else fit.tokens_interval(c_grid))
        except Exception:  # noqa: BLE001 - no bootstrap: no band
            lo = hi = None
        if lo is not None and np.isfinite(lo).any():
            fig.add_trace(go.Scatter(x=np.concatenate([c_grid, c_grid[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                                     fill="toself", fillcolor=_rgba(col, 0.15), line=dict(width=0), hoverinfo="skip",
                                     legendgroup=name, showlegend=False))
        y = fit.predict_params(c_grid) if quantity == "params" else fit.predict_tokens(c_grid)
        fig.add_trace(go.Scatter(x=c_grid, y=y, mode="lines", name=f"{name}: a = {fit.exponent:.3f}", legendgroup=name,
                                 line=dict(color=col, width=3),
                                 hovertemplate="C = %{x:.3g}<br>" + label + " = %{y:.3g}<extra>" + name + "</extra>"))
    for j, law in enumerate((laws or {}).values()):
        n = law.optimal_params(c_grid)
        y = n if quantity == "params" else c_grid / (6 * n)
        fig.add_trace(go.Scatter(x=c_grid, y=y, mode="lines", name=law.name,
                                 line=dict(color=LAW_COLOURS[j % len(LAW_COLOURS)], width=1.5, dash="dash"),
                                 hovertemplate="C = %{x:.3g}<br>" + label + " = %{y:.3g}<extra>" + law.name + "</extra>"))
    fig.add_vline(x=at, line=dict(color="black", width=1, dash="dot"))
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    if len(h) != 6:
        return f"rgba(0,114,178,{alpha})"
    r, g, b = (int(h[k:k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


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
    """Validation loss against parameters for each budget of a sweep (runs stream in as they finish)."""
    fig = figures.new_figure(x_title="parameters N (non-embedding)", y_title="validation loss (nats/token)", log_x=True,
                             height=380)
    if frame is None or len(frame) == 0:
        return fig
    frame = frame[frame["val_loss"].notna()] if "val_loss" in frame else frame
    for i, (c, g) in enumerate(frame.groupby("budget")):
        fig.add_trace(go.Scatter(x=g["params"], y=g["val_loss"], mode="lines+markers", name=f"C = {c:.2g}",
                                 marker=dict(color=figures.color(i)), customdata=g[["hidden_size", "tokens"]],
                                 hovertemplate="hidden %{customdata[0]}<br>N = %{x:.3g}<br>tokens %{customdata[1]:.3g}"
                                               "<br>loss %{y:.4f}<extra></extra>"))
    return fig
