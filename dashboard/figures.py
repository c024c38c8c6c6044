"""One place for plot defaults: fonts, palette, axes, export settings.

Every figure builder in the project starts from :func:`new_figure` (or passes an
existing figure through :func:`style`) so that fonts, the colour-blind-safe palette,
labelled axes and hover formatting are the same on every page. Figure builders take
engine results and return plotly figures; they never compute math themselves.

Lecture mode (larger fonts for projectors) is applied at display time by
:func:`scale_fonts`, so builders stay pure and cacheable.
"""

from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go

# Okabe & Ito (2008) colour-blind-safe palette, black moved last.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
# Diverging and sequential scales for heatmaps (colour-blind safe).
DIVERGING = "RdBu_r"
SEQUENTIAL = "Viridis"

BASE_FONT_SIZE = 14
LECTURE_FONT_SCALE = 1.6
FONT_FAMILY = "Source Sans Pro, Helvetica, Arial, sans-serif"

EXPORT_FORMATS = ("png", "svg")


def color(i: int) -> str:
    """The i-th palette colour, cycling."""
    return PALETTE[i % len(PALETTE)]


def style(
    fig: go.Figure,
    *,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    height: int | None = 420,
    legend: bool = True,
) -> go.Figure:
    """Apply the project's defaults to ``fig`` in place and return it.

    Axis titles should carry units where there are any, e.g. ``"FLOPs (C)"`` or
    ``"log10 sigma_max"``; values spanning decades should use ``log_x``/``log_y``.
    """
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left") if title else None,
        font=dict(family=FONT_FAMILY, size=BASE_FONT_SIZE),
        colorway=list(PALETTE),
        margin=dict(l=60, r=20, t=50 if title else 20, b=55),
        hovermode="closest",
        showlegend=legend,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1.0),
        height=height,
    )
    fig.update_xaxes(title_text=x_title, type="log" if log_x else None, showgrid=True, zeroline=False)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else None, showgrid=True, zeroline=False)
    return fig


def new_figure(**kwargs) -> go.Figure:
    """A fresh figure with the project's defaults; keyword arguments as :func:`style`."""
    return style(go.Figure(), **kwargs)


def heatmap(
    z,
    *,
    x: Iterable | None = None,
    y: Iterable | None = None,
    colorscale: str = SEQUENTIAL,
    zmid: float | None = None,
    colorbar_title: str | None = None,
    text_fmt: str | None = None,
    **style_kwargs,
) -> go.Figure:
    """A labelled heatmap with the first row at the top (matrix orientation).

    ``text_fmt`` (e.g. ``".2f"``) writes each cell's value in the cell; use it for
    small matrices only.
    """
    trace = go.Heatmap(
        z=z,
        x=list(x) if x is not None else None,
        y=list(y) if y is not None else None,
        colorscale=colorscale,
        zmid=zmid,
        colorbar=dict(title=colorbar_title) if colorbar_title else None,
        texttemplate=f"%{{z:{text_fmt}}}" if text_fmt else None,
        hovertemplate="row %{y}<br>col %{x}<br>value %{z:.4g}<extra></extra>",
    )
    fig = go.Figure(trace)
    style(fig, legend=False, **style_kwargs)
    fig.update_yaxes(autorange="reversed")
    return fig


def scale_fonts(fig: go.Figure, scale: float) -> go.Figure:
    """Return a copy of ``fig`` with every font enlarged by ``scale`` (lecture mode)."""
    if scale == 1.0:
        return fig
    out = go.Figure(fig)
    base = (out.layout.font.size or BASE_FONT_SIZE) * scale
    out.update_layout(font=dict(size=base))
    if out.layout.title and out.layout.title.text:
        out.update_layout(title_font=dict(size=base * 1.15))
    out.update_xaxes(title_font=dict(size=base), tickfont=dict(size=base * 0.9))
    out.update_yaxes(title_font=dict(size=base), tickfont=dict(size=base * 0.9))
    if out.layout.height:
        out.update_layout(height=int(out.layout.height * min(scale, 1.3)))
    return out


def plot_config(export_format: str = "png", filename: str = "gradient-scaling-lab") -> dict:
    """plotly ``config`` for ``st.plotly_chart``: the modebar's camera button exports
    SVG, or PNG at 2x scale (for slides). Export happens in the browser, so no
    server-side image library is needed."""
    if export_format not in EXPORT_FORMATS:
        export_format = "png"
    return {
        "displaylogo": False,
        "toImageButtonOptions": {
            "format": export_format,
            "filename": filename,
            "scale": 2 if export_format == "png" else 1,
        },
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }
