"""BERT fine-tuning lab: a 3-way head on BERT's pooled [CLS] output, frozen vs full
fine-tuning, pretrained vs random initialisation, live predictions (write-up §3).

The page is a list of panels (``st.fragment``, issue 12): comparing shipped runs, the write-up's
questions, training (a job in the server's queue, issue 17) and live predictions each rerun
alone when their own controls move. Live predictions say first whether the sentence is of the
form the model learned (issue 15), and show the model's per-class accuracy and confusion matrix.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import jobs, runtime, settings, ui, widgets
from dashboard import plots_bert as plots
from engine import arith_data, bert
from engine.arith_data import make_splits

CHECKPOINTS = {
    "embedded": "embedded: pretrained MiniLM-L6 (offline)",
    "random": "random: same architecture, no pretraining",
    "tbs17/MathBERT": "tbs17/MathBERT (opt-in, hub)",
    "vinai/bertweet-base": "vinai/bertweet-base (opt-in, hub)",
    "other": "other: a Hugging Face model id…",
}
N_TRAIN = [60, 300, 1000, 2000, 4000]
LRS = [1e-5, 3e-5, 5e-5, 1e-4, 2e-4, 5e-4]
Q32 = (
    "§3.2 Freezing pretrained weights. Compared to fine-tuning, what is the effect on **train time** when BERT's "
    "weights are frozen? Why? What is the effect on **performance** (validation accuracy)? Why?"
)
Q33 = (
    "§3.3 Effect of pretraining data. Compared to fine-tuning from MathBERT, what is the effect on validation "
    "accuracy of fine-tuning from BERTweet? Why might this be the case?"
)
A32 = (
    "Write-up: *\"a decrease from 1 second per epoch to 0, or an increase from 15 batches per second to 60\"*; "
    "*\"drops from 92% to 74%\"*."
)
A33 = "Write-up: *\"BERTweet … achieves a 72% validation accuracy, which is nowhere near MathBERT, even when it is frozen\"*."


# ---------------------------------------------------------------------------
# Cached engine calls
# ---------------------------------------------------------------------------
JOB_KEY = "_bert_job"
LOCAL = "local folder (operator)"


@st.cache_data(show_spinner=False, max_entries=2)
def _shipped_cached(path: str, mtime: float) -> dict | None:
    return bert.load_results(Path(path))


def _shipped() -> dict | None:
    """The shipped results, or None when absent; a damaged file raises bert.AssetError."""
    if not bert.RESULTS_PATH.exists():
        return None
    return _shipped_cached(str(bert.RESULTS_PATH), bert.RESULTS_PATH.stat().st_mtime)


@st.cache_resource(show_spinner=False, max_entries=2)
def _shipped_model_cached(path: str, mtime: float):
    runtime.interactive_torch()
    return bert.load_finetuned(Path(path))


def _shipped_model():
    """The shipped full fine-tuned MiniLM (embedded weights + the int8 delta), shared by all sessions."""
    return _shipped_model_cached(str(bert.DELTA_PATH), bert.DELTA_PATH.stat().st_mtime)


@st.cache_data(show_spinner=False, max_entries=2)
def _shipped_eval(path: str, mtime: float) -> dict:
    return bert.load_shipped_eval(Path(path))


@st.cache_data(show_spinner=False, max_entries=256)
def _predict_shipped(text: str, path: str, mtime: float) -> bert.Prediction:
    tokenizer, model = _shipped_model()
    return bert.predict_proba(tokenizer, model, text)


@st.cache_resource(show_spinner=False)
def _train_sets() -> dict[str, set[str]]:
    sp = bert.shipped_splits()
    return {"training": set(sp.train_texts), "validation": set(sp.val_texts), "test": set(sp.test_texts)}


@ui.cache_figures(32)
def _curves_fig(keys: tuple[str, ...], axis: str, mtime: float):
    runs = _shipped()["runs"]
    return plots.accuracy_curves([runs[k] for k in keys], x=axis)


@ui.cache_figures(32)
def _times_fig(keys: tuple[str, ...], mtime: float):
    runs = _shipped()["runs"]
    return plots.time_per_epoch([runs[k] for k in keys])


@st.cache_data(show_spinner=False)
def _splits(n_train: int, seed: int):
    return make_splits(n_train=n_train, n_val=600, n_test=600, seed=seed)


def _pct(x: float) -> str:
    return "n/a" if x is None or x != x else f"{100 * x:.1f}%"


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------
def _results_table(runs: list) -> None:
    rows = [
        {
            "run": r.label,
            "mode": r.mode,
            "trainable parameters": f"{r.trainable_params:,}",
            "epochs": len(r.epochs),
            "s / epoch": ui.fmt_number(r.time_per_epoch_s, 3),
            "feature caching (s)": ui.fmt_number(r.feature_time_s, 3) if r.feature_time_s else "",
            "final val accuracy": _pct(r.final_val_accuracy),
            "test accuracy (unseen)": _pct(r.test_accuracy),
            "test: neg / zero / pos": " / ".join(_pct(v) for v in r.test_per_class.values()),
        }
        for r in runs
    ]
    ui.table(pd.DataFrame(rows))


def _questions(results: dict) -> None:
    try:
        ev = bert.writeup_evidence(results)
    except KeyError as exc:
        ui.note(f"The shipped results lack run {exc}; rerun scripts/train_bert.py to answer the questions.")
        return
    st.subheader("The write-up's questions, answered by these numbers")
    c1, c2 = st.columns(2, gap="large")
    with c1.container(border=True):
        st.markdown(Q32)
        st.caption(A32)
        m1, m2, m3 = st.columns(3)
        m1.metric("Full: s / epoch", ui.fmt_number(ev.full_time_per_epoch_s, 3))
        m2.metric("Frozen: s / epoch", ui.fmt_number(ev.frozen_time_per_epoch_s, 3),
                  help="Head only, on pooled features cached once.")
        m3.metric("Uncached: s / epoch", ui.fmt_number(ev.frozen_uncached_time_per_epoch_s, 3),
                  help="Frozen encoder, but run forward on every batch (no feature cache).")
        m1.metric("Full: val accuracy", _pct(ev.full_val_accuracy))
        m2.metric("Frozen: val accuracy", _pct(ev.frozen_val_accuracy))
        m3.metric("Speed-up", f"{ui.fmt_number(ev.frozen_speedup, 3)}×")
        st.markdown(
            f"**Time.** Freezing trains {ev.frozen_trainable_params:,} parameters instead of "
            f"{ev.full_trainable_params:,}: no backward pass through the encoder and no optimizer update of it. "
            f"With the pooled features cached once ({ui.fmt_number(ev.feature_cache_time_s, 3)} s), an epoch costs "
            f"{ui.fmt_number(ev.frozen_time_per_epoch_s, 3)} s vs {ui.fmt_number(ev.full_time_per_epoch_s, 3)} s "
            f"({ev.full_batches_per_s:.3g} vs {ev.frozen_batches_per_s:.3g} batches/s). Without caching the frozen "
            f"encoder still runs forward on every batch ({ui.fmt_number(ev.frozen_uncached_time_per_epoch_s, 3)} s "
            "per epoch): that forward pass is what kept the write-up's frozen epochs from costing ~0."
        )
        st.markdown(
            f"**Accuracy.** Frozen: {_pct(ev.frozen_val_accuracy)} validation / {_pct(ev.frozen_test_accuracy)} test, "
            f"vs full fine-tuning {_pct(ev.full_val_accuracy)} / {_pct(ev.full_test_accuracy)}. "
            + (
                "Freezing costs accuracy, as the write-up says: a linear head can only cut the pooled feature space "
                "with planes, and these features were never trained to compare two numbers."
                if ev.freezing_costs_accuracy
                else "Here freezing did not cost accuracy, unlike the write-up's claim."
            )
        )
    with c2.container(border=True):
        st.markdown(Q33)
        st.caption(A33)
        m1, m2 = st.columns(2)
        m1.metric("Pretrained, full: val accuracy", _pct(ev.full_val_accuracy))
        m2.metric("Random init, full: val accuracy", _pct(ev.random_full_val_accuracy))
        m1.metric("Pretrained, frozen: val accuracy", _pct(ev.frozen_val_accuracy))
        m2.metric("Random init, frozen: val accuracy", _pct(ev.random_frozen_val_accuracy))
        st.markdown(
            "MathBERT and BERTweet are hub downloads (opt-in below); offline the same question is asked with the "
            "strongest possible contrast: the same architecture with and without pretraining. "
            + (
                f"Pretraining helps: {_pct(ev.full_val_accuracy)} vs {_pct(ev.random_full_val_accuracy)} after the "
                "same full fine-tuning budget. "
                if ev.pretraining_helps
                else "Pretraining did not help here. "
            )
            + (
                "Even frozen, the pretrained encoder beats a fully trained random one, the pattern the write-up "
                "describes for MathBERT vs BERTweet."
                if ev.pretrained_frozen_beats_random_full
                else "But the frozen pretrained encoder does **not** beat the fully fine-tuned random one: the "
                "write-up's \"even when frozen\" does not carry over here."
            )
        )
        st.caption(
            "Caveat: the write-up attributes the gap to the *domain* of the pretraining data (maths vs tweets); "
            "pretrained-vs-random measures pretraining as such, not its domain. Try MathBERT/BERTweet below when "
            "you have them cached."
        )


def _checkpoint_choice(c1):
    """Checkpoint name from the widgets: shipped names, a typed hub id, or an operator folder."""
    options = list(CHECKPOINTS)
    dirs = settings.model_dirs()
    labels = dict(CHECKPOINTS)
    if dirs:
        options.append(LOCAL)
        labels[LOCAL] = "a local folder the operator allows"
    ckpt = widgets.selectbox("Checkpoint", options, key="bert_ckpt", where=c1, format_func=labels.get)
    if ckpt == "other":
        name = widgets.text_input("Hugging Face model id (owner/name)", "", key="bert_custom", where=c1,
                                  max_chars=200, help="Looked up in the local Hugging Face cache; downloaded only "
                                                      "when you allow it below.")
        return ckpt, name.strip(), dirs
    if ckpt == LOCAL:
        folders = sorted({str(p) for d in dirs if d.is_dir() for p in d.iterdir()
                          if p.is_dir() and (p / "config.json").is_file()})
        if not folders:
            c1.caption("The operator's model folders hold no model folder (with a config.json).")
            return ckpt, "", dirs
        # choices come from the server's configuration, not from the URL: not URL-bound on purpose
        return ckpt, c1.selectbox("Model folder", folders, key="_bert_local_folder"), dirs
    return ckpt, ckpt, dirs


def _train_job(name: str, allow: bool, dirs, cfg: bert.TrainConfig, n_train: int):
    def fn(ctx):
        ctx.report(0.01, "loading the checkpoint")
        tokenizer, model = bert.load_pretrained(name, seed=cfg.seed, allow_download=allow, allowed_dirs=dirs)
        ctx.check()
        splits = make_splits(n_train=n_train, n_val=600, n_test=600, seed=cfg.seed)
        live: list[dict] = []

        def progress(f: float, msg: str) -> None:
            ctx.check()
            ctx.report(0.03 + 0.97 * min(max(f, 0.0), 1.0), msg, live=list(live))

        def on_epoch(f: float, msg: str) -> None:
            if msg.startswith("epoch") and "val accuracy" in msg:
                live.append({"epoch": len(live) + 1, "val_accuracy": float(msg.rsplit(" ", 1)[-1])})
            progress(f, msg)

        label = f"you: {name} · {cfg.mode} · n={n_train}"
        result = bert.train_classifier(tokenizer, model, splits, cfg, checkpoint=name, progress=on_epoch, label=label)
        return tokenizer, model, result

    return fn


def _render_live(s: jobs.JobStatus) -> None:
    live = s.data.get("live") or []
    if live:
        st.caption("Validation accuracy so far: " + ", ".join(f"epoch {r['epoch']}: {r['val_accuracy']:.1%}"
                                                              for r in live))


def _on_done(s: jobs.JobStatus) -> None:
    if s.state == "done" and s.result is not None:
        tokenizer, model, result = s.result
        st.session_state.setdefault("_bert_user_runs", []).append(result)
        st.session_state["_bert_user_model"] = (tokenizer, model, result.label)
        st.session_state["_bert_done"] = (
            f"Trained {result.label}: final validation accuracy {_pct(result.final_val_accuracy)}, test accuracy "
            f"{_pct(result.test_accuracy)}, {ui.fmt_number(result.time_per_epoch_s, 3)} s per epoch. It is now in "
            "the plots above and available for live predictions below.")


@st.fragment
def _train_panel() -> None:
    st.subheader("Train a run")
    done = st.session_state.pop("_bert_done", None)
    if done:
        st.success(ui.escape_markdown(done), icon=":material/check_circle:")
    cap = settings.job_cap_s("bert-train")
    c1, c2, c3 = st.columns(3)
    ckpt, name, dirs = _checkpoint_choice(c1)
    allow = widgets.checkbox("Allow downloading from the hub", False, key="bert_download", where=c1,
                             help="Off: only the local Hugging Face cache is used, nothing is downloaded.")
    with st.form("bert_train_form", border=False):
        f1, f2 = st.columns([2, 1])
        with f1:
            g1, g2 = st.columns(2)
        mode = widgets.segmented_control("Mode", ["full", "frozen"], key="bert_mode", where=c2, default="frozen")
        epochs = widgets.slider("Epochs", 1, 30, 3 if mode == "full" else 20, key="bert_epochs", where=g1)
        n_train = widgets.select_slider("Training examples", N_TRAIN, key="bert_ntrain", where=g2, value=1000)
        lr = widgets.select_slider("Encoder learning rate", LRS, key="bert_lr", where=g1, value=1e-4,
                                   format_func=lambda v: f"{v:g}")
        seed = widgets.number_input("Seed", 0, 10_000, 0, key="bert_seed", where=g2)
        f2.write("")
        go = f2.form_submit_button("Train", key="bert_train", type="primary", icon=":material/play_arrow:",
                                   width="stretch")
    st.caption(
        "Full fine-tuning recipe: AdamW, encoder lr as chosen, head lr 1e-3, 10% warmup then linear decay, "
        f"max 16 tokens. Frozen: head lr 1e-2 on cached pooled features. Training runs in the server's job queue "
        f"(you see your place in it), stops at its cap of {jobs.fmt_seconds(cap)} and can be cancelled; full runs "
        "take minutes on 2 CPU cores.")
    if go:
        if ckpt in ("other", LOCAL) and not name:
            ui.error("Type a Hugging Face model id (owner/name) to train from it." if ckpt == "other"
                     else "Pick a model folder.")
        else:
            running = jobs.is_active(st.session_state.get(JOB_KEY))
            problem = None
            if ckpt not in ("embedded", "random"):
                try:
                    bert.resolve_checkpoint(name, allow_download=bool(allow), allowed_dirs=dirs, check_only=True)
                except bert.CheckpointUnavailable as exc:
                    problem = str(exc)
            if running:
                ui.note("A training run of yours is still going: cancel it first, or wait for it.")
            elif problem:
                st.error(ui.escape_markdown(problem), icon=":material/error:")
                st.caption("The embedded and random checkpoints remain available.")
            else:
                cfg = bert.TrainConfig(mode=mode or "frozen", epochs=int(epochs), lr=float(lr),
                                       head_lr=1e-3 if mode == "full" else 1e-2, seed=int(seed))
                st.session_state[JOB_KEY] = jobs.submit(
                    kind="bert-train", label=f"BERT {cfg.mode} from {name}",
                    fn=_train_job(name, bool(allow), list(dirs), cfg, int(n_train)), cap_s=cap,
                    size=f"{cfg.mode}, {int(epochs)} epochs, {int(n_train)} examples")
    jobs.progress_panel(JOB_KEY, render_live=_render_live, on_done=_on_done)


def _input_check(text: str) -> None:
    """Before the prediction: is this sentence of the form the model learned?"""
    problems = arith_data.input_problems(text)
    if problems:
        st.warning("**Outside what the model learned.** It was trained only on sentences "
                   "of the form NUMBER plus|minus NUMBER, with numbers written as words from zero to ninety-nine; this one "
                   "differs: "
                   + "; ".join(ui.escape_markdown(p) for p in problems)
                   + ". The prediction shown is a guess about a kind of sentence it never saw.",
                   icon=":material/warning:")
        return
    expr = arith_data.parse_expression(text)
    where = next((k for k, v in _train_sets().items() if expr.text in v), None)
    seen = {"training": "was in the shipped model's training set",
            "validation": "was in its validation set (never trained on)",
            "test": "is in its test set (never trained on)"}.get(where, "was never shown to the shipped model")
    op = "+" if expr.op == "plus" else "\u2212"
    st.info(f"In the trained form. True answer: **{expr.label}** ({expr.a} {op} {expr.b} = {expr.value}); "
            f"this expression {seen}.", icon=":material/check:")


@st.fragment
def _live_panel() -> None:
    st.subheader("Live prediction")
    options = ["shipped"]
    user = st.session_state.get("_bert_user_model")
    if user is not None:
        options.append("yours")
    labels = {"shipped": "shipped: full fine-tuned MiniLM",
              "yours": f"your last run ({ui.escape_markdown(user[2]) if user else ''})"}
    c1, c2 = st.columns([1, 1.3], gap="large")
    which = widgets.radio("Model", options, key="bert_model", where=c1, format_func=labels.get, horizontal=True)
    text = widgets.text_area("Type any sentence", "seven minus nine", key="bert_text", where=c1, height=100,
                             max_chars=bert.MAX_INPUT_CHARS)
    with c1:
        if text and text.strip():
            _input_check(text)
    try:
        if which == "yours" and user is not None:
            pred = bert.predict_proba(user[0], user[1], text)
        else:
            if not bert.DELTA_PATH.exists():
                ui.error(f"The shipped fine-tuned weights are missing ({bert._rel(bert.DELTA_PATH)}); "
                         f"{bert.restore_hint(bert.DELTA_PATH)}. Train a run above to get a model.")
                return
            with st.spinner("Loading the fine-tuned model (once per server)…"):
                pred = _predict_shipped(text, str(bert.DELTA_PATH), bert.DELTA_PATH.stat().st_mtime)
    except bert.AssetError as exc:
        ui.error(str(exc), hint="The rest of the page keeps working; train a run above to get a model.")
        return
    except ValueError as exc:
        ui.error(str(exc), hint='Try "forty-two minus forty-two" or "three plus nine".')
        return
    if pred.truncated:
        ui.note(
            f"Your text is {pred.n_tokens_input:,} tokens long; the model reads at most {pred.token_limit}, "
            f"so only the first {pred.token_limit} tokens were classified. Your text is kept as typed."
        )
    expr = arith_data.parse_expression(text)
    if expr is not None and expr.label != pred.label:
        c1.error(f"The model is wrong here: it says {pred.label}, the true sign is {expr.label}. Its mistakes "
                 "cluster on differences close to zero (see the confusion matrix below).", icon=":material/close:")
    m1, m2 = c2.columns(2)
    m1.metric("Predicted sign", pred.label)
    m2.metric("Probability", f"{pred.probabilities[pred.label]:.1%}")
    ui.show(plots.class_probabilities(pred), key="bert_probs", where=c2)
    c2.caption(
        "softmax(logits) over {negative, zero, positive}. The three classes must sum to 1, so a sentence outside "
        "the task still gets a confident-looking answer: read the check on the left first."
    )
    _accuracy_section()


def _accuracy_section() -> None:
    """Per-class accuracy and the confusion matrix of the shipped model on its test set."""
    st.markdown("**How often the shipped model is right** (test set: expressions never seen in training)")
    try:
        ev = _shipped_eval(str(bert.SHIPPED_EVAL_PATH), bert.SHIPPED_EVAL_PATH.stat().st_mtime)
    except FileNotFoundError:
        ui.note(f"No stored evaluation ({bert._rel(bert.SHIPPED_EVAL_PATH)}); rebuild it with "
                "`python scripts/train_bert.py --eval-only`.")
        return
    except bert.AssetError as exc:
        ui.error(str(exc))
        return
    cols = st.columns(len(ev["per_class"]) + 1)
    cols[0].metric("All classes", _pct(ev["accuracy"]), help=f"{ev['n']} test expressions")
    for col, (name, acc) in zip(cols[1:], ev["per_class"].items()):
        col.metric(name, _pct(acc), help=f"accuracy on the test expressions whose true sign is {name}")
    c1, c2 = st.columns([1, 1.3], gap="large")
    with c1:
        if ev.get("errors"):
            st.caption("Some expressions it gets wrong: " + "; ".join(
                f"{e['text']} ({e['true']}, read as {e['predicted']})" for e in ev["errors"][:6])
                + ". Its mistakes are differences close to zero.")
    ui.show(_confusion_fig(str(bert.SHIPPED_EVAL_PATH), bert.SHIPPED_EVAL_PATH.stat().st_mtime), key="bert_confusion",
            where=c2)


@ui.cache_figures(2)
def _confusion_fig(path: str, mtime: float):
    """The shipped model's test-set confusion matrix (rebuilt only when the eval file changes)."""
    ev = _shipped_eval(path, mtime)
    return plots.confusion_matrix(ev["labels"], ev["confusion"])


@st.fragment
def _compare_panel(results: dict | None) -> None:
    runs = list(results["runs"].values()) if results else []
    user_runs = st.session_state.get("_bert_user_runs", [])
    if not (runs or user_runs):
        return
    chosen_keys: list[str] = []
    if runs:
        keys = list(results["runs"])
        by_label = {results["runs"][k].label: k for k in keys}
        default = [r.label for r in runs if "baseline" not in r.label]
        shown = widgets.multiselect("Shipped runs to compare (your runs are always shown)", list(by_label),
                                    key="bert_runs", default=default)
        chosen_keys = [by_label[k] for k in shown if k in by_label]
    if not chosen_keys and not user_runs:
        ui.note("Pick at least one run to compare.")
        return
    c1, c2 = st.columns(2, gap="large")
    axis = widgets.segmented_control("x axis", ["epoch", "time"], key="bert_axis", where=c1, default="epoch") or "epoch"
    mtime = bert.RESULTS_PATH.stat().st_mtime if results else 0.0  # the figures' cache key
    if user_runs:
        chosen = [results["runs"][k] for k in chosen_keys] + list(user_runs)
        curves, times = plots.accuracy_curves(chosen, x=axis), plots.time_per_epoch(chosen)
    else:
        chosen = [results["runs"][k] for k in chosen_keys]
        curves, times = _curves_fig(tuple(chosen_keys), axis, mtime), _times_fig(tuple(chosen_keys), mtime)
    ui.show(curves, key="bert_curves", where=c1)
    c1.caption("Dotted: frozen encoder. Look for how fast each run climbs and where it levels off.")
    c2.markdown("&nbsp;")
    ui.show(times, key="bert_times", where=c2)
    c2.caption("Log scale: a frozen head on cached features is orders of magnitude cheaper per epoch.")
    _results_table(chosen)
    if results:
        st.caption(
            f"Shipped runs: {results['splits']['n_train']:,} training examples "
            f"({results['splits']['n_unique_train']:,} distinct), {results['splits']['n_val']} validation, "
            f"{results['splits']['n_test']} test; timings {results['machine']['note']} "
            f"({results['machine']['torch_threads']} torch threads, {results['machine']['date_utc']} UTC)."
        )


@st.fragment
def _questions_panel(results: dict) -> None:
    _questions(results)


def render() -> None:
    ui.header(
        "BERT fine-tuning: freezing and pretraining",
        "A linear head on BERT's pooled [CLS] output classifies the **sign** of a verbal sum "
        "(\"seven minus nine\" → negative, \"four minus four\" → zero, \"two plus six\" → positive). "
        "Test expressions are never seen in training. Compare full fine-tuning with a frozen encoder, and a "
        "pretrained checkpoint with the same network randomly initialised.",
        source="Write-up §3.1–3.3 · Devlin et al. 2019 (BERT) · MiniLM-L6 from all-MiniLM-L6-v2 (embedded)",
    )
    st.latex(r"\mathrm{logits} = W_c\,\tanh(W_p h_{\mathrm{[CLS]}} + b_p) + b_c,\quad "
             r"W_c \in \mathbb{R}^{3\times 384},\quad \mathcal{L} = -\log \mathrm{softmax}(\mathrm{logits})_y")
    results = None
    try:
        results = _shipped()
    except bert.AssetError as exc:
        ui.error(str(exc), hint="Training and live predictions below keep working.")
    if results is None and bert.RESULTS_PATH.exists() is False:
        ui.note(f"No shipped results found ({bert._rel(bert.RESULTS_PATH)}); train runs below.")
    _compare_panel(results)
    if results:
        _questions_panel(results)
    _train_panel()
    _live_panel()
