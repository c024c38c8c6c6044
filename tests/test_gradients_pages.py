"""AppTest tests for the issue-3 pages: single neuron and RNN Jacobian."""

from __future__ import annotations

import time

import pytest
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


def test_single_neuron_writeup_1_1_1_preset_all_weights_one():
    at = run_page("single_neuron")
    at.button(key="preset::§1.1.1: ReLU, all weights 1").click().run()
    assert not at.exception
    assert metric(at, "df/dx") == "1" and metric(at, "bound prod") == "1"
    at.button(key="preset::§1.1.1: ReLU, x < 0 (gradient 0)").click().run()
    assert metric(at, "df/dx") == "0 (exactly)"


def test_single_neuron_preset_urls_reproduce_the_presets():
    from pages import single_neuron as page

    for name in page.PRESETS:
        by_button = run_page("single_neuron")
        by_button.button(key=f"preset::{name}").click().run()
        by_url = run_page("single_neuron", page.preset_query(name))
        assert "Ignored URL parameter" not in shown_text(by_url), name
        for m in by_button.metric:
            assert metric(by_url, m.label) == m.value, (name, m.label)


def test_single_neuron_axis_spans_the_layers_when_the_gradient_is_zero():
    """Issue 14: with df/dx = 0 the x-axis ran -100..200 and the curve shrank to a dot."""
    from dashboard import plots_gradients as plots
    from engine import gradients

    for depth in (1, 6, 50):
        fig = plots.chain_figure(gradients.scalar_chain(-1.0, [1.5] * depth, "relu"))
        lo, hi = fig.layout.xaxis.range
        assert -0.05 * depth - 0.5 <= lo <= 0 and depth <= hi <= depth * 1.05 + 1


def test_single_neuron_intro_is_typeset():
    text = shown_text(run_page("single_neuron"))
    assert r"$h_i = \phi(w_i h_{i-1})$" in text and "h_i = phi(" not in text


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
    at.button(key="preset::§1.2.1: the SVD-power step (non-normal W)").click().run()
    assert not at.exception
    text = shown_text(at)
    assert "The identity fails" in text and "the final bound holds" in text
    assert "nats per step (ln 2 = 0.6931)" in text
    at.button(key="preset::Edge of chaos: tanh, orthogonal, g = 1").click().run()
    assert not at.exception
    assert at.selectbox(key="rnn_family").value == "orthogonal"
    assert at.select_slider(key="rnn_steps").value == 1000


def test_rnn_pascanu_cited_with_the_singular_value():
    """Issue 15: Pascanu et al. 2013, sec. 2.1 state the condition with the largest singular value."""
    text = shown_text(run_page("rnn_jacobian"))
    assert "sec. 2.1" in text and "singular" in text and "arXiv v1" in text
    assert "3.1" not in text.split("Pascanu")[1][:40]


def test_rnn_isometry_panel_says_when_the_theory_does_not_apply():
    """Issue 15: N = 32, L = 50 measures 15-30 against 99.5 (ReLU-Gaussian); the page must say so."""
    at = run_page("rnn_jacobian", {"rnn_iso_n": "32", "rnn_iso_l": "50"})
    text = shown_text(at)
    assert "Outside the theory's regime" in text and "N - 1 = 31" in text
    at = run_page("rnn_jacobian", {"rnn_iso_n": "128", "rnn_iso_l": "10"})
    text = shown_text(at)
    assert "Outside the theory's regime" not in text and "inside the regime" in text


def _array(v):
    """A plotly trace array as numpy (plotly 7 may hold it as typed-array bdata)."""
    import base64

    import numpy as np

    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).astype(float)
    return np.asarray(v, dtype=float)


def test_rnn_fuss_catalan_overlay_has_unit_mass_at_depth():
    """Issue 15: the overlay lost its mass at depth (0.02 at L = 500)."""
    import numpy as np

    from pages import rnn_jacobian as page

    at = run_page("rnn_jacobian", {"rnn_family": "gaussian", "rnn_tied": "false", "rnn_act": "linear",
                                   "rnn_scale": "1.0", "rnn_n": "4", "rnn_steps": "500"})
    assert "Fuss-Catalan" in shown_text(at)
    _, spec_fig, _ = page._main_figures((4, 500, "linear", "gaussian", 1.0, 0, False))
    fc = [t for t in spec_fig.data if (t.name or "").startswith("Fuss-Catalan")][0]
    assert np.trapezoid(_array(fc.y), _array(fc.x)) == pytest.approx(1.0, abs=0.01)


def test_rnn_preset_urls_reproduce_the_presets():
    from pages import rnn_jacobian as page

    for name in page.PRESETS:
        by_button = run_page("rnn_jacobian")
        by_button.button(key=f"preset::{name}").click().run()
        by_url = run_page("rnn_jacobian", page.preset_query(name))
        assert "Ignored URL parameter" not in shown_text(by_url), name
        for m in by_button.metric:
            assert metric(by_url, m.label) == m.value, (name, m.label)


def test_rnn_long_spectrum_runs_as_a_job_and_leaves_no_status_box(monkeypatch):
    """Issue 12/14: a long spectrum shows progress (no frozen page) and no stale 'Done' box stays."""
    from dashboard import jobs
    from pages import rnn_jacobian as page

    monkeypatch.setattr(page, "LONG_WORK", 1)       # treat a tiny spectrum as long
    at = run_page("rnn_jacobian", {"rnn_n": "4", "rnn_steps": "20"})
    job_id = at.session_state[page.JOB_KEY]
    assert "job queue" in shown_text(at)
    for _ in range(600):
        if jobs.status(job_id).state not in jobs.ACTIVE_STATES:
            break
        time.sleep(0.1)
    assert jobs.status(job_id).state == "done"
    at.run()
    assert not at.exception
    assert metric(at, "sigma_max(J)")
    assert page.JOB_KEY not in at.session_state
    assert not at.get("status") and "Done" not in shown_text(at) and not at.success


def test_rnn_panels_own_their_controls():
    """Issue 12: every control lives in the one panel (fragment) that reads it, and the isometry
    panel does not follow the spectrum's width N."""
    at = run_page("rnn_jacobian", {"rnn_n": "64"})
    frag = set(at.session_state["_gsl_fragment_keys"])
    assert {"rnn_n", "rnn_steps", "rnn_act", "rnn_family", "rnn_seed", "rnn_tied", "rnn_iso_n", "rnn_iso_l",
            "rnn_nn_k", "rnn_px_depth"} <= frag
    assert "$N$ = 128" in shown_text(at)          # the isometry panel keeps its own N


def test_single_neuron_controls_live_in_the_panel():
    at = run_page("single_neuron")
    assert {"sn_act", "sn_mode", "sn_x", "sn_layers", "sn_w1"} <= set(at.session_state["_gsl_fragment_keys"])


@pytest.mark.parametrize("module, keys", [
    ("single_neuron", ["sn_x_hidden"]),
    ("rnn_jacobian", ["rnn_x_nonnormal", "rnn_x_pascanu", "rnn_x_iso"]),
    ("relative_attention", ["ra_x_writeup"]),
    ("relative_attention", ["ra_x_samples"]),
])
def test_open_expanders_are_part_of_a_shared_link(module, keys):
    """Issue 14: an open expander is in the URL, so a shared link reopens it (no 'unknown' notice)."""
    query = {k: "true" for k in keys}
    if "ra_x_samples" in keys:  # it lives in the max-pooling part
        query["ra_tab"] = "Max pooling (1.3.2)"
    at = run_page(module, query)
    text = shown_text(at) + "\n".join(str(t.value) for t in at.text)
    assert "Ignored" not in text, text[:500]
    for k in keys:
        assert at.query_params.get(k) in ("true", ["true"]), (k, dict(at.query_params))
