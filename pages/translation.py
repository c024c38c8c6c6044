"""Pig Latin translation: shipped models, train-now, attention maps (write-up 2.1.4, 2.2).

Widgets -> engine.nmt (models in st.cache_resource, results in st.cache_data) ->
dashboard.plots_attention -> ui.show.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import plots_attention as pa
from dashboard import ui, widgets
from engine import nmt
from engine.nmt import results as nres

TRAINED_KEY = "tr_trained_result"
TRAINED_NAME = "trained now (this session)"
MAX_TRAIN_SECONDS = 300


@st.cache_resource(max_entries=8, show_spinner=False)
def _shipped_model(name: str):
    return nmt.load_shipped(name)


@st.cache_data(max_entries=2, show_spinner=False)
def _results():
    return nres.shipped_results()


@st.cache_data(max_entries=2, show_spinner=False)
def _claims():
    return nres.check_claims(nres.shipped_results())


def _model(name: str):
    if name == TRAINED_NAME:
        return st.session_state.get(TRAINED_KEY)
    return _shipped_model(name)


def _describe(name: str, res) -> str:
    c = res.config
    arch = "decoder-only" if c.arch == "decoder" else "encoder-decoder"
    return (f"**{name}**: {arch}, hidden {c.hidden_size}, {c.num_layers} layers, {c.num_heads} heads, "
            f"{c.dataset} data; held-out word accuracy {ui.fmt_number(100 * res.word_accuracy, 3)} %, "
            f"val loss {ui.fmt_number(res.val_loss)}")


def _results_section(r: nres.NMTResults) -> None:
    st.subheader("Shipped models")
    if not r.runs:
        ui.note("No shipped results found in assets/nmt/models; run scripts/train_nmt.py.")
        return
    rows = [{"model": n, "architecture": "decoder-only" if s.arch == "decoder" else "encoder-decoder",
             "hidden": s.hidden_size, "layers": s.num_layers, "heads": s.num_heads, "dataset": s.dataset,
             "epochs": round(s.epochs_run, 2), "val loss (nats/token)": round(s.val_loss, 4),
             "held-out word accuracy (%)": round(100 * s.word_accuracy, 2), "params": s.n_params,
             "non-embedding params": s.n_params_non_embedding, "train time (s)": round(s.seconds, 1),
             "machine load": s.load_avg} for n, s in r.runs.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if r.fast_name:
        f = r.runs[r.fast_name]
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(f"{r.fast_name}: word accuracy", f"{ui.fmt_number(100 * f.word_accuracy, 3)} %")
        c2.metric(f"{r.fast_name}: val loss", ui.fmt_number(f.val_loss))
        c3.metric("training wall time (shared machine)", f"{ui.fmt_number(f.seconds, 3)} s")
        c4.metric("machine load average during training", ui.fmt_number(f.load_avg or float("nan"), 3))
        st.caption(f"Best decoder-only model: {r.fast_name}. Trained on one thread of a 2-core machine shared with "
                   "other jobs (load average above 2 means other processes were competing for the cores), so its "
                   "wall time overstates what a quiet laptop core needs; benchmarks/bench_nmt.py --train re-measures.")
    if r.decoder_name and r.encdec_name:
        d, e = r.runs[r.decoder_name], r.runs[r.encdec_name]
        better = r.decoder_beats_encdec
        st.markdown(
            f"**Decoder-only vs encoder-decoder** at the same width ({d.hidden_size}) and data ({d.dataset}), the "
            f"write-up's comparison: val loss {ui.fmt_number(d.val_loss)} ({r.decoder_name}) vs "
            f"{ui.fmt_number(e.val_loss)} ({r.encdec_name}); held-out word accuracy "
            f"{ui.fmt_number(100 * d.word_accuracy, 3)} % vs {ui.fmt_number(100 * e.word_accuracy, 3)} %. "
            f"The write-up reports 0.2 for its decoder-only model against 0.478 for its best small-data "
            f"encoder-decoder and concludes decoder-only is superior; here that conclusion "
            + ("**holds**." if better else "**does not hold**: once both use LayerNorm, several heads and a "
               "tuned schedule, the encoder-decoder is as good or better on this task (its encoder sees the whole "
               "word at once; the decoder-only model must learn to copy across the EOP boundary).")
        )
    t1 = [{"label": f"h={row.hidden_size}, {row.dataset}", "writeup": row.writeup_val_loss, "ours": row.val_loss}
          for row in r.table1 if row.val_loss is not None]
    left, right = st.columns(2)
    with left:
        if t1:
            ui.show(pa.table1_bars(t1), key="tr_fig_table1")
        st.dataframe(pd.DataFrame([{"hidden": x.hidden_size, "dataset": x.dataset, "write-up val loss": x.writeup_val_loss,
                                    "our val loss": x.val_loss, "our word accuracy": x.word_accuracy}
                                   for x in r.table1]), hide_index=True)
    with right:
        xaxis = widgets.segmented_control("Loss curves against", ["epoch", "tokens_seen", "seconds"], key="tr_xaxis",
                                          default="epoch")
        ui.show(pa.loss_curves({n: s.history for n, s in r.runs.items()}, x=xaxis or "epoch"), key="tr_fig_loss")
    st.markdown(
        "**Where our numbers differ from the write-up's, and why.** "
        f"(1) Our models train with label smoothing 0.1, which puts a floor of {ui.fmt_number(r.smoothing_floor)} "
        "nats/token under the validation loss even for a model whose every greedy output is right; compare word "
        "accuracy rather than loss near that floor. (2) Our blocks use LayerNorm, 4 heads and a 4h GELU MLP with "
        "a warmup + cosine schedule; the write-up's have no LayerNorm and one head, trained with a constant rate, "
        "so our losses are far lower across the whole grid. (3) Our datasets come from a different word list "
        "(whole words of the BERT vocabulary: 4,000 / 16,000 training words, one fixed held-out set of 1,000), "
        "and the large runs get 5 epochs against 10 for small ones (encoder-decoder: about twice the optimiser "
        "steps; decoder-only: 5 against 20, the same steps), within the budget of a shared 2-core machine. "
        "(4) The write-up's Table 1 runs were presumably trained far less: its losses of 0.48–1.16 nats/token "
        "mean most words come out wrong, while all of ours are within 0.02 of the smoothing floor."
    )
    claims = _claims()
    if claims:
        st.markdown("**The write-up's claims, re-checked on our runs**")
        for c in claims:
            verdict = "not checked (run missing)" if c.holds is None else ("holds" if c.holds else "fails")
            st.markdown(f"- {ui.verdict_badge(verdict)} {c.claim}: {c.evidence}")
    shown = [s for s in r.runs.values() if s.errors]
    if shown:
        with st.expander("Held-out words the shipped models get wrong"):
            for s in shown:
                st.markdown(f"**{s.name}**: " + ", ".join(f"{e['source']} → {e['output']} (want {e['target']})"
                                                         for e in s.errors[:12]))


def _train_section() -> None:
    st.subheader("Train one now")
    cols = st.columns(6)
    arch = widgets.selectbox("Architecture", ["decoder", "encdec"], key="tr_arch", where=cols[0],
                             format_func=lambda a: {"decoder": "decoder-only", "encdec": "encoder-decoder"}[a])
    hidden = widgets.select_slider("Hidden size", [16, 32, 64, 128], key="tr_hidden", where=cols[1], value=64)
    layers = widgets.slider("Layers", 1, 4, 3, key="tr_layers", where=cols[2])
    dataset = widgets.selectbox("Dataset", ["tiny", "small", "large"], key="tr_dataset", where=cols[3], index=1)
    epochs = widgets.slider("Epochs", 1, 30, 20, key="tr_epochs", where=cols[4])
    cols[5].write("")
    go = cols[5].button("Train", key="tr_train", type="primary")
    st.caption(f"Runs on one CPU thread, stops after {MAX_TRAIN_SECONDS} s at most; the hidden-64 decoder-only on "
               "'small' for 20 epochs takes about 1–2 minutes on a laptop core.")
    if not go:
        return
    cfg = nmt.TrainConfig(arch=arch, hidden_size=int(hidden), num_layers=int(layers), num_heads=4 if hidden >= 32 else 2,
                          dataset=dataset, epochs=int(epochs), lr=3e-3 if hidden <= 64 else 2e-3,
                          max_seconds=MAX_TRAIN_SECONDS, threads=1)
    bar = st.progress(0.0, text="starting")
    chart = st.empty()
    live: list[dict] = []
    evals: list[dict] = []

    def progress(h: dict) -> None:
        frac = min(1.0, h["step"] / max(1, h["total_steps"]))
        txt = f"step {h['step']} / {h['total_steps']} · train loss {h['train_loss']:.3f}"
        if h["val_loss"] is not None:
            evals.append(h)
            txt += f" · val loss {h['val_loss']:.3f}"
            with chart.container():
                ui.show(pa.loss_curves({"this run": evals}, live=live), key=f"tr_fig_live_{len(evals)}")
        else:
            live.append(h)
        bar.progress(frac, text=txt)

    with st.status("Training…", expanded=False) as status:
        res = nmt.train(cfg, progress=progress)
        status.update(label=f"Done in {res.seconds:.0f} s ({res.stopped})", state="complete")
    st.session_state[TRAINED_KEY] = res
    c1, c2, c3 = st.columns(3)
    c1.metric("held-out word accuracy", f"{ui.fmt_number(100 * res.word_accuracy, 3)} %")
    c2.metric("best val loss", ui.fmt_number(res.val_loss))
    c3.metric("training time", f"{ui.fmt_number(res.seconds, 3)} s")
    st.caption(f"Select '{TRAINED_NAME}' below to translate with it.")


def _translate_section(names: list[str]) -> None:
    st.subheader("Translate")
    sentence = widgets.text_input("Sentence", "the quick brown fox jumps over the lazy dog", key="tr_text",
                                  max_chars=2000)
    c1, c2 = st.columns(2)
    fast = _results().fast_name
    default_a = names.index(fast) if fast in names else 0
    default_b = names.index("encdec_h64_small") if "encdec_h64_small" in names else min(1, len(names) - 1)
    a = widgets.selectbox("Model A", names, key="tr_model_a", where=c1, index=default_a)
    b = widgets.selectbox("Model B", names, key="tr_model_b", where=c2, index=default_b)
    outs = {}
    for col, name in ((c1, a), (c2, b)):
        res = _model(name)
        if res is None:
            col.warning("Nothing trained in this session yet: press Train above first.")
            continue
        col.markdown(_describe(name, res))
        tr = nmt.translate(res, sentence)
        outs[name] = tr
        if not tr.words:
            ui.error("Nothing to translate: type a sentence of words (letters a–z).")
            return
        col.markdown(f"### {tr.text}")
        n_ok = sum(w.correct for w in tr.words if w.word)
        n_words = sum(1 for w in tr.words if w.word)
        col.metric("words matching the Pig Latin rule", f"{n_ok} / {n_words}")
        for n in tr.notes:
            col.caption(n)
        col.dataframe(pd.DataFrame([{"typed": w.source, "model": w.model_output, "rule": w.expected,
                                     "match": "yes" if w.correct else "no"} for w in tr.words if w.word]),
                      hide_index=True)
    if not outs:
        return
    words = [w.word for w in next(iter(outs.values())).words if w.word]
    if not words:
        return
    st.markdown(f"**Attention maps** (max word length {nmt.MAX_WORD_LEN} letters; rows: query tokens, columns: "
                "key tokens; each row sums to 1)")
    pick = widgets.selectbox("Word", list(dict.fromkeys(words)), key="tr_word")
    cols = st.columns(len(outs))
    for col, (name, tr) in zip(cols, outs.items()):
        w = next(x for x in tr.words if x.word == pick)
        order = ["self", "cross", "decoder", "encoder"]
        kinds = sorted(dict.fromkeys(m.kind for m in w.maps), key=order.index)
        titles = {"self": "self-attention", "encoder": "encoder self-attention", "decoder": "decoder self-attention",
                  "cross": "cross-attention (decoder → encoder)"}
        tabs = col.tabs([titles[k] for k in kinds])
        for tab, kind in zip(tabs, kinds):
            maps = [m for m in w.maps if m.kind == kind]
            ui.show(pa.attention_grid(maps, title=f"{name}: {titles[kind]}"), where=tab, key=f"tr_fig_att_{name}_{kind}")
    by_len = {n: _results().runs[n].by_length for n in outs if n in _results().runs and _results().runs[n].by_length}
    if by_len:
        st.markdown("**Longer than any training word.** Training words have at most 12 letters; compound "
                    f"words (two held-out words glued together) of 4 to {nmt.MAX_WORD_LEN} letters test whether the models carry over to positions they "
                    "never trained on (the sinusoidal encodings exist there; see the Positional encodings page). "
                    "Computed by scripts/train_nmt.py on 40 compounds per length.")
        ui.show(pa.accuracy_by_length(by_len), key="tr_fig_bylen")
        for n, rows in by_len.items():
            inside = [a for ln, a, _ in rows if ln <= 12]
            inside = inside or [float("nan")]
            past = [a for ln, a, _ in rows if ln > 12]
            st.caption(f"{n}: mean accuracy {ui.fmt_number(100 * sum(inside) / len(inside), 3)} % on lengths 4–12, "
                       f"{ui.fmt_number(100 * sum(past) / max(len(past), 1), 3)} % on 13–{nmt.MAX_WORD_LEN}.")
    st.caption("In the decoder-only model, look for the diagonal band in the last rows: each output letter reads "
               "the source letter it copies, shifted past the moved consonant cluster. In the encoder-decoder the "
               "same band shows up in the cross-attention.")


def render() -> None:
    ui.header(
        "Pig Latin translation",
        "Character-level transformers translate English words to Pig Latin (shopping → oppingshay, am → amway). "
        "Compare the write-up's encoder-decoder grid (Table 1) with its decoder-only model, translate any "
        "sentence with two models side by side, look at their attention, or train a model yourself.",
        source="Write-up §2.1.4 (Table 1) and §2.2 · models in engine/nmt, results from scripts/train_nmt.py",
    )
    r = _results()
    _results_section(r)
    _train_section()
    names = list(r.runs) + ([TRAINED_NAME] if st.session_state.get(TRAINED_KEY) is not None else [])
    if not names:
        ui.note("No model available: train one above.")
        return
    _translate_section(names)
