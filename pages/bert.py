"""BERT fine-tuning lab: a 3-way head on BERT's pooled [CLS] output, frozen vs full
fine-tuning, pretrained vs random initialisation, live predictions (write-up §3)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import plots_bert as plots
from dashboard import ui, widgets
from engine import bert
from engine.arith_data import make_splits

CHECKPOINTS = {
    "embedded": "embedded: pretrained MiniLM-L6 (offline)",
    "random": "random: same architecture, no pretraining",
    "tbs17/MathBERT": "tbs17/MathBERT (opt-in, hub)",
    "vinai/bertweet-base": "vinai/bertweet-base (opt-in, hub)",
    "other": "other: a hub id or a local folder…",
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
@st.cache_data(show_spinner=False)
def _shipped() -> dict | None:
    if not bert.RESULTS_PATH.exists():
        return None
    return bert.load_results()


@st.cache_resource(show_spinner=False)
def _shipped_model():
    """The shipped full fine-tuned MiniLM (embedded weights + the int8 delta), shared by all sessions."""
    return bert.load_finetuned()


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
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


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


def _train_section() -> None:
    st.subheader("Train a run")
    done = st.session_state.pop("_bert_done", None)
    if done:
        st.success(done, icon=":material/check_circle:")
    c1, c2, c3 = st.columns(3)
    ckpt = widgets.selectbox(
        "Checkpoint", list(CHECKPOINTS), key="bert_ckpt", where=c1, format_func=CHECKPOINTS.get
    )
    custom = ""
    if ckpt == "other":
        custom = widgets.text_input("Hub id or local folder", "", key="bert_custom", where=c1)
    allow = widgets.checkbox("Allow downloading from the hub", False, key="bert_download", where=c1,
                             help="Off: only the local cache / folders are used, nothing is downloaded.")
    mode = widgets.segmented_control("Mode", ["full", "frozen"], key="bert_mode", where=c2, default="frozen")
    epochs = widgets.slider("Epochs", 1, 30, 3 if mode == "full" else 20, key="bert_epochs", where=c2)
    n_train = widgets.select_slider("Training examples", N_TRAIN, key="bert_ntrain", where=c3, value=1000)
    lr = widgets.select_slider("Encoder learning rate", LRS, key="bert_lr", where=c3, value=1e-4,
                               format_func=lambda v: f"{v:g}")
    seed = widgets.number_input("Seed", 0, 10_000, 0, key="bert_seed", where=c3)
    st.caption(
        "Full fine-tuning recipe: AdamW, encoder lr as chosen, head lr 1e-3, 10% warmup then linear decay, "
        "max 16 tokens. Frozen: head lr 1e-2 on cached pooled features. Full runs take minutes on 2 CPU cores."
    )
    name = custom.strip() if ckpt == "other" else ckpt
    if ckpt == "other" and not name:
        ui.error("Type a Hugging Face model id (owner/name) or a local folder to train from it.")
        return
    if not st.button("Train", key="bert_train", type="primary", icon=":material/play_arrow:"):
        return
    cfg = bert.TrainConfig(mode=mode or "frozen", epochs=int(epochs), lr=float(lr),
                           head_lr=1e-3 if mode == "full" else 1e-2, seed=int(seed))
    with st.status(f"Training {name} ({cfg.mode}) on {n_train} examples…", expanded=True) as status:
        bar = st.progress(0.0, text="loading the checkpoint")
        try:
            tokenizer, model = bert.load_pretrained(name, seed=cfg.seed, allow_download=bool(allow))
        except bert.CheckpointUnavailable as exc:
            status.update(label="Checkpoint unavailable", state="error")
            ui.error(str(exc), hint="The embedded and random checkpoints remain available.")
            return
        result = bert.train_classifier(
            tokenizer,
            model,
            _splits(int(n_train), cfg.seed),
            cfg,
            checkpoint=name,
            progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m),
            label=f"you: {name} · {cfg.mode} · n={n_train}",
        )
        status.update(label=f"Done: test accuracy {_pct(result.test_accuracy)}", state="complete")
    st.session_state.setdefault("_bert_user_runs", []).append(result)
    st.session_state["_bert_user_model"] = (tokenizer, model, result.label)
    st.session_state["_bert_done"] = (
        f"Trained {result.label}: final validation accuracy {_pct(result.final_val_accuracy)}, test accuracy "
        f"{_pct(result.test_accuracy)}, {ui.fmt_number(result.time_per_epoch_s, 3)} s per epoch. It is now in the "
        "plots above and available for live predictions below."
    )
    st.rerun()


def _live_section() -> None:
    st.subheader("Live prediction")
    options = ["shipped"]
    user = st.session_state.get("_bert_user_model")
    if user is not None:
        options.append("yours")
    labels = {"shipped": "shipped: full fine-tuned MiniLM", "yours": f"your last run ({user[2] if user else ''})"}
    c1, c2 = st.columns([1, 1.3], gap="large")
    which = widgets.radio("Model", options, key="bert_model", where=c1, format_func=labels.get, horizontal=True)
    text = widgets.text_area("Type any sentence", "seven minus nine", key="bert_text", where=c1, height=100)
    if which == "yours" and user is not None:
        tokenizer, model = user[0], user[1]
    else:
        if not bert.DELTA_PATH.exists():
            ui.error("The shipped fine-tuned weights are missing; train a run above to get a model.")
            return
        with st.spinner("Loading the fine-tuned model (once per server)…"):
            tokenizer, model = _shipped_model()
    try:
        pred = bert.predict_proba(tokenizer, model, text)
    except ValueError as exc:
        ui.error(str(exc), hint='Try "forty-two minus forty-two" or "three plus nine".')
        return
    if pred.truncated:
        ui.note(
            f"Your text is {pred.n_tokens_input:,} tokens long; the model reads at most {pred.token_limit}, "
            f"so only the first {pred.token_limit} tokens were classified. Your text is kept as typed."
        )
    m1, m2 = c2.columns(2)
    m1.metric("Predicted sign", pred.label)
    m2.metric("Probability", f"{pred.probabilities[pred.label]:.1%}")
    ui.show(plots.class_probabilities(pred), key="bert_probs", where=c2)
    c2.caption(
        "softmax(logits) over {negative, zero, positive}. The model only knows this task: a sentence that is not "
        "arithmetic still gets a confident-looking answer, since the three classes must sum to 1."
    )


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
    results = _shipped()
    runs = list(results["runs"].values()) if results else []
    if results is None:
        ui.note("No shipped results found (assets/bert/results.json); train runs below.")
    user_runs = st.session_state.get("_bert_user_runs", [])
    chosen = list(user_runs)
    if runs:
        by_label = {r.label: r for r in runs}
        default = [r.label for r in runs if "baseline" not in r.label]
        shown = widgets.multiselect("Shipped runs to compare (your runs are always shown)", list(by_label),
                                    key="bert_runs", default=default)
        chosen = [by_label[k] for k in shown if k in by_label] + chosen
    if runs or user_runs:
        if chosen:
            c1, c2 = st.columns(2, gap="large")
            axis = widgets.segmented_control("x axis", ["epoch", "time"], key="bert_axis", where=c1, default="epoch")
            ui.show(plots.accuracy_curves(chosen, x=axis or "epoch"), key="bert_curves", where=c1)
            c1.caption("Dotted: frozen encoder. Look for how fast each run climbs and where it levels off.")
            c2.markdown("&nbsp;")
            ui.show(plots.time_per_epoch(chosen), key="bert_times", where=c2)
            c2.caption("Log scale: a frozen head on cached features is orders of magnitude cheaper per epoch.")
            _results_table(chosen)
            if results:
                st.caption(
                    f"Shipped runs: {results['splits']['n_train']:,} training examples "
                    f"({results['splits']['n_unique_train']:,} distinct), {results['splits']['n_val']} validation, "
                    f"{results['splits']['n_test']} test; timings {results['machine']['note']} "
                    f"({results['machine']['torch_threads']} torch threads, {results['machine']['date_utc']} UTC)."
                )
        else:
            ui.note("Pick at least one run to compare.")
    if results:
        _questions(results)
    _train_section()
    _live_section()
