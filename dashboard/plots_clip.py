"""Figure builders for the CLIP prompting lab (take engine results, return plotly figures)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard import figures


def probability_bars(prompts: Sequence[str], probabilities: Sequence[float], *, title: str | None = None) -> go.Figure:
    """Horizontal bars: softmax probability of each prompt (top prompt highlighted)."""
    p = np.asarray(probabilities, dtype=float)
    best = int(np.argmax(p)) if len(p) else -1
    colours = [figures.color(1) if i == best else figures.color(0) for i in range(len(p))]
    fig = figures.new_figure(title=title, x_title="probability p_k = softmax(tau cos) (0..1)", y_title="prompt",
                             height=max(260, 34 * len(p) + 110), legend=False)
    fig.add_bar(
        x=p, y=list(prompts), orientation="h", marker_color=colours, name="probability",
        text=[f"{v:.1%}" for v in p], textposition="auto",
        hovertemplate="%{y}<br>p = %{x:.4f}<extra></extra>",
    )
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(autorange="reversed")
    return fig


def similarity_heatmap(image_names: Sequence[str], prompts: Sequence[str], cosine: np.ndarray) -> go.Figure:
    """Images (rows) x prompts (columns) cosine similarity <f_i, g_k>."""
    fig = figures.heatmap(
        np.asarray(cosine), x=list(prompts), y=list(image_names), colorscale=figures.SEQUENTIAL,
        colorbar_title="cosine", text_fmt=".2f" if np.size(cosine) <= 120 else None,
        x_title="prompt", y_title="image", height=max(300, 42 * len(image_names) + 160),
    )
    fig.update_traces(hovertemplate="image %{y}<br>prompt %{x}<br>cosine %{z:.3f}<extra></extra>")
    fig.update_xaxes(tickangle=-30)
    return fig


def sensitivity_bars(prompts: Sequence[str], probability: Sequence[float], win_rate: Sequence[float]) -> go.Figure:
    """Grouped bars per prompt variant: mean probability and fraction of images ranked first."""
    fig = figures.new_figure(x_title="prompt variant", y_title="fraction (0..1)", height=340)
    fig.add_bar(x=list(prompts), y=list(probability), name="mean probability", marker_color=figures.color(0),
                hovertemplate="%{x}<br>mean p = %{y:.3f}<extra></extra>")
    fig.add_bar(x=list(prompts), y=list(win_rate), name="ranked first (fraction of images)",
                marker_color=figures.color(1), hovertemplate="%{x}<br>ranked first on %{y:.0%}<extra></extra>")
    fig.add_hline(y=0.5, line_dash="dot", line_color=figures.color(7), annotation_text="works if > 50% first")
    fig.update_yaxes(range=[0, 1.05])
    fig.update_layout(barmode="group")
    return fig
