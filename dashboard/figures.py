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
import plotly.io as pio

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
# Top margin (px) without / with a title: the toolbar sits in it, above the plot.
TOP_MARGIN = 36
TOP_MARGIN_TITLE = 64
# The default legend: below the x-axis title, anchored to the figure's bottom edge
# (plotly then enlarges the bottom margin to fit it), scrolling past this fraction
# of the figure height.
LEGEND_MAX_HEIGHT = 0.3
LEGEND_BELOW = dict(orientation="h", yref="container", y=0.0, yanchor="bottom", x=0.0, xanchor="left",
                    maxheight=LEGEND_MAX_HEIGHT, title=dict(side="top left"))
# plotly's own default sizes (px) for fonts that do not inherit layout.font.
PLOTLY_HOVER_FONT = 13


# The project's plotly template: plotly's default template ("plotly", a blue-grey plot area)
# replaced by a plain one on the page's own background. Written for the light theme; the
# browser side (dashboard/chart.js) recolours text and grid lines to the page's text colour,
# so the dark theme reads too. Registered as the default, so every figure carries it.
TEXT_COLOR = "#31333F"
GRID_COLOR = "rgba(49,51,63,0.16)"
_AXIS = dict(gridcolor=GRID_COLOR, zerolinecolor=GRID_COLOR, linecolor=GRID_COLOR, tickcolor=GRID_COLOR,
             tickfont=dict(size=BASE_FONT_SIZE - 2), title=dict(standoff=10), automargin=True,
             # plotly's default for a non-category axis ("hide past div") measures every tick label's
             # box after drawing it, a forced layout per label: 20-30 ms a move on the translation
             # page's attention maps. automargin already keeps the labels inside the figure.
             ticklabeloverflow="allow")
TEMPLATE = go.layout.Template(layout=dict(
    font=dict(family=FONT_FAMILY, size=BASE_FONT_SIZE, color=TEXT_COLOR),
    title=dict(font=dict(size=BASE_FONT_SIZE + 1, weight="bold")),
    colorway=list(PALETTE),
    paper_bgcolor="rgba(0,0,0,0)",
    plot_bgcolor="rgba(0,0,0,0)",
    colorscale=dict(sequential=SEQUENTIAL, sequentialminus=SEQUENTIAL, diverging=DIVERGING),
    xaxis=_AXIS,
    yaxis=_AXIS,
    hoverlabel=dict(bgcolor="white", font=dict(family=FONT_FAMILY)),
    legend=dict(bgcolor="rgba(0,0,0,0)"),
    coloraxis=dict(colorbar=dict(ticklabeloverflow="allow")),
), data=dict(heatmap=[go.Heatmap(colorbar=dict(ticklabeloverflow="allow"))],
             contour=[go.Contour(colorbar=dict(ticklabeloverflow="allow"))]))
pio.templates["gsl"] = TEMPLATE
pio.templates.default = "gsl"


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

    Layout defaults keep text from overlapping (issue 14): the legend sits *below*
    the x-axis title (anchored to the figure's bottom edge, so plotly grows the bottom
    margin for it and it never covers the title or the data) and scrolls past
    :data:`LEGEND_MAX_HEIGHT` of the figure; the top margin leaves room for the title
    and, above the plotting area, for the toolbar.
    """
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left", y=1.0, yanchor="top", yref="container",
                   pad=dict(t=12, l=4), automargin=True) if title else None,
        font=dict(family=FONT_FAMILY, size=BASE_FONT_SIZE),
        colorway=list(PALETTE),
        margin=dict(l=60, r=20, t=TOP_MARGIN_TITLE if title else TOP_MARGIN, b=55),
        hovermode="closest",
        showlegend=legend,
        legend=LEGEND_BELOW,
        height=height,
    )
    fig.update_xaxes(title_text=x_title, type="log" if log_x else None, showgrid=True, zeroline=False,
                     automargin=True)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else None, showgrid=True, zeroline=False,
                     automargin=True)
    return fig


def legend_below(fig: go.Figure, *, max_height: float = LEGEND_MAX_HEIGHT) -> go.Figure:
    """Put the legend under the x-axis title, left-aligned, scrolling past
    ``max_height`` (a fraction of the figure height, or pixels when > 1)."""
    fig.update_layout(legend=dict(LEGEND_BELOW, maxheight=max_height))
    return fig


def legend_right(fig: go.Figure) -> go.Figure:
    """Put the legend right of the plotting area (outside it; plotly widens the right
    margin), one entry per line, top-aligned. Good for a few long names on wide
    screens; on narrow screens it takes width from the plot."""
    fig.update_layout(legend=dict(orientation="v", x=1.02, xanchor="left", y=1.0, yanchor="top",
                                  yref="paper", maxheight=None))
    return fig


def fit_legend(fig: go.Figure, *, group_by: dict[str, str] | None = None, max_entries: int = 8,
               plot_height: int = 320) -> go.Figure:
    """Make a long legend readable (issue 14): legends with more than ``max_entries``
    entries are grouped, toggle whole groups, and the figure grows so the plotting area
    keeps about ``plot_height`` pixels while the legend scrolls beneath it.

    ``group_by`` maps a trace name to a group title (e.g. ``{"h=64 run 3": "h=64"}``);
    traces of a group share one legend heading, and clicking an entry toggles the
    whole group. Without it, entries keep their names and only scroll.
    """
    names = [t.name for t in fig.data if getattr(t, "showlegend", None) is not False and t.name]
    if len(names) <= max_entries:
        return fig
    if group_by:
        for trace in fig.data:
            group = group_by.get(trace.name or "")
            if group:
                trace.legendgroup = group
                trace.legendgrouptitle = dict(text=group)
        fig.update_layout(legend=dict(groupclick="togglegroup", tracegroupgap=6))
    rows = min(len(names), 12)
    height = max(fig.layout.height or 420, plot_height + TOP_MARGIN_TITLE + 90 + 22 * min(rows, 6))
    fig.update_layout(height=height)
    return legend_below(fig, max_height=0.4)
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


def _scale_sizes(node, factor: float, in_font: bool = False):
    """Multiply every ``size`` inside a ``*font`` dict of a plotly JSON tree."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "size" and in_font and isinstance(v, (int, float)) and not isinstance(v, bool):
                out[k] = v * factor
            elif k == "size" and in_font and isinstance(v, list):
                out[k] = [x * factor if isinstance(x, (int, float)) else x for x in v]
            else:
                out[k] = _scale_sizes(v, factor, in_font=k.endswith("font"))
        return out
    if isinstance(node, list):
        return [_scale_sizes(v, factor, in_font) for v in node]
    return node


def scale_fonts(fig: go.Figure, scale: float) -> go.Figure:
    """Return a copy of ``fig`` with every font enlarged by ``scale`` (lecture mode).

    Every font of the figure is enlarged: the base font (which titles, axis titles,
    tick labels, legends, annotations and colorbars inherit when they set no size), every
    explicitly sized font anywhere in the layout or the traces (``title.font``,
    ``legend.font``, ``xaxis.tickfont``, annotation fonts, colorbar fonts, heatmap cell
    text, ``textfont``...), and the hover labels. The figure grows a little so the
    plotting area is not squeezed by the larger margins.
    """
    if scale == 1.0:
        return fig
    data = fig.to_plotly_json()
    layout = data.get("layout", {})
    base = (layout.get("font") or {}).get("size") or BASE_FONT_SIZE
    data = _scale_sizes(data, scale)
    layout = data.setdefault("layout", {})
    layout.setdefault("font", {})["size"] = base * scale
    hover = layout.setdefault("hoverlabel", {}).setdefault("font", {})
    hover.setdefault("size", PLOTLY_HOVER_FONT * scale)
    if layout.get("height"):
        layout["height"] = int(layout["height"] * min(scale, 1.3))
    margin = layout.get("margin") or {}
    if margin.get("t"):
        margin["t"] = int(margin["t"] * min(scale, 1.3))
    out = go.Figure(data, skip_invalid=True)
    return out


def plot_config(export_format: str = "png", filename: str = "gradient-scaling-lab") -> dict:
    """plotly ``config`` for a chart (``ui.show``): the modebar's camera button exports
    SVG, or PNG at 2x scale (for slides). Export happens in the browser, so no
    server-side image library is needed.

    The toolbar is kept short (export, zoom, pan, reset) and shows on hover only; it
    sits in the figure's top margin (:data:`TOP_MARGIN`), above the plotting area, so it
    does not cover data, legend or title. On narrow screens (phones, <= 640 px) the
    global stylesheet hides it (``dashboard/base.css``). ``dashboard/chart.js`` adds a
    full-screen button to the toolbar (for projectors)."""
    if export_format not in EXPORT_FORMATS:
        export_format = "png"
    return {
        "displaylogo": False,
        "displayModeBar": "hover",
        "responsive": True,
        "toImageButtonOptions": {
            "format": export_format,
            "filename": filename,
            "scale": 2 if export_format == "png" else 1,
        },
        "modeBarButtonsToRemove": ["lasso2d", "select2d", "zoomIn2d", "zoomOut2d", "autoScale2d",
                                   "toggleSpikelines", "hoverClosestCartesian", "hoverCompareCartesian"],
    }
