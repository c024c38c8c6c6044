"""Engine tests for the BERT fine-tuning lab (engine/bert.py, engine/arith_data.py)."""

from __future__ import annotations

import math
import shutil
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import BertModel

from engine import bert
from engine.arith_data import LABELS, make_splits, number_to_words, sign_label

WORD_TO_INT = {number_to_words(n): n for n in range(100)}


def parse(text: str) -> int:
    a, op, b = text.split(" ")
    return WORD_TO_INT[a] + WORD_TO_INT[b] if op == "plus" else WORD_TO_INT[a] - WORD_TO_INT[b]


@pytest.fixture(scope="module")
def embedded():
    torch.set_num_threads(2)
    return bert.load_pretrained("embedded", seed=0)


# ---------------------------------------------------------------------------
# Task generator
# ---------------------------------------------------------------------------
def test_number_words():
    words = [number_to_words(n) for n in range(100)]
    assert len(set(words)) == 100
    assert number_to_words(0) == "zero" and number_to_words(40) == "forty" and number_to_words(77) == "seventy-seven"
    with pytest.raises(ValueError):
        number_to_words(100)


@given(st.integers(0, 99), st.sampled_from(["plus", "minus"]), st.integers(0, 99))
@settings(max_examples=200, deadline=None)
def test_sign_label_matches_value(a, op, b):
    value = a + b if op == "plus" else a - b
    assert LABELS[sign_label(a, op, b)] == ("negative" if value < 0 else "zero" if value == 0 else "positive")


def test_examples_from_the_issue():
    assert LABELS[sign_label(7, "minus", 9)] == "negative"
    assert LABELS[sign_label(4, "minus", 4)] == "zero"
    assert LABELS[sign_label(2, "plus", 6)] == "positive"


def test_splits_deterministic_disjoint_and_labelled():
    s = make_splits(n_train=900, n_val=300, n_test=300, seed=3)
    again = make_splits(n_train=900, n_val=300, n_test=300, seed=3)
    other = make_splits(n_train=900, n_val=300, n_test=300, seed=4)
    assert s.train_texts == again.train_texts and s.test_texts == again.test_texts
    assert s.train_texts != other.train_texts
    assert not set(s.test_texts) & set(s.train_texts)
    assert not set(s.val_texts) & set(s.train_texts)
    assert not set(s.val_texts) & set(s.test_texts)
    assert len(set(s.test_texts)) == len(s.test_texts)  # distinct held-out expressions
    assert len(s.train_texts) == 900 and np.bincount(s.train_labels).tolist() == [300, 300, 300]
    for texts, labels in ((s.train_texts, s.train_labels), (s.test_texts, s.test_labels)):
        for t, y in zip(texts, labels):
            assert int(np.sign(parse(t))) + 1 == y
    assert set(s.test_labels) == {0, 1, 2}


# ---------------------------------------------------------------------------
# Model and loading
# ---------------------------------------------------------------------------
def test_embedded_model_contract(embedded):
    tok, model = embedded
    assert isinstance(model, BertModel) and isinstance(model, bert.BertForSentenceClassification)
    assert isinstance(model.classifier, torch.nn.Linear)
    assert tuple(model.classifier.weight.shape) == (3, model.config.hidden_size) == (3, 384)
    assert isinstance(model.loss, torch.nn.CrossEntropyLoss)
    # The pooler is the checkpoint's, not re-initialised.
    from safetensors import safe_open

    with safe_open(str(bert.embedded_model_path() / "model.safetensors"), "pt") as f:
        assert torch.equal(f.get_tensor("pooler.dense.weight"), model.pooler.dense.weight.detach())
        assert torch.equal(f.get_tensor("encoder.layer.5.output.dense.weight"),
                           model.encoder.layer[5].output.dense.weight.detach())
    enc = bert.encode(tok, ["seven minus nine", "two plus six"], 16)
    with torch.no_grad():
        out = model(**enc)
        y = torch.tensor([0, 2])
        logits, loss = model(labels=y, **enc)
    assert len(out) == 1 and out[0].shape == (2, 3)
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(logits, y))
    assert torch.allclose(out[0], logits)


def test_random_checkpoint_is_same_architecture_other_weights(embedded):
    _, pre = embedded
    _, rnd = bert.load_pretrained("random", seed=1)
    assert bert.count_parameters(rnd) == bert.count_parameters(pre) == 22_714_371
    w_pre = pre.encoder.layer[0].attention.self.query.weight
    w_rnd = rnd.encoder.layer[0].attention.self.query.weight
    assert not torch.allclose(w_pre, w_rnd)
    _, rnd2 = bert.load_pretrained("random", seed=1)
    assert torch.equal(w_rnd, rnd2.encoder.layer[0].attention.self.query.weight)


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("nonexistent-owner/no-such-model-xyz", "not in the local Hugging Face cache"),
        ("tbs17/MathBERT", "downloads are off"),
        ("bad name!!", "is not available: enter a Hugging Face model id"),
        ("", "Empty checkpoint name"),
    ],
)
def test_unavailable_checkpoints_fail_fast(name, fragment):
    t0 = time.perf_counter()
    with pytest.raises(bert.CheckpointUnavailable, match=fragment):
        bert.load_pretrained(name)
    assert time.perf_counter() - t0 < 30  # generous: "fast" means no network retries


def test_folder_without_model_and_embedded_still_usable(tmp_path):
    with pytest.raises(bert.CheckpointUnavailable, match="does not hold a transformers model"):
        bert.load_pretrained(str(tmp_path), allowed_dirs=[tmp_path])
    tok, model = bert.load_pretrained("embedded")
    assert bert.predict_proba(tok, model, "one plus one").label in LABELS


@pytest.mark.parametrize("name", ["/etc", "/root", "/no/such/folder", "../..", "~", "assets/bert", "engine",
                                  "/tmp/../etc", "C:\\Windows"])
def test_folders_outside_the_operator_list_get_one_message(name, tmp_path):
    """Existing and missing folders get the same text: the box cannot probe the server (issue 17)."""
    with pytest.raises(bert.CheckpointUnavailable) as exc:
        bert.load_pretrained(name, allowed_dirs=[tmp_path])
    msg = str(exc.value)
    if name in ("assets/bert", "engine"):  # valid owner/name shapes: looked up in the hub cache only
        assert "not in the local Hugging Face cache" in msg
    else:
        assert msg == bert.not_available_message(name)


def test_symlink_out_of_an_allowed_folder_is_refused(tmp_path):
    allowed = tmp_path / "models"
    allowed.mkdir()
    (allowed / "escape").symlink_to(bert.embedded_model_path())
    with pytest.raises(bert.CheckpointUnavailable, match="is not available"):
        bert.load_pretrained(str(allowed / "escape"), allowed_dirs=[allowed])


def test_local_folder_opt_in_bert(embedded):
    with pytest.raises(bert.CheckpointUnavailable, match="is not available"):
        bert.load_pretrained(str(bert.embedded_model_path()))
    tok, model = bert.load_pretrained(str(bert.embedded_model_path()), allowed_dirs=[bert.embedded_model_path()])
    assert isinstance(model, bert.BertForSentenceClassification)
    assert torch.equal(model.pooler.dense.weight, embedded[1].pooler.dense.weight)


def test_non_bert_architecture_goes_through_automodel(tmp_path):
    from transformers import RobertaConfig, RobertaModel

    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(bert.embedded_model_path() / f, tmp_path / f)
    cfg = RobertaConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=40, pad_token_id=0)
    RobertaModel(cfg).save_pretrained(tmp_path)
    tok, model = bert.load_pretrained(str(tmp_path), allowed_dirs=[tmp_path])
    assert isinstance(model, bert.EncoderForSentenceClassification)
    enc = bert.encode(tok, ["three plus four"], 16)
    logits, loss = model(labels=torch.tensor([2]), **enc)
    assert logits.shape == (1, 3) and torch.isfinite(loss)


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_full_one_step_updates_everything_but_unused_embedding_rows():
    tok, model = bert.load_pretrained("embedded", seed=0)
    splits = make_splits(n_train=8, n_val=6, n_test=6, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calls = []
    res = bert.train_classifier(tok, model, splits, bert.TrainConfig(epochs=1, batch_size=8),
                                progress=lambda f, m: calls.append(f))
    assert len(res.epochs) == 1 and res.epochs[0].steps == 1
    assert res.trainable_params == res.total_params == 22_714_371
    assert calls and calls[-1] == pytest.approx(1.0)
    after = model.state_dict()
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"])
    assert not torch.equal(before["encoder.layer.0.attention.self.query.weight"],
                           after["encoder.layer.0.attention.self.query.weight"])
    used = torch.unique(bert.encode(tok, splits.train_texts, 16)["input_ids"])
    emb0, emb1 = before["embeddings.word_embeddings.weight"], after["embeddings.word_embeddings.weight"]
    unused = torch.ones(emb0.shape[0], dtype=torch.bool)
    unused[used] = False
    assert torch.equal(emb0[unused], emb1[unused])
    assert not torch.equal(emb0[used], emb1[used])
    assert model.embeddings.word_embeddings.sparse is False
    assert 0.0 <= res.test_accuracy <= 1.0


def test_frozen_trains_only_the_head(embedded):
    tok, _ = embedded
    _, model = bert.load_pretrained("embedded", seed=0)
    splits = make_splits(n_train=24, n_val=9, n_test=9, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    res = bert.train_classifier(tok, model, splits, bert.TrainConfig(mode="frozen", epochs=3, head_lr=1e-2))
    after = model.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert sorted(changed) == ["classifier.bias", "classifier.weight"]
    assert res.trainable_params == 3 * 384 + 3
    assert res.feature_time_s > 0 and len(res.epochs) == 3
    assert all(0 <= e.val_accuracy <= 1 and e.trainable_params == 1155 for e in res.epochs)
    assert res.n_unique_train <= 24 and math.isfinite(res.test_accuracy)


def test_frozen_uncached_matches_interface(embedded):
    tok, _ = embedded
    _, model = bert.load_pretrained("embedded", seed=0)
    splits = make_splits(n_train=6, n_val=3, n_test=3, seed=0)
    res = bert.train_classifier(tok, model, splits, bert.TrainConfig(mode="frozen", epochs=1, cache_features=False))
    assert res.feature_time_s == 0 and res.trainable_params == 1155


def test_bad_mode_and_empty_split(embedded):
    tok, model = embedded
    s = make_splits(n_train=3, n_val=3, n_test=3)
    with pytest.raises(ValueError):
        bert.train_classifier(tok, model, s, bert.TrainConfig(mode="half"))
    with pytest.raises(ValueError):
        bert.train_classifier(tok, model, s.subset(0), bert.TrainConfig())


def test_lr_schedule_warmup_then_linear_decay():
    f = bert._lr_lambda(100, 0.1, "linear")
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(55) == pytest.approx(0.5) and f(100) == 0.0
    assert bert._lr_lambda(100, 0.1, "constant")(0) == 1.0


# ---------------------------------------------------------------------------
# Predictions, bad input, shipped artefacts
# ---------------------------------------------------------------------------
def test_predict_proba_and_bad_input(embedded):
    tok, model = embedded
    p = bert.predict_proba(tok, model, "four minus four")
    assert sum(p.probabilities.values()) == pytest.approx(1.0)
    assert not p.truncated and p.n_tokens == p.n_tokens_input
    for empty in ("", "   \n"):
        with pytest.raises(ValueError, match="empty"):
            bert.predict_proba(tok, model, empty)
    long = ("ninety-nine minus three " * 500)[:10_000]
    q = bert.predict_proba(tok, model, long)
    assert q.truncated and q.n_tokens == q.token_limit == 512 and q.n_tokens_input > 512
    assert sum(q.probabilities.values()) == pytest.approx(1.0)


@pytest.mark.slow
def test_delta_roundtrip(tmp_path, embedded):
    tok, _ = embedded
    _, model = bert.load_pretrained("embedded", seed=0)
    bert.train_classifier(tok, model, make_splits(n_train=8, n_val=3, n_test=3), bert.TrainConfig(epochs=1, batch_size=8, lr=1e-3))
    path = tmp_path / "delta.safetensors"
    size = bert.save_finetuned_delta(model, path)
    assert size < 20 * 2**20
    _, loaded = bert.load_finetuned(path)
    enc = bert.encode(tok, ["seven minus nine", "eighty plus two"], 16)
    with torch.no_grad():
        assert torch.allclose(model(**enc)[0], loaded(**enc)[0], atol=1e-3)
    with pytest.raises(FileNotFoundError):
        bert.load_finetuned(tmp_path / "missing.safetensors")


@pytest.mark.skipif(not bert.RESULTS_PATH.exists(), reason="shipped results not generated yet")
def test_shipped_results_and_writeup_evidence():
    res = bert.load_results()
    assert {"embedded_full", "embedded_frozen"} <= set(res["runs"])
    ev = bert.writeup_evidence(res)
    assert isinstance(ev, bert.BertWriteupEvidence)
    assert ev.frozen_trainable_params == 1155 and ev.full_trainable_params == 22_714_371
    assert 0 < ev.frozen_time_per_epoch_s < ev.full_time_per_epoch_s
    assert 0 <= ev.frozen_val_accuracy <= 1 and 0 <= ev.full_val_accuracy <= 1
    for r in res["runs"].values():
        assert len(r.epochs) == r.config["epochs"]
        assert r.n_test > 0 and 0 <= r.test_accuracy <= 1


@pytest.mark.skipif(not bert.DELTA_PATH.exists(), reason="shipped weights not generated yet")
def test_shipped_model_classifies_unseen_expressions():
    assert bert.DELTA_PATH.stat().st_size < 20 * 2**20
    tok, model = bert.load_finetuned()
    s = make_splits(seed=0)  # the shipped run's splits; test expressions unseen in training
    enc = bert.encode(tok, s.test_texts[:90], 16)
    pred = bert._predict_labels(model, enc, 90)
    assert (pred == np.array(s.test_labels[:90])).mean() >= 0.85


# ---------------------------------------------------------------------------
# Issue 15: what the task covers; issues 12/17: damaged shipped files
# ---------------------------------------------------------------------------
from engine import arith_data  # noqa: E402


@pytest.mark.parametrize("text, fragment", [
    ("7 - 9", "digits"), ("7 - 9", "symbol"), ("seven times nine", "only operators trained"),
    ("one hundred minus two", "above 99"), ("I love pizza", "never read the word"),
    ("seven minus", "not of the trained form"), ("seven minus nine.", "never do"),
])
def test_input_problems_name_what_is_outside_the_task(text, fragment):
    problems = arith_data.input_problems(text)
    assert problems and any(fragment in p for p in problems), problems


@given(st.integers(0, 99), st.sampled_from(["plus", "minus"]), st.integers(0, 99))
@settings(max_examples=60, deadline=None)
def test_every_trained_expression_is_in_the_task(a, op, b):
    text = f"{number_to_words(a)} {op} {number_to_words(b)}"
    assert arith_data.input_problems(text) == []
    e = arith_data.parse_expression("  " + text.upper() + " ")
    assert (e.a, e.op, e.b) == (a, op, b) and e.label == LABELS[sign_label(a, op, b)]


def test_twelve_minus_eleven_is_in_the_task_and_positive():
    e = arith_data.parse_expression("twelve minus eleven")
    assert e.value == 1 and e.label == "positive"


def _copy_asset(tmp_path, path):
    dst = tmp_path / path.name
    shutil.copy(path, dst)
    return dst


@pytest.mark.skipif(not bert.RESULTS_PATH.exists(), reason="assets/bert/results.json not shipped")
def test_damaged_results_name_the_file(tmp_path):
    p = _copy_asset(tmp_path, bert.RESULTS_PATH)
    p.write_text(p.read_text()[:300])
    with pytest.raises(bert.AssetError, match="results.json is damaged.*git checkout"):
        bert.load_results(p)
    p.write_text('{"runs": {"x": {"label": 1}}}')
    with pytest.raises(bert.AssetError, match="results.json is damaged"):
        bert.load_results(p)


@pytest.mark.skipif(not bert.DELTA_PATH.exists(), reason="the fine-tuned delta is not shipped")
def test_damaged_delta_names_the_file(tmp_path):
    p = _copy_asset(tmp_path, bert.DELTA_PATH)
    p.write_bytes(p.read_bytes()[:4096])
    with pytest.raises(bert.AssetError, match="finetuned_delta.safetensors is damaged"):
        bert.load_finetuned(p)


@pytest.mark.skipif(not bert.SHIPPED_EVAL_PATH.exists(), reason="shipped_eval.json not generated")
def test_shipped_eval_is_consistent(tmp_path):
    ev = bert.load_shipped_eval()
    m = np.array(ev["confusion"])
    assert m.sum() == ev["n"] and abs(np.trace(m) / ev["n"] - ev["accuracy"]) < 1e-12
    for i, name in enumerate(ev["labels"]):
        assert abs(ev["per_class"][name] - m[i, i] / m[i].sum()) < 1e-12
    p = _copy_asset(tmp_path, bert.SHIPPED_EVAL_PATH)
    p.write_text('{"confusion": [[1]]')
    with pytest.raises(bert.AssetError, match="shipped_eval.json is damaged"):
        bert.load_shipped_eval(p)


def test_evaluate_predictions_counts(embedded):
    tok, model = embedded
    texts = ["one plus one", "two minus two", "three minus nine"]
    ev = bert.evaluate_predictions(tok, model, texts, [2, 1, 0])
    assert ev["n"] == 3 and np.array(ev["confusion"]).sum() == 3
    assert len(ev["errors"]) == 3 - int(np.trace(np.array(ev["confusion"])))
