"""The tour in a real browser: arrow keys and PageUp/PageDown (a presenter remote) move
between steps through the URL, typing in a field does not, and screenshots of a few
steps (normal and lecture mode) are saved to tests/screenshots/."""

from __future__ import annotations

from conftest import screenshot, wait_for_app


def _step_in_url(pg, step: str, timeout: float = 120_000) -> None:
    """Wait until the URL names ``step`` (the first step is the default, which Streamlit
    leaves out of the URL)."""
    pg.wait_for_function("s => (new URLSearchParams(location.search).get('tour_step') || '1.1.1') === s", arg=step,
                         timeout=timeout)
    wait_for_app(pg)


def _heading(pg) -> str:
    return pg.locator("h4").first.inner_text()


def test_keyboard_navigation(streamlit_server, page):
    page.goto(f"{streamlit_server}/tour?tour_step=1.1.1")
    wait_for_app(page)
    assert _heading(page).startswith("1.1.1")
    assert page.locator(".st-key-tour_next button").is_visible()
    screenshot(page, "tour_1.1.1")

    page.keyboard.press("ArrowRight")
    _step_in_url(page, "1.1.2")
    assert _heading(page).startswith("1.1.2")
    page.keyboard.press("PageDown")
    _step_in_url(page, "1.2.1")
    assert _heading(page).startswith("1.2.1")
    page.keyboard.press("PageUp")
    _step_in_url(page, "1.1.2")
    page.keyboard.press("ArrowLeft")
    _step_in_url(page, "1.1.1")
    assert _heading(page).startswith("1.1.1")
    # the first step has no previous one: ArrowLeft keeps it
    page.keyboard.press("ArrowLeft")
    wait_for_app(page)
    assert _heading(page).startswith("1.1.1")

    # arrows inside a slider move the slider, not the tour
    slider = page.locator(".st-key-tour_111_depth input")
    slider.focus()
    page.keyboard.press("ArrowRight")
    wait_for_app(page)
    assert "tour_step=1.2" not in page.url and "tour_step=1.1.2" not in page.url
    assert _heading(page).startswith("1.1.1")
    page.wait_for_function("() => document.querySelector('.st-key-tour_111_depth input').value === '11'")


def test_buttons_and_screenshots(streamlit_server, page):
    page.goto(f"{streamlit_server}/tour?tour_step=1.3.1")
    wait_for_app(page)
    screenshot(page, "tour_1.3.1")
    page.locator(".st-key-tour_next button").click()
    _step_in_url(page, "1.3.2")
    assert _heading(page).startswith("1.3.2")
    page.goto(f"{streamlit_server}/tour?tour_step=2.3.4")
    wait_for_app(page)
    assert "depends on the law" in page.inner_text("body")
    screenshot(page, "tour_2.3.4")


def test_lecture_mode_screenshots(streamlit_server, page):
    for step in ("1.2.1", "2.1.3"):
        page.goto(f"{streamlit_server}/tour?tour_step={step}&lecture=true")
        wait_for_app(page)
        assert _heading(page).startswith(step)
        screenshot(page, f"tour_{step}_lecture")
    page.keyboard.press("ArrowRight")
    _step_in_url(page, "2.1.4")
    assert "lecture=true" in page.url
