"""A few-step smoke run of the tiny-CLIP training loop (the real run is scripts/train_tiny_clip.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import train_tiny_clip as tr  # noqa: E402

from engine import clip, scenes  # noqa: E402


def test_count_and_shape_contrastive_batches():
    images, specs, captions = tr.make_batch(np.random.default_rng(0), 32)
    assert images.shape == (32, 64, 64, 3) and len(specs) == len(captions) == 32
    for g in range(32 // 12):  # groups of eight: counts one..four, then the four shapes
        counts, shapes = specs[8 * g: 8 * g + 4], specs[8 * g + 4: 8 * g + 8]
        assert [s.count for s in counts] == [1, 2, 3, 4]
        assert len({(s.colour, s.shape) for s in counts}) == 1
        assert [s.shape for s in shapes] == list(scenes.SHAPES)
        assert len({(s.count, s.colour) for s in shapes}) == 1


def test_batches_rendered_by_a_worker_equal_inline_batches():
    inline, ahead = tr.BatchStream(3, 12, 0), tr.BatchStream(3, 12, 1)
    try:
        for step in (0, 1, 2):
            a, b = inline.get(step), ahead.get(step)
            assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]
        assert not np.array_equal(inline.get(5)[0], inline.get(6)[0])
    finally:
        ahead.close()


@pytest.mark.slow
def test_training_smoke_run_is_seeded_and_loadable(tmp_path):
    args = ["--steps", "3", "--batch", "16", "--eval", "32", "--eval-every", "0", "--log-every", "1", "--seed", "5",
            "--alt", "0"]
    r1 = tr.main([*args, "--out", str(tmp_path / "a")])
    r2 = tr.main([*args, "--out", str(tmp_path / "b")])
    assert [h["loss"] for h in r1["history"]] == [h["loss"] for h in r2["history"]]
    for key in ("count", "colour", "shape", "joint"):
        assert 0.0 <= r1[key] <= 1.0
    ev = json.loads((tmp_path / "a" / "eval.json").read_text())
    assert ev["steps"] == 3 and ev["n_test"] == 32
    # the evaluation step: three renderers, per-class accuracy, confusion matrices, the OOD detector
    fin = tr.main(["--finalize-only", "--out", str(tmp_path / "a"), "--eval", "24", "--alt", "8", "--ood-fit", "16",
                    "--more", "12"])
    assert set(fin["renderers"]) == {"classic", "training", "second", "more"}
    assert sum(map(sum, fin["renderers"]["more"]["confusion"]["shape"])) == 12
    assert sum(map(sum, fin["renderers"]["second"]["confusion"]["shape"])) == 8
    assert set(fin["ood"]["flag_rate"]) == {"classic", "training", "second", "photos"}
    assert (tmp_path / "a" / "ood_detector.safetensors").is_file() and fin["steps"] == 3
    b = clip.load_clip(str(tmp_path / "a"))
    img = scenes.draw_scene_classic(scenes.SceneSpec(1, "red", "circle"), np.random.default_rng(0))
    p = clip.zero_shot(b, img, ["one red circle", "two blue fish"])
    assert abs(p.sum() - 1) < 1e-9


def test_locked_text_and_time_budget_options_parse(tmp_path):
    """--lock-text trains the image tower only; --time-budget ends the cosine schedule early."""
    r = tr.main(["--steps", "2", "--batch", "8", "--eval", "8", "--eval-every", "0", "--log-every", "1", "--alt", "0",
                 "--lock-text", "--time-budget", "600", "--out", str(tmp_path / "c")])
    assert r["lock_text"] is True and r["time_budget"] == 600 and r["steps"] == 2
