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
def test_translation_page_train_now_through_the_job_queue():
    from dashboard import jobs

    at = page_app("translation", {"tr_dataset": "tiny", "tr_hidden": "16", "tr_layers": "1", "tr_epochs": "1"}).run()
    assert not at.exception
    assert "time cap" in shown_text(at)
    at.button(key="tr_train").click().run()
    assert not at.exception
    job_id = at.session_state["tr_job"]
    final = jobs.QUEUE.wait(job_id, timeout=600)
    assert final.state == "done", final.error
    assert final.data["evals"], "the live loss curve got no evaluation points"
    at.run()
    assert not at.exception
    assert "held-out word accuracy" in shown_text(at)
    at.selectbox(key="tr_model_b").select("trained now (this session)").run()
    assert not at.exception
    assert "trained now (this session)" in shown_text(at)


def _counting(monkeypatch, module, name, calls):
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def test_translation_computes_only_the_selected_words_maps_and_caches(monkeypatch):
    import streamlit as st

    import pages.translation as page
    from engine import nmt

    st.cache_data.clear()
    maps, translations = [], []
    _counting(monkeypatch, page, "attention_maps", maps)
    _counting(monkeypatch, nmt, "translate", translations)
    at = page_app("translation", {"tr_text": "pig latin is fun"}).run()
    assert not at.exception
    # two models, each translated once without maps; maps for one word per model only
    assert len(translations) == 2 and all(kw.get("with_attention") is False for _, kw in translations)
    assert len(maps) == 2 and {a[1] for a, _ in maps} == {"pig"}
    at.selectbox(key="tr_word").select("latin").run()
    assert not at.exception
    assert len(translations) == 2, "changing the word must not translate again"
    assert len(maps) == 4 and {a[1] for a, _ in maps[2:]} == {"latin"}
    at.selectbox(key="tr_word").select("pig").run()
    assert len(maps) == 4, "a word seen before comes from the cache"
    at.segmented_control(key="tr_xaxis").set_value("seconds").run()  # another panel's control
    assert not at.exception and len(translations) == 2 and len(maps) == 4


def test_typed_text_is_shown_as_text_never_markdown():
    evil = "[phish](http://example.com/phish) ![t](http://example.com/t.png) <b>bold</b> `x` **strong**"
    at = page_app("translation", {"tr_text": evil}).run()
    assert not at.exception
    for el in list(at.markdown) + list(at.caption):
        assert "example.com" not in str(el.value) and "<b>" not in str(el.value)
    # the typed punctuation comes back literally as plain text (not rendered as bold / links)
    assert any("**" in str(t.value) and "<" in str(t.value) for t in at.text)


def test_loss_curve_legend_is_grouped_and_under_the_plot():
    from dashboard import plots_attention as pa
    from engine import nmt

    r = nmt.shipped_results()
    fig = pa.loss_curves({n: s.history for n, s in r.runs.items()})
    shown = [t for t in fig.data if t.showlegend is not False]
    assert len(shown) == len(r.runs) + 2  # one entry per run + the two line-style keys (was 14 + 0)
    # under the plot (anchored to the bottom of the figure), never over the title or the curves
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0 and fig.layout.legend.yanchor == "bottom"
    assert fig.layout.legend.groupclick == "togglegroup"
    for t in fig.data:
        if t.name.endswith(" train"):
            assert t.legendgroup == t.name[: -len(" train")]


def test_attention_heads_figure_is_projector_sized():
    from dashboard import plots_attention as pa
    from engine.nmt.train import attention_maps, load_shipped

    res = load_shipped("decoder_h64")
    m = attention_maps(res.model, "shopping", "oppingshay", res.vocab)[2]
    fig = pa.attention_heads(m, title="t")
    n = len(m.query_tokens)
    rows = 2  # 4 heads, 2 per row
    assert fig.layout.height >= rows * pa.CELL_PX * n
    one = pa.attention_heads(m, title="t", heads=[1], cols=1)
    assert len(one.data) == 1 and one.layout.height >= pa.CELL_PX * n


def test_translation_presets_apply_and_switch_without_errors():
    import pages.translation as page

    at = run_page("translation")
    for name in list(page.PRESETS)[::-1]:
        at.button(key=f"preset::{name}").click().run()
        assert not at.exception, (name, [e.value for e in at.exception])
        values = page.PRESETS[name]
        assert at.selectbox(key="tr_model_a").value == values["tr_model_a"]
        assert at.selectbox(key="tr_model_b").value == values["tr_model_b"]
    at.button(key="preset::2.1.3 longer than any training word").click().run()
    assert at.selectbox(key="tr_word").value == "understatement"
    assert "longer than any training word" in shown_text(at)


def test_training_job_stops_on_cancel():
    import time

    import pages.translation as page
    from dashboard import jobs
    from engine import nmt

    cfg = nmt.TrainConfig(hidden_size=16, num_layers=1, num_heads=2, dataset="tiny", epochs=30, threads=None)
    job_id = jobs.submit(kind="nmt-train", label="test cancel", fn=page._train_job(cfg), cap_s=120)
    deadline = time.monotonic() + 120
    while jobs.status(job_id).fraction == 0 and time.monotonic() < deadline:  # wait until it has taken steps
        time.sleep(0.05)
    assert jobs.cancel(job_id)
    final = jobs.QUEUE.wait(job_id, timeout=120)
    assert final.state == "cancelled" and final.result is None
    assert final.fraction < 0.9  # it stopped long before the 30 epochs
