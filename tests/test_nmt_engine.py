"""Engine tests for engine.nmt: Pig Latin rule, data, batches, training, translation, shipped models."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import nmt
from engine.nmt.data import LETTERS, VOWELS
from engine.nmt.results import WRITEUP_TABLE1, shipped_results, smoothing_floor
from engine.nmt.train import make_batch


@pytest.mark.parametrize("word,expected", [
    ("shopping", "oppingshay"), ("am", "amway"), ("string", "ingstray"), ("queen", "eenquay"),
    ("square", "aresquay"), ("yellow", "ellowyay"), ("rhythm", "ythmrhay"), ("my", "ymay"), ("hmm", "hmmay"),
    ("apple", "appleway"), ("the", "ethay"), ("", ""),
])
def test_pig_latin_examples(word, expected):
    assert nmt.pig_latin(word) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=LETTERS, min_size=1, max_size=15))
def test_pig_latin_is_a_rotation_plus_suffix(word):
    out = nmt.pig_latin(word)
    if word[0] in VOWELS:
        assert out == word + "way"
    else:
        assert out.endswith("ay")
        core = out[:-2]
        assert len(core) == len(word)
        cut = len(word) - next(i for i in range(len(word) + 1) if word[i:] + word[:i] == core)
        # the moved prefix contains no vowel (other than the u of "qu" / a leading y)
        moved = word[: len(word) - cut] if cut else word
        assert all(c not in VOWELS or c == "u" for c in moved)


def test_datasets_fixed_disjoint_and_nested():
    small, large = nmt.make_dataset("small"), nmt.make_dataset("large")
    assert small.test == large.test and small.val == large.val
    assert set(w for w, _ in small.train) <= set(w for w, _ in large.train)
    tr, va, te = ({w for w, _ in d} for d in (large.train, large.val, large.test))
    assert not (tr & va) and not (tr & te) and not (va & te)
    assert len(small.train) == 4000 and len(large.train) == 16000
    assert all(t == nmt.pig_latin(s) for s, t in small.train[:200])
    v = small.vocab
    assert {nmt.SOS, nmt.EOS, nmt.EOP, nmt.PAD} <= set(v.itos) and len(v) == 30
    assert nmt.make_dataset("small", seed=1).test != small.test
    with pytest.raises(ValueError):
        nmt.make_dataset("huge")


def test_decoder_batch_layout():
    v = nmt.Vocab()
    b = make_batch([("am", "amway"), ("the", "ethay")], v, "decoder")
    ids, tg = b["ids"][1].tolist(), b["targets"][1].tolist()
    assert ids == [v.sos, *v.encode("the"), v.eop, *v.encode("ethay")]
    assert tg == [-100] * 4 + [*v.encode("ethay"), v.eos]
    # shorter row padded: PAD in ids, -100 in targets
    assert b["ids"][0].tolist()[-1] == v.pad and b["targets"][0].tolist()[-1] == -100
    e = make_batch([("am", "amway")], v, "encdec")
    assert e["src"][0].tolist() == [*v.encode("am"), v.eos]
    assert e["tgt_in"][0].tolist() == [v.sos, *v.encode("amway")]
    assert e["targets"][0].tolist() == [*v.encode("amway"), v.eos]


@pytest.fixture(scope="module")
def tiny_result():
    torch.set_num_threads(1)
    cfg = nmt.TrainConfig(hidden_size=16, num_layers=1, num_heads=2, dataset="tiny", epochs=2, batch_size=32,
                          lr=3e-3, evals_per_epoch=2)
    seen = []
    data = nmt.make_dataset("tiny")
    data.test = data.test[:100]  # keep the greedy evaluation quick
    res = nmt.train(cfg, data, progress=seen.append)
    return res, seen


def test_train_tiny_records_history(tiny_result):
    res, seen = tiny_result
    assert res.history and {"epoch", "step", "train_loss", "val_loss", "tokens_seen", "seconds"} <= set(res.history[0])
    assert res.val_loss == min(h["val_loss"] for h in res.history)
    assert res.history[-1]["val_loss"] < res.history[0]["val_loss"] + 1e-9 or len(res.history) == 1
    assert res.n_params_non_embedding == nmt.non_embedding_params(res.config)
    assert 0 <= res.word_accuracy <= 1
    assert any(s["val_loss"] is None for s in seen) or len(seen) == len(res.history)
    assert res.history[0]["val_loss"] < math.log(30)  # learned something beyond uniform


def test_max_tokens_stops_training():
    data = nmt.make_dataset("tiny")
    cfg = nmt.TrainConfig(hidden_size=16, num_layers=1, num_heads=2, epochs=5, batch_size=32, max_tokens=3000,
                          eval_accuracy=False)
    res = nmt.train(cfg, data)
    assert res.stopped == "max_tokens"
    per_batch = 32 * 20  # generous upper bound on tokens in one batch
    assert 3000 <= res.tokens_seen <= 3000 + per_batch
    assert math.isnan(res.word_accuracy)


def test_non_embedding_params_counts():
    small = nmt.non_embedding_params(nmt.TrainConfig(hidden_size=32, num_layers=2))
    big = nmt.non_embedding_params(nmt.TrainConfig(hidden_size=64, num_layers=2))
    # per block: 4 h^2 + 4 h (attention) + 8 h^2 + 5 h (MLP) + 4 h (2 LayerNorms); final LayerNorm 2 h
    for h, n in ((32, small), (64, big)):
        assert n == 2 * (12 * h * h + 13 * h) + 2 * h
    assert nmt.non_embedding_params(nmt.TrainConfig(arch="encdec", hidden_size=32, num_layers=2)) > small


def test_translate_bad_input_never_raises(tiny_result):
    res, _ = tiny_result
    empty = nmt.translate(res, "   ")
    assert empty.words == [] and "empty" in empty.notes[0]
    tr = nmt.translate(res, "Hello, world! 42 naïve " + "a" * 40)
    assert tr.words[0].output.endswith(",") and tr.words[0].output[0].isupper()
    assert tr.words[2].output == "42" and any("42" in n for n in tr.notes)
    assert any("ï" in n for n in tr.notes)
    long = tr.words[-1]
    assert len(long.word) == nmt.MAX_WORD_LEN and any("cap" in n for n in tr.notes)
    many = nmt.translate(res, " ".join(["cat"] * 100), with_attention=False)
    assert len(many.words) == 64 and any("first 64" in n for n in many.notes)


def test_attention_maps_shapes(tiny_result):
    res, _ = tiny_result
    w = nmt.translate(res, "string").words[0]
    assert w.maps and w.maps[0].kind == "self"
    m = w.maps[0]
    n = 1 + len("string") + 1 + len(w.model_output)
    assert m.weights.shape == (2, n, n)
    np.testing.assert_allclose(m.weights.sum(-1), 1, atol=1e-5)
    assert np.all(np.triu(m.weights[0], 1) == 0)


def test_encdec_trains_and_translates():
    cfg = nmt.TrainConfig(arch="encdec", hidden_size=16, num_layers=1, num_heads=2, dataset="tiny", epochs=1,
                          batch_size=64, eval_accuracy=False)
    res = nmt.train(cfg)
    tr = nmt.translate(res, "pig latin")
    kinds = {m.kind for m in tr.words[0].maps}
    assert kinds == {"encoder", "decoder", "cross"}
    cross = next(m for m in tr.words[0].maps if m.kind == "cross")
    assert cross.weights.shape[2] == len("pig") + 1


def test_smoothing_floor():
    assert smoothing_floor(0.0) == 0.0
    assert smoothing_floor(0.1, 30) == pytest.approx(-math.log(0.9 + 0.1 / 30))


# ---------------------------------------------------------------------------
# Shipped models (assets/nmt)
# ---------------------------------------------------------------------------
def test_shipped_results_line_up_with_writeup():
    r = shipped_results()
    assert r.runs, "no shipped results: run scripts/train_nmt.py"
    assert [(x.hidden_size, x.dataset) for x in r.table1] == list(WRITEUP_TABLE1)
    for s in r.runs.values():
        assert s.val_loss >= r.smoothing_floor * 0.5 and 0 <= s.word_accuracy <= 1
    assert r.decoder_name is not None
    assert r.positional.sin_shift_residual < 1e-9


def test_shipped_decoder_quality_and_reload():
    """The shipped decoder-only model: >= 97 % held-out words, and the loaded weights
    reproduce the recorded accuracy on a subset of the held-out set."""
    r = shipped_results()
    res = nmt.load_shipped(r.fast_name)
    assert res.config.arch == "decoder" and res.word_accuracy >= 0.97
    data = nmt.make_dataset(res.config.dataset)
    sub = data.test[:300]
    outs = nmt.greedy(res.model, [s for s, _ in sub], res.vocab)
    acc = np.mean([o == t for o, (_, t) in zip(outs, sub)])
    assert acc >= 0.94
    with pytest.raises(KeyError):
        nmt.load_shipped("no_such_model")


@pytest.mark.parametrize("name", ["decoder_h64", "encdec_h32_small"])
def test_batched_greedy_equals_one_word_at_a_time(name):
    try:
        res = nmt.load_shipped(name)
    except KeyError:
        pytest.skip(f"{name} not shipped")
    words = ["a", "shopping", "am", "strength", "queue", "rhythms", "extraordinary", "", "to"]
    batched = nmt.greedy(res.model, words, res.vocab)
    alone = [nmt.greedy(res.model, [w], res.vocab)[0] for w in words]
    assert batched == alone
    assert batched[7] == ""


def test_check_claims_logic_on_synthetic_runs():
    import dataclasses

    from engine.nmt.results import Table1Row, check_claims

    r = shipped_results()
    table = [Table1Row(32, "small", 0.799, 0.8, 0.5), Table1Row(32, "large", 1.156, 1.1, 0.4),
             Table1Row(64, "small", 0.478, 0.5, 0.7), Table1Row(64, "large", 0.569, 0.45, 0.8)]
    fake = dataclasses.replace(r, table1=table)
    got = {c.claim.split(" (")[0]: c.holds for c in check_claims(fake)}
    assert got["Hidden 64 beats hidden 32 on both datasets"] is True
    assert got["Hidden 32 does worse with the large dataset"] is True
    assert got["Hidden 64 does better with the large dataset"] is True
    table[1] = Table1Row(32, "large", 1.156, 0.3, 0.9)
    got = {c.claim.split(" (")[0]: c.holds for c in check_claims(dataclasses.replace(r, table1=table))}
    assert got["Hidden 64 beats hidden 32 on both datasets"] is False
    assert got["Hidden 32 does worse with the large dataset"] is False


def test_check_callback_abandons_training_within_one_step():
    class Stop(Exception):
        pass

    steps = []

    def check():
        steps.append(1)
        if len(steps) >= 3:
            raise Stop

    data = nmt.make_dataset("tiny")
    cfg = nmt.TrainConfig(hidden_size=16, num_layers=1, num_heads=2, epochs=3, batch_size=32, eval_accuracy=False)
    with pytest.raises(Stop):
        nmt.train(cfg, data, check=check)
    assert len(steps) == 3


@pytest.mark.parametrize("name", ["decoder_h64", "encdec_h32_small"])
def test_layer_steps_reproduce_the_models_own_attention(name):
    """The Attention page's trained-layer view redoes one head explicitly; at T = 1 its weights
    are the model's (attention_maps), and every step is consistent with the next."""
    from engine.nmt.steps import KINDS, layer_attention_steps
    from engine.nmt.train import attention_maps, greedy

    res = nmt.load_shipped(name)
    out = greedy(res.model, ["shopping"], res.vocab)[0]
    maps = {(m.kind, m.layer): m for m in attention_maps(res.model, "shopping", out, res.vocab)}
    for kind in KINDS[res.config.arch]:
        for layer in range(res.config.num_layers):
            for head in (0, res.config.num_heads - 1):
                s = layer_attention_steps(res, "Shopping!", kind=kind, layer=layer, head=head, output=out)
                ref = maps[(kind, layer)]
                assert s.tokens == ref.query_tokens and s.keys_shown == ref.key_tokens
                np.testing.assert_allclose(s.weights, ref.weights[head], atol=2e-6)
                np.testing.assert_allclose(s.scaled, s.qk * s.scale)
                np.testing.assert_allclose(s.row_sums, 1.0, atol=1e-12)
                assert np.all(s.weights[~s.mask] == 0)
                np.testing.assert_allclose(s.context, s.weights @ s.values, atol=1e-12)
    hot = layer_attention_steps(res, "shopping", kind=KINDS[res.config.arch][0], layer=0, head=0, temperature=100.0)
    cold = layer_attention_steps(res, "shopping", kind=KINDS[res.config.arch][0], layer=0, head=0, temperature=0.05)
    assert hot.entropy.mean() > cold.entropy.mean()


def test_layer_steps_bad_input():
    from engine.nmt.steps import layer_attention_steps

    res = nmt.load_shipped("decoder_h64")
    for kwargs in ({"kind": "cross", "layer": 0, "head": 0}, {"kind": "self", "layer": 7, "head": 0},
                   {"kind": "self", "layer": 0, "head": 9}, {"kind": "self", "layer": 0, "head": 0, "temperature": 0}):
        with pytest.raises(ValueError):
            layer_attention_steps(res, "word", **kwargs)
    with pytest.raises(ValueError):
        layer_attention_steps(res, "1234 !!", kind="self", layer=0, head=0)
