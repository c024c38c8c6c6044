"""Shared page furniture: headers, figure display, number formatting, messages.

Pages call :func:`show` for every plotly figure so lecture mode and the export
format apply everywhere, and :func:`fmt_log10` / :func:`fmt_number` for numbers
that may under- or overflow, so a NaN or inf is never printed as if it were a number.
"""

from __future__ import annotations

import filecmp
import functools
import json
import math
import os
import shutil
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# pandas at import time, on purpose: app.py imports this module in the server's first run, so
# pandas is whole before sessions run in parallel. plotly's validators import pandas lazily, and a
# session that did so while another thread was importing it got a half-initialised module
# ("partially initialized module 'pandas' has no attribute 'Series'": the load test and a
# browser test each caught it once). Pages themselves are imported through registry.import_page.
import pandas as pd
import plotly
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from dashboard import figures

LECTURE_KEY = "lecture"
EXPORT_KEY = "export"


def lecture_mode() -> bool:
    return bool(st.session_state.get(LECTURE_KEY, False))


def font_scale() -> float:
    return figures.LECTURE_FONT_SCALE if lecture_mode() else 1.0


def cache_figures(max_entries: int | None = None):
    """Decorator for a page's figure builders: cached by their arguments, shared by every session.

    A figure builder returns plotly figures that nobody mutates afterwards (:func:`show` copies
    before lecture-mode scaling), so the cache hands back the object itself
    (``st.cache_resource``). ``st.cache_data`` would unpickle a ``go.Figure`` on every hit, and
    unpickling re-validates every property: about 15 ms per small figure on a quiet machine and
    0.1 s under load, most of a warm panel run (profiled for issue 12).
    """
    return st.cache_resource(show_spinner=False, max_entries=max_entries)


# ---------------------------------------------------------------------------
# Charts: drawn in place
# ---------------------------------------------------------------------------
# st.plotly_chart gives a chart a new element id whenever its figure changes, so the browser
# discards the chart and draws the new figure from nothing: with 2-4 charts per panel that was
# most of a slider move (issue 12). ``show`` mounts a small components-v2 element instead
# (dashboard/chart.js): under a stable key the same <div> stays on the page and Plotly.react
# updates what changed. Its plotly.js is the installed plotly package's own copy, served by the
# dashboard itself from dashboard/static/ (``server.enableStaticServing``).
STATIC_DIR = Path(__file__).resolve().parent / "static"
PLOTLY_JS = STATIC_DIR / "plotly.min.js"
_CHART_JS = (Path(__file__).resolve().parent / "chart.js").read_text(encoding="utf-8")
_chart = st.components.v2.component("gsl_chart", js=_CHART_JS, isolate_styles=False)
# Figure JSON by figure object and font scale: cached figures (cache_figures) are shared and
# never mutated, so each is serialised once per scale, not on every run that shows it.
_SPECS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=1)
def plotly_js_url() -> str | None:
    """URL of plotly.min.js served by this dashboard, or None when it cannot be served.

    Copies the installed plotly package's ``package_data/plotly.min.js`` to
    ``dashboard/static/`` (once per process, only when missing or different; the copy is
    not in git). None when static serving is off or the folder is not writable: :func:`show`
    then falls back to ``st.plotly_chart``.
    """
    from streamlit import config

    if not config.get_option("server.enableStaticServing"):
        return None
    src = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    try:
        if not (PLOTLY_JS.is_file() and filecmp.cmp(src, PLOTLY_JS, shallow=False)):
            STATIC_DIR.mkdir(exist_ok=True)
            tmp = PLOTLY_JS.with_name(f".plotly.min.js.{os.getpid()}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, PLOTLY_JS)
    except OSError:
        return None
    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return ("/" + base if base else "") + f"/app/static/plotly.min.js?v={plotly.__version__}"


def plotly_preload_html() -> str:
    """A script that starts loading plotly.js as a page run begins (app.py), or "" without a URL.

    Charts arrive in the browser late in a run; loading plotly.js only then put its ~150 ms of
    compiling after the run, on the path of opening a page by its address. Started from the run's
    first element, it compiles while the server is still running the page. Once per browser tab:
    dashboard/chart.js takes the promise (``window.__gslPlotly``) instead of loading a second copy.
    """
    src = plotly_js_url()
    if src is None:
        return ""
    return (
        "<script>(function () {"
        " const w = window.parent && window.parent !== window ? window.parent : window;"
        " if (w.Plotly || w.__gslPlotly) return;"
        " w.__gslPlotly = new Promise(function (resolve, reject) {"
        "  const s = w.document.createElement('script'); s.src = " + json.dumps(src) + ";"
        "  s.onload = function () { resolve(w.Plotly); };"
        "  s.onerror = function () { w.__gslPlotly = null; reject(new Error('cannot load ' + s.src)); };"
        "  w.document.head.appendChild(s); });"
        " w.__gslPlotly.catch(function () {});"
        "})();</script>"
    )


def figure_spec(fig: go.Figure, scale: float = 1.0) -> str:
    """The JSON a chart is drawn from: ``fig`` with lecture-mode fonts (:func:`figures.scale_fonts`)."""
    try:
        by_scale = _SPECS.setdefault(fig, {})
    except TypeError:  # not weak-referenceable: no memo
        by_scale = {}
    spec = by_scale.get(scale)
    if spec is None:
        spec = by_scale[scale] = pio.to_json(figures.scale_fonts(fig, scale), validate=False)
    return spec


def show(fig: go.Figure, *, key: str | None = None, where=st) -> None:
    """Display a plotly figure with lecture-mode fonts and the chosen export format.

    With a ``key`` the chart keeps its place in the browser from run to run and is redrawn in
    place (see the note above); without one it is drawn anew whenever the figure changes.
    """
    fmt = st.session_state.get(EXPORT_KEY, "png")
    config = figures.plot_config(fmt)
    src = plotly_js_url()
    if src is None:
        where.plotly_chart(figures.scale_fonts(fig, font_scale()), key=key, config=config, theme="streamlit")
        return
    data = {"spec": figure_spec(fig, font_scale()), "config": config, "src": src}
    if where is st:
        _chart(key=key, data=data)
    else:
        with where:
            _chart(key=key, data=data)


@contextmanager
def status_while(label: str, *, where=st, expanded: bool = False) -> Iterator:
    """An ``st.status`` box shown only while the block runs (issue 14: no stale
    "Done" boxes). Yields the status container (write progress into it); when the
    block finishes the box is removed. If the block raises, the box stays, marked
    as an error, with the message, and the exception propagates.

        with ui.status_while("Multiplying 1000 Jacobians..."):
            result = compute(...)
    """
    slot = where.empty()
    box = slot.status(label, expanded=expanded, state="running")
    try:
        yield box
    except Exception:
        box.update(label=f"{label} failed", state="error", expanded=True)
        raise
    slot.empty()


def header(title: str, intro: str, *, source: str | None = None) -> None:
    """Page title, one-paragraph introduction and the write-up section it covers.

    ``intro`` is markdown written by the page (never user text): write formulas in it
    as LaTeX between dollar signs, ``$h_i = \\phi(w_i h_{i-1})$`` (inline) or
    ``$$...$$`` (display); they are typeset by KaTeX like in ``st.markdown``."""
    st.title(title)
    if source:
        st.caption(source)
    st.markdown(intro)


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>$~:=")


def escape_markdown(text: str) -> str:
    """``text`` with every markdown/LaTeX/directive character backslash-escaped, so
    Streamlit shows it literally (links, images, ``$..$`` maths, ``:red[..]`` and
    ``:material/..:`` directives and HTML are not interpreted). Use it when user or
    URL text must sit inside markdown (a metric value, a table cell, a label); prefer
    ``st.text``/``st.code`` when the text stands alone."""
    out = "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))
    return out.replace("\n", " ")


def table(data, *, max_static_rows: int = 40, escape: bool = True, links: dict[str, str] | None = None, where=st,
          **dataframe_kwargs) -> None:
    """A table readable on a projector and on a phone (issue 14).

    Up to ``max_static_rows`` rows it is an HTML ``st.table``: its text wraps instead of
    being cut off, and lecture mode enlarges it like the page text. Longer data goes to
    the interactive ``st.dataframe`` (a canvas grid: lecture mode zooms it).
    String cells and column names are escaped (``escape=True``) because ``st.table``
    renders markdown; pass ``escape=False`` only for markdown the page wrote itself.

    ``links`` maps a column that holds URLs the page built to the column title shown;
    each cell becomes a link whose text is the URL's path (``/rnn-jacobian``). In the
    interactive grid the column is a ``LinkColumn``.
    """
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    links = links or {}
    if len(frame) > max_static_rows:
        if links:
            config = dict(dataframe_kwargs.pop("column_config", {}) or {})
            config.update({col: st.column_config.LinkColumn(title, display_text=r"^/([^?]*)")
                           for col, title in links.items()})
            dataframe_kwargs["column_config"] = config
        where.dataframe(frame, **dataframe_kwargs)
        return
    frame = frame.copy()
    if escape:
        for col in frame.columns:
            if col not in links and (frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col])):
                frame[col] = frame[col].map(lambda v: escape_markdown(v) if isinstance(v, str) else v)
    for col in links:
        frame[col] = frame[col].map(_link_cell)
    frame.columns = [escape_markdown(links.get(c, c)) if escape else links.get(c, c) for c in frame.columns]
    hide_index = dataframe_kwargs.get("hide_index", True)
    where.table(frame, hide_index=hide_index)


def _link_cell(url: str) -> str:
    """Markdown link to a page URL the app built: the text is its path, the target percent-safe."""
    from urllib.parse import quote

    text = escape_markdown(str(url).split("?", 1)[0] or "/")
    target = quote(str(url), safe="/?=&%:+,.-_~")
    return f"[{text}]({target})"


def fmt_number(x: float, digits: int = 4) -> str:
    """A finite float in compact form; NaN/inf are named, never shown as numbers."""
    if x is None:
        return "n/a"
    if isinstance(x, float) and math.isnan(x):
        return "undefined (NaN)"
    if isinstance(x, float) and math.isinf(x):
        return "+infinity" if x > 0 else "-infinity"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.{digits}g}"
    return f"{x:.{max(digits - 1, 1)}e}"


def fmt_log10(log10_value: float, digits: int = 4) -> str:
    """Format a quantity given by its base-10 logarithm without ever under/overflowing.

    ``fmt_log10(-12042.3)`` gives ``"0 (underflow avoided: log10 = -12042.3)"`` style
    text; moderate values are printed plainly (``"3.2e-05"``).
    """
    if log10_value is None or math.isnan(log10_value):
        return "undefined (NaN)"
    if math.isinf(log10_value):
        return "0 (exactly)" if log10_value < 0 else "+infinity"
    if log10_value < -300:
        return f"0 (underflow avoided: log10 = {log10_value:.6g})"
    if log10_value > 300:
        return f"+infinity (overflow avoided: log10 = {log10_value:.6g})"
    return fmt_number(10.0**log10_value, digits)


def fmt_ln(ln_value: float, digits: int = 4) -> str:
    """As :func:`fmt_log10` for a natural logarithm."""
    if ln_value is None or math.isnan(ln_value):
        return "undefined (NaN)"
    if math.isinf(ln_value):
        return fmt_log10(ln_value)
    return fmt_log10(ln_value / math.log(10.0), digits)


def error(message: str, *, hint: str | None = None) -> None:
    """A clear, non-technical message for bad input (never a traceback)."""
    st.error(message + (f"\n\n{hint}" if hint else ""), icon=":material/error:")


def note(message: str) -> None:
    st.info(message, icon=":material/info:")


def verdict_badge(verdict: str) -> str:
    """Markdown badge for an audit verdict."""
    colour = {"holds": "green", "fails": "red", "holds with caveat": "orange",
              "not reproduced": "violet", "depends on the law": "blue", "error": "gray"}.get(verdict, "gray")
    return f":{colour}-badge[{verdict}]"
