"""Figure builders for the Attention, Positional encodings and Translation pages.

They take engine results (numpy arrays, dataclasses, history lists) and return plotly
figures; no math beyond picking what to draw.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import figures


def _labels(tokens: list[str]) -> list[str]:
    # plotly merges duplicate category labels; number them. Tokens may be typed by the user:
    # plotly renders a subset of HTML (<a href>, <b>, ...) in labels, so escape them.
    return [f"{i}:{html.escape(str(t), quote=False)}" for i, t in enumerate(tokens)]


# Readable on a projector: at least this many pixels per heatmap cell (and a floor).
CELL_PX = 30
LEGEND_ROW_PX = 26


def legend_below(fig: go.Figure, rows: int = 1) -> go.Figure:
    """Move the legend under the plot (below the x-axis title) so it never covers the title
    or the data, whatever its length; ``rows`` = expected legend rows (adds bottom margin)."""
    fig.update_layout(legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.0, xanchor="left",
                                  x=0.0, title=None),
                      margin=dict(b=60 + LEGEND_ROW_PX * rows))
    if fig.layout.height:
        fig.update_layout(height=int(fig.layout.height) + LEGEND_ROW_PX * rows)
    return fig


def matrix_height(n_rows: int) -> int:
    """Figure height giving every row at least CELL_PX pixels (plus title and axis room)."""
    return max(380, CELL_PX * n_rows + 170)


def matrix(z: np.ndarray, rows: list[str], cols: list[str], *, title: str, colorbar: str,
           diverging: bool = False, text: bool = True) -> go.Figure:
    """One attention-sized matrix as a heatmap; -inf entries (masked) shown blank."""
    z = np.asarray(z, dtype=float)
    shown = np.where(np.isfinite(z), z, np.nan)
    fig = figures.heatmap(
        shown, x=_labels(cols), y=_labels(rows), colorscale=figures.DIVERGING if diverging else figures.SEQUENTIAL,
        zmid=0.0 if diverging else None, colorbar_title=colorbar, text_fmt=".2f" if text and z.size <= 144 else None,
        title=title, x_title="key position : token", y_title="query position : token", height=matrix_height(len(rows)),
    )
    fig.update_xaxes(tickangle=-45 if len(cols) > 8 else 0)
    return fig


def vectors(z: np.ndarray, tokens: list[str], *, title: str) -> go.Figure:
    """Token vectors (rows) over hidden dimensions."""
    return figures.heatmap(np.asarray(z), x=list(range(z.shape[1])), y=_labels(tokens), colorscale=figures.DIVERGING,
                           zmid=0.0, colorbar_title="value", title=title, x_title="hidden dimension",
                           y_title="position : token", height=max(320, 24 * len(tokens) + 150))


def entropy_bars(entropy: np.ndarray, tokens: list[str], max_entropy: np.ndarray) -> go.Figure:
    fig = figures.new_figure(title="Attention entropy per query", x_title="query position : token",
                             y_title="entropy (nats)", height=320)
    labels = _labels(tokens)
    fig.add_bar(x=labels, y=entropy, name="entropy of the row", marker_color=figures.color(0),
                hovertemplate="%{x}<br>%{y:.3f} nats<extra></extra>")
    fig.add_scatter(x=labels, y=max_entropy, mode="markers+lines", name="maximum ln(#allowed keys)",
                    line=dict(color=figures.color(3), dash="dot"))
    return legend_below(fig)


# ---------------------------------------------------------------------------
# Positional encodings
# ---------------------------------------------------------------------------
def encoding_heatmap(pe: np.ndarray, *, title: str, n_train: int | None = None) -> go.Figure:
    fig = figures.heatmap(pe, x=list(range(pe.shape[1])), y=list(range(pe.shape[0])), colorscale=figures.DIVERGING,
                          zmid=0.0, colorbar_title="PE value", title=title, x_title="encoding dimension",
                          y_title="position p", height=420)
    fig.update_yaxes(dtick=max(1, pe.shape[0] // 8))  # whole positions only
    if n_train is not None and n_train < pe.shape[0]:
        fig.add_hline(y=n_train - 0.5, line=dict(color="black", dash="dash"),
                      annotation_text="longest training length L", annotation_position="bottom left",
                      annotation_font=dict(color="black"), annotation_bgcolor="rgba(255,255,255,0.8)")
    return fig


def dot_vs_distance(curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> go.Figure:
    """``curves[name] = (mean, min, max)`` of cosine similarity PE[p].PE[p+d] / norms over p."""
    fig = figures.new_figure(title="Similarity of two positions against their distance",
                             x_title="distance d = |p - q| (positions)", y_title="cosine similarity", height=380)
    for i, (name, (mean, lo, hi)) in enumerate(curves.items()):
        d = np.arange(len(mean))
        c = figures.color(i)
        fig.add_scatter(x=np.concatenate([d, d[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                        line=dict(width=0), fillcolor=c, opacity=0.15, name=f"{name}: range over p",
                        hoverinfo="skip", showlegend=True)
        fig.add_scatter(x=d, y=mean, mode="lines+markers", name=f"{name}: mean over p", line=dict(color=c),
                        hovertemplate="d=%{x}<br>cos=%{y:.3f}<extra>" + name + "</extra>")
    return legend_below(fig, rows=2)


def similarity_matrix(sim: np.ndarray, *, title: str, n_train: int | None = None) -> go.Figure:
    fig = figures.heatmap(sim, x=list(range(sim.shape[1])), y=list(range(sim.shape[0])), colorscale=figures.DIVERGING,
                          zmid=0.0, colorbar_title="cosine", title=title, x_title="position q",
                          y_title="position p", height=380)
    fig.update_xaxes(dtick=max(1, sim.shape[1] // 8))
    fig.update_yaxes(dtick=max(1, sim.shape[0] // 8))
    if n_train is not None and n_train < sim.shape[0]:
        fig.add_hline(y=n_train - 0.5, line=dict(color="black", dash="dash"))
        fig.add_vline(x=n_train - 0.5, line=dict(color="black", dash="dash"))
    return fig


# ---------------------------------------------------------------------------
# Translation
# ---------------------------------------------------------------------------
def loss_curves(histories: dict[str, list[dict]], *, x: str = "epoch", live: list[dict] | None = None) -> go.Figure:
    """Validation (solid) and training (dotted) loss per run against epochs or tokens.

    One legend entry per run (clicking it toggles both of its curves), plus two grey
    entries saying which line style is which; the legend sits under the plot (below the
    x-axis title), so a long list never squeezes or covers the curves or the title."""
    x_title = {"epoch": "epoch", "tokens_seen": "training tokens", "seconds": "wall-clock seconds"}[x]
    fig = figures.new_figure(title="Loss curves", x_title=x_title, y_title="cross-entropy (nats per target token)",
                             log_y=True, log_x=(x == "tokens_seen"), height=440)
    for i, (name, hist) in enumerate(histories.items()):
        ev = [h for h in hist if h.get("val_loss") is not None]
        if not ev:
            continue
        c = figures.color(i)
        fig.add_scatter(x=[h[x] for h in ev], y=[h["val_loss"] for h in ev], mode="lines+markers", name=name,
                        legendgroup=name, line=dict(color=c), marker=dict(size=5),
                        hovertemplate="%{x:.3g}<br>val %{y:.4f}<extra>" + name + "</extra>")
        fig.add_scatter(x=[h[x] for h in ev], y=[h["train_loss"] for h in ev], mode="lines", name=f"{name} train",
                        legendgroup=name, showlegend=False, line=dict(color=c, dash="dot"),
                        hovertemplate="%{x:.3g}<br>train (smoothed labels) %{y:.4f}<extra>" + name + "</extra>")
    if live:
        fig.add_scatter(x=[h[x] for h in live], y=[h["train_loss"] for h in live], mode="lines", name="train (per step)",
                        line=dict(color=figures.color(7), width=1), opacity=0.5)
    for label, dash in (("validation (solid)", "solid"), ("training (dotted)", "dot")):
        fig.add_scatter(x=[None], y=[None], mode="lines", name=label, legendgroup="__style",
                        line=dict(color="grey", dash=dash), hoverinfo="skip")
    legend_below(fig, rows=max(1, -(-(len(histories) + 2) // 5)))
    fig.update_layout(legend=dict(groupclick="togglegroup", title=dict(text="click a run to hide it:", side="left")))
    return fig


def table1_bars(rows: list[dict]) -> go.Figure:
    """Ours vs the write-up's lowest validation loss per (hidden, dataset)."""
    fig = figures.new_figure(title="Table 1: lowest validation loss, ours vs write-up",
                             x_title="run", y_title="validation loss (nats per target token)", height=380)
    labels = [r["label"] for r in rows]
    fig.add_bar(x=labels, y=[r["writeup"] for r in rows], name="write-up", marker_color=figures.color(1),
                hovertemplate="%{x}<br>write-up %{y:.3f}<extra></extra>")
    fig.add_bar(x=labels, y=[r["ours"] for r in rows], name="ours", marker_color=figures.color(0),
                hovertemplate="%{x}<br>ours %{y:.3f}<extra></extra>")
    fig.update_layout(barmode="group")
    return legend_below(fig)


def attention_grid(maps: list, *, title: str) -> go.Figure:
    """``maps``: AttentionMap list of one kind; rows = layers, columns = heads (overview)."""
    if not maps:
        return figures.new_figure(title=title)
    n_layers, n_heads = len(maps), maps[0].weights.shape[0]
    fig = make_subplots(rows=n_layers, cols=n_heads, horizontal_spacing=0.03, vertical_spacing=0.06,
                        subplot_titles=[f"L{m.layer + 1} H{h + 1}" for m in maps for h in range(n_heads)])
    for r, m in enumerate(maps):
        xs, ys = _labels(m.key_tokens), _labels(m.query_tokens)
        for h in range(n_heads):
            fig.add_trace(go.Heatmap(z=m.weights[h], x=xs, y=ys, colorscale=figures.SEQUENTIAL, zmin=0, zmax=1,
                                     showscale=(r == 0 and h == n_heads - 1), colorbar=dict(title="weight"),
                                     hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.3f}<extra></extra>"),
                          row=r + 1, col=h + 1)
    figures.style(fig, title=title, legend=False, height=max(300, 260 * n_layers))
    fig.update_annotations(font_size=12)
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=True, col=1)
    fig.update_xaxes(showticklabels=True, row=n_layers)
    fig.update_xaxes(title_text="key token", row=n_layers)
    fig.update_yaxes(title_text="query token", col=1)
    return fig


def attention_heads(m, *, title: str, heads: list[int] | None = None, cols: int = 2) -> go.Figure:
    """One layer's attention (an AttentionMap), one panel per head, sized for a projector: every
    cell at least CELL_PX pixels tall. ``heads`` (0-based) picks heads (default all); ``cols``
    panels per row.

    The panels are tiled into ONE heatmap on one pair of axes, with a blank (NaN) row and column
    between panels: panel (r, c) holds head ``heads[r * cols + c]`` at rows
    r (n_q + 1) ... r (n_q + 1) + n_q - 1 and columns c (n_k + 1) ... c (n_k + 1) + n_k - 1.
    Every head of a layer reads the same query and key tokens, so the tick labels name the
    tokens of every panel (keys under the bottom row, queries beside each row) and the hover
    names the head. One trace and one axis pair instead of one per head: the browser draws the
    four heads of a layer in about half the time (issue 12, the translation page).
    """
    heads = list(range(m.weights.shape[0])) if heads is None else list(heads)
    cols = max(1, min(cols, len(heads)))
    rows = -(-len(heads) // cols)
    xs, ys = _labels(m.key_tokens), _labels(m.query_tokens)
    nq, nk = len(ys), len(xs)
    z = np.full((rows * (nq + 1) - 1, cols * (nk + 1) - 1), np.nan)
    text = np.full(z.shape, "", dtype=object)
    annotations = []
    for i, h in enumerate(heads):
        r, c = divmod(i, cols)
        r0, c0 = r * (nq + 1), c * (nk + 1)
        z[r0:r0 + nq, c0:c0 + nk] = m.weights[h]
        for a in range(nq):
            for b in range(nk):
                text[r0 + a, c0 + b] = f"head {h + 1}<br>query {ys[a]}<br>key {xs[b]}"
        annotations.append(dict(text=f"head {h + 1}", x=c0 + (nk - 1) / 2, y=r0 - 0.5, xref="x", yref="y",
                                xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=14)))
    top, bottom = 90, 110
    height = rows * max(300, CELL_PX * nq + 40) + top + bottom
    tick = dict(size=12)
    fig = go.Figure(
        data=[go.Heatmap(z=z, text=text.tolist(), colorscale=figures.SEQUENTIAL, zmin=0, zmax=1, hoverongaps=False,
                         colorbar=dict(title=dict(text="weight"), len=min(1.0, 600 / height), y=1.0, yanchor="top"),
                         hovertemplate="%{text}<br>weight %{z:.3f}<extra></extra>")],
        layout=dict(
            title=dict(text=title, x=0.0, xanchor="left"), height=height, showlegend=False, annotations=annotations,
            margin=dict(l=60, r=20, t=top, b=bottom), hovermode="closest",
            font=dict(family=figures.FONT_FAMILY, size=figures.BASE_FONT_SIZE),
            xaxis=dict(tickvals=[c * (nk + 1) + b for c in range(cols) for b in range(nk)], ticktext=xs * cols,
                       tickangle=-60, tickfont=tick, title=dict(text="key token", standoff=4), showgrid=False,
                       zeroline=False),
            yaxis=dict(tickvals=[r * (nq + 1) + a for r in range(rows) for a in range(nq)], ticktext=ys * rows,
                       autorange="reversed", tickfont=tick, title=dict(text="query token"), showgrid=False,
                       zeroline=False),
        ))
    return fig


def accuracy_by_length(rows: dict[str, list[tuple[int, float, int]]]) -> go.Figure:
    """``rows[name] = [(length, accuracy, count), ...]``."""
    fig = figures.new_figure(title="Held-out word accuracy by word length", x_title="source word length (letters)",
                             y_title="exact-match accuracy", height=360)
    for i, (name, pts) in enumerate(rows.items()):
        fig.add_scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers", name=name,
                        line=dict(color=figures.color(i)), customdata=[p[2] for p in pts],
                        hovertemplate="length %{x}<br>accuracy %{y:.3f}<br>%{customdata} words<extra>" + name + "</extra>")
    fig.update_yaxes(range=[0, 1.02])
    return legend_below(fig)
