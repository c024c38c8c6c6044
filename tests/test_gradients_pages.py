"""AppTest tests for the issue-3 pages: single neuron and RNN Jacobian."""

from __future__ import annotations

from conftest import metric, page_app, run_page, shown_text


# ---------------------------------------------------------------------------
# Single neuron
# ---------------------------------------------------------------------------
def test_single_neuron_default_and_dead_relu():
    at = run_page("single_neuron")
    assert metric(at, "bound holds") == "yes"
    assert metric(at, "df/dx") == metric(at, "bound prod")  # ReLU, x > 0, all w > 0: equality
    at.slider(key="sn_x").set_value(-1.0).run()
    assert not at.exception
    assert metric(at, "df/dx") == "0 (exactly)"
    assert "layer **1** is off" in shown_text(at)


def test_single_neuron_all_equal_deep_sigmoid_no_underflow():
    at = page_app("single_neuron", {"sn_mode": "all equal", "sn_act": "sigmoid", "sn_depth": "200", "sn_w": "0.1"}).run()
    assert not at.exception
    grad = metric(at, "df/dx")
    assert "underflow avoided" in grad and "nan" not in grad.lower()
    assert "underflow avoided" in metric(at, "bound prod")
    assert "\\prod_{i=1}^{200}" in shown_text(at)


def test_single_neuron_write_up_claim_fails_for_negative_input():
    at = run_page("single_neuron", {"sn_mode": "all equal", "sn_w": "1.5", "sn_x": "-0.5", "sn_depth": "10"})
    assert "that claim fails" in shown_text(at)


def test_single_neuron_bad_query_param_notice():
    at = page_app("single_neuron", {"sn_mode": "all equal", "sn_depth": "abc"}).run()
    assert not at.exception
    text = shown_text(at)
    assert "Ignored URL parameter `sn_depth=abc`" in text
    assert "\\prod_{i=1}^{50}" in text  # the default depth is used


# ---------------------------------------------------------------------------
# RNN Jacobian
# ---------------------------------------------------------------------------
def test_rnn_default_is_write_up_setup_and_bound_holds():
    at = run_page("rnn_jacobian")
    assert "0.25" in shown_text(at)
    gap = float(metric(at, "log10 sigma_max / bound"))
    assert gap < 0  # measured below the bound


def test_rnn_very_deep_product_reports_log10():
    at = run_page("rnn_jacobian", {"rnn_n": "8", "rnn_steps": "10000"})
    s = metric(at, "sigma_max(J)")
    assert "underflow avoided: log10 = -" in s
    assert "underflow avoided" in metric(at, "bound")
    assert "nan" not in shown_text(at).lower().replace("nans", "")


def test_rnn_bad_inputs():
    at = run_page("rnn_jacobian", {"rnn_scale": "0", "rnn_steps": "20"})
    assert metric(at, "sigma_max(J)") == "0 (exactly)"
    assert metric(at, "log10 sigma_max / bound") == "undefined (both 0)"
    at = run_page("rnn_jacobian", {"rnn_steps": "0"})
    assert metric(at, "sigma_max(J)") == "1"
    assert "identity" in shown_text(at)
    at = run_page("rnn_jacobian", {"rnn_n": "1", "rnn_family": "orthogonal", "rnn_scale": "1.0"})
    assert metric(at, "sigma_max(J)")
    at = run_page("rnn_jacobian", {"rnn_family": "gaussian", "rnn_scale": "1000000", "rnn_act": "tanh",
                                   "rnn_n": "8", "rnn_steps": "50"})
    assert "saturates" in shown_text(at) and "underflow avoided" in metric(at, "sigma_max(J)")
    at = page_app("rnn_jacobian", {"rnn_steps": "abc"}).run()
    assert not at.exception and "Ignored URL parameter `rnn_steps=abc`" in shown_text(at)


def test_rnn_presets_and_counterexamples():
    at = run_page("rnn_jacobian")
    at.button(key="preset::non-normal W: where the SVD step fails").click().run()
    assert not at.exception
    text = shown_text(at)
    assert "The identity fails" in text and "the final bound holds" in text
    assert "nats per step (ln 2 = 0.6931)" in text
    at.button(key="preset::edge of chaos (tanh, orthogonal, g = 1)").click().run()
    assert not at.exception
    assert at.selectbox(key="rnn_family").value == "orthogonal"
    assert at.select_slider(key="rnn_steps").value == 1000
