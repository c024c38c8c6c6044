"""AppTest tests for the Attention and Positional encodings pages."""

from __future__ import annotations

from conftest import metric, page_app, run_page, shown_text


def test_attention_page_defaults_and_causal():
    at = run_page("attention")
    assert "Attention, step by step" in shown_text(at)
    assert "No mask" in shown_text(at)
    at.toggle(key="at_causal").set_value(True).run()
    assert not at.exception
    text = shown_text(at)
    assert "15 masked entries; 15 of them have weight exactly 0." in text


def test_attention_page_temperature_changes_entropy():
    at = run_page("attention")
    hot = float(metric(at, "mean row entropy (nats)"))
    at.select_slider(key="at_temp").set_value(0.05).run()
    cold = float(metric(at, "mean row entropy (nats)"))
    assert not at.exception and cold < hot


def test_attention_page_bad_input():
    at = page_app("attention", {"at_tokens": "   "}).run()
    assert not at.exception
    assert any("at least one token" in e.value for e in at.error)
    at = page_app("attention", {"at_tokens": " ".join(f"w{i}" for i in range(30))}).run()
    assert not at.exception and "first 12 of 30" in shown_text(at)


def test_positional_page():
    at = run_page("positional_encodings")
    assert metric(at, "norm past L: one-hot") == "0"
    assert float(metric(at, "cos(neighbours): sinusoidal")) > 0.5
    at.slider(key="pe_train").set_value(10).run()
    assert not at.exception
    assert metric(at, "one-hot shift map rank (of 10)") == "7"
