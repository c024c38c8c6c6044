"""Links between pages.

``st.page_link`` needs the ``StreamlitPage`` objects that ``dashboard/app.py`` passes
to ``st.navigation``; the app stores them here per run, keyed by URL path. When a page
is rendered on its own (AppTest of one page) there is no navigation, and the link
falls back to a caption naming the page's path.
"""

from __future__ import annotations

import streamlit as st

_KEY = "_gsl_nav_pages"


def remember(pages: dict) -> None:
    """Called by the app: ``{url_path: StreamlitPage}`` for this run."""
    st.session_state[_KEY] = pages


def page_link(url_path: str, *, label: str, icon: str | None = None, where=st) -> None:
    page = st.session_state.get(_KEY, {}).get(url_path)
    if page is None:
        where.caption(f"{label}: /{url_path}")
        return
    where.page_link(page, label=label, icon=icon)
