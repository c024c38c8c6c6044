"""AppTest checks of the CLIP prompting lab page."""

from __future__ import annotations

from conftest import metric, page_app, run_page, shown_text

from engine import clip


def test_default_view_shows_prediction_and_goldfish_check():
    at = run_page("clip")
    assert metric(at, "Top prompt") in {"two goldfish", "two nemo", "two orange fish"}
    assert float(metric(at, "Its probability").rstrip("%")) > 0
    text = shown_text(at)
    assert "What the tiny model knows" in text and "Count accuracy" in text
    assert len(at.dataframe) == 2  # this image's variants and the seeded §4.2 check
    check = at.dataframe[1].value
    assert list(check["variant"]) == list(clip.GOLDFISH_VARIANTS)
    works = dict(zip(check["variant"], check["works"]))
    assert works["two goldfish"] == "yes" and works["two nemo"] == "yes"


def test_other_sample_changes_the_answer():
    at = run_page("clip", {"cl_image": "three red circles", "cl_prompts": "three red circles\ntwo orange fish\none blue square"})
    assert metric(at, "Top prompt") == "three red circles"


def test_empty_and_too_many_prompts_keep_the_text():
    at = run_page("clip")
    at.text_area(key="cl_prompts").set_value("  \n\n").run()
    assert not at.exception
    assert "prompt list is empty" in shown_text(at)
    assert at.text_area(key="cl_prompts").value == "  \n\n"
    many = "\n".join(f"prompt {i}" for i in range(101))
    at.text_area(key="cl_prompts").set_value(many).run()
    assert not at.exception and "at most 100" in shown_text(at)
    assert at.text_area(key="cl_prompts").value == many


def test_offline_real_model_message_keeps_embedded(monkeypatch):
    monkeypatch.setattr(clip, "_hub_reachable", lambda *a, **k: False)
    monkeypatch.setattr(clip, "_cached_hub_file", lambda *a, **k: None)
    at = page_app("clip", {"cl_model": "ViT-B-32/openai"}).run()
    assert not at.exception
    text = shown_text(at)
    assert "timm/vit_base_patch32_clip_224.openai" in text and "embedded tiny CLIP stays in use" in text
    assert metric(at, "Top prompt")  # predictions still shown with the embedded model


def test_ensembling_toggle():
    at = run_page("clip", {"cl_ensemble": "true"})
    assert float(metric(at, "Its probability").rstrip("%")) > 0
