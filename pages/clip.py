"""CLIP prompting lab: live zero-shot predictions on a drawing, a sample, an upload or the camera,
an out-of-domain signal, prompt sensitivity ("two goldfish" / "two nemo" / "two nemos"), images x
prompts similarity, and what the tiny model knows (write-up §4.2; issues 12, 16, 17).

The page is a list of panels (``st.fragment``): a control that only one panel reads lives inside
it and reruns only that panel. The model choice and the prompt list, read by several panels, sit
at the top and rerun the page; every model call is cached by its inputs (text embeddings by
prompt list, image embeddings by pixel content, in the shared model bundle), and figures by
their inputs, so an unchanged panel costs little.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from dashboard import plots_clip as plots
from dashboard import runtime, ui, widgets
from engine import clip, scenes

MODELS = ("embedded", "ViT-B-32/openai", "ViT-B-16/openai", "RN50/openai")
SOURCES = ("Sample", "Draw", "Upload", "Camera")
DEFAULT_PROMPTS = "\n".join([
    "two goldfish", "two nemo", "two nemos", "one goldfish", "three goldfish",
    "two orange fish", "two red fish", "two orange circles", "a photo of a cat", "an astronaut",
])
DRAW_PROMPTS = "\n".join(scenes.class_prompt(n, c, s) for n in (1, 2, 3) for c in ("red", "blue")
                         for s in ("circle", "square", "triangle"))
DEFAULT_VARIANTS = "\n".join(clip.GOLDFISH_VARIANTS)
#: Pen colours offered on the canvas: the six colour words the tiny model knows, plus black.
PENS = {"red": "#e02020", "orange": "#ff8c00", "yellow": "#f5d000", "green": "#229933", "blue": "#2050e0",
        "purple": "#8a2be2", "black": "#111111"}
TOOLS = {"freedraw": "pen", "circle": "circle", "rect": "rectangle", "polygon": "polygon", "line": "line"}
CANVAS_PX = 256
EVAL_SETS = {"classic": "first renderer (engine.scenes.draw_scene_classic)",
             "training": "wide renderer (issue 16: sizes 8-90 %, outlines, sketches, any rotation)",
             "more": "wide renderer, a further draw of held-out scenes (another seed)",
             "second": "second renderer (scenes_alt, never trained on)"}
SHORT = {"classic": "first renderer", "training": "wide renderer", "more": "wide renderer (further draw)",
         "second": "second renderer"}


# ---------------------------------------------------------------------------
# Cached resources and engine calls
# ---------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=4)
def _bundle(name: str, folder: str) -> clip.ClipBundle:
    """One model per server, shared by every session (``folder``: the embedded model's folder)."""
    runtime.interactive_torch()
    if name == "embedded":
        return clip.load_clip(folder)
    arch, tag = name.split("/", 1)
    return clip.load_clip(arch, tag)


@st.cache_resource(show_spinner=False, max_entries=2)
def _detector(path: str) -> clip.OodDetector:
    return clip.load_ood_detector(Path(path))


@st.cache_resource(show_spinner=False)
def _samples() -> dict:
    return clip.sample_images()


@st.cache_data(show_spinner=False, max_entries=2)
def _eval(path: str, mtime: float) -> dict:
    return clip.eval_results()


GOLDFISH_COUNTS = [8, 16, 24, 48]


@st.cache_resource(show_spinner=False, max_entries=4)
def _goldfish_encoded(model_name: str, folder: str, seed: int) -> int:
    """Encode the most goldfish scenes the slider offers, once per model: the model's image cache
    then holds every scene a slider position uses (goldfish_images(n) is the first n of them), so
    a move only scores text. With 8 views, 24 new scenes cost about 0.5 s on one thread."""
    n = max(GOLDFISH_COUNTS)
    clip.image_embeddings(_bundle(model_name, folder), clip.goldfish_images(n, seed))
    return n


@st.cache_data(show_spinner=False, max_entries=16)
def _goldfish(model_name: str, folder: str, variants: tuple[str, ...], n_images: int, seed: int
              ) -> tuple[list[dict], float, dict[str, list[tuple[str, bool]] | None]]:
    """(rows, the match cosine, each unread word's tokenizer pieces: clip.word_pieces)."""
    b = _bundle(model_name, folder)
    _goldfish_encoded(model_name, folder, seed)
    s = clip.prompt_sensitivity(b, clip.goldfish_images(n_images, seed), list(variants))
    unread = {w for v in variants for w in clip.unread_words(v)}
    return s.as_records(), s.min_cosine, {w: clip.word_pieces(b, w) for w in sorted(unread)}


@ui.cache_figures(64)
def _bars_fig(prompts: tuple[str, ...], probs: tuple[float, ...]):
    return plots.probability_bars(prompts, probs)


@ui.cache_figures(16)
def _heat_fig(names: tuple[str, ...], prompts: tuple[str, ...], cosine: tuple):
    return plots.similarity_heatmap(names, prompts, np.array(cosine))


@ui.cache_figures(16)
def _sens_fig(prompts: tuple[str, ...], probs: tuple[float, ...], wins: tuple[float, ...], matches: tuple[float, ...],
              min_cosine: float):
    return plots.sensitivity_bars(prompts, probs, wins, matches, min_cosine=min_cosine)


def _bundle_or_none(name: str) -> clip.ClipBundle | None:
    try:
        return _bundle(name, _folder())
    except clip.ModelUnavailable:
        return None


def _folder() -> str:
    return str(clip.EMBEDDED_DIR)


def _load(name: str, *, report: bool = True) -> clip.ClipBundle | None:
    """The chosen model; if it cannot load (offline, unknown tag, damaged files) say why (``report``).

    A real model that fails falls back to the embedded one; a damaged embedded model returns None
    (the panels then say so, and the rest of the app keeps working)."""
    failed = st.session_state.setdefault("_cl_failed", {})
    if name != "embedded":
        if name in failed:
            if report:
                ui.error(failed[name])
        else:
            try:
                with st.spinner(f"Loading {name} ..."):
                    return _bundle(name, _folder())
            except clip.ModelUnavailable as exc:
                failed[name] = str(exc)
                if report:
                    ui.error(str(exc))
    try:
        return _bundle("embedded", _folder())
    except clip.ModelUnavailable as exc:
        if report:
            ui.error(f"The embedded tiny CLIP cannot be used: {exc}",
                     hint="The other pages are not affected; the model's evaluation below may still be shown.")
        return None


# ---------------------------------------------------------------------------
# Image sources (inside the prediction panel)
# ---------------------------------------------------------------------------
def _sample_image(samples: dict):
    choice = widgets.selectbox("Sample image", list(samples), key="cl_image",
                               help="Synthetic scenes drawn by the training renderer, and photographs bundled with "
                                    "scikit-image (out of domain for the tiny model).")
    return choice, samples[choice]


def _upload_image():
    up = st.file_uploader("Image file (PNG, JPEG, ...)", key="cl_upload")
    if up is None:
        st.caption("Choose a file: nothing is predicted until then.")
        return None, None
    try:
        return up.name, clip.load_image(up.getvalue())
    except clip.ClipError as exc:
        ui.error(f"Could not use this file: {exc}", hint="The prompts and settings are kept; pick another file.")
        st.text(f"File: {widgets.quote_value(up.name)}")
        return None, None


def _camera_image():
    shot = st.camera_input("Take a picture", key="cl_camera")
    if shot is None:
        st.caption("Allow the camera and take a picture; photos are out of domain for the tiny model.")
        return None, None
    try:
        return "camera", clip.load_image(shot.getvalue())
    except clip.ClipError as exc:
        ui.error(f"Could not use the picture: {exc}")
        return None, None


def canvas_to_image(rgba: np.ndarray | None) -> Image.Image | None:
    """The canvas's RGBA pixels composited on white (see :func:`engine.clip.canvas_image`)."""
    return clip.canvas_image(rgba)


def _draw_image():
    try:
        from streamlit_drawable_canvas import st_canvas
    except ImportError:
        ui.error("The drawing canvas needs the package streamlit-drawable-canvas (pinned in requirements.txt); "
                 "install it with `pip install -r requirements.txt`. Uploads and the camera still work.")
        return None, None
    c1, c2, c3 = st.columns([1.1, 1.1, 1])
    pen = widgets.selectbox("Colour", list(PENS), key="cl_pen", where=c1, index=4,
                            help="The six colour words the tiny model knows, and black (which it does not).")
    tool = widgets.selectbox("Tool", list(TOOLS), key="cl_tool", where=c2, format_func=TOOLS.get,
                             help="pen: free drawing; circle/rectangle: drag; polygon: click the corners, then "
                                  "click the first one to close; line: drag.")
    width = widgets.slider("Brush", 2, 40, 12, key="cl_brush", where=c3, help="Pen and outline width in pixels.")
    filled = widgets.toggle("Fill circles, rectangles and polygons", True, key="cl_fill")
    colour = PENS[pen]
    result = st_canvas(
        fill_color=colour if filled else "rgba(0, 0, 0, 0)", stroke_width=int(width), stroke_color=colour,
        background_color="#ffffff", update_streamlit=True, height=CANVAS_PX, width=CANVAS_PX,
        drawing_mode=tool, return_image_data=True, key="cl_canvas",
    )
    st.caption("Draw one to four circles, squares, triangles or fish in one colour; the probabilities "
               "update when you lift the pen. Undo, redo and clear are in the canvas's toolbar.")
    try:
        rgba = result.image_data
    except Exception:  # noqa: BLE001 - the component sent nothing usable yet
        rgba = None
    img = canvas_to_image(rgba)
    if img is None:
        ui.note("Draw something on the canvas: the model is asked once there is a drawing.")
        return None, None
    return "your drawing", img


# ---------------------------------------------------------------------------
# Panels
# ---------------------------------------------------------------------------
def _domain_signal(model_name: str, bundle: clip.ClipBundle, image) -> None:
    """Beside the prediction: is this image like the training scenes? (embedded model only)"""
    if model_name != "embedded" or bundle is not _bundle_or_none("embedded"):
        st.caption("The out-of-domain signal is calibrated for the embedded tiny CLIP only.")
        return
    try:
        det = _detector(str(clip.OOD_PATH))
    except clip.ModelUnavailable as exc:
        ui.note(f"No out-of-domain signal: {exc}")
        return
    chk = clip.domain_check(bundle, det, [image])[0]
    if chk.in_domain:
        st.success(chk.message, icon=":material/verified:")
    else:
        st.warning(chk.message, icon=":material/warning:")


@st.fragment
def _prediction_panel(model_name: str, prompts: list[str] | None, templates) -> None:
    st.subheader("Zero-shot probabilities")
    bundle = _load(model_name)
    source = widgets.tab_bar("Image source", list(SOURCES), key="cl_source")
    ctl, out = st.columns([1, 1.35], gap="large")
    with ctl:
        if source == "Sample":
            name, image = _sample_image(_samples())
        elif source == "Draw":
            name, image = _draw_image()
        elif source == "Upload":
            name, image = _upload_image()
        else:
            name, image = _camera_image()
        if image is not None and source != "Draw":
            st.image(image, caption=name, width=220)
    if bundle is None or image is None or not prompts:
        if not prompts:
            out.caption("Enter prompts above to see probabilities.")
        return
    with out:
        _domain_signal(model_name, bundle, image)
        res = clip.similarity(bundle, [image], prompts, templates)
        p = res.probabilities[0]
        best = int(p.argmax())
        m1, m2, m3 = st.columns([2, 1, 1])
        m1.metric("Top prompt", ui.escape_markdown(prompts[best]))
        m2.metric("Its probability", f"{p[best]:.1%}")
        m3.metric("Temperature tau", ui.fmt_number(res.logit_scale, 3))
        st.latex(
            r"p_k=\frac{e^{\tau\cos(f,g_k)}}{\sum_j e^{\tau\cos(f,g_j)}},\quad \tau="
            + f"{res.logit_scale:.1f}" + r",\quad \cos(f,g_{\text{top}})=" + f"{res.cosine[0, best]:.3f}")
        ui.show(_bars_fig(tuple(prompts), tuple(float(v) for v in p)), key="cl_bars")
        st.caption("The probabilities always sum to 1 over *your* list: a confident answer only means this prompt "
                   "is the least bad of the ones offered. The out-of-domain signal above says whether the image is "
                   "like anything the model learned from.")


@st.fragment
def _sensitivity_panel(model_name: str) -> None:
    st.subheader("Prompt sensitivity (write-up §4.2)")
    left, right = st.columns([1, 2], gap="large")
    variants_text = widgets.text_area("Variants of one prompt", DEFAULT_VARIANTS, key="cl_variants", where=left,
                                      height=140)
    n_img = widgets.select_slider("Scenes of two goldfish", GOLDFISH_COUNTS, key="cl_ngold", value=24, where=left)
    left.caption("Each variant competes alone against its count-swapped versions (one/three/four ...) and the "
                 "captions of every other colour and shape at the same count, on seeded scenes of two orange fish "
                 "(two goldfish). It *matches* a scene when it ranks first there and its cosine with the scene "
                 "reaches what a scene's own caption reaches on 99 % of held-out scenes (a softmax over a fixed "
                 "list always names a winner, fitting or not); it *works* when it matches most of them.")
    try:
        variants = clip.clean_prompts(variants_text)
    except clip.ClipError as exc:
        with right:
            ui.error(str(exc), hint="Your variants are kept in the box.")
        return
    if model_name != "embedded":
        right.caption("This check runs with the embedded model (the §4.2 scenes are its training domain).")
    try:
        bundle = _bundle("embedded", _folder())
    except clip.ModelUnavailable as exc:
        with right:
            ui.error(f"The embedded tiny CLIP cannot be used: {exc}")
        return
    del bundle  # loaded (and cached) here so a failure is reported in this panel
    recs, min_cos, pieces = _goldfish("embedded", _folder(), tuple(variants), int(n_img), 0)
    cos_label = f"matched (first, cosine ≥ {min_cos:.2f})" if math.isfinite(min_cos) else "matched (first)"
    right.markdown(f"**{n_img} seeded scenes of two goldfish**, embedded model:")
    ui.table(pd.DataFrame([{
        "variant": r["prompt"], "mean probability": round(r["probability"], 4),
        "ranked first on": f"{r['win_rate']:.0%}", "mean cosine": round(r["mean_cosine"], 3),
        cos_label: f"{r['match_rate']:.0%}", "works": "yes" if r["works"] else "no",
        "words never read in training": ", ".join(clip.unread_words(r["prompt"])) or "none"}
        for r in recs]), where=right)
    with right:
        ui.show(_sens_fig(tuple(r["prompt"] for r in recs), tuple(r["probability"] for r in recs),
                          tuple(r["win_rate"] for r in recs), tuple(r["match_rate"] for r in recs), min_cos),
                key="cl_sens")
    for line in _why_lines(recs, min_cos, pieces):
        right.caption(line)


def _read_as(pieces: list[tuple[str, bool]] | None) -> str:
    """' (read as ne + mos: 2 of 2 pieces in no training caption)', or '' without pieces."""
    if not pieces:
        return ""
    new = sum(not known for _, known in pieces)
    return (f" (read as {' + '.join(p for p, _ in pieces)}: {new} of {len(pieces)} "
            f"piece{'s' if len(pieces) > 1 else ''} in no training caption)")


def _why_lines(recs: list[dict], min_cos: float, pieces: dict) -> list[str]:
    """Why each variant with a word the model never read works or not, from the computed rows
    (user text escaped: it is shown as text)."""
    read = [r for r in recs if r["in_training_vocabulary"]]
    ref = max(read, key=lambda r: r["mean_cosine"]) if read else None
    lines = []
    for r in recs:
        unread = list(dict.fromkeys(clip.unread_words(r["prompt"])))
        if not unread:
            continue
        words = ", ".join(f"*{ui.escape_markdown(w)}*{_read_as(pieces.get(w))}" for w in unread)
        line = (f"Why *{ui.escape_markdown(r['prompt'])}* {'works' if r['works'] else 'does not work'}: the tiny "
                f"model never read {words}; a piece in no training caption keeps its random initial embedding. "
                f"It ranks first on {r['win_rate']:.0%} of the scenes against the captions it competes with, with "
                f"a mean cosine of {r['mean_cosine']:.2f}")
        if math.isfinite(min_cos):
            line += (f" ({'at or above' if r['mean_cosine'] >= min_cos else 'below'} the {min_cos:.2f} a scene's own "
                     f"caption reaches on 99 % of held-out scenes), so it matches {r['match_rate']:.0%} of them")
        if ref is not None:
            line += (f"; *{ui.escape_markdown(ref['prompt'])}*, every word of which it read, has "
                     f"{ref['mean_cosine']:.2f}")
        lines.append(line + ".")
    if any("nemos" in r["prompt"].lower() for r in recs):
        lines.append("The training captions call an orange fish *goldfish* or *nemo*, always with an invariant "
                     "plural (\"two nemo\"): *nemos* is a word the tiny model never read, whatever it scores.")
    return lines


@st.fragment
def _heatmap_panel(model_name: str, prompts: list[str] | None, templates) -> None:
    st.subheader("Images x prompts")
    samples = _samples()
    heat_names = widgets.multiselect("Images", list(samples), key="cl_heat", default=list(samples))
    if not heat_names:
        ui.note("Pick at least one image for the heatmap.")
        return
    if not prompts:
        st.caption("Enter prompts above to see the heatmap.")
        return
    bundle = _load(model_name, report=False)
    if bundle is None:
        ui.note("No model available for the heatmap (see the message above).")
        return
    res = clip.similarity(bundle, [samples[n] for n in heat_names], prompts, templates)
    ui.show(_heat_fig(tuple(heat_names), tuple(prompts), tuple(map(tuple, res.cosine.round(6)))), key="cl_heat_fig")
    st.caption("Each cell is the cosine between an image and a prompt. On synthetic scenes the right caption "
               "lights up; on the photographs the tiny model's cosines mean little (it has no words for a cat or an "
               "astronaut), yet a softmax over them still names a winner: that is what the out-of-domain signal "
               "is for.")


def _eval_now() -> dict:
    """The shipped eval.json, cached by its modification time (raises clip.ModelUnavailable)."""
    return _eval(str(clip.EVAL_JSON), _eval_mtime())


def _eval_mtime() -> float:
    return clip.EVAL_JSON.stat().st_mtime if clip.EVAL_JSON.exists() else 0.0


@ui.cache_figures(8)
def _perclass_fig(mtime: float, attribute: str):
    rend = _eval_now().get("renderers", {})
    per_class = {k: rend[k]["per_class"][attribute] for k in EVAL_SETS if k in rend}
    return plots.per_class_accuracy(per_class, SHORT)


@ui.cache_figures(12)
def _confusion_fig(mtime: float, which: str, attribute: str):
    r = _eval_now()["renderers"][which]
    return plots.confusion_matrix(r["labels"][attribute], r["confusion"][attribute], attribute=attribute)


@ui.cache_figures(2)
def _ood_fig(mtime: float):
    ood = _eval_now()["ood"]
    return plots.domain_scores({"photos": list(ood["photo_scores"].values())}, ood["threshold"])


@st.fragment
def _knows_panel() -> None:
    st.subheader("What the tiny model knows")
    try:
        ev = _eval_now()
    except clip.ModelUnavailable as exc:
        ui.error(str(exc), hint="The predictions above do not depend on this file.")
        return
    rend = ev.get("renderers", {})
    domain = "classic" if ev.get("domain") == "classic" else "training"
    cols = st.columns(3)
    rows = []
    for key, label in EVAL_SETS.items():
        if key not in rend:
            continue
        acc = rend[key]["accuracy"]
        t = clip.accuracy_targets(key, domain)
        rows.append({"held-out set": label + (" — trained on this" if key == domain else ""),
                     "scenes": rend[key]["n"],
                     **{a: f"{acc[a]:.2%}" + (f" (target {t[a]:.0%}{'' if acc[a] >= t[a] else ', missed'})" if t else "")
                        for a in ("colour", "shape", "count")},
                     "all three right": f"{acc['joint']:.2%}"})
    for col, a in zip(cols, ("count", "colour", "shape")):
        col.metric(f"{a.capitalize()} accuracy (held-out)", f"{ev[a]:.2%}",
                   help=f"Held-out scenes of the renderer the shipped model was trained on ({SHORT[domain]}); the "
                        "table below has the other renderers.")
    if rows:
        ui.table(pd.DataFrame(rows))
    views = int(ev.get("views", 1))
    sym = (" The image embedding is the average over the image's 4 rotations by 90°"
           + (" and their mirror images (8 views" if views == 8 else " (4 views")
           + "; engine/clip_tower.py: a scene's count, colour and shape do not change under them), here and in "
           "every prediction on this page.") if views > 1 else ""
    st.caption(f"Zero-shot, 96-way softmax over the captions '<count> <colour> <shape>'.{sym} {ev['params'] / 1e6:.1f} M "
               f"parameters, {ev['steps']} training steps, seed {ev['seed']}. The second renderer "
               "(engine/scenes_alt.py) draws the same classes by another code path (scikit-image masks, named CSS "
               "shades, rounded squares, a finned fish, graph paper, marker strokes) and was never used in training.")
    if ev.get("note"):
        st.markdown(ev["note"])
    if not rend:
        return
    c1, c2 = st.columns([1, 1.3], gap="large")
    attribute = widgets.segmented_control("Attribute", ["count", "colour", "shape"], key="cl_attr", where=c1,
                                          default="count", required=True) or "count"
    present = [k for k in EVAL_SETS if k in rend]
    which = widgets.segmented_control("Confusion matrix of", present, key="cl_evalset", where=c1,
                                      default="second" if "second" in present else present[0], required=True,
                                      format_func=SHORT.get) or present[0]
    with c1:
        ui.show(_perclass_fig(_eval_mtime(), attribute), key="cl_perclass")
    if which in rend:
        with c2:
            ui.show(_confusion_fig(_eval_mtime(), which, attribute), key="cl_confusion")
        c2.caption("Rows: the true class; columns: the model's answer; each cell is the fraction of that row's "
                   "scenes (hover for the count).")
    ood = ev.get("ood")
    if ood:
        fr = ood["flag_rate"]
        st.markdown(
            "**Out-of-domain signal.** A logistic regression on the vision tower's features tells training-like "
            "scenes from procedural non-scenes (1/f noise, multi-colour clutter, colour fields)"
            + (" and from scenes of the wide renderer" if ood.get("renderer") == "classic" else "")
            + f"; its threshold "
            f"({ood['threshold']:.2f}) is the {ood['quantile']:.0%} quantile of the scores of held-out scenes of the "
            f"{SHORT['classic' if ood.get('renderer') == 'classic' else 'training']} (what the model was trained on)"
            + (f". An image is also flagged when its best cosine to the 96 class captions is below "
               f"{ood['cosine_threshold']:.3f}, the same quantile for those scenes (a scene the model reads well "
               "matches one caption closely)" if ood.get("cosine_threshold") is not None else "")
            + ". It flags " + ", ".join(f"{v:.1%} of held-out {SHORT[k]} scenes" for k, v in fr.items() if k in SHORT)
            + f" and {fr['photos']:.0%} of {ood['n_photos']} photographs and crops bundled with scikit-image (never "
            "used in fitting).")
        if ood.get("photo_scores"):
            ui.show(_ood_fig(_eval_mtime()), key="cl_ood_fig")
    st.markdown(
        f"The embedded model was trained only on drawings of **one to four** "
        f"({', '.join(scenes.COUNT_WORDS)}) **{', '.join(scenes.SHAPES)}** in "
        f"**{', '.join(scenes.COLOURS)}**: "
        + ("filled shapes 18 % to 34 % of the frame wide on textured backgrounds (the first renderer), so large "
           "shapes, outlines and drawings on white are out of its domain (the signal above says so)"
           if domain == "classic" else
           "filled, outlined or sketched, 8 % to 90 % of the frame, on white, flat or textured backgrounds")
        + ", with phrasings such as *a photo of ...*, *there are ...*; an orange fish is also "
        "a *goldfish* or a *nemo*. Every other word is an untrained token to it, so a cat, an astronaut or "
        "*nemos* get arbitrary scores. A real CLIP (ViT-B-32, 400 M web image-caption pairs) has an open "
        "vocabulary, knows photographs, styles and names, and is still sensitive to phrasing; pick one above "
        "when the network is available.")


# ---------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------
def render() -> None:
    ui.header(
        "CLIP prompting lab",
        "CLIP scores an image against every prompt with the cosine of their embeddings, scaled by a "
        "learned temperature, and turns the scores into probabilities with a softmax. Draw a scene, pick a "
        "sample, upload or photograph one; try prompts, see which one wins, whether the image is like anything "
        "the model learned from, and how fragile the win is: *two goldfish* and *two nemo* work, *two nemos* "
        "does not.",
        source="Write-up §4.2 · Radford et al. 2021, Learning Transferable Visual Models From Natural "
               "Language Supervision, §3.1",
    )
    top1, top2 = st.columns([1, 2], gap="large")
    model_name = widgets.selectbox(
        "Model (architecture/pretrained tag)", MODELS, key="cl_model", where=top1,
        help="'embedded' is the tiny CLIP shipped with the lab (offline). Real CLIP weights are downloaded only "
             "when you pick them; offline, the page says what would be downloaded and keeps the embedded model.")
    ensemble = widgets.toggle("Prompt ensembling (average over 'a photo of {}' etc.)", False, key="cl_ensemble",
                              where=top1)
    prompts_text = widgets.text_area("Prompts (one per line, at most 100)", DEFAULT_PROMPTS, key="cl_prompts",
                                     where=top2, height=150)
    templates = clip.DEFAULT_TEMPLATES if ensemble else None
    prompts = None
    try:
        prompts = clip.clean_prompts(prompts_text)
    except clip.ClipError as exc:
        with top2:
            ui.error(str(exc), hint="Your text is kept in the box above.")
    _prediction_panel(model_name, prompts, templates)
    _sensitivity_panel(model_name)
    _heatmap_panel(model_name, prompts, templates)
    _knows_panel()
