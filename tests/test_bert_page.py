"""AppTest tests for pages/bert.py: first view, write-up questions, live box, bad input, a tiny run."""

from __future__ import annotations

import pytest
from conftest import page_app, run_page, shown_text

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


def test_other_checkpoint_needs_a_name():
    at = page_app("bert").run()
    at.selectbox(key="bert_ckpt").set_value("other").run()
    assert any("Type a Hugging Face model id" in e.value for e in at.error)


@pytest.mark.slow
def test_tiny_frozen_run_appears_and_predicts():
    at = page_app("bert", timeout=300).run()
    at.segmented_control(key="bert_mode").set_value("frozen").run()
    at.select_slider(key="bert_ntrain").set_value(60).run()
    at.slider(key="bert_epochs").set_value(2).run()
    at.button(key="bert_train").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert any("you: embedded · frozen · n=60" in r for r in table["run"])
    at.radio(key="bert_model").set_value("yours").run()
    assert not at.exception
    assert next(m.value for m in at.metric if m.label == "Predicted sign") in ("negative", "zero", "positive")
