"""Gradient & Scaling Lab: the Streamlit entry point.

    streamlit run dashboard/app.py

Builds the multipage app with ``st.navigation`` from the registry in
``dashboard/registry.py``; the sidebar holds lecture mode, the plot export format and
the "share this view" link. Every widget's value lives in the URL (see
``dashboard/widgets.py``), so a copied URL reopens the same view.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

# jobs: the queue registers its shutdown hook on import, so SIGTERM stops jobs, kills their
# workers and exits fast even before any page has used the queue.
from dashboard import jobs, nav, registry, ui, widgets  # noqa: E402,F401

ASSETS = Path(__file__).resolve().parent
BASE_CSS = ASSETS / "base.css"  # nothing cut off, 420 px layout (issue 14)
LECTURE_CSS = ASSETS / "lecture.css"  # lecture mode: >= 1.4x text, one plot per row
FIT_SCRIPT = ASSETS / "fit.html"  # scales too-wide display formulas down to fit
# A local file: a ":material/...:" page icon makes the browser fetch the favicon from
# fonts.gstatic.com (fails offline). Drawn by scripts/make_favicon.py.
FAVICON = ROOT / "assets" / "favicon.png"


HOME_DEFAULT_PATH = "start"


def _page_callable(spec: registry.PageSpec):
    """A callable for st.Page that imports the page module lazily and renders it."""

    def run() -> None:
        registry.import_page(spec.module).render()

    run.__name__ = spec.url_path.replace("-", "_")
    return run


def build_navigation():
    # The default page is served at "/" and Streamlit answers its own url_path with
    # "Page not found"; so Home is the default page under a reserved path, and a hidden
    # copy answers "/home" (issue 14). Links to Home go to "/".
    home = st.Page(_page_callable(registry.HOME), title=registry.HOME.title, icon=registry.HOME.icon,
                   url_path=HOME_DEFAULT_PATH, default=True)
    home_alias = st.Page(_page_callable(registry.HOME), title=registry.HOME.title, icon=registry.HOME.icon,
                         url_path=registry.HOME.url_path, visibility="hidden")
    sections: dict[str, list] = {"": [home, home_alias]}
    by_path = {registry.HOME.url_path: home}
    for spec in registry.PAGES:
        page = st.Page(_page_callable(spec), title=spec.title, icon=spec.icon, url_path=spec.url_path)
        sections.setdefault(spec.section, []).append(page)
        by_path[spec.url_path] = page
    nav.remember(by_path)
    return st.navigation(sections, expanded=True)


def sidebar():
    """Global controls; returns the container that will hold the share link."""
    with st.sidebar:
        st.markdown("### Gradient & Scaling Lab")
        widgets.toggle("Lecture mode", False, key=ui.LECTURE_KEY,
                       help="Larger fonts on the page and in every plot, for projectors.")
        widgets.segmented_control("Plot export", ["png", "svg"], key=ui.EXPORT_KEY, default="png",
                                  format_func=lambda f: {"png": "PNG 2x", "svg": "SVG"}[f],
                                  help="Format of the camera button in each plot's toolbar.")
        return st.container()


def share_link(where) -> None:
    """The query string of the current view, after the page has run."""
    with where.popover("Share this view", icon=":material/link:", width="stretch"):
        st.markdown(
            "Every control on this page is mirrored in the address bar. "
            "Copy the URL from your browser to reopen exactly this view."
        )
        params = "&".join(f"{k}={v}" for k in st.query_params for v in st.query_params.get_all(k))
        st.code("?" + params if params else "(all controls at their defaults)", language=None)


def main() -> None:
    st.set_page_config(page_title="Gradient & Scaling Lab", page_icon=str(FAVICON), layout="wide")
    widgets.begin_run()
    page = build_navigation()
    share_area = sidebar()
    st.html(BASE_CSS)
    if ui.lecture_mode():
        st.html(LECTURE_CSS)
    with share_area.container(key="gsl_fit"):
        # Home draws no chart: plotly.js is fetched there only when a page that shows one opens
        # (preloading it on Home made a cold start 0.2-0.3 s slower).
        home = page.url_path in ("", registry.HOME.url_path)  # the default page's url_path is ""
        st.html(FIT_SCRIPT.read_text(encoding="utf-8") + ("" if home else ui.plotly_preload_html()),
                unsafe_allow_javascript=True)
    notice_area = st.container()
    page.run()
    widgets.report_unknown_params()
    share_link(share_area)
    widgets.show_notices(notice_area)


main()
