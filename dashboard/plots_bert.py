"""Figure builders for the BERT fine-tuning lab (write-up §3). Engine results in, plotly out."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from dashboard import figures


def _safe(text: str) -> str:
    """Run labels may hold a typed model id: HTML-escape them (plotly renders <a>, <b> in labels)."""
    return html.escape(str(text), quote=False)


def accuracy_curves(results: list, *, x: str = "epoch") -> go.Figure:
    """Validation accuracy after each epoch, one line per run.

    ``x="epoch"`` plots against the epoch number; ``x="time"`` against cumulative training
    wall time (seconds, log axis: frozen heads finish in milliseconds, full runs in minutes).
    """
    by_time = x == "time"
    fig = figures.new_figure(
        x_title="cumulative training time (s, log)" if by_time else "epoch",
        y_title="validation accuracy",
        log_x=by_time,
        height=400,
    )
    for i, r in enumerate(results):
        epochs = [e.epoch for e in r.epochs]
        cum, t = [], 0.0
        for e in r.epochs:
            t += e.wall_time_s
            cum.append(max(t, 1e-4))
        fig.add_trace(
            go.Scatter(
                x=cum if by_time else epochs,
                y=[e.val_accuracy for e in r.epochs],
                mode="lines+markers",
                name=_safe(r.label),
                line=dict(color=figures.color(i), dash="solid" if r.mode == "full" else "dot"),
                customdata=[[e.epoch, e.wall_time_s, e.train_loss] for e in r.epochs],
                hovertemplate=(
                    f"{_safe(r.label)}<br>epoch %{{customdata[0]}}<br>val accuracy %{{y:.3f}}"
                    "<br>epoch time %{customdata[1]:.3g} s<br>train loss %{customdata[2]:.3f}<extra></extra>"
                ),
            )
        )
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    fig.add_hline(y=1 / 3, line=dict(color="gray", dash="dash", width=1), annotation_text="chance (1/3)")
    return fig


def time_per_epoch(results: list) -> go.Figure:
    """Mean training wall time per epoch (bars, log axis), with feature-caching time stacked
    for frozen runs that cache the encoder's pooled features once."""
    fig = figures.new_figure(x_title="run", y_title="seconds per epoch (log)", log_y=True, height=400)
    labels = [_safe(r.label) for r in results]
    fig.add_trace(
        go.Bar(
            x=labels,
            y=[max(r.time_per_epoch_s, 1e-5) for r in results],
            name="training time per epoch",
            marker_color=[figures.color(i) for i in range(len(results))],
            customdata=[[r.trainable_params, r.mode] for r in results],
            hovertemplate="%{x}<br>%{y:.3g} s per epoch<br>trainable parameters %{customdata[0]:,}<extra></extra>",
        )
    )
    feats = [r.feature_time_s if r.feature_time_s > 0 else None for r in results]
    if any(f is not None for f in feats):
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=feats,
                mode="markers",
                marker=dict(symbol="diamond", size=12, color=figures.color(7)),
                name="one-off feature caching (s)",
                hovertemplate="%{x}<br>encoder pass to cache features: %{y:.3g} s<extra></extra>",
            )
        )
    fig.update_xaxes(tickangle=-20)
    return fig


def class_probabilities(prediction) -> go.Figure:
    """Horizontal bars of softmax class probabilities for one live prediction."""
    names = list(prediction.probabilities)
    probs = [prediction.probabilities[n] for n in names]
    fig = figures.new_figure(x_title="probability", y_title="class", height=240, legend=False)
    fig.add_trace(
        go.Bar(
            x=probs,
            y=names,
            orientation="h",
            marker_color=[figures.color(i) for i in range(len(names))],
            text=[f"{p:.1%}" for p in probs],
            textposition="auto",
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    return fig


def confusion_matrix(labels: list[str], matrix) -> go.Figure:
    """Rows: true sign, columns: predicted sign; cells: fraction of the row (count in the tooltip)."""
    m = np.asarray(matrix, dtype=float)
    rows = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig = figures.heatmap(rows, x=list(labels), y=list(labels), colorscale=figures.SEQUENTIAL,
                          colorbar_title="fraction of row", text_fmt=".3f", x_title="predicted sign",
                          y_title="true sign", height=330)
    fig.update_traces(customdata=m.astype(int), zmin=0, zmax=1,
                      hovertemplate="true %{y}<br>predicted %{x}<br>%{z:.1%} of the row (%{customdata} "
                                    "expressions)<extra></extra>")
    return fig
