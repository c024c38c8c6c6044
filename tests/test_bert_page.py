"""AppTest tests for pages/bert.py: first view, write-up questions, live box, bad input, a tiny run."""

from __future__ import annotations

import time

import pytest
from conftest import page_app, run_page, shown_table, shown_text

from engine import bert

needs_shipped = pytest.mark.skipif(
    not (bert.RESULTS_PATH.exists() and bert.DELTA_PATH.exists()), reason="shipped results/weights not generated yet"
)


@needs_shipped
def test_first_view_shows_questions_numbers_and_live_prediction():
    at = run_page("bert")
    text = shown_text(at)
    assert "§3.2" in text and "§3.3" in text
    labels = [m.label for m in at.metric]
    assert "Full: val accuracy" in labels and "Frozen: s / epoch" in labels
    ev = bert.writeup_evidence()
    full = next(m.value for m in at.metric if m.label == "Full: val accuracy")
    assert full == f"{100 * ev.full_val_accuracy:.1f}%"
    pred = next(m.value for m in at.metric if m.label == "Predicted sign")
    assert pred in ("negative", "zero", "positive")
    assert not at.error


@needs_shipped
def test_live_box_bad_input_keeps_text():
    at = page_app("bert").run()
    at.text_area(key="bert_text").set_value("").run()
    assert not at.exception
    assert any("empty" in e.value for e in at.error)
    assert at.text_area(key="bert_text").value == ""
    long = "forty-two minus seven " * 500
    at.text_area(key="bert_text").set_value(long[:10_000]).run()
    assert not at.exception
    assert "the model reads at most 512" in shown_text(at)
    assert at.text_area(key="bert_text").value == long[:10_000]


def test_unreachable_checkpoint_message():
    at = page_app("bert").run()
    at.selectbox(key="bert_ckpt").set_value("other").run()
    at.text_input(key="bert_custom").set_value("nobody-here/no-such-model").run()
    at.button(key="bert_train").click().run()
    assert not at.exception
    assert any("not in the local Hugging Face cache" in e.value for e in at.error)
    assert at.text_input(key="bert_custom").value == "nobody-here/no-such-model"


@pytest.mark.parametrize("name", ["/etc", "/no/such/folder", "[x](http://example.com) /root"])
def test_server_folders_cannot_be_probed_or_injected(name):
    """No GSL_MODEL_DIRS: any path gets the same message, shown as text (issue 17)."""
    at = page_app("bert").run()
    at.selectbox(key="bert_ckpt").set_value("other").run()
    at.text_input(key="bert_custom").set_value(name).run()
    at.button(key="bert_train").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("is not available: enter a Hugging Face model id" in e.replace("\\", "") for e in errors), errors
    assert not any("](http" in e for e in errors)  # the markdown link is escaped (shown as text)


@needs_shipped
@pytest.mark.parametrize("text, fragment", [("7 - 9", "digits"), ("seven times nine", "only operators trained"),
                                            ("I love pizza", "never read the word")])
def test_outside_the_task_is_said_before_the_prediction(text, fragment):
    at = run_page("bert", {"bert_text": text})
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("Outside what the model learned" in w and fragment in w for w in warnings), warnings
    assert next(m.value for m in at.metric if m.label == "Predicted sign") in ("negative", "zero", "positive")


@needs_shipped
def test_in_task_expression_shows_the_truth_and_the_confusion_matrix():
    at = run_page("bert", {"bert_text": "twelve minus eleven"})
    assert not at.exception and not at.warning
    text = shown_text(at)
    assert "True answer: **positive** (12 − 11 = 1)" in text
    pred = next(m.value for m in at.metric if m.label == "Predicted sign")
    if pred != "positive":
        assert any("The model is wrong here" in e.value for e in at.error)
    labels = [m.label for m in at.metric]
    assert {"All classes", "negative", "zero", "positive"} <= set(labels)


@needs_shipped
def test_damaged_results_and_delta_keep_the_page(tmp_path, monkeypatch):
    bad_results = tmp_path / "results.json"
    bad_results.write_text(bert.RESULTS_PATH.read_text()[:500])
    bad_delta = tmp_path / "finetuned_delta.safetensors"
    bad_delta.write_bytes(bert.DELTA_PATH.read_bytes()[:4096])
    monkeypatch.setattr(bert, "RESULTS_PATH", bad_results)
    monkeypatch.setattr(bert, "DELTA_PATH", bad_delta)
    at = run_page("bert")
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "results.json is damaged" in errors and "finetuned_delta.safetensors is damaged" in errors
    assert "git checkout" in errors
    assert "Train a run" in shown_text(at)  # the rest of the page is there


def test_other_checkpoint_needs_a_name():
    at = page_app("bert").run()
    at.selectbox(key="bert_ckpt").set_value("other").run()
    at.button(key="bert_train").click().run()
    assert not at.exception
    assert any("Type a Hugging Face model id" in e.value for e in at.error)
    assert "_bert_job" not in at.session_state  # nothing was queued


@pytest.mark.slow
def test_tiny_frozen_run_appears_and_predicts():
    at = page_app("bert", timeout=300).run()
    at.segmented_control(key="bert_mode").set_value("frozen").run()
    at.select_slider(key="bert_ntrain").set_value(60)  # form widgets: submitted with the button
    at.slider(key="bert_epochs").set_value(2)
    at.button(key="bert_train").click().run()
    assert not at.exception
    from dashboard import jobs

    job_id = at.session_state["_bert_job"]
    for _ in range(1200):  # the run is a job in the server's queue: wait for it (no timing asserted)
        if not jobs.status(job_id).active:
            break
        time.sleep(0.25)
    assert jobs.status(job_id).state == "done", jobs.status(job_id).error
    at.run()
    at.run()
    table = shown_table(at)
    assert any("you: embedded · frozen · n=60" in r for r in table["run"])
    at.radio(key="bert_model").set_value("yours").run()
    assert not at.exception
    assert next(m.value for m in at.metric if m.label == "Predicted sign") in ("negative", "zero", "positive")
