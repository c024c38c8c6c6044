"""Figures for the write-up audit page: claimed vs computed, and the verdict summary."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard import figures

VERDICT_COLOURS = {"holds": "#2ca02c", "fails": "#d62728", "holds with caveat": "#ff7f0e",
                   "not reproduced": "#9467bd", "depends on the law": "#1f77b4", "error": "#7f7f7f"}


def claimed_vs_computed(compare: dict, *, log_scale: bool = False, title: str | None = None) -> go.Figure:
    """Grouped bars: for each label, the write-up's value beside the computed one.

    ``compare`` maps a label to ``(claimed, computed)``. Log axis when ``log_scale`` and
    every value is positive.
    """
    labels = list(compare)
    claimed = [float(compare[k][0]) for k in labels]
    computed = [float(compare[k][1]) for k in labels]
    log_y = log_scale and all(v > 0 for v in claimed + computed)
    fig = figures.new_figure(title=title, x_title="quantity", y_title="value" + (" (log scale)" if log_y else ""),
                             log_y=log_y, height=300)
    fig.add_bar(x=labels, y=claimed, name="write-up", marker_color=figures.color(1),
                hovertemplate="%{x}<br>write-up: %{y:.4g}<extra></extra>")
    fig.add_bar(x=labels, y=computed, name="computed", marker_color=figures.color(0),
                hovertemplate="%{x}<br>computed: %{y:.4g}<extra></extra>")
    fig.update_layout(barmode="group")
    return fig


def verdict_summary(counts: dict[str, int], sections: dict[str, dict[str, int]]) -> go.Figure:
    """Stacked bars per write-up section: how many claims hold, fail, or hold with a caveat."""
    names = list(sections)
    fig = figures.new_figure(x_title="write-up section", y_title="claims (count)", height=280)
    for verdict, colour in VERDICT_COLOURS.items():
        if not counts.get(verdict) and verdict not in ("holds", "fails", "holds with caveat"):
            continue  # no empty legend entries for the rarer verdicts
        fig.add_bar(x=names, y=[sections[s].get(verdict, 0) for s in names], name=f"{verdict} ({counts.get(verdict, 0)})",
                    marker_color=colour, hovertemplate="section %{x}<br>" + verdict + ": %{y}<extra></extra>")
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    return fig
