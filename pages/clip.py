"""CLIP prompting lab: live zero-shot predictions, prompt sensitivity ("two goldfish" /
"two nemo" / "two nemos"), images x prompts similarity (write-up §4.2)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import plots_clip as plots
from dashboard import ui, widgets
from engine import clip, scenes

MODELS = ("embedded", "ViT-B-32/openai", "ViT-B-16/openai", "RN50/openai")
UPLOAD = "Upload an image"
DEFAULT_PROMPTS = "\n".join([
    "two goldfish", "two nemo", "two nemos", "one goldfish", "three goldfish",
    "two orange fish", "two red fish", "two orange circles", "a photo of a cat", "an astronaut",
])
DEFAULT_VARIANTS = "\n".join(clip.GOLDFISH_VARIANTS)


# ---------------------------------------------------------------------------
# Cached resources and engine calls
# ---------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=4)
def _bundle(name: str) -> clip.ClipBundle:
    if name == "embedded":
        return clip.load_clip("embedded")
    arch, tag = name.split("/", 1)
    return clip.load_clip(arch, tag)


@st.cache_resource(show_spinner=False)
def _samples() -> dict:
    return clip.sample_images()


@st.cache_data(show_spinner=False)
def _eval() -> dict:
    return clip.eval_results()


@st.cache_data(show_spinner=False, max_entries=8)
def _goldfish(model_name: str, n_images: int, seed: int) -> list[dict]:
    return clip.goldfish_sensitivity(_bundle(model_name), n_images=n_images, seed=seed).as_records()


def _model() -> clip.ClipBundle:
    """The chosen model; if it cannot load (offline, unknown tag) say why and keep the embedded one."""
    choice = widgets.selectbox("Model (architecture/pretrained tag)", MODELS, key="cl_model",
                               help="'embedded' is the tiny CLIP shipped with the lab (offline). Real CLIP weights "
                                    "are downloaded only when you pick them; offline, the page says what would be "
                                    "downloaded and keeps the embedded model.")
    failed = st.session_state.setdefault("_cl_failed", {})
    if choice != "embedded":
        if choice in failed:
            ui.error(failed[choice])
        else:
            try:
                with st.spinner(f"Loading {choice} ..."):
                    return _bundle(choice)
            except clip.ModelUnavailable as exc:
                failed[choice] = str(exc)
                ui.error(str(exc))
    return _bundle("embedded")


def _image(samples: dict, where):
    """The chosen sample or an uploaded file; returns (name, PIL image or None)."""
    names = [*samples, UPLOAD]
    choice = widgets.selectbox("Image", names, key="cl_image", where=where)
    if choice != UPLOAD:
        return choice, samples[choice]
    up = where.file_uploader("Image file (PNG, JPEG, ...)", key="cl_upload")
    if up is None:
        where.caption("Choose a file; until then the first sample is used.")
        first = next(iter(samples))
        return first, samples[first]
    try:
        return up.name, clip.load_image(up.getvalue())
    except clip.ClipError as exc:
        ui.error(f"Could not use {up.name}: {exc}", hint="The prompts and settings are kept; pick another file.")
        return None, None


# ---------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------
def render() -> None:
    ui.header(
        "CLIP prompting lab",
        "CLIP scores an image against every prompt with the cosine of their embeddings, scaled by a "
        "learned temperature, and turns the scores into probabilities with a softmax. Try prompts, "
        "see which one wins, and how fragile the win is: *two goldfish* and *two nemo* work, "
        "*two nemos* does not.",
        source="Write-up §4.2 · Radford et al. 2021, Learning Transferable Visual Models From Natural "
               "Language Supervision, §3.1",
    )
    bundle = _model()
    samples = _samples()
    ctl, out = st.columns([1, 2], gap="large")
    name, image = _image(samples, ctl)
    if image is not None:
        ctl.image(image, caption=name, width=220)
    prompts_text = widgets.text_area(
        "Prompts (one per line, at most 100)", DEFAULT_PROMPTS, key="cl_prompts", where=ctl, height=250)
    ensemble = widgets.toggle("Prompt ensembling (average over 'a photo of {}' etc.)", False, key="cl_ensemble",
                              where=ctl)
    templates = clip.DEFAULT_TEMPLATES if ensemble else None

    prompts = None
    try:
        prompts = clip.clean_prompts(prompts_text)
    except clip.ClipError as exc:
        ui.error(str(exc), hint="Your text is kept in the box above.")

    out.subheader("Zero-shot probabilities")
    if prompts and image is not None:
        res = clip.similarity(bundle, [image], prompts, templates)
        p = res.probabilities[0]
        best = int(p.argmax())
        m1, m2, m3 = out.columns([2, 1, 1])
        m1.metric("Top prompt", prompts[best])
        m2.metric("Its probability", f"{p[best]:.1%}")
        m3.metric("Temperature tau", ui.fmt_number(res.logit_scale, 3))
        out.latex(
            r"p_k=\frac{e^{\tau\cos(f,g_k)}}{\sum_j e^{\tau\cos(f,g_j)}},\quad \tau="
            + f"{res.logit_scale:.1f}" + r",\quad \cos(f,g_{\text{top}})=" + f"{res.cosine[0, best]:.3f}")
        with out:
            ui.show(plots.probability_bars(prompts, p), key="cl_bars")
        out.caption("The probabilities always sum to 1 over *your* list: a confident answer on a real photo "
                    "only means this prompt is the least bad of the ones offered.")

    # -- Prompt sensitivity ------------------------------------------------
    st.subheader("Prompt sensitivity")
    left, right = st.columns([1, 2], gap="large")
    variants_text = widgets.text_area("Variants of one prompt", DEFAULT_VARIANTS, key="cl_variants", where=left,
                                      height=140)
    left.caption("Each variant competes alone against its count-swapped versions (one/three/four ...) and the "
                 "captions of every other colour and shape at the same count. It *works* when it ranks first.")
    variants = None
    try:
        variants = clip.clean_prompts(variants_text)
    except clip.ClipError as exc:
        ui.error(str(exc), hint="Your variants are kept in the box.")
    if variants and image is not None:
        sens = clip.prompt_sensitivity(bundle, [image], variants)
        df = pd.DataFrame([{"variant": r.prompt, "probability": round(r.probability, 4),
                            "ranks first": "yes" if r.works else "no",
                            "words seen in training": "yes" if r.in_training_vocabulary else "no"}
                           for r in sens.rows])
        right.markdown(f"**On this image** ({name}):")
        right.dataframe(df, hide_index=True, width="stretch")

    n_img = widgets.select_slider("Scenes of two goldfish for the §4.2 check", [8, 16, 24, 48], key="cl_ngold",
                                  value=24, where=left)
    if bundle.name == "embedded":
        recs = _goldfish("embedded", n_img, 0)
        right.markdown(f"**Write-up §4.2 on {n_img} seeded scenes of two goldfish** (embedded model):")
        right.dataframe(pd.DataFrame([{"variant": r["prompt"], "mean probability": round(r["probability"], 4),
                                       "ranked first on": f"{r['win_rate']:.0%}",
                                       "works": "yes" if r["works"] else "no"} for r in recs]),
                        hide_index=True, width="stretch")
        with right:
            ui.show(plots.sensitivity_bars([r["prompt"] for r in recs], [r["probability"] for r in recs],
                                           [r["win_rate"] for r in recs]), key="cl_sens")
        right.caption("'nemos' is split by the BPE tokenizer into 'ne' + 'mos', pieces the tiny model never read "
                      "in training; 'nemo' and 'goldfish' are single tokens it learned.")

    # -- Heatmap -----------------------------------------------------------
    st.subheader("Images x prompts")
    heat_names = widgets.multiselect("Images", list(samples), key="cl_heat", default=list(samples))
    if prompts and heat_names:
        res = clip.similarity(bundle, [samples[n] for n in heat_names], prompts, templates)
        ui.show(plots.similarity_heatmap(heat_names, prompts, res.cosine), key="cl_heat_fig")
        st.caption("Each cell is the cosine between an image and a prompt. On synthetic scenes the right caption "
                   "lights up; on the photographs the tiny model's cosines are arbitrary (it has no words for a cat "
                   "or an astronaut), yet a softmax over them still names a winner: Chelsea the orange cat comes "
                   "out as fish.")
    elif not heat_names:
        ui.note("Pick at least one image for the heatmap.")

    # -- What the model knows ----------------------------------------------
    st.subheader("What the tiny model knows")
    try:
        ev = _eval()
        c1, c2, c3 = st.columns(3)
        c1.metric("Count accuracy (held-out)", f"{ev['count']:.2%}")
        c2.metric("Colour accuracy (held-out)", f"{ev['colour']:.2%}")
        c3.metric("Shape accuracy (held-out)", f"{ev['shape']:.2%}")
        st.caption(f"Zero-shot on {ev['n_test']} held-out synthetic scenes, 96-way softmax over captions "
                   f"'<count> <colour> <shape>'; {ev['params'] / 1e6:.1f} M parameters, {ev['steps']} steps, "
                   f"seed {ev['seed']}.")
    except (FileNotFoundError, KeyError):
        ui.note("No evaluation results shipped (assets/clip/tiny/eval.json).")
    st.markdown(
        f"The embedded model was trained only on drawings of **one to four** "
        f"({', '.join(scenes.COUNT_WORDS)}) **{', '.join(scenes.SHAPES)}** in "
        f"**{', '.join(scenes.COLOURS)}**, with phrasings such as *a photo of ...*, *there are ...*; an orange "
        f"fish is also a *goldfish* or a *nemo*. Every other word is an untrained token to it, so a cat, an "
        f"astronaut or *nemos* get arbitrary scores. A real CLIP (ViT-B-32, 400 M web image-caption pairs) "
        f"has an open vocabulary, knows photographs, styles and names, and is still sensitive to phrasing; "
        f"pick one above when the network is available."
    )
