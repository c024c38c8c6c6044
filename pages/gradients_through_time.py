"""Gradients through time (issue 18): how ||dL/dh_t|| reaches each time step while a tanh RNN,
an LSTM or a GRU learns the adding problem or copy-after-delay, and the recurrent Jacobian's
spectrum of the trained network against the write-up's bound (gamma sigma_max(W_hh))^T."""

from __future__ import annotations

import json
import math
from pathlib import Path

import streamlit as st

from dashboard import jobs, settings, ui, widgets
from dashboard import plots_rnn_training as plots
from engine import rnn_training as rt

ROOT = Path(__file__).resolve().parents[1]
BENCH_PATH = ROOT / "assets" / "gradients_through_time" / "benchmark.json"
JOB_KEY = "gtt_job"
RESULT_KEY = "gtt_result"
PREV_KEY = "gtt_prev"
JOB_KIND = "rnn-train"

TS = [10, 20, 50, 100, 200, 300, 500]
HIDDEN = [8, 16, 32, 64, 128, 256]
BATCH = [16, 32, 64, 128, 256, 512]
LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0]
STEPS = [20, 50, 100, 200, 300, 500, 1000, 1500, 2000, 3000, 5000]
TASK_LABELS = {"adding": "adding problem (MSE)", "copy": "copy after delay (cross-entropy)"}
INIT_LABELS = {"gaussian": "Gaussian, W_ij ~ N(0, g^2/N)", "orthogonal": "orthogonal, g Q", "identity": "identity, g I"}
GATED_LABELS = {"pytorch": "PyTorch default", "forget1": "forget-gate bias 1", "chrono": "chrono (Tallec & Ollivier)"}
OPT_LABELS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}

PRESETS = {
    "RNN fails at T=100, LSTM solves it": dict(
        gtt_task="adding", gtt_T=100, gtt_models=["rnn_tanh", "lstm"], gtt_hidden=64, gtt_batch=64,
        gtt_init="gaussian", gtt_gain=1.0, gtt_gated="chrono", gtt_clip=True, gtt_clip_thr=1.0, gtt_lr=1e-2,
        gtt_opt="adam", gtt_steps=1000, gtt_seed=0),
    "orthogonal init helps the RNN": dict(
        gtt_task="adding", gtt_T=100, gtt_models=["rnn_tanh", "lstm"], gtt_hidden=64, gtt_batch=64,
        gtt_init="orthogonal", gtt_gain=1.0, gtt_gated="chrono", gtt_clip=True, gtt_clip_thr=1.0, gtt_lr=1e-2,
        gtt_opt="adam", gtt_steps=1000, gtt_seed=0),
    "exploding gradients without clipping (g = 3)": dict(
        gtt_task="adding", gtt_T=100, gtt_models=["rnn_tanh"], gtt_hidden=64, gtt_batch=64,
        gtt_init="gaussian", gtt_gain=3.0, gtt_gated="forget1", gtt_clip=False, gtt_clip_thr=1.0, gtt_lr=1e-2,
        gtt_opt="sgd", gtt_steps=300, gtt_seed=0),
}
PRESET_HELP = {
    "RNN fails at T=100, LSTM solves it": "Adding problem, T = 100: the LSTM's held-out MSE falls far below 1/6 "
    "while the tanh RNN's gradient at the first marker has vanished and its loss stays near 1/6.",
    "orthogonal init helps the RNN": "Same task with W_hh = Q orthogonal. Look at the spectrum at initialisation: "
    "every direction survives the 99 steps (singular values of ds_T/ds_1 between about 10^-2.6 and 10^-1, bound "
    "exactly 1), where a Gaussian W_hh with g = 1 keeps a handful (median about 10^-18, smallest about 10^-119). "
    "Training then pulls W_hh away from orthogonal; at T = 100 this run's loss still stays near 1/6 (measured), so "
    "compare with the previous run.",
    "exploding gradients without clipping (g = 3)": "A tanh RNN with g = 3 (chaotic regime) and plain SGD: at "
    "initialisation ||dL/dh_1|| is about 10^13 times ||dL/dh_T||, the parameter gradient about 10^12. One unclipped "
    "step throws W_hh so far that every unit saturates: from then on the gradient is exactly 0 and sigma_max of the "
    "Jacobian is 0. Switch clipping on and train again: each step is capped at norm tau and W_hh stays intact.",
}


# ---------------------------------------------------------------------------
# Cached pieces
# ---------------------------------------------------------------------------
@ui.cache_figures(24)
def _figures(token: tuple, _result: rt.TrainingResult) -> dict:
    """Every figure of one result snapshot (``token`` identifies it: job, step, reason)."""
    res = _result
    zr = plots.heatmap_zrange(res)
    T = res.config.T
    return {
        "loss": plots.loss_figure(res),
        "heat": {k: plots.heatmap_figure(h, T, zr) for k, h in res.histories.items()},
        "profile": plots.profile_figure(res),
        "spectrum": {k: plots.spectrum_figure(h) for k, h in res.histories.items()
                     if h.spectrum_init is not None or h.spectrum_now is not None},
        "clip": plots.clipping_figure(res),
    }


@st.cache_data(show_spinner=False, max_entries=2)
def _benchmark(mtime: float) -> dict | None:
    try:
        return json.loads(BENCH_PATH.read_text())
    except (OSError, ValueError):
        return None


@ui.cache_figures(2)
def _benchmark_figure(mtime: float):
    b = _benchmark(mtime)
    return plots.benchmark_figure(b) if b else None


def _token(job_id: str, res: rt.TrainingResult) -> tuple:
    return (job_id, res.steps_run, res.reason, round(res.wall_s, 3),
            tuple((k, h.steps_done, h.status) for k, h in res.histories.items()))


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------
def _describe(cfg: rt.TrainingConfig) -> str:
    models = ", ".join(plots.MODEL_LABELS[k] for k in cfg.models)
    init = f"{cfg.init} g={cfg.gain:g}"
    clip = f"clip at {cfg.clip_threshold:g}" if cfg.clip else "no clipping"
    return (f"{cfg.task}, T={cfg.T}, {models}; hidden {cfg.hidden}, batch {cfg.batch}, RNN init {init}, "
            f"{OPT_LABELS[cfg.optimizer]} lr {cfg.lr:g}, {clip}, {cfg.steps} steps, seed {cfg.seed}")


def show_result(res: rt.TrainingResult, job_id: str, *, live: bool) -> None:
    """Metrics, messages and the five figures of one (possibly partial) result."""
    cfg = res.config
    figs = _figures(_token(job_id, res), res)
    st.caption(("Live: " if live else "Run: ") + _describe(cfg) + f" · {res.steps_run} steps in "
               f"{jobs.fmt_seconds(res.wall_s)}" + ("" if live else f" · ended: {res.reason}"))
    cols = st.columns(max(1, len(res.histories)))
    for col, (k, h) in zip(cols, res.histories.items()):
        target = ""
        if h.steps_to_target is not None and cfg.target_loss is not None:
            target = f"; below {cfg.target_loss:g} at step {h.steps_to_target}"
        col.metric(f"{plots.MODEL_LABELS[k]}: held-out {res.loss_name}", ui.fmt_number(h.final_eval_loss),
                   delta=f"{ui.fmt_number(h.final_eval_loss / res.baseline, 3)} x baseline",
                   delta_color="off", delta_arrow="off",
                   help=f"Held-out loss on a fixed batch of {cfg.eval_batch} sequences at step "
                        f"{int(h.eval_steps[-1]) if len(h.eval_steps) else 0}; baseline "
                        f"{ui.fmt_number(res.baseline)}{target}. Status: {h.status}; clipping fired in "
                        f"{ui.fmt_number(100 * h.clip_rate, 3) if h.steps_done else 0} % of {h.steps_done} steps.")
    for m in res.messages:
        (st.warning if ("NaN" in m or "infinite" in m) else st.caption)(m)

    left, right = st.columns([3, 2], gap="medium")
    with left:
        ui.show(figs["loss"], key="gtt_fig_loss")
    with right:
        if cfg.task == "adding":
            st.latex(r"y=\sum_{t:\,m_t=1} u_t,\qquad \mathcal{L}=\tfrac1B\sum_b(\hat y_b-y_b)^2")
            st.latex(r"\hat y\equiv\mathbb{E}[y]=1\;\Rightarrow\;\mathcal{L}=\operatorname{Var}(u_1+u_2)=\tfrac{2}{12}=\tfrac16")
        else:
            st.latex(r"\mathcal{L}=-\tfrac1K\sum_{k=1}^{K}\log p(\text{symbol}_k\mid x_{1..T})")
            st.latex(rf"\text{{uniform guess: }}\mathcal{{L}}=\ln {cfg.alphabet}={math.log(cfg.alphabet):.3f}")
        st.caption("Thick lines: the held-out loss on a fixed batch; thin: each step's training batch. Below "
                   "the dashed baseline the model uses the marked numbers; a model that only learned the "
                   "mean sits on it.")

    st.markdown("**Gradient reaching each time step**, $\\lVert \\partial\\mathcal{L}/\\partial h_t \\rVert$, "
                "over training (one colour scale for all models)")
    hcols = st.columns(max(1, len(figs["heat"])))
    for col, (k, fig) in zip(hcols, figs["heat"].items()):
        with col:
            ui.show(fig, key=f"gtt_fig_heat_{k}")
    left, right = st.columns([3, 2], gap="medium")
    with left:
        ui.show(figs["profile"], key="gtt_fig_profile")
    with right:
        st.latex(r"\frac{\partial\mathcal{L}}{\partial h_t}=J_t^{\top}\frac{\partial\mathcal{L}}{\partial h_{t+1}}"
                 r"+\frac{\partial\mathcal{L}}{\partial \hat y_t}\frac{\partial \hat y_t}{\partial h_t}")
        st.latex(r"J_t=\frac{\partial h_{t+1}}{\partial h_t}=\operatorname{diag}\!\left(1-h_{t+1}^2\right)W_{hh}"
                 r"\quad(\text{tanh RNN})")
        st.caption("For the adding task the loss reads only h_T, so dL/dh_t = (J_(T-1)...J_t)^T dL/dh_T, a product "
                   "of T - t Jacobians. What to look for at T = 100: the tanh RNN's curve falls by many decades "
                   "towards t = 1, so the first marker's number cannot move its weights and its loss stays on the "
                   "baseline. The LSTM's gradient travels through the cell state, c_(t+1) = f * c_t + i * g, and "
                   "is multiplied by forget gates near 1 (with the chrono init from the start): its curve stays "
                   "flat over the whole sequence, and its loss drops once it has learned to add. Gaps: norms "
                   "that underflowed float32 (below ~1e-45) are exactly 0.")

    if figs["spectrum"]:
        st.markdown("**Recurrent Jacobian of the network being trained**, along one held-out input "
                    "(natural-log arithmetic, `engine.gradients.jacobian_spectrum`)")
        st.latex(r"\sigma_{\max}\!\Big(\frac{\partial s_T}{\partial s_1}\Big)\le\prod_{t=1}^{T-1}\sigma_{\max}(J_t)"
                 r"\le\big(\gamma\,\sigma_{\max}(W_{hh})\big)^{T-1},\quad \gamma=\sup|\phi'|=1")
        for k, fig in figs["spectrum"].items():
            h = res.histories[k]
            now = h.spectrum_now
            text = f"**{plots.MODEL_LABELS[k]}**"
            if now is not None:
                text += (f": sigma_max(ds_T/ds_1) = {ui.fmt_ln(now.log_sigma_max)} at step {now.step}; "
                         f"state s_t = {'(h_t, c_t), dimension 2N' if k == 'lstm' else 'h_t'}")
                if now.log_weight_bound is not None:
                    text += f"; bound (gamma sigma_max(W_hh))^(T-1) = {ui.fmt_ln(now.log_weight_bound)}"
            st.markdown(text)
            ui.show(fig, key=f"gtt_fig_spec_{k}")
        st.caption("J_t = ds_(t+1)/ds_t: for the RNNs diag(phi'(pre_(t+1))) W_hh, for LSTM/GRU the cell's Jacobian by "
                   "autograd (all t in one batched backward pass). The product's singular values come from the project's Jacobian engine (blocked QR "
                   "in log space), so values far below 1e-308 stay exact. Dashed: at initialisation; solid: now.")
    st.markdown("**Gradient clipping** (Pascanu et al. 2013): "
                "$g \\leftarrow \\tau\\, g/\\lVert g\\rVert$ when $\\lVert g\\rVert > \\tau$")
    ui.show(figs["clip"], key="gtt_fig_clip")


def _render_live(s: jobs.JobStatus) -> None:
    res = s.result if isinstance(s.result, rt.TrainingResult) else (s.data or {}).get("result")
    if isinstance(res, rt.TrainingResult):
        show_result(res, s.id, live=s.active)


def _on_done(s: jobs.JobStatus) -> None:
    res = s.result if isinstance(s.result, rt.TrainingResult) else (s.data or {}).get("result")
    if isinstance(res, rt.TrainingResult):
        old = st.session_state.get(RESULT_KEY)
        if old is not None and old[0] != s.id:
            st.session_state[PREV_KEY] = old
        st.session_state[RESULT_KEY] = (s.id, res)


@st.cache_resource(show_spinner=False)
def _warm_up_torch() -> bool:
    """Import what the first optimiser needs (torch._dynamo, tens of seconds on a loaded machine) in a
    background thread once per server process, so the first training job starts sooner."""
    import threading

    def warm() -> None:
        import torch

        torch.optim.Adam([torch.zeros(1, requires_grad=True)])

    threading.Thread(target=warm, name="gtt-torch-warm-up", daemon=True).start()
    return True


def _train_job(cfg: rt.TrainingConfig):
    def fn(ctx: jobs.JobContext) -> rt.TrainingResult:
        from dashboard import runtime

        runtime.interactive_torch()
        return rt.train(cfg, progress=lambda f, m="", **d: ctx.report(f, m, **d), should_stop=ctx.should_stop)

    return fn


# ---------------------------------------------------------------------------
# Panels
# ---------------------------------------------------------------------------
@st.fragment
def _train_panel() -> None:
    cap = settings.job_cap_s(JOB_KIND)
    with st.form("gtt_form", border=True):
        c = st.columns(4)
        task = widgets.selectbox("Task", list(rt.TASKS), key="gtt_task", where=c[0],
                                 format_func=lambda t: TASK_LABELS[t],
                                 help="Adding: two marked numbers among T, predict their sum. Copy: recall 5 "
                                      "symbols after a delay of T - 5 steps.")
        T = widgets.select_slider("Sequence length T", TS, key="gtt_T", value=100, where=c[1],
                                  help="Steps between the first input and the read-out: the depth the gradient "
                                       "must travel back through.")
        models = widgets.multiselect("Models to compare", list(rt.MODELS), key="gtt_models", where=c[2],
                                     default=["rnn_tanh", "lstm"], format_func=lambda k: plots.MODEL_LABELS[k],
                                     help="Trained side by side on the same batches, each with its own optimiser.")
        hidden = widgets.select_slider("Hidden size N", HIDDEN, key="gtt_hidden", value=64, where=c[3])
        c = st.columns(4)
        init = widgets.selectbox("RNN init of W_hh", list(rt.INITS), key="gtt_init", where=c[0],
                                 format_func=lambda k: INIT_LABELS[k],
                                 help="Applies to the plain RNNs. Identity with ReLU is the IRNN of Le et al. 2015.")
        gain = widgets.number_input("Gain g", 0.0, 10.0, 1.0, key="gtt_gain", step=0.1, format="%.3g", where=c[1],
                                    help="Scale of W_hh. For tanh, g > 1 is the chaotic (exploding) regime, "
                                         "g < 1 the ordered (vanishing) one.")
        gated = widgets.selectbox("LSTM/GRU gate biases", list(rt.GATED_INITS), key="gtt_gated", where=c[2],
                                  index=2, format_func=lambda k: GATED_LABELS[k],
                                  help="Forget bias 1: Gers et al. 2000. Chrono: forget biases ln U[1, T-1], "
                                       "memories with time scales up to T from the start.")
        batch = widgets.select_slider("Batch", BATCH, key="gtt_batch", value=64, where=c[3])
        c = st.columns(4)
        opt = widgets.selectbox("Optimiser", list(rt.OPTIMIZERS), key="gtt_opt", where=c[0],
                                format_func=lambda k: OPT_LABELS[k])
        lr = widgets.select_slider("Learning rate", LRS, key="gtt_lr", value=1e-2, where=c[1],
                                   format_func=lambda v: f"{v:g}",
                                   help="Too large a rate makes the loss NaN: that model stops and what it "
                                        "recorded stays on screen.")
        clip = widgets.toggle("Clip the gradient norm", True, key="gtt_clip", where=c[2],
                              help="Rescale the parameter gradient to norm tau when it is larger.")
        thr = widgets.number_input("Threshold tau", 1e-4, 1e4, 1.0, key="gtt_clip_thr", format="%.3g", where=c[3])
        c = st.columns([2, 1, 1])
        steps = widgets.select_slider("Training steps", STEPS, key="gtt_steps", value=1000, where=c[0])
        seed = widgets.number_input("Seed", 0, 10_000, 0, key="gtt_seed", where=c[1])
        with c[2]:
            go = st.form_submit_button("Train", key="gtt_train", type="primary", icon=":material/model_training:")
    st.caption(f"Training runs in the server's job queue (you see your place in it), shows its curves live, can be "
               f"cancelled at any time (what was recorded stays), and stops at its time cap of "
               f"{jobs.fmt_seconds(cap)}. Moving a control reruns nothing until you press Train.")
    job_id = st.session_state.get(JOB_KEY)
    running = jobs.is_active(job_id)
    if go:
        if running:
            ui.note("A training run of yours is still going: cancel it first, or wait for it.")
        elif not models:
            ui.error("Choose at least one model to train.")
        else:
            cfg = rt.TrainingConfig(
                task=task, T=int(T), models=rt.models_tuple(models), hidden=int(hidden), batch=int(batch),
                init=init, gain=float(gain), gated_init=gated, clip=bool(clip), clip_threshold=float(thr),
                lr=float(lr), optimizer=opt, steps=int(steps), seed=int(seed), time_budget_s=0.9 * cap,
                target_loss=0.01 if task == "adding" else None)
            try:
                rt.validate_config(cfg)
            except ValueError as exc:
                ui.error(f"Cannot train this configuration: {exc}")
            else:
                label = "Train " + " vs ".join(plots.MODEL_LABELS[k] for k in cfg.models) + f", T={cfg.T}"
                st.session_state[JOB_KEY] = jobs.submit(
                    kind=JOB_KIND, label=label, fn=_train_job(cfg), cap_s=cap,
                    size=f"{cfg.task}, hidden {cfg.hidden}, batch {cfg.batch}, {cfg.steps} steps")
    status = jobs.progress_panel(JOB_KEY, render_live=_render_live, on_done=_on_done)
    if status is None:
        stored = st.session_state.get(RESULT_KEY)
        if stored is not None:
            show_result(stored[1], stored[0], live=False)
        else:
            st.caption("Press Train (or pick a preset, then Train) to start; the plots appear here as it learns.")
    prev = st.session_state.get(PREV_KEY)
    if prev is not None:
        with widgets.expander("Previous run (for comparison)", key="gtt_x_prev") as box:
            if not box.open:
                return
            st.caption(_describe(prev[1].config) + f" · ended: {prev[1].reason}")
            ui.show(_figures(_token(prev[0], prev[1]), prev[1])["loss"], key="gtt_fig_prev_loss")
            ui.show(_figures(_token(prev[0], prev[1]), prev[1])["profile"], key="gtt_fig_prev_profile")


def _benchmark_panel() -> None:
    with widgets.expander("Benchmark: the shipped figures (benchmarks/bench_training_gradients.py)", key="gtt_x_bench") as box:
        if not box.open:
            return
        try:
            mtime = BENCH_PATH.stat().st_mtime
        except OSError:
            st.caption("No benchmark record is shipped yet: run benchmarks/bench_training_gradients.py.")
            return
        b = _benchmark(mtime)
        if not b:
            st.caption("The benchmark record could not be read.")
            return
        fig = _benchmark_figure(mtime)
        if fig is not None:
            ui.show(fig, key="gtt_fig_bench")
        rows = []
        for k, r in b.get("runs", {}).items():
            rows.append({"model": plots.MODEL_LABELS.get(k, k), "held-out MSE at the end": r["final_mse"],
                         "steps": r["steps"], "MSE at 90 s wall": r.get("mse_at_90s"),
                         "steps to MSE < 0.01": r.get("steps_to_target"),
                         "CPU s to MSE < 0.01": r.get("cpu_s_to_target"),
                         "wall s to MSE < 0.01": r.get("seconds_to_target"),
                         "CPU s in all": r.get("cpu_s"), "wall s in all": r.get("wall_s")})
        ui.table(rows)
        st.caption(f"Measured {b.get('date', '?')} on {b.get('machine', '?')}; load average "
                   f"{b.get('loadavg', '?')}; settings: {b.get('settings', '?')}. {b.get('note', '')} The x-axis "
                   "is the CPU time of the training thread (both models trained in it, side by side), which the "
                   "machine's load barely changes; the wall time is in the table.")


def render() -> None:
    ui.header(
        "Gradients through time",
        "Train a vanilla tanh RNN, an LSTM and a GRU on a task whose answer depends on an input T steps back, and "
        "watch the gradient $\\lVert\\partial\\mathcal{L}/\\partial h_t\\rVert$ reach (or fail to reach) each time "
        "step while they learn, next to the spectrum of the trained network's recurrent Jacobian and the "
        "write-up's bound $(\\gamma\\,\\sigma_{\\max}(W_{hh}))^T$.",
        source="Write-up 1.2.1; Hochreiter & Schmidhuber 1997; Pascanu, Mikolov & Bengio 2013; Le, Jaitly & "
               "Hinton 2015; Tallec & Ollivier 2018.",
    )
    _warm_up_torch()
    widgets.preset_buttons(PRESETS, help=PRESET_HELP)
    _train_panel()
    _benchmark_panel()
