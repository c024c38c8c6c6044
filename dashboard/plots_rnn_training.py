"""Figure builders for the "Gradients through time" page (issue 18).

They take ``engine.rnn_training`` results (``TrainingResult``, ``ModelHistory``,
``RecurrentSpectrum``) and the benchmark record, and return plotly figures. Norms that span
decades are drawn as log10 values; an exact zero (a gradient that underflowed float32, or a
ReLU unit that is off) leaves a gap rather than a fake number.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import figures

LN10 = math.log(10.0)
MODEL_LABELS = {"rnn_tanh": "tanh RNN", "rnn_relu": "ReLU RNN", "lstm": "LSTM", "gru": "GRU"}
ZERO_COLOR = "#d0d0d0"  # exactly-zero gradient cells
BOUND_COLOR = "#8c8c8c"  # prod_t sigma_max(J_t)
WEIGHT_BOUND_COLOR = "#000000"  # (gamma sigma_max(W_hh))^k
MODEL_COLORS = {"rnn_tanh": figures.color(3), "rnn_relu": figures.color(4), "lstm": figures.color(0),
                "gru": figures.color(2)}


def _label(kind: str) -> str:
    return MODEL_LABELS.get(kind, kind)


def _log10_norm(a) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(a)
    return np.where(np.isfinite(out), out, np.nan)


def _ln_to_log10(a) -> np.ndarray:
    a = np.asarray(a, dtype=float) / LN10
    return np.where(np.isfinite(a), a, np.nan)


def _hline_log(fig: go.Figure, y: float, text: str, color: str, dash: str, position: str = "top") -> None:
    """A horizontal line with its label on a log-y axis (plotly's add_hline annotation misplaces
    labels on log axes, so the label is placed by hand at log10(y))."""
    fig.add_hline(y=y, line=dict(color=color, dash=dash, width=2))
    fig.add_annotation(x=1.0, xref="x domain", xanchor="right", y=math.log10(y), yref="y",
                       yanchor="bottom" if position == "top" else "top", text=text, showarrow=False,
                       font=dict(color=color))


def loss_figure(result) -> go.Figure:
    """Training loss (thin) and held-out loss (thick, markers) per model against the training step,
    log y, with the trivial baseline (1/6 for adding, ln A for copy) and the target."""
    cfg = result.config
    fig = figures.new_figure(x_title="training step", y_title=f"{result.loss_name}, log scale",
                             log_y=True, height=380)
    for kind, h in result.histories.items():
        c = MODEL_COLORS.get(kind)
        if h.steps_done:
            steps = np.arange(1, h.steps_done + 1)
            fig.add_trace(go.Scatter(
                x=steps, y=h.loss, mode="lines", name=f"{_label(kind)} (train batch)", line=dict(color=c, width=1),
                opacity=0.35, legendgroup=kind, showlegend=False,
                hovertemplate=f"{_label(kind)}<br>step %{{x}}<br>batch loss %{{y:.4g}}<extra></extra>"))
        if len(h.eval_loss):
            fig.add_trace(go.Scatter(
                x=h.eval_steps, y=h.eval_loss, mode="lines+markers", name=_label(kind), legendgroup=kind,
                line=dict(color=c, width=3), marker=dict(size=5),
                hovertemplate=f"{_label(kind)}<br>step %{{x}}<br>held-out loss %{{y:.4g}}<extra></extra>"))
    base_name = "predict the mean: 1/6" if cfg.task == "adding" else f"uniform guess: ln {cfg.alphabet}"
    _hline_log(fig, result.baseline, base_name, "gray", "dash")
    if cfg.target_loss is not None and cfg.task == "adding":
        _hline_log(fig, cfg.target_loss, f"target {cfg.target_loss:g}", figures.color(2), "dot")
    fig.update_yaxes(exponentformat="power")
    return fig


def heatmap_figure(history, T: int, zrange: tuple[float, float] | None = None) -> go.Figure:
    """log10 ||dL/dh_t|| over (time step t, training step): one row per recorded step."""
    z = _log10_norm(history.grad_h)
    fig = figures.new_figure(x_title="time step t (1 = first input, T = read-out)", y_title="training step",
                             height=330, legend=False, title=_label(history.model))
    if z.size == 0:
        return fig
    zmin, zmax = zrange if zrange is not None else (np.nanmin(z), np.nanmax(z))
    fig.add_trace(go.Heatmap(
        x=np.arange(1, T + 1), y=history.grad_h_steps, z=z, zmin=zmin, zmax=zmax, colorscale=figures.SEQUENTIAL,
        colorbar=dict(title=dict(text="log10 ||dL/dh_t||", side="right"), thickness=12),
        hovertemplate="t=%{x}<br>step %{y}<br>log10 ||dL/dh_t|| = %{z:.3g}<extra></extra>"))
    zero = np.asarray(history.grad_h) == 0
    if zero.any():
        # exact zeros (float32 underflow, or every unit saturated / off) in light grey, not blank
        fig.add_trace(go.Heatmap(
            x=np.arange(1, T + 1), y=history.grad_h_steps, z=np.where(zero, 1.0, np.nan),
            colorscale=[[0, ZERO_COLOR], [1, ZERO_COLOR]], showscale=False,
            hovertemplate="t=%{x}<br>step %{y}<br>||dL/dh_t|| = 0 exactly<extra></extra>"))
        fig.add_annotation(x=0.0, xref="paper", y=1.0, yref="paper", yanchor="bottom", xanchor="left",
                           showarrow=False, text=f"grey: exactly 0 ({zero.mean():.0%} of cells)",
                           font=dict(size=12, color="#555555"))
    return fig


def heatmap_zrange(result) -> tuple[float, float] | None:
    """One colour range for every model's heatmap, so colours compare across models."""
    vals = [_log10_norm(h.grad_h) for h in result.histories.values() if h.grad_h.size]
    vals = [v[np.isfinite(v)] for v in vals]
    vals = [v for v in vals if v.size]
    if not vals:
        return None
    allv = np.concatenate(vals)
    lo, hi = float(np.percentile(allv, 1)), float(allv.max())
    return (lo, hi) if hi > lo else (lo - 1, hi + 1)


def profile_figure(result) -> go.Figure:
    """The latest step's ||dL/dh_t|| against t per model (log y): vanishing RNN vs flat LSTM."""
    fig = figures.new_figure(x_title="time step t", y_title="||dL/dh_t|| (log scale)", log_y=True, height=360)
    for kind, h in result.histories.items():
        prof = h.current_profile
        if not len(prof):
            continue
        y = np.asarray(prof, dtype=float)
        zeros = int(np.sum(y == 0))
        y = np.where(y > 0, y, np.nan)
        step = int(h.grad_h_steps[-1])
        name = f"{_label(kind)} (step {step})" + (f": {zeros} of {len(y)} exactly 0" if zeros else "")
        fig.add_trace(go.Scatter(
            x=np.arange(1, len(y) + 1), y=y, mode="lines+markers" if len(y) - zeros < 5 else "lines",
            name=name,
            line=dict(color=MODEL_COLORS.get(kind), width=2.5),
            hovertemplate=f"{_label(kind)}<br>t=%{{x}}<br>||dL/dh_t|| = %{{y:.3e}}<extra></extra>"))
    fig.update_yaxes(exponentformat="power")
    return fig


def spectrum_figure(history) -> go.Figure:
    """Left: log10 sigma_max(d s_(k+1)/d s_1) against k with the bounds; right: all log10 singular
    values of d s_T/d s_1; at initialisation (dashed) and now (solid)."""
    kind = history.model
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.12,
                        subplot_titles=("sigma_max of d s_(k+1) / d s_1 along the input",
                                        "singular values of d s_T / d s_1"))
    figures.style(fig, height=360, title=None)
    c = MODEL_COLORS.get(kind)
    for which, spec, dash in (("init", history.spectrum_init, "dash"), ("now", history.spectrum_now, "solid")):
        if spec is None:
            continue
        name = "at init" if which == "init" else f"now (step {spec.step})"
        k = np.arange(len(spec.log_sigma_max_path))
        fig.add_trace(go.Scatter(
            x=k, y=_ln_to_log10(spec.log_sigma_max_path), mode="lines", name=f"sigma_max {name}",
            line=dict(color=c, dash=dash, width=2.5), legendgroup=which,
            hovertemplate="k=%{x}<br>log10 sigma_max=%{y:.4g}<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Scatter(
            x=k, y=_ln_to_log10(spec.log_product_bound_path), mode="lines", name=f"prod sigma_max(J_t) {name}",
            line=dict(color=BOUND_COLOR, dash=dash, width=1.5), legendgroup=which,
            hovertemplate="k=%{x}<br>log10 prod sigma_max(J_t)=%{y:.4g}<extra></extra>"), row=1, col=1)
        if spec.log_weight_bound_path is not None:
            fig.add_trace(go.Scatter(
                x=k, y=_ln_to_log10(spec.log_weight_bound_path), mode="lines",
                name=f"(gamma sigma_max(W_hh))^k {name}", line=dict(color=WEIGHT_BOUND_COLOR, dash=dash, width=1.5),
                legendgroup=which,
                hovertemplate="k=%{x}<br>log10 bound=%{y:.4g}<extra></extra>"), row=1, col=1)
        lsv = _ln_to_log10(spec.log_singular_values)
        fig.add_trace(go.Scatter(
            x=np.arange(1, len(lsv) + 1), y=lsv, mode="lines+markers", name=f"sigma_i {name}",
            line=dict(color=c, dash=dash, width=2), marker=dict(size=4), legendgroup=which, showlegend=False,
            hovertemplate="i=%{x}<br>log10 sigma_i=%{y:.4g}<extra></extra>"), row=1, col=2)
        if spec.log_weight_bound is not None:
            fig.add_hline(y=spec.log_weight_bound / LN10, line=dict(color=WEIGHT_BOUND_COLOR, dash=dash, width=1.2),
                          row=1, col=2)
    fig.update_xaxes(title_text="k (steps back from s_(k+1) to s_1)", row=1, col=1)
    fig.update_yaxes(title_text="log10 sigma_max", row=1, col=1)
    fig.update_xaxes(title_text="index i (descending)", row=1, col=2)
    fig.update_yaxes(title_text="log10 sigma_i", row=1, col=2)
    fig.update_layout(margin=dict(t=40), height=470)
    return fig


def clipping_figure(result, window: int = 25) -> go.Figure:
    """Top: parameter-gradient norm before clipping (log y) with the threshold; bottom: fraction of
    the last ``window`` steps in which clipping fired."""
    cfg = result.config
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.08)
    figures.style(fig, height=380)
    for kind, h in result.histories.items():
        n = h.steps_done
        if not n:
            continue
        steps = np.arange(1, n + 1)
        c = MODEL_COLORS.get(kind)
        fig.add_trace(go.Scatter(x=steps, y=h.grad_norm, mode="lines", name=_label(kind), legendgroup=kind,
                                 line=dict(color=c, width=1.5),
                                 hovertemplate=f"{_label(kind)}<br>step %{{x}}<br>||g|| = %{{y:.3e}}<extra></extra>"),
                      row=1, col=1)
        w = max(1, min(window, n))
        rate = np.convolve(h.clipped.astype(float), np.ones(w) / w, mode="full")[:n]
        rate = rate * w / np.minimum(np.arange(1, n + 1), w)  # the first steps average over fewer
        fig.add_trace(go.Scatter(x=steps, y=rate, mode="lines", name=_label(kind), legendgroup=kind,
                                 showlegend=False, line=dict(color=c, width=2),
                                 hovertemplate=f"{_label(kind)}<br>step %{{x}}<br>clipped %{{y:.0%}}<extra></extra>"),
                      row=2, col=1)
    if cfg.clip:
        fig.add_hline(y=cfg.clip_threshold, line=dict(color="gray", dash="dash"), row=1, col=1,
                      annotation_text=f"threshold {cfg.clip_threshold:g}", annotation_position="top left")
    fig.update_yaxes(type="log", title_text="||dL/dtheta|| before clipping", exponentformat="power", row=1, col=1)
    fig.update_yaxes(title_text=f"clipped (last {window})", range=[-0.05, 1.05], tickformat=".0%", row=2, col=1)
    fig.update_xaxes(title_text="training step", row=2, col=1)
    return fig


def benchmark_figure(bench: dict, clock: str = "cpu") -> go.Figure:
    """Held-out MSE of each model in the shipped benchmark record against the training thread's
    CPU time (``clock="cpu"``, nearly independent of the machine's load) or wall time ("wall")."""
    cpu = clock == "cpu"
    x_title = "CPU time of the training thread (s)" if cpu else "wall time (s), on a loaded machine"
    fig = figures.new_figure(x_title=x_title, y_title="held-out MSE (log scale)", log_y=True, height=360)
    for i, (kind, run) in enumerate(bench.get("runs", {}).items()):
        xs = run.get("curve_cpu_seconds") if cpu else run["curve_seconds"]
        fig.add_trace(go.Scatter(
            x=xs, y=run["curve_mse"], mode="lines+markers", name=_label(kind), customdata=run["curve_steps"],
            line=dict(color=MODEL_COLORS.get(kind, figures.color(i)), width=2.5), marker=dict(size=4),
            hovertemplate=f"{_label(kind)}<br>%{{x:.1f}} s<br>step %{{customdata}}<br>MSE %{{y:.4g}}<extra></extra>"))
    _hline_log(fig, 1 / 6, "predict the mean: 1/6", "gray", "dash")
    target = bench.get("target_mse", 0.01)
    _hline_log(fig, target, f"target {target:g}", figures.color(2), "dot", position="bottom")
    fig.update_yaxes(exponentformat="power")
    if bench.get("time_limit_s"):
        fig.add_vline(x=bench["time_limit_s"], line=dict(color="gray", dash="dot"))
        fig.add_annotation(x=bench["time_limit_s"], y=1.0, yref="y domain", text=f"{bench['time_limit_s']:g} s",
                           showarrow=False, xanchor="left", yanchor="top")
    return fig
