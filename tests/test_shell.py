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
    # the notices are plain text, and the bad values are gone from the URL
    assert any("lecture=maybe" in t.value for t in at.text)
    assert "lecture" not in at.query_params and "bogus" not in at.query_params


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


def test_scale_fonts_enlarges_every_font():
    fig = figures.heatmap([[1, 2], [3, 4]], colorbar_title="value", text_fmt=".1f", title="t", x_title="x")
    fig.add_annotation(text="note", font=dict(size=10))
    fig.update_layout(legend=dict(font=dict(size=11)), xaxis=dict(tickfont=dict(size=9)))
    fig.data[0].update(textfont=dict(size=8), colorbar=dict(tickfont=dict(size=7), title=dict(font=dict(size=12))))
    big = figures.scale_fonts(fig, 1.5)
    assert big.layout.font.size == figures.BASE_FONT_SIZE * 1.5
    assert big.layout.annotations[0].font.size == 15
    assert big.layout.legend.font.size == 16.5
    assert big.layout.xaxis.tickfont.size == 13.5
    assert big.data[0].textfont.size == 12
    assert big.data[0].colorbar.tickfont.size == 10.5 and big.data[0].colorbar.title.font.size == 18
    assert big.layout.hoverlabel.font.size >= 13 * 1.5
    assert fig.layout.annotations[0].font.size == 10  # the original is untouched


def test_default_legend_sits_below_the_plot_and_long_legends_are_grouped():
    fig = figures.new_figure(title="t", x_title="x", y_title="y")
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0
    assert fig.layout.legend.yanchor == "bottom" and fig.layout.legend.orientation == "h"
    for i in range(14):
        fig.add_scatter(x=[0, 1], y=[i, i], name=f"h={8 * (i % 4 + 1)} seed {i}")
    figures.fit_legend(fig, group_by={t.name: t.name.split()[0] for t in fig.data})
    assert fig.layout.legend.groupclick == "togglegroup"
    assert {t.legendgroup for t in fig.data} == {"h=8", "h=16", "h=24", "h=32"}
    assert fig.layout.height > 420


def test_plot_config_exports_png_2x_and_svg():
    assert figures.plot_config("png")["displayModeBar"] == "hover"
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


def test_url_values_that_crashed_number_input_are_dropped_before_the_widget():
    from conftest import page_app

    for bad in ("inf", "-inf", "1" + "0" * 400, "nan", "1e-320"):
        at = page_app("rnn_jacobian", {"rnn_seed": bad}).run()
        assert not at.exception, (bad, [e.value for e in at.exception])
        assert at.number_input(key="rnn_seed").value == 0
        assert "rnn_seed" not in at.query_params
        assert any("rnn_seed" in t.value for t in at.text)


def test_notices_are_plain_text_and_truncated():
    value = "`x` [phish](http://example.com/p) ![t](http://example.com/t.png)" + "y" * 500
    at = app({"lecture": value, "`a`[b](http://example.com)": "1"}).run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert any("[phish](http://example.com/p)" in t for t in texts)  # shown literally ...
    assert all(len(t) < 400 for t in texts)  # ... and truncated
    assert any("characters)" in t for t in texts)
    for group in ("markdown", "caption"):
        for el in getattr(at, group):
            assert "example.com" not in el.value


def test_long_url_text_is_rejected_with_a_notice():
    from streamlit.testing.v1 import AppTest

    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from dashboard import widgets\n"
        "widgets.begin_run()\n"
        "v = widgets.text_input('Name', 'default', key='t_name', max_chars=20)\n"
        "a = widgets.text_area('Notes', 'n', key='t_notes')\n"
        "import streamlit as st\n"
        "st.text(repr(v) + '|' + repr(a))\n"
        "widgets.show_notices()\n"
    )
    at = AppTest.from_string(script)
    at.query_params["t_name"] = "z" * 21
    at.query_params["t_notes"] = "x" * 10_000
    at.run()
    assert not at.exception
    assert at.text_input(key="t_name").value == "default"
    assert at.text_area(key="t_notes").value == "n"
    shown = " ".join(t.value for t in at.text)
    assert "longer than 20 characters" in shown and "longer than 5,000 characters" in shown


def test_fragment_widget_params_are_never_reported_unknown():
    from streamlit.testing.v1 import AppTest

    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import streamlit as st\n"
        "from dashboard import widgets\n"
        "widgets.begin_run()\n"
        "@st.fragment\n"
        "def panel():\n"
        "    widgets.slider('k', 1, 10, 3, key='fr_k')\n"
        "panel()\n"
        "widgets.report_unknown_params()\n"
        "widgets.show_notices()\n"
    )
    at = AppTest.from_string(script)
    at.query_params["fr_k"] = "7"
    at.run()
    assert not at.exception
    assert at.slider(key="fr_k").value == 7
    assert "fr_k" in at.session_state["_gsl_fragment_keys"]
    assert not [t.value for t in at.text if "unknown" in t.value]
    at.slider(key="fr_k").set_value(9).run()
    assert not at.exception and at.slider(key="fr_k").value == 9


def test_tab_bar_and_expander_are_url_bound():
    from streamlit.testing.v1 import AppTest

    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import streamlit as st\n"
        "from dashboard import widgets, ui\n"
        "widgets.begin_run()\n"
        "tab = widgets.tab_bar('View', ['Convolution', 'Max pooling'], key='t_tab')\n"
        "st.text('tab=' + tab)\n"
        "if tab == 'Convolution':\n"
        "    widgets.slider('w', 0, 9, 1, key='t_conv_w')\n"
        "    widgets.keep_params('t_pool_x')\n"
        "else:\n"
        "    widgets.slider('x', 0, 9, 1, key='t_pool_x')\n"
        "    widgets.keep_params('t_conv_w')\n"
        "with widgets.expander('More', key='t_more') as box:\n"
        "    st.text('open=' + str(box.open))\n"
        "with ui.status_while('Working'):\n"
        "    pass\n"
        "widgets.report_unknown_params()\n"
        "widgets.show_notices()\n"
    )
    at = AppTest.from_string(script)
    at.query_params["t_tab"] = "Max pooling"
    at.query_params["t_more"] = "true"
    at.query_params["t_conv_w"] = "4"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [t.value for t in at.text]
    assert "tab=Max pooling" in texts and "open=True" in texts
    assert not at.status  # the finished status box was removed
    assert at.query_params["t_conv_w"] in ("4", ["4"])  # the closed tab's value stays in the URL
    assert not any("unknown" in t for t in texts)
    at = AppTest.from_string(script)
    at.query_params["t_tab"] = "Nope"
    at.run()
    assert "tab=Convolution" in [t.value for t in at.text]
    assert any("t_tab=Nope" in t.value for t in at.text)


def test_ui_table_is_static_and_escaped_for_small_data():
    from streamlit.testing.v1 import AppTest

    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from dashboard import ui\n"
        "ui.table([{'name': '[x](http://example.com)', 'v': 1}])\n"
        "ui.table([{'i': i} for i in range(50)], max_static_rows=40)\n"
    )
    at = AppTest.from_string(script).run()
    assert not at.exception
    assert len(at.table) == 1 and len(at.dataframe) == 1
    cell = str(at.table[0].value.iloc[0, 0])
    assert "](http" not in cell and "example" in cell
    assert ui.escape_markdown("$a$ :red[b]") == "\\$a\\$ \\:red\\[b\\]"


_PRESET_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from dashboard import widgets
widgets.begin_run()
src = widgets.selectbox("Source", ["a", "b"], key="ps_src", format_func=lambda s: {{"a": "Alpha", "b": "Beta data"}}[s])
if src == "b":
    widgets.number_input("Noise", 0.0, 1.0, 0.5, key="ps_noise")
    widgets.checkbox("Tied", False, key="ps_tied")
widgets.preset_buttons({{"go": {{"ps_src": "b", "ps_noise": 0.25, "ps_tied": True}}}})
"""


def test_preset_writes_every_value_to_the_url_even_for_widgets_it_makes_appear():
    at = AppTest.from_string(_PRESET_SCRIPT.format(root=str(ROOT)), default_timeout=60).run()
    at.button(key="preset::go").click().run()
    assert not at.exception
    assert at.number_input(key="ps_noise").value == 0.25
    # The choice is written as its displayed label (what Streamlit accepts back).
    url = {k: (v if isinstance(v, list) else [v]) for k, v in at.query_params.items()}
    assert url["ps_src"] == ["Beta data"]
    assert url["ps_noise"] == ["0.25"]
    assert url["ps_tied"] == ["true"]
    # The link reopens the same state in a fresh session.
    fresh = AppTest.from_string(_PRESET_SCRIPT.format(root=str(ROOT)), default_timeout=60)
    for k, v in at.query_params.items():
        fresh.query_params[k] = v
    fresh.run()
    assert not fresh.exception
    assert fresh.selectbox(key="ps_src").value == "b"
    assert fresh.number_input(key="ps_noise").value == 0.25
    assert fresh.checkbox(key="ps_tied").value is True
