"""AppTest checks of the CLIP prompting lab page (issues 8, 12, 16, 17)."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from conftest import metric, page_app, run_page, shown_table, shown_text
from PIL import Image

from engine import clip, scenes

needs_ood = pytest.mark.skipif(not clip.OOD_PATH.exists(), reason="assets/clip/tiny/ood_detector.safetensors missing")


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_default_view_shows_prediction_and_goldfish_check():
    at = run_page("clip")
    assert not at.exception
    assert metric(at, "Top prompt") in {"two goldfish", "two nemo", "two orange fish"}
    assert float(metric(at, "Its probability").rstrip("%")) > 0
    text = shown_text(at)
    assert "What the tiny model knows" in text and "Count accuracy" in text
    check = shown_table(at)  # the seeded §4.2 check
    assert list(check["variant"]) == list(clip.GOLDFISH_VARIANTS)
    works = dict(zip(check["variant"], check["works"]))
    assert works["two goldfish"] == "yes" and works["two nemo"] == "yes" and works["two nemos"] == "no"
    unread = dict(zip(check["variant"], check["words never read in training"]))
    assert unread["two nemos"] == "nemos" and unread["two goldfish"] == "none"
    assert "never read *nemos*" in text


def test_other_sample_changes_the_answer():
    at = run_page("clip", {"cl_image": "three red circles",
                           "cl_prompts": "three red circles\ntwo orange fish\none blue square"})
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


def test_url_markdown_is_shown_as_text():
    """?cl_prompts=x [phish](...) ![t](...) used to render a live link and an outside image (issue 17)."""
    evil = "x [phish](http://example.com/phish) ![t](http://example.com/t.png)"
    at = run_page("clip", {"cl_prompts": evil, "cl_image": "two orange fish"})
    assert not at.exception
    top = metric(at, "Top prompt")
    assert "](http" not in top and "phish" in top  # escaped: the brackets are literal
    for group in ("markdown", "caption", "text", "info", "warning", "error", "success"):
        for el in getattr(at, group):
            assert "](http://example.com" not in str(el.value), (group, el.value)


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


@pytest.mark.parametrize("data, message", [
    (_png(Image.new("RGB", (10000, 4), "white")), "at least 8 pixels"),
    (_png(Image.new("RGB", (4000, 100), "white")), "longer than wide"),
    (_png(Image.new("1", (8000, 6000))), "megapixels"),
    (b"name,value\n1,2\n", "not an image"),
    (b"", "empty"),
])
def test_bad_uploads_get_a_message(data, message):
    at = page_app("clip", {"cl_source": "Upload"}).run()
    at.file_uploader(key="cl_upload").set_value(("bad.png", data, "image/png")).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.text_area(key="cl_prompts").value  # nothing typed is lost


def test_good_upload_is_predicted():
    rng = np.random.default_rng(2)
    img = scenes.draw_scene_classic(scenes.SceneSpec(3, "red", "circle"), rng, size=200)
    at = page_app("clip", {"cl_source": "Upload", "cl_prompts": "three red circles\none blue square"}).run()
    at.file_uploader(key="cl_upload").set_value(("scene.png", _png(img), "image/png")).run()
    assert not at.exception
    assert metric(at, "Top prompt") == "three red circles"


def test_drawing_canvas_asks_for_a_drawing():
    at = run_page("clip", {"cl_source": "Draw"})
    assert not at.exception
    assert "Draw something on the canvas" in shown_text(at)


def test_canvas_pixels_become_an_image():
    from pages import clip as page

    blank = np.zeros((64, 64, 4), dtype=np.uint8)
    assert page.canvas_to_image(blank) is None  # transparent = white = nothing drawn
    drawn = blank.copy()
    drawn[20:40, 20:40] = (32, 80, 224, 255)
    img = page.canvas_to_image(drawn)
    assert img.mode == "RGB" and img.getpixel((30, 30)) == (32, 80, 224) and img.getpixel((2, 2)) == (255, 255, 255)


@needs_ood
def test_photo_is_flagged_out_of_domain_scene_is_not():
    at = run_page("clip", {"cl_image": "photo: chelsea"})
    assert not at.exception
    assert any("Out of domain" in w.value for w in at.warning)
    at = run_page("clip", {"cl_image": "two orange fish"})
    assert any("Looks like the scenes" in s.value for s in at.success)


@needs_ood
def test_what_the_model_knows_shows_both_renderers_and_confusion():
    at = run_page("clip")
    text = shown_text(at)
    assert "second renderer" in text and "Out-of-domain signal" in text
    at.segmented_control(key="cl_attr").set_value("shape").run()
    assert not at.exception


def test_damaged_weights_and_eval_keep_the_page(tmp_path, monkeypatch):
    d = tmp_path / "tiny"
    shutil.copytree(clip.EMBEDDED_DIR, d)
    w = d / "open_clip_model.safetensors"
    w.write_bytes(w.read_bytes()[:5000])
    (d / "eval.json").write_text('{"count": 0.9')
    monkeypatch.setattr(clip, "EMBEDDED_DIR", d)
    monkeypatch.setattr(clip, "EVAL_JSON", d / "eval.json")
    monkeypatch.setattr(clip, "OOD_PATH", d / "ood_detector.safetensors")
    at = run_page("clip")
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "open_clip_model.safetensors is damaged" in errors and "git checkout" in errors
    assert "eval.json is damaged" in errors
    text = shown_text(at)
    assert "Prompt sensitivity" in text and "Images x prompts" in text  # the other panels are still there


@pytest.mark.browser
def test_drawing_on_the_canvas_updates_the_probabilities(streamlit_server, page):
    """Real browser: draw a stroke on the canvas; the prediction panel answers (issue 16)."""
    import math

    from conftest import screenshot, wait_for_app

    page.goto(f"{streamlit_server}/clip?cl_source=Draw&cl_pen=orange", timeout=300_000)
    wait_for_app(page, 300_000)
    assert page.get_by_text("Draw something on the canvas").count() >= 1
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=120_000)
    box = canvas.bounding_box()
    x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x0 + 50, y0)
    page.mouse.down()
    for k in range(31):
        t = 2 * math.pi * k / 30
        page.mouse.move(x0 + 50 * math.cos(t), y0 + 50 * math.sin(t))
    page.mouse.up()
    page.get_by_text("Top prompt").first.wait_for(timeout=120_000)
    wait_for_app(page, 300_000)
    screenshot(page, "clip-canvas")
    assert page.get_by_text("Draw something on the canvas").count() == 0
    assert page.get_by_text("domain score").count() >= 1  # the out-of-domain signal is shown beside it


def test_why_lines_are_computed_and_keep_user_text_as_text():
    """The §4.2 'why' captions come from the computed rows: a variant with unread words is named
    with its pieces and its cosine against the match level; markdown in a variant stays text."""
    at = page_app("clip")
    at.run()
    at.text_area(key="cl_variants").set_value("two goldfish\ntwo nemos\n[phish](http://example.com) two cats").run()
    assert not at.exception
    why = [c.value for c in at.caption if c.value.startswith("Why ")]
    assert len(why) == 2, why
    nemos, phish = why
    assert "never read *nemos* (read as ne + mos: 2 of 2 pieces in no training caption)" in nemos
    assert "does not work" in nemos and "so it matches 0% of them" in nemos
    assert "*two goldfish*, every word of which it read" in nemos
    assert "\\[phish\\]\\(http" in phish and "](http" not in phish  # escaped: no live link
    assert at.text_area(key="cl_variants").value.startswith("two goldfish\ntwo nemos\n[phish]")
