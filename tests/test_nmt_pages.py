"""AppTest tests for the Translation page (shipped models, bad input, train-now)."""

from __future__ import annotations

import pytest
from conftest import page_app, run_page, shown_text


def test_translation_page_shipped_models():
    at = run_page("translation")
    text = shown_text(at)
    assert "Shipped models" in text and "label smoothing" in text
    acc = next(m.value for m in at.metric if m.label.endswith(": word accuracy"))
    assert float(acc.split()[0]) >= 97
    assert "Decoder-only vs encoder-decoder" in text
    # the default sentence is translated by both models
    assert "ethay" in text


def test_translation_page_bad_input():
    at = page_app("translation", {"tr_text": "   "}).run()
    assert not at.exception
    assert any("Nothing to translate" in e.value for e in at.error)
    at = page_app("translation", {"tr_text": "Hello, 42 worlds!! " + "b" * 30}).run()
    assert not at.exception
    text = shown_text(at)
    assert "'42' has no letters" in text and "cap" in text


@pytest.mark.slow
def test_translation_page_train_now():
    at = page_app("translation", {"tr_dataset": "tiny", "tr_hidden": "16", "tr_layers": "1", "tr_epochs": "1"}).run()
    assert not at.exception
    at.button(key="tr_train").click().run()
    assert not at.exception
    assert "held-out word accuracy" in shown_text(at)
    at.selectbox(key="tr_model_b").select("trained now (this session)").run()
    assert not at.exception
