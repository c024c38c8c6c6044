"""Figure builders for the CLIP prompting lab (take engine results, return plotly figures)."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard import figures


def _safe(labels: Sequence[str], limit: int = 60) -> list[str]:
    """User text as plotly labels: HTML-escaped (plotly renders <a>, <b>, ... in labels), shortened."""
    out = []
    for t in labels:
        t = str(t)
        t = t if len(t) <= limit else t[: limit - 1] + "\u2026"
        out.append(html.escape(t, quote=False))
    # plotly merges equal category labels; keep repeated prompts apart
    seen: dict[str, int] = {}
    for i, t in enumerate(out):
        seen[t] = seen.get(t, 0) + 1
        if seen[t] > 1:
            out[i] = f"{t} ({seen[t]})"
    return out


def probability_bars(prompts: Sequence[str], probabilities: Sequence[float], *, title: str | None = None) -> go.Figure:
    """Horizontal bars: softmax probability of each prompt (top prompt highlighted)."""
    p = np.asarray(probabilities, dtype=float)
    best = int(np.argmax(p)) if len(p) else -1
    colours = [figures.color(1) if i == best else figures.color(0) for i in range(len(p))]
    fig = figures.new_figure(title=title, x_title="probability p_k = softmax(tau cos) (0..1)", y_title="prompt",
                             height=max(260, 34 * len(p) + 110), legend=False)
    fig.add_bar(
        x=p, y=_safe(prompts), orientation="h", marker_color=colours, name="probability",
        text=[f"{v:.1%}" for v in p], textposition="auto",
        hovertemplate="%{y}<br>p = %{x:.4f}<extra></extra>",
    )
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(autorange="reversed")
    return fig


def similarity_heatmap(image_names: Sequence[str], prompts: Sequence[str], cosine: np.ndarray) -> go.Figure:
    """Images (rows) x prompts (columns) cosine similarity <f_i, g_k>."""
    fig = figures.heatmap(
        np.asarray(cosine), x=_safe(prompts, 40), y=_safe(image_names, 40), colorscale=figures.SEQUENTIAL,
        colorbar_title="cosine", text_fmt=".2f" if np.size(cosine) <= 120 else None,
        x_title="prompt", y_title="image", height=max(300, 42 * len(image_names) + 160),
    )
    fig.update_traces(hovertemplate="image %{y}<br>prompt %{x}<br>cosine %{z:.3f}<extra></extra>")
    fig.update_xaxes(tickangle=-30)
    return fig


def sensitivity_bars(prompts: Sequence[str], probability: Sequence[float], win_rate: Sequence[float],
                     match_rate: Sequence[float] | None = None, *, min_cosine: float | None = None) -> go.Figure:
    """Grouped bars per prompt variant: mean probability, fraction of images ranked first and,
    when given, fraction matched (ranked first with a cosine of at least ``min_cosine``)."""
    fig = figures.new_figure(x_title="prompt variant", y_title="fraction (0..1)", height=340)
    fig.add_bar(x=_safe(prompts), y=list(probability), name="mean probability", marker_color=figures.color(0),
                hovertemplate="%{x}<br>mean p = %{y:.3f}<extra></extra>")
    fig.add_bar(x=_safe(prompts), y=list(win_rate), name="ranked first (fraction of images)",
                marker_color=figures.color(1), hovertemplate="%{x}<br>ranked first on %{y:.0%}<extra></extra>")
    works = "works if > 50% first"
    if match_rate is not None:
        level = f" and cosine ≥ {min_cosine:.2f}" if min_cosine is not None and np.isfinite(min_cosine) else ""
        fig.add_bar(x=_safe(prompts), y=list(match_rate), name=f"matched: first{level}", marker_color=figures.color(2),
                    hovertemplate="%{x}<br>matched on %{y:.0%}<extra></extra>")
        works = "works if > 50% matched"
    fig.add_hline(y=0.5, line_dash="dot", line_color=figures.color(7), annotation_text=works)
    fig.update_yaxes(range=[0, 1.05])
    fig.update_layout(barmode="group")
    return fig


def confusion_matrix(labels: Sequence[str], matrix: Sequence[Sequence[int]], *, attribute: str) -> go.Figure:
    """Confusion matrix of one attribute: rows = true class, columns = predicted class, cell =
    fraction of that row's images (the count is in the tooltip)."""
    m = np.asarray(matrix, dtype=float)
    rows = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig = figures.heatmap(rows, x=list(labels), y=list(labels), colorscale=figures.SEQUENTIAL,
                          colorbar_title="fraction of row", text_fmt=".2f", x_title=f"predicted {attribute}",
                          y_title=f"true {attribute}", height=120 + 46 * len(labels))
    fig.update_traces(customdata=m.astype(int), zmin=0, zmax=1,
                      hovertemplate="true %{y}<br>predicted %{x}<br>%{z:.1%} of the row (%{customdata} images)"
                                    "<extra></extra>")
    return fig


def per_class_accuracy(per_class: dict[str, dict[str, float]], names: dict[str, str]) -> go.Figure:
    """Grouped bars: per-class accuracy (recall) of each held-out set (``per_class[set][class]``)."""
    fig = figures.new_figure(x_title="class", y_title="accuracy (fraction of its images)", height=330)
    for i, (key, vals) in enumerate(per_class.items()):
        fig.add_bar(x=list(vals), y=list(vals.values()), name=names.get(key, key), marker_color=figures.color(i),
                    text=[f"{v:.1%}" for v in vals.values()], textposition="outside",
                    hovertemplate="%{x}: %{y:.2%}<extra>" + names.get(key, key) + "</extra>")
    lo = min([min(v.values()) for v in per_class.values() if v] + [0.9])
    fig.update_yaxes(range=[max(0.0, lo - 0.08), 1.04], tickformat=".0%")
    fig.update_layout(barmode="group")
    return fig


def domain_scores(named_scores: dict[str, Sequence[float]], threshold: float) -> go.Figure:
    """Strip plot of out-of-domain detector scores per group, with the calibrated threshold."""
    fig = figures.new_figure(x_title="domain score (logit; below the line = out of domain)", y_title="", height=260,
                             legend=False)
    for i, (name, vals) in enumerate(named_scores.items()):
        fig.add_scatter(x=list(vals), y=[name] * len(vals), mode="markers", name=name,
                        marker=dict(color=figures.color(i), size=7, opacity=0.6),
                        hovertemplate=name + ": %{x:.2f}<extra></extra>")
    fig.add_vline(x=threshold, line_dash="dash", line_color=figures.color(3),
                  annotation_text=f"threshold {threshold:.2f}")
    return fig
