"""Engine tests for issue 18: gradients through time in trained RNN / LSTM / GRU (tiny configs)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import rnn_training as rt

TINY = dict(T=6, hidden=3, batch=2, steps=3, eval_every=1, eval_batch=4, spectrum_every_s=None)


def _manual_rnn_grad_norms(model: rt.RecurrentNet, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """||dL/dh_t|| for the adding task and a tanh RNN by hand in numpy: dL/dh_T from the read-out,
    then dL/dh_t = J_t^T dL/dh_{t+1} with J_t = diag(1 - h_{t+1}^2) W_hh (float64)."""
    W_ih = model.cell.weight_ih.detach().double().numpy()
    W_hh = model.cell.weight_hh.detach().double().numpy()
    b = (model.cell.bias_ih + model.cell.bias_hh).detach().double().numpy()
    w_o = model.head.weight.detach().double().numpy()[0]
    b_o = float(model.head.bias.detach())
    X = x.double().numpy()
    B, T, _ = X.shape
    N = W_hh.shape[0]
    total = np.zeros(T)
    for i in range(B):
        h = np.zeros(N)
        hs = []
        for t in range(T):
            h = np.tanh(W_ih @ X[i, t] + W_hh @ h + b)
            hs.append(h)
        err = w_o @ hs[-1] + b_o - float(y[i, 0])
        g = 2.0 * err / B * w_o  # d/dh_T of mean_b (y_hat - y)^2
        grads = [None] * T
        grads[T - 1] = g
        for t in range(T - 2, -1, -1):
            J = (1.0 - hs[t + 1] ** 2)[:, None] * W_hh  # d h_{t+2} / d h_{t+1} (0-based t)
            grads[t] = J.T @ grads[t + 1]
        total += np.array([gr @ gr for gr in grads])
    return np.sqrt(total)


def test_hidden_gradient_norms_match_manual_backprop_tanh_rnn():
    cfg = rt.TrainingConfig(task="adding", models=("rnn_tanh",), **TINY)
    model = rt.build_model(cfg, "rnn_tanh")
    x, y = rt.adding_batch(2, 6, torch.Generator().manual_seed(3))
    _, gh, _ = rt.hidden_gradient_norms(model, cfg, x, y)
    np.testing.assert_allclose(gh, _manual_rnn_grad_norms(model, x, y), rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("kind,task", [("lstm", "adding"), ("gru", "copy"), ("rnn_relu", "copy")])
def test_hidden_gradient_norms_match_retain_grad(kind, task):
    cfg = rt.TrainingConfig(task=task, models=(kind,), n_symbols=2, alphabet=3, **TINY)
    model = rt.build_model(cfg, kind)
    gen = torch.Generator().manual_seed(5)
    x, y = rt._make_batch(cfg, 2, gen)
    _, gh, grads = rt.hidden_gradient_norms(model, cfg, x, y)
    # independent route: retain_grad on every h_t and an ordinary backward()
    out, hs = model(x)
    for h in hs:
        h.retain_grad()
    rt._loss(cfg, out, y).backward()
    expect = np.array([float(h.grad.norm()) for h in hs])
    np.testing.assert_allclose(gh, expect, rtol=1e-5, atol=1e-12)
    for p, g in zip(model.parameters(), grads):
        torch.testing.assert_close(p.grad, g)


def test_train_records_the_first_steps_gradient_profile():
    cfg = rt.TrainingConfig(task="adding", models=("rnn_tanh", "gru"), **TINY)
    res = rt.train(cfg)
    gen = torch.Generator().manual_seed(int(cfg.seed) * 7919 + 1)  # the training data stream
    x, y = rt.adding_batch(cfg.batch, cfg.T, gen)
    for k in cfg.models:
        model = rt.build_model(cfg, k)
        _, gh, _ = rt.hidden_gradient_norms(model, cfg, x, y)
        h = res.histories[k]
        assert h.grad_h.shape == (cfg.steps, cfg.T)
        np.testing.assert_allclose(h.grad_h[0], gh, rtol=1e-5)
        assert h.steps_done == cfg.steps and h.status == "done"
        assert list(h.eval_steps) == [0, 1, 2, 3]


def _explicit_state_jacobian(model: rt.RecurrentNet, x: torch.Tensor) -> np.ndarray:
    """d s_T / d s_1 by autograd through the unrolled cells (independent of recurrent_jacobians)."""
    model = copy.deepcopy(model).double()
    xd = x.double()
    N = model.hidden
    s1 = model.states(xd[None])[0]
    s1 = torch.cat([s1[0][0], s1[1][0]]) if model.kind == "lstm" else s1[0]

    def run(s):
        state = (s[None, :N], s[None, N:]) if model.kind == "lstm" else s[None]
        for t in range(1, xd.shape[0]):
            state = model.step(xd[t][None], state)
        return torch.cat([state[0][0], state[1][0]]) if model.kind == "lstm" else state[0]

    return torch.autograd.functional.jacobian(run, s1).numpy()


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_recurrent_spectrum_matches_explicit_product_svd(kind):
    cfg = rt.TrainingConfig(task="adding", models=(kind,), T=7, hidden=4, init="orthogonal", gain=1.2)
    model = rt.build_model(cfg, kind)
    x, _ = rt.adding_batch(1, 7, torch.Generator().manual_seed(1))
    spec = rt.recurrent_spectrum(model, x[0])
    assert spec.T == 7 and spec.state_dim == (8 if kind == "lstm" else 4)
    expect = np.linalg.svd(_explicit_state_jacobian(model, x[0]), compute_uv=False)
    got = np.exp(spec.log_singular_values)
    np.testing.assert_allclose(got, expect, rtol=2e-4, atol=1e-6 * expect[0])
    # sigma_max of the product never exceeds the product of per-step sigma_max
    assert spec.log_sigma_max <= spec.log_product_bound_path[-1] + 1e-9
    if kind.startswith("rnn"):
        W = model.cell.weight_hh.detach().double().numpy()
        assert spec.log_weight_bound == pytest.approx(6 * math.log(np.linalg.norm(W, 2)), rel=1e-9)
        assert spec.log_sigma_max <= spec.log_weight_bound + 1e-9
    else:
        assert spec.log_weight_bound_path is None


def test_tanh_formula_agrees_with_jacrev():
    cfg = rt.TrainingConfig(models=("rnn_tanh",), T=5, hidden=3)
    model = rt.build_model(cfg, "rnn_tanh")
    x, _ = rt.adding_batch(1, 5, torch.Generator().manual_seed(2))
    J = rt.recurrent_jacobians(model, x[0])
    states = model.states(x)
    for t in range(4):
        Jt = torch.func.jacrev(lambda s, t=t: model.cell(x[0, t + 1][None], s[None])[0])(states[t][0])
        np.testing.assert_allclose(J[t], Jt.detach().double().numpy(), rtol=1e-5, atol=1e-7)


def test_long_sequence_spectrum_stays_finite():
    cfg = rt.TrainingConfig(models=("rnn_tanh",), T=400, hidden=8, gain=0.5)
    model = rt.build_model(cfg, "rnn_tanh")
    x, _ = rt.adding_batch(1, 400, torch.Generator().manual_seed(0))
    spec = rt.recurrent_spectrum(model, x[0])
    assert np.all(np.isfinite(spec.log_singular_values))
    assert spec.log_sigma_max < -100  # far below float64's 1e-308 would be -709; vanishing
    assert spec.log_sigma_max <= spec.log_weight_bound


def test_nan_learning_rate_stops_cleanly_and_keeps_history():
    cfg = rt.TrainingConfig(task="adding", models=("rnn_relu",), init="identity", gain=1.0, clip=False,
                            optimizer="sgd", lr=1e30, T=8, hidden=4, batch=4, steps=20, eval_every=1,
                            eval_batch=8, spectrum_every_s=None)
    res = rt.train(cfg)
    h = res.histories["rnn_relu"]
    assert h.status == "diverged"
    assert 0 < h.steps_done < cfg.steps
    assert np.all(np.isfinite(h.loss)) and len(h.grad_h) == h.steps_done
    assert "stopped there" in h.message and ("NaN" in h.message or "infinite" in h.message)
    assert res.reason == "all diverged"
    assert any("kept" in m for m in res.messages)


def test_one_model_diverging_does_not_stop_the_others():
    cfg = rt.TrainingConfig(task="adding", models=("rnn_relu", "lstm"), init="identity", gain=1.0, clip=False,
                            optimizer="sgd", lr=1e30, T=8, hidden=4, batch=4, steps=6, eval_every=2,
                            eval_batch=8, spectrum_every_s=None)
    res = rt.train(cfg)
    assert res.histories["rnn_relu"].status == "diverged"
    # the LSTM's gates saturate instead of overflowing: whatever happens, it is reported, not raised
    assert res.histories["lstm"].status in ("done", "diverged")


def test_seeds_reproduce_and_differ():
    cfg = rt.TrainingConfig(task="copy", models=("rnn_tanh", "lstm"), n_symbols=2, alphabet=3, **TINY)
    a, b = rt.train(cfg), rt.train(cfg)
    c = rt.train(rt.with_changes(cfg, seed=1))
    for k in cfg.models:
        np.testing.assert_array_equal(a.histories[k].loss, b.histories[k].loss)
        np.testing.assert_array_equal(a.histories[k].grad_h, b.histories[k].grad_h)
        np.testing.assert_array_equal(a.histories[k].spectrum_now.log_singular_values,
                                      b.histories[k].spectrum_now.log_singular_values)
        assert not np.array_equal(a.histories[k].loss, c.histories[k].loss)


def test_stop_check_and_progress_callback():
    calls = {"n": 0}
    seen = []

    def should_stop():
        calls["n"] += 1
        return calls["n"] > 2

    cfg = rt.TrainingConfig(models=("gru",), **dict(TINY, steps=50))
    res = rt.train(cfg, should_stop=should_stop, progress=lambda f, m, **d: seen.append((f, d["result"])),
                   report_every_s=0.0)
    assert res.reason == "stopped" and res.steps_run == 2
    assert res.histories["gru"].steps_done == 2 and res.histories["gru"].status == "stopped"
    assert seen[-1][0] == 1.0 and isinstance(seen[-1][1], rt.TrainingResult)
    assert any("kept" in m for m in res.messages)


def test_clipping_fires_and_bounds_the_update():
    cfg = rt.TrainingConfig(models=("rnn_tanh",), init="gaussian", gain=3.0, clip=True, clip_threshold=1e-3,
                            **TINY)
    res = rt.train(cfg)
    h = res.histories["rnn_tanh"]
    assert h.clip_rate == 1.0 and np.all(h.grad_norm > 1e-3)
    off = rt.train(rt.with_changes(cfg, clip=False)).histories["rnn_tanh"]
    assert off.clip_rate == 0.0


def test_adding_task_baseline_is_one_sixth():
    x, y = rt.adding_batch(20000, 10, torch.Generator().manual_seed(0))
    assert x.shape == (20000, 10, 2) and torch.all(x[:, :, 1].sum(1) == 2)
    assert float(y.mean()) == pytest.approx(1.0, abs=0.01)
    assert float(((y - 1.0) ** 2).mean()) == pytest.approx(1 / 6, abs=0.005)
    assert rt.task_baseline("adding") == pytest.approx(1 / 6)


def test_copy_task_layout():
    x, y = rt.copy_batch(3, 12, torch.Generator().manual_seed(0), n_symbols=4, alphabet=5)
    assert x.shape == (3, 12, 7) and y.shape == (3, 4)
    ids = x.argmax(-1)
    assert torch.equal(ids[:, :4], y)
    assert torch.all(ids[:, 4:8] == 5) and torch.all(ids[:, 8:] == 6)
    with pytest.raises(ValueError, match="T >= 8"):
        rt.copy_batch(1, 7, torch.Generator(), n_symbols=4)


def test_init_schemes():
    for init, check in [("identity", lambda W: np.allclose(W, 2 * np.eye(5))),
                        ("orthogonal", lambda W: np.allclose(W @ W.T, 4 * np.eye(5), atol=1e-5))]:
        m = rt.build_model(rt.TrainingConfig(models=("rnn_relu",), hidden=5, init=init, gain=2.0), "rnn_relu")
        assert check(m.cell.weight_hh.detach().double().numpy())
    lstm = rt.build_model(rt.TrainingConfig(models=("lstm",), hidden=5), "lstm")
    assert torch.all(lstm.cell.bias_ih[5:10] == 1.0)


def test_too_much_memory_is_refused_before_training():
    cfg = rt.TrainingConfig(T=5000, hidden=512, batch=1024, models=("lstm", "gru"), steps=100)
    with pytest.raises(rt.TrainingMemoryError, match="memory"):
        rt.train(cfg)
    assert rt.estimate_memory_bytes(cfg) > 2 * 1024**3


@pytest.mark.parametrize("change,match", [
    (dict(models=()), "at least one model"), (dict(lr=float("nan")), "learning rate"),
    (dict(T=1), "between"), (dict(task="x"), "task"), (dict(init="he"), "init"),
    (dict(clip=True, clip_threshold=0.0), "clipping"),
])
def test_bad_config_messages(change, match):
    with pytest.raises(ValueError, match=match):
        rt.validate_config(rt.with_changes(rt.TrainingConfig(), **change))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), gain=st.floats(0.1, 4.0), T=st.integers(2, 9),
       kind=st.sampled_from(["rnn_tanh", "gru"]))
def test_spectrum_property_below_bounds_and_equal_to_svd(seed, gain, T, kind):
    cfg = rt.TrainingConfig(models=(kind,), T=T, hidden=3, init="gaussian", gain=gain, seed=seed)
    model = rt.build_model(cfg, kind)
    x, _ = rt.adding_batch(1, T, torch.Generator().manual_seed(seed))
    spec = rt.recurrent_spectrum(model, x[0])
    J = rt.recurrent_jacobians(model, x[0])
    P = np.eye(3)
    for Jt in J:
        P = Jt @ P
    expect = np.linalg.svd(P, compute_uv=False)
    got = np.exp(spec.log_singular_values)
    np.testing.assert_allclose(got, expect, rtol=1e-6, atol=1e-9 * max(expect[0], 1e-300))
    assert spec.log_sigma_max <= spec.log_product_bound_path[-1] + 1e-9
    if spec.log_weight_bound is not None:
        assert spec.log_product_bound_path[-1] <= spec.log_weight_bound + 1e-9
