"""AppTest tests for the "Gradients through time" page (issue 18), with tiny training runs
through the server-wide job queue."""

from __future__ import annotations

import pytest
from conftest import run_page, shown_text

from dashboard import jobs
from engine import rnn_training as rt

PAGE = "gradients_through_time"


def _train(at, **values):
    """Set form widgets by key, press Train, wait for the queued job, rerun until it is shown."""
    for key, v in values.items():
        widget = next(w for group in (at.select_slider, at.selectbox, at.multiselect, at.number_input, at.toggle)
                      for w in group if w.key == key)
        widget.set_value(v)
    at.button(key="gtt_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job_id = at.session_state["gtt_job"]
    final = jobs.QUEUE.wait(job_id, timeout=300)
    assert final.state in jobs.FINAL_STATES, final
    for _ in range(3):  # fragment hand-over: on_done, then a full rerun
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return final


def test_page_renders_with_benchmark_and_no_result_yet():
    at = run_page(PAGE)
    text = shown_text(at)
    assert "Press Train" in text
    assert "Gradients through time" in text
    assert any("Benchmark" in e.label for e in at.expander)


def test_presets_set_the_form_values():
    at = run_page(PAGE)
    at.button(key="preset::exploding gradients without clipping (g = 3)").click().run()
    assert not at.exception
    assert at.number_input(key="gtt_gain").value == 3.0
    assert at.toggle(key="gtt_clip").value is False
    assert at.selectbox(key="gtt_opt").value == "sgd"
    assert at.multiselect(key="gtt_models").value == ["rnn_tanh"]
    at.button(key="preset::RNN fails at T=100, LSTM solves it").click().run()
    assert at.select_slider(key="gtt_T").value == 100
    assert at.multiselect(key="gtt_models").value == ["rnn_tanh", "lstm"]
    assert at.toggle(key="gtt_clip").value is True


@pytest.mark.slow
def test_tiny_training_run_through_the_queue_shows_results():
    at = run_page(PAGE)
    final = _train(at, gtt_T=10, gtt_hidden=8, gtt_batch=16, gtt_steps=20, gtt_models=["rnn_tanh", "gru"])
    assert final.state == "done" and isinstance(final.result, rt.TrainingResult)
    assert final.result.histories["gru"].steps_done == 20
    text = shown_text(at)
    labels = [m.label for m in at.metric]
    assert any(lab.startswith("tanh RNN: held-out MSE") for lab in labels)
    assert any(lab.startswith("GRU: held-out MSE") for lab in labels)
    assert "ended: finished" in text
    assert "sigma_max(ds_T/ds_1)" in text and "(gamma sigma_max(W_hh))^(T-1)" in text


@pytest.mark.slow
def test_nan_learning_rate_keeps_what_was_recorded():
    at = run_page(PAGE)
    _train(at, gtt_T=10, gtt_hidden=8, gtt_batch=16, gtt_steps=50, gtt_models=["rnn_relu"], gtt_init="identity",
           gtt_opt="sgd", gtt_lr=100.0, gtt_clip=False, gtt_gain=2.0)
    warn = " ".join(str(w.value) for w in at.warning)
    assert "stopped there" in warn and ("NaN" in warn or "infinite" in warn)
    assert "ended: all diverged" in shown_text(at)


def test_too_long_sequence_for_memory_gets_a_clear_message():
    at = run_page(PAGE)
    for key, v in dict(gtt_T=500, gtt_hidden=256, gtt_batch=512, gtt_steps=5000).items():
        next(w for w in at.select_slider if w.key == key).set_value(v)
    at.multiselect(key="gtt_models").set_value(["rnn_tanh", "lstm", "gru"])
    at.button(key="gtt_train").click().run()
    assert not at.exception
    err = " ".join(str(e.value) for e in at.error)
    assert "Cannot train this configuration" in err and "memory" in err
    assert "gtt_job" not in at.session_state
    assert at.select_slider(key="gtt_T").value == 500  # nothing the user chose is lost


@pytest.mark.browser
@pytest.mark.slow
def test_browser_tiny_training_run_live_and_done(streamlit_server, page):
    from conftest import screenshot, wait_for_app

    page.set_viewport_size({"width": 1400, "height": 4000})
    page.goto(f"{streamlit_server}/gradients-through-time?gtt_T=10&gtt_hidden=8&gtt_batch=16&gtt_steps=50")
    wait_for_app(page)
    page.get_by_role("button", name="Train").click()
    page.wait_for_selector("text=ended: finished", timeout=300_000)
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="gslChart"]').count() >= 6  # loss, 2 heatmaps, profile, spectra, clip
    screenshot(page, "gradients_through_time_done")
