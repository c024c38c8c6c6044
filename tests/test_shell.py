"""The dashboard shell: navigation, sidebar, URL state, figure defaults."""

from __future__ import annotations

import plotly.graph_objects as go
from conftest import ROOT, shown_text
from streamlit.testing.v1 import AppTest

from dashboard import figures, registry, ui


def app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at


def test_home_renders_and_lists_every_registered_page():
    at = app().run()
    assert not at.exception
    text = shown_text(at)
    assert "Gradient & Scaling Lab" in text
    for spec in registry.PAGES:
        assert spec.look_for in text


def test_registry_paths_unique_and_modules_render():
    paths = [p.url_path for p in registry.all_pages()]
    assert len(paths) == len(set(paths))
    import importlib

    for spec in registry.all_pages():
        assert callable(importlib.import_module(spec.module).render)
        assert spec.section in registry.SECTIONS or spec is registry.HOME


def test_lecture_mode_from_url():
    at = app({"lecture": "true"}).run()
    assert not at.exception
    assert at.toggle(key="lecture").value is True


def test_bad_and_unknown_query_params_get_a_notice_and_defaults():
    at = app({"lecture": "maybe", "bogus": "1"}).run()
    assert not at.exception
    text = shown_text(at)
    assert "Ignored URL parameter `lecture=maybe`" in text
    assert "Ignored unknown URL parameter `bogus`" in text
    assert at.toggle(key="lecture").value is False


def test_style_labels_axes_and_log_scales():
    fig = figures.new_figure(title="t", x_title="depth (layers)", y_title="|df/dx|", log_y=True)
    assert fig.layout.xaxis.title.text == "depth (layers)"
    assert fig.layout.yaxis.type == "log"
    assert list(fig.layout.colorway) == list(figures.PALETTE)


def test_scale_fonts_enlarges_and_copies():
    fig = figures.new_figure(x_title="x", y_title="y")
    big = figures.scale_fonts(fig, 1.6)
    assert big.layout.font.size > fig.layout.font.size
    assert fig.layout.font.size == figures.BASE_FONT_SIZE


def test_plot_config_exports_png_2x_and_svg():
    assert figures.plot_config("png")["toImageButtonOptions"] == {
        "format": "png", "filename": "gradient-scaling-lab", "scale": 2}
    assert figures.plot_config("svg")["toImageButtonOptions"]["format"] == "svg"
    assert figures.plot_config("jpeg")["toImageButtonOptions"]["format"] == "png"


def test_heatmap_matrix_orientation():
    fig = figures.heatmap([[1, 2], [3, 4]], x=["a", "b"], y=["r0", "r1"], x_title="key", y_title="query")
    assert isinstance(fig.data[0], go.Heatmap)
    assert fig.layout.yaxis.autorange == "reversed"


def test_number_formatting_never_prints_nan_or_inf_as_numbers():
    assert ui.fmt_log10(-12042.0).startswith("0 (underflow avoided: log10 = -12042")
    assert ui.fmt_log10(400).startswith("+infinity (overflow avoided")
    assert ui.fmt_log10(float("nan")) == "undefined (NaN)"
    assert ui.fmt_number(float("inf")) == "+infinity"
    assert ui.fmt_log10(-2) == "0.01"
    assert ui.fmt_ln(0.0) == "1"


def test_choice_param_uses_displayed_label():
    at = app({"export": "SVG"}).run()
    assert not at.exception
    assert "Ignored URL parameter" not in shown_text(at)
    at = app({"export": "svg-ish"}).run()
    assert "Ignored URL parameter `export=svg-ish`" in shown_text(at)
