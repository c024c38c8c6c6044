"""AppTest tests for pages/relative_attention.py: numbers shown, bad input, presets."""

from __future__ import annotations

import pytest
from conftest import metric, page_app, run_page, shown_text

PAGE = "relative_attention"
POOL = {"ra_tab": "Max pooling (1.3.2)"}


def _num(s: str) -> float:
    return float(s)


def test_default_view_shows_exact_conv_and_writeup_numbers():
    closed = run_page(PAGE)
    assert _num(metric(closed, "Conv max interior error")) < 1e-9
    assert not [m for m in closed.metric if m.label.startswith("Write-up")]  # a closed box is not built
    at = run_page(PAGE, {"ra_x_writeup": "true"})
    assert metric(at, "Heads") == "1"
    assert _num(metric(at, "Write-up weight on x_(i+1)")) == pytest.approx(2.4)
    assert _num(metric(at, "Write-up weight on x_(i-1)")) == pytest.approx(0.6)
    assert r"2.4\,x_{i+1} + 0.6\,x_{i-1}" in shown_text(at)          # typeset (issue 14)
    assert not [m for m in at.metric if m.label.startswith("Max-pool")]   # only the open part runs
    at.segmented_control(key="ra_tab").set_value("Max pooling (1.3.2)").run()
    assert not at.exception
    assert _num(metric(at, "Max-pool max error")) > 0.1        # beta = 1 on U[0, 1)
    assert not [m for m in at.metric if m.label.startswith("Conv")]


def test_max_pooling_tab_reopens_from_a_shared_link():
    """Issue 14: the active part is in the URL (it reopened on Convolution before)."""
    at = run_page(PAGE, {"ra_tab": "Max pooling (1.3.2)", "ra_beta": "100"})
    assert at.segmented_control(key="ra_tab").value == "Max pooling (1.3.2)"
    assert _num(metric(at, "Max-pool max error")) > 0
    assert "Ignored URL parameter" not in shown_text(at)


def test_mixed_sign_kernel_needs_two_heads_and_is_exact():
    at = run_page(PAGE)
    at.text_input(key="ra_kernel").set_value("1, -2, 1").run()
    assert not at.exception
    assert metric(at, "Heads") == "2"
    assert _num(metric(at, "Conv max interior error")) < 1e-9
    at.selectbox(key="ra_method").set_value("per_tap").run()
    assert metric(at, "Heads") == "3"


def test_writeup_construction_is_wrong_for_its_kernel():
    at = run_page(PAGE, {"ra_method": "write-up's answer for [2, 0, 1]"})  # URL holds the label
    assert _num(metric(at, "Conv max interior error")) > 0.1
    assert _num(metric(at, "Kernel error")) == pytest.approx(1.4)


@pytest.mark.parametrize("text, words", [
    ("1, 2", "odd"), ("", "empty"), ("0, 0, 0", "all zeros"), ("1,2,3,4,5,6,7,8,9", "3 to 7"), ("1, a, 2", "not a number"),
])
def test_bad_kernel_gets_a_message_and_keeps_the_text(text, words):
    at = run_page(PAGE)
    at.text_input(key="ra_kernel").set_value(text).run()
    assert not at.exception
    errors = " ".join(str(e.value) for e in at.error)
    assert words in errors, errors
    assert at.text_input(key="ra_kernel").value == text
    at.segmented_control(key="ra_tab").set_value("Max pooling (1.3.2)").run()
    assert _num(metric(at, "Max-pool max error")) > 0          # the other part still works


@pytest.mark.parametrize("text", ["1e-320,0,1e-320", "5e-324,5e-324,5e-324", "1e308, 0, 1"])
def test_subnormal_and_huge_kernels_from_the_url_get_a_message(text):
    """Issue 17: these raised OverflowError in dashboard/plots_relattn.py."""
    at = run_page(PAGE, {"ra_kernel": text})
    errors = " ".join(str(e.value) for e in at.error)
    assert "too small" in errors or "too large" in errors, errors
    assert at.text_input(key="ra_kernel").value == text


def test_raw_p_mode_shows_the_kernel_you_built():
    at = page_app(PAGE).run()
    at.radio(key="ra_mode").set_value("raw").run()
    at.select_slider(key="ra_p_m1").set_value("0.0")
    at.select_slider(key="ra_p_p1").set_value("0.0")
    at.slider(key="ra_wv").set_value(2.0)
    at.text_input(key="ra_kernel").set_value("1, 0, 1").run()
    assert not at.exception
    assert _num(metric(at, "Kernel error")) < 1e-12
    assert _num(metric(at, "Conv max interior error")) < 1e-9
    at.select_slider(key="ra_p_p1").set_value("-inf")
    at.select_slider(key="ra_p_m1").set_value("-inf")
    at.select_slider(key="ra_p_p0").set_value("-inf").run()
    assert not at.exception
    assert "Every offset is masked" in " ".join(str(e.value) for e in at.error)


def test_negative_inputs_get_the_x_nonnegative_message():
    at = run_page(PAGE, {"ra_offset": "-0.5", **POOL})
    errors = " ".join(str(e.value) for e in at.error)
    assert "x_i >= 0" in errors
    at.segmented_control(key="ra_tab").set_value("Convolution (1.3.1)").run()
    assert _num(metric(at, "Conv max interior error")) < 1e-9   # conv needs no sign assumption


def test_maxpool_beta_and_shift_and_zero_queries():
    at = run_page(PAGE, {"ra_input": "spike", "ra_beta": "1000", **POOL})
    assert metric(at, "beta for error") == "unreachable"
    assert int(metric(at, "Queries with x_i + c = 0")) > 0
    writeup_err = _num(metric(at, "Max-pool max error"))
    at.radio(key="ra_construction").set_value("shifted").run()
    assert not at.exception
    assert _num(metric(at, "Max-pool max error")) < writeup_err / 10
    assert metric(at, "Queries with x_i + c = 0") == "0"


def test_larger_beta_lowers_the_maxpool_error_on_the_page():
    at = run_page(PAGE, POOL)
    e1 = _num(metric(at, "Max-pool max error"))
    at.select_slider(key="ra_beta").set_value(1000).run()
    assert _num(metric(at, "Max-pool max error")) < e1


def test_figure_builders_produce_valid_plotly_figures():
    """The builders skip plotly's validation for speed; validate their output here."""
    import math

    import plotly.graph_objects as go

    from dashboard import plots_relattn as pr
    from engine import relattn as ra

    x = ra.make_input("random non-negative", 64, seed=1)
    heads = ra.solve_conv([1, -2, 1])
    cmp = ra.compare_conv(x, [1, -2, 1], heads)
    res = ra.maxpool_attention(x, 1, 10.0)
    curve = ra.maxpool_error_curve(x, 1)
    figs = [
        pr.kernel_figure([1, -2, 1], cmp.effective, other=ra.effective_kernel(ra.writeup_conv_heads())),
        pr.attention_heatmap(*ra.attention_window(res.attention, 10, 16)),
        pr.overlay_figure(cmp.x, cmp.output, cmp.target, cmp.interior, target_name="true Conv1D"),
        pr.error_figure(cmp.error, cmp.interior),
        pr.beta_curve_figure(curve, beta_now=10.0, eps=0.01, beta_needed=ra.beta_for_error(x, 1, 0.01).beta),
    ]
    for fig in figs:
        again = go.Figure(fig.to_dict())          # raises on any invalid property
        assert again.layout.xaxis.title.text and again.layout.yaxis.title.text
        assert len(again.data) >= 1
    assert figs[4].layout.xaxis.type == "log" and figs[4].layout.yaxis.type == "log"
    assert figs[1].layout.yaxis.autorange == "reversed"
    assert pr.latex_head(ra.writeup_conv_heads()[0]).count(r"\ln 2") == 2
    assert r"-\infty" in pr.latex_head(ra.writeup_conv_heads()[0])
    assert "2.4" in pr.latex_effective(ra.effective_kernel(ra.writeup_conv_heads()))
    assert not math.isnan(cmp.max_abs_error)


def test_full_length_512_and_lecture_options_render():
    at = run_page(PAGE, {"ra_n": "512", "ra_kernel": "1, 2, -3, 2, 1", "ra_k": "3", "ra_beta": "100"})
    assert metric(at, "Heads") == "2"
    assert _num(metric(at, "Conv max interior error")) < 1e-9
    at.segmented_control(key="ra_tab").set_value("Max pooling (1.3.2)").run()
    assert 0 < _num(metric(at, "Max-pool max error")) < 1


def test_presets_jump_to_the_writeup_answer_and_the_zero_query_regime():
    at = run_page(PAGE)
    at.button(key="preset::§1.3.1: write-up's [2,0,1] answer").click().run()
    assert not at.exception
    assert _num(metric(at, "Conv max interior error")) > 0.1
    at.button(key="preset::§1.3.2: a query with x_i = 0").click().run()
    assert not at.exception
    assert at.segmented_control(key="ra_tab").value == "Max pooling (1.3.2)"
    assert metric(at, "beta for error") == "unreachable"


def test_preset_urls_reproduce_the_presets():
    """Each preset's URL query string (listed for the tour) opens the same state as its button."""
    from pages import relative_attention as page

    for name in page.PRESETS:
        by_button = run_page(PAGE)
        by_button.button(key=f"preset::{name}").click().run()
        by_url = run_page(PAGE, page.preset_query(name))
        assert "Ignored URL parameter" not in shown_text(by_url), name
        for m in by_button.metric:
            assert metric(by_url, m.label) == m.value, (name, m.label)


def test_part_controls_live_in_their_panels():
    """Issue 12: the shared input controls trigger a full rerun; each part's controls rerun only it."""
    at = run_page(PAGE, POOL)
    frag = set(at.session_state["_gsl_fragment_keys"])
    assert {"ra_k", "ra_beta", "ra_construction", "ra_eps", "ra_pool_zoom"} <= frag
    assert not {"ra_input", "ra_n", "ra_seed", "ra_offset", "ra_tab"} & frag
