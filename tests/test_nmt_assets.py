"""Damaged shipped Pig Latin assets (issue 17): the engine names the file and how to restore
it, and the Translation / Attention pages keep working around it. Every test works on a tmp
copy of assets/nmt (the engine's folders are monkeypatched to it); the real assets are untouched."""

from __future__ import annotations

import importlib
import shutil

import pytest
import streamlit as st
from conftest import ROOT, page_app, shown_text

from engine import nmt
from engine.nmt import assets

# engine.nmt re-exports the function ``train``, which shadows the submodule as an attribute
ntrain = importlib.import_module("engine.nmt.train")
ndata = importlib.import_module("engine.nmt.data")

SRC = ROOT / "assets" / "nmt"


@pytest.fixture
def copy(tmp_path, monkeypatch):
    """A tmp copy of assets/nmt that the engine reads instead of the real one."""
    dst = tmp_path / "nmt"
    shutil.copytree(SRC, dst)
    monkeypatch.setattr(ntrain, "MODELS_DIR", dst / "models")
    monkeypatch.setattr(ndata, "WORDS_PATH", dst / "words.txt")
    ndata._load_words.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()
    yield dst
    ndata._load_words.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()


def _truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _flip(path, at: float = 0.7) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_shipped_checksums_match_the_files():
    for folder in (SRC, SRC / "models"):
        sums = assets.recorded_sums(folder)
        assert sums, f"no SHA256SUMS in {folder}"
        for name, digest in sums.items():
            assert assets.sha256(folder / name) == digest, name


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_damaged_safetensors_is_named_with_its_restore_command(copy, damage):
    path = copy / "models" / "decoder_h64.safetensors"
    {"truncate": _truncate, "flip": _flip, "empty": lambda p: p.write_bytes(b"")}[damage](path)
    with pytest.raises(assets.AssetError) as err:
        nmt.load_shipped("decoder_h64")
    e = err.value
    assert e.display_path == "assets/nmt/models/decoder_h64.safetensors"
    assert "git checkout -- assets/nmt/models/decoder_h64.safetensors" in e.restore
    assert "scripts/train_nmt.py --only decoder_h64" in e.restore
    # the other models still load
    assert nmt.load_shipped("encdec_h64_small").word_accuracy > 0.5


def test_damaged_safetensors_without_checksums_is_still_caught(copy):
    (copy / "models" / "SHA256SUMS").unlink()
    _truncate(copy / "models" / "decoder_h64.safetensors", 0.3)
    with pytest.raises(assets.AssetError, match="safetensors"):
        nmt.load_shipped("decoder_h64")


def test_truncated_json_is_skipped_and_listed(copy):
    (copy / "models" / "SHA256SUMS").unlink()  # the parse itself must catch it
    _truncate(copy / "models" / "encdec_h32_small.json")
    r = nmt.shipped_results()
    assert "encdec_h32_small" not in r.runs and "decoder_h64" in r.runs
    assert [p.display_path for p in r.problems] == ["assets/nmt/models/encdec_h32_small.json"]
    assert "not valid JSON" in r.problems[0].problem
    with pytest.raises(assets.AssetError):
        nmt.load_shipped("encdec_h32_small")


def test_damaged_word_list(copy):
    _truncate(copy / "words.txt", 0.3)
    with pytest.raises(assets.AssetError) as err:
        nmt.make_dataset("small")
    assert err.value.display_path == "assets/nmt/words.txt" and "make_nmt_words.py" in err.value.restore
    (copy / "SHA256SUMS").unlink()
    ndata._load_words.cache_clear()
    with pytest.raises(assets.AssetError, match="fewer than"):
        nmt.make_dataset("small")
    (copy / "words.txt").write_bytes(b"\xff\xfe\x00garbage" * 1000)
    ndata._load_words.cache_clear()
    with pytest.raises(assets.AssetError, match="UTF-8"):
        nmt.make_dataset("small")


def test_translation_page_names_the_damaged_files_and_keeps_working(copy):
    _truncate(copy / "models" / "encdec_h32_small.json")
    _flip(copy / "models" / "encdec_h64_small.safetensors")
    at = page_app("translation").run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert "assets/nmt/models/encdec_h32_small.json" in errors
    assert "assets/nmt/models/encdec_h64_small.safetensors" in errors
    codes = " ".join(c.value for c in at.code)
    assert "git checkout -- assets/nmt/models/encdec_h32_small.json" in codes
    text = shown_text(at)
    # the rest of the page: the table, the other model's translation, the attention panel
    assert "Shipped models" in text and "Translate" in text and "Attention maps" in text
    assert "ethay" in " ".join(t.value for t in at.text)  # decoder_h64_large (model A) still translates "the"


def test_attention_page_trained_source_with_damaged_model(copy):
    _truncate(copy / "models" / "decoder_h64.safetensors")
    at = page_app("attention", {"at_source": "trained layer", "at_model": "decoder_h64"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("assets/nmt/models/decoder_h64.safetensors" in e.value for e in at.error)
