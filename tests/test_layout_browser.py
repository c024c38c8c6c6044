"""Layout in a real browser (issue 14): nothing cut off, nothing overlapping, lecture mode enlarges.

* ``test_page_layout``: every registered page at 1400, 1024 and 420 px wide, with and
  without lecture mode. Fails when an element's text overflows its box (scrollWidth >
  clientWidth + 1 on metric values and labels, buttons, HTML table cells and headers,
  display formulas and sidebar navigation links), when a plotly legend box intersects
  its figure's title or plotting area, and, at 420 px, when a plot comes after the
  controls beside it or its toolbar covers it. Screenshots go to
  ``tests/screenshots/<page>-<width>[-lecture].png`` (git-ignored): look at them.
* ``test_lecture_mode_enlarges_text``: computed font sizes (getComputedStyle) of body
  text, a metric value, a KaTeX formula, a table cell, and an SVG axis title, tick label
  and legend entry, with and without lecture mode: each at least 1.4x.

Page owners: run ``pytest tests/test_layout_browser.py -k <url-path>`` for your page.
"""

from __future__ import annotations

import pytest
from conftest import screenshot, wait_for_app

from dashboard import registry

pytestmark = pytest.mark.browser

WIDTHS = (1400, 1024, 420)
LECTURE_MIN_RATIO = 1.4

# Returns a list of problems (strings) for the page as laid out now.
CHECK_JS = r"""
(narrow) => {
  const problems = [];
  const visible = (e) => {
    if (!e || !e.isConnected) return false;
    if (e.closest('details:not([open])') && !e.closest('summary')) return false;  // closed expander
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= 0 || r.left >= window.innerWidth) return false;
    const cs = getComputedStyle(e);
    return cs.visibility !== "hidden" && cs.display !== "none" && e.offsetParent !== null;
  };
  const text = (e) => (e.innerText || e.textContent || "").trim().replace(/\s+/g, " ").slice(0, 70);
  const SEL = {
    "metric value": '[data-testid="stMetricValue"], [data-testid="stMetricValue"] > div',
    "metric label": '[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] > div',
    "button": '[data-testid="stMain"] button, [data-testid="stSidebar"] button',
    "button label": '[data-testid="stMain"] button .stMarkdownEllipsis, [data-testid="stMain"] button p',
    "table cell": '[data-testid="stTable"] td, [data-testid="stTable"] th, [data-testid="stMarkdownContainer"] td, [data-testid="stMarkdownContainer"] th',
    "formula": '.katex-display',
    "nav link": '[data-testid="stSidebarNavLink"], [data-testid="stSidebarNavLink"] span',
    "tab label": '[data-baseweb="tab"]',
  };
  for (const [what, sel] of Object.entries(SEL)) {
    document.querySelectorAll(sel).forEach((e) => {
      if (!visible(e)) return;
      if (e.closest('[data-testid="stToolbar"], [data-testid="stHeader"], .modebar-container')) return;
      if (e.scrollWidth > e.clientWidth + 1) {
        problems.push(`${what} cut off (${e.scrollWidth} > ${e.clientWidth} px): "${text(e)}"`);
      }
    });
  }
  const box = (e) => e ? e.getBoundingClientRect() : null;
  const overlap = (a, b) => a && b && a.width > 0 && b.width > 0 &&
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
    Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  document.querySelectorAll('[data-testid="gslChart"]').forEach((chart, i) => {
    if (!visible(chart)) return;
    const title = chart.querySelector(".gtitle");
    const name = title ? `"${text(title)}"` : `#${i + 1}`;
    chart.querySelectorAll(".legend").forEach((legend) => {
      const bg = box(legend.querySelector(".bg")) || box(legend);
      if (title && overlap(bg, box(title))) problems.push(`plot ${name}: legend overlaps the title`);
      chart.querySelectorAll(".draglayer .nsewdrag").forEach((area) => {
        if (overlap(bg, box(area))) problems.push(`plot ${name}: legend overlaps the plotting area`);
      });
    });
    if (narrow) {
      const bar = chart.querySelector(".modebar-container");
      if (bar && visible(bar)) {
        chart.querySelectorAll(".draglayer .nsewdrag, .legend, .gtitle").forEach((part) => {
          if (overlap(box(bar), box(part))) problems.push(`plot ${name}: toolbar covers the plot`);
        });
      }
    }
  });
  if (narrow) {
    // The plot comes before the controls that drive it.
    document.querySelectorAll('[data-testid="stHorizontalBlock"]').forEach((row) => {
      const cols = Array.from(row.children).filter((c) => c.matches('[data-testid="stColumn"]') && visible(c));
      const plots = cols.filter((c) => c.querySelector('[data-testid="gslChart"]'));
      const controls = cols.filter((c) => !c.querySelector('[data-testid="gslChart"]') &&
        c.querySelector('input, [role="slider"], [data-testid="stButtonGroup"], [data-baseweb="select"]'));
      if (!plots.length || !controls.length) return;
      const firstPlot = Math.min(...plots.map((c) => c.getBoundingClientRect().top));
      const firstControl = Math.min(...controls.map((c) => c.getBoundingClientRect().top));
      if (firstControl < firstPlot - 1) {
        const t = plots[0].querySelector(".gtitle");
        problems.push(`at 420 px the controls come before the plot ${t ? '"' + text(t) + '"' : ""}`);
      }
    });
  }
  return problems;
}
"""

# Computed sizes (px) of the first visible element of each kind.
SIZES_JS = r"""
() => {
  const first = (sel) => Array.from(document.querySelectorAll(sel)).find((e) => {
    const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0;
  });
  const size = (sel) => { const e = first(sel); return e ? parseFloat(getComputedStyle(e).fontSize) : null; };
  const deepest = (sel) => {
    const e = first(sel); if (!e) return null;
    let leaf = e; while (leaf.firstElementChild) leaf = leaf.firstElementChild;
    return parseFloat(getComputedStyle(leaf).fontSize);
  };
  return {
    "body text": size('[data-testid="stMain"] [data-testid="stMarkdownContainer"] > p'),
    "metric value": deepest('[data-testid="stMetricValue"]'),
    "KaTeX formula": size('[data-testid="stMain"] .katex'),
    "axis title": size('[data-testid="gslChart"] .xtitle'),
    "tick label": size('[data-testid="gslChart"] .xtick text'),
    "legend entry": size('[data-testid="gslChart"] .legendtext'),
    "table text": deepest('[data-testid="stMain"] [data-testid="stTable"] td'),
  };
}
"""


def _url(base: str, spec: registry.PageSpec, lecture: bool) -> str:
    path = "/" if spec is registry.HOME else f"/{spec.url_path}"
    return base + path + ("?lecture=true" if lecture else "")


def _settle(pg, width: int) -> None:
    """Resize and wait until every plotly figure has been redrawn at its new width.

    Streamlit scrolls inside its main container, so a "full page" screenshot shows only
    the viewport: the viewport is made as tall as the page (at most 12,000 px) instead."""
    pg.set_viewport_size({"width": width, "height": 1000})
    tall = pg.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]');
                                 return m ? m.scrollHeight : 1000; }""")
    pg.set_viewport_size({"width": width, "height": max(1000, min(int(tall) + 40, 12_000))})
    pg.wait_for_function(
        """() => Array.from(document.querySelectorAll('[data-testid="gslChart"]')).every((c) => {
              const svg = c.querySelector('.main-svg');
              const r = c.getBoundingClientRect();
              if (r.width === 0 || r.height === 0 || c.offsetParent === null) return true;  // hidden
              if (c.closest('details:not([open])')) return true;  // in a closed expander
              if (!svg) return false;
              return Math.abs(svg.getBoundingClientRect().width - r.width) <= 2;
           })""",
        timeout=60_000,
    )
    # The sidebar slides in or out when the width crosses Streamlit's breakpoint.
    pg.wait_for_function(
        "() => document.getAnimations().filter((a) => a instanceof CSSTransition && a.playState === 'running')"
        ".length === 0",
        timeout=60_000,
    )
    # Three animation frames: let the formula-fit script and plotly's relayout finish.
    pg.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame("
                "() => requestAnimationFrame(r))))")


@pytest.fixture
def wide_page(browser):
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.mark.parametrize("spec", registry.all_pages(), ids=lambda s: s.url_path)
def test_page_layout(streamlit_server, wide_page, spec):
    pg = wide_page
    problems: list[str] = []
    for lecture in (False, True):
        pg.set_viewport_size({"width": WIDTHS[0], "height": 1000})
        pg.goto(_url(streamlit_server, spec, lecture))
        wait_for_app(pg)
        assert pg.locator('[data-testid="stException"]').count() == 0, pg.locator(
            '[data-testid="stException"]').first.inner_text()
        for width in WIDTHS:
            _settle(pg, width)
            name = f"{spec.url_path}-{width}" + ("-lecture" if lecture else "")
            screenshot(pg, name)
            for p in pg.evaluate(CHECK_JS, width <= 640):
                problems.append(f"{name}: {p}")
    # Keep the report readable: identical problems at several widths once each.
    unique = list(dict.fromkeys(problems))
    assert not unique, f"{len(unique)} layout problems on /{spec.url_path}:\n" + "\n".join(unique)


def _sizes(pg, base: str, spec: registry.PageSpec, lecture: bool) -> dict:
    pg.goto(_url(base, spec, lecture))
    wait_for_app(pg)
    _settle(pg, WIDTHS[0])
    return pg.evaluate(SIZES_JS)


def test_lecture_mode_enlarges_text(streamlit_server, wide_page):
    """Each kind of text is measured on the first page (registry order) that shows it."""
    ratios: dict[str, tuple[float, float, str]] = {}
    for spec in registry.all_pages():
        normal = _sizes(wide_page, streamlit_server, spec, False)
        big = _sizes(wide_page, streamlit_server, spec, True)
        for kind, before in normal.items():
            if kind not in ratios and before and big.get(kind):
                ratios[kind] = (before, big[kind], spec.url_path)
        if len(ratios) == len(normal):
            break
    missing = {"body text", "metric value", "KaTeX formula", "axis title", "tick label", "legend entry",
               "table text"} - set(ratios)
    assert not missing, f"no page shows {missing}"
    for k, (a, b, page) in ratios.items():
        print(f"lecture mode: {k} {a:.1f} -> {b:.1f} px on /{page} ({b / a:.2f}x)")
    small = {k: f"{a:.1f} -> {b:.1f} px on /{page} ({b / a:.2f}x)" for k, (a, b, page) in ratios.items()
             if b < LECTURE_MIN_RATIO * a - 0.01}
    assert not small, f"lecture mode enlarges these less than {LECTURE_MIN_RATIO}x: {small}"
