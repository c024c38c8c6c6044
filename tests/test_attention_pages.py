"""AppTest tests for the Attention and Positional encodings pages."""

from __future__ import annotations

from conftest import metric, page_app, run_page, shown_figures, shown_text


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


def test_attention_page_trained_layer_shows_learned_attention():
    at = run_page("attention", {"at_source": "trained layer", "at_model": "decoder_h64", "at_word": "Shopping!",
                                "at_layer": "3", "at_head": "2"})
    text = shown_text(at)
    assert "self-attention (causal), layer 3, head 2" in text
    assert "The model reads: shopping" in text  # typed text shown as plain text, cleaned
    assert float(metric(at, "max |row sum")) < 1e-9
    # SOS shopping EOP oppingshay: 20 tokens, causal: 190 masked entries, all exactly 0
    assert "190 masked entries; 190 of them have weight exactly 0." in text
    at.segmented_control(key="at_step").set_value("4. softmax").run()
    assert not at.exception


def test_attention_page_trained_encdec_cross_attention_and_bad_url_values():
    at = run_page("attention", {"at_source": "trained layer", "at_model": "encdec_h64_small", "at_word": "string",
                                "at_kind": "cross"})
    assert "cross-attention (decoder → encoder), layer 3, head 1" in shown_text(at)
    assert "No mask" in shown_text(at)
    for bad in ({"at_layer": "99"}, {"at_head": "0"}, {"at_kind": "nope"}, {"at_model": "../../etc/passwd"},
                {"at_step": "<b>x</b>"}, {"at_source": "[x](http://example.com)"}):
        at = page_app("attention", {"at_source": "trained layer", **bad}).run()
        assert not at.exception, (bad, [e.value for e in at.exception])
    at = page_app("attention", {"at_source": "trained layer", "at_word": "12345"}).run()
    assert not at.exception and any("letters a–z" in e.value for e in at.error)


def test_attention_step_bar_is_in_the_url_and_only_builds_the_chosen_step():
    at = run_page("attention", {"at_step": "5. context"})
    charts = shown_figures(at)
    # the chosen step's figure and the entropy bars only (st.tabs would have built all seven)
    assert len(charts) == 2


def test_attention_heatmap_labels_escape_typed_html():
    from dashboard import plots_attention as pa

    fig = pa.matrix([[1.0]], ["<a href='http://x'>t</a>"], ["<b>k"], title="t", colorbar="c")
    labels = list(fig.data[0].x) + list(fig.data[0].y)
    assert all("<" not in label for label in labels)


def test_positional_page_no_verdict_rests_on_nan():
    # issue 15: L = 4, k = 16 said "holds" next to an error of "undefined (NaN)"
    for beyond in ("0", "1", "16"):
        at = run_page("positional_encodings", {"pe_train": "4", "pe_shift": "16", "pe_beyond": beyond})
        text = shown_text(at)
        assert "NaN" not in text
        assert metric(at, "shift-by-16 map error: sinusoidal") != "undefined (NaN)"
        assert float(metric(at, "shift-by-16 map error: sinusoidal")) < 1e-9


def test_positional_view_bar_builds_only_the_chosen_view():
    at = run_page("positional_encodings", {"pe_view": "Similarity vs distance"})
    assert len(shown_figures(at)) == 1
    at.segmented_control(key="pe_view").set_value("Similarity matrices").run()
    assert not at.exception and len(shown_figures(at)) == 2
