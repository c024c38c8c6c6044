"""Real-browser tests: Playwright drives the system Chromium against `streamlit run`.

Every registered page is opened, checked for Streamlit exception elements and saved as
a screenshot under tests/screenshots/ (git-ignored) to be looked at.
"""

from __future__ import annotations

import pytest
from conftest import screenshot, wait_for_app

from dashboard import registry

pytestmark = pytest.mark.browser


def _open(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)


def _outside(base: str, url: str) -> bool:
    """True for a request that leaves the Streamlit server (data: and blob: URLs stay local)."""
    return not (url.startswith(base + "/") or url == base or url.startswith(("data:", "blob:")))


@pytest.mark.parametrize("spec", registry.all_pages(), ids=lambda s: s.url_path)
def test_page_renders_without_exception(streamlit_server, page, spec):
    """Each page renders with a title and no exception, and the browser asks nothing of any host
    but the dashboard's own server (the class may be offline; students' page views stay local)."""
    outside: list[str] = []
    page.on("request", lambda r: _outside(streamlit_server, r.url) and outside.append(r.url))
    url = streamlit_server + ("/" if spec is registry.HOME else f"/{spec.url_path}")
    _open(page, url)
    assert not outside, f"requests to other hosts: {sorted(set(outside))[:5]}"
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()
    assert page.locator("h1").count() >= 1
    screenshot(page, spec.url_path)


def test_query_param_round_trip(streamlit_server, page):
    _open(page, streamlit_server + "/?lecture=true")
    toggle = page.locator('[data-testid="stSidebar"] input[type="checkbox"]').first
    assert toggle.is_checked()
    toggle.uncheck(force=True)
    wait_for_app(page)
    assert "lecture=" not in page.url  # default values leave the URL clean
    toggle.check(force=True)
    wait_for_app(page)
    assert "lecture=true" in page.url
    screenshot(page, "home-lecture-mode")


def test_bad_query_param_shows_notice(streamlit_server, page):
    _open(page, streamlit_server + "/?lecture=maybe&bogus=3")
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Ignored URL parameter" in body and "lecture=maybe" in body
    assert "Ignored unknown URL parameter" in body and "bogus" in body
    assert page.locator('[data-testid="stException"]').count() == 0


def test_home_path_opens_home(streamlit_server, page):
    """``/home`` is Home, not a "Page not found" dialog (issue 14)."""
    _open(page, streamlit_server + "/home")
    assert page.locator('[role="dialog"]').count() == 0
    assert "Gradient & Scaling Lab" in page.locator("h1").first.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_url_markdown_is_shown_as_text(streamlit_server, page):
    """A URL value with markdown is shown literally in the notice: no link, no image (issue 17)."""
    _open(page, streamlit_server + "/?lecture=%60x%60%20%5Bphish%5D(http%3A%2F%2Fexample.com%2Fp)"
                                   "%20!%5Bt%5D(http%3A%2F%2Fexample.com%2Ft.png)")
    main = page.locator('[data-testid="stMain"]')
    assert "[phish](http://example.com/p)" in main.inner_text()
    assert main.locator('a[href*="example.com"], img[src*="example.com"]').count() == 0
