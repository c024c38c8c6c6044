"""Zero-shot CLIP prompting (write-up §4.2) with an embedded tiny CLIP and real open_clip models.

CLIP (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
Supervision", §3.1.2 and Fig. 3) scores an image x against prompts t_1..t_K by

    f = E_img(x) / ||E_img(x)||,   g_k = E_txt(t_k) / ||E_txt(t_k)||
    s_k = tau * <f, g_k>,          tau = exp(logit_scale)
    p_k = exp(s_k) / sum_j exp(s_j)                      (softmax over the K prompts)

Prompt ensembling (§3.1.4): with templates T_1..T_M ("a photo of {}"), the text embedding
of prompt k is g_k = normalize(mean_m normalize(E_txt(T_m(t_k)))).

``load_clip("embedded")`` builds the tiny CLIP the project trains itself
(``scripts/train_tiny_clip.py``; config and weights in ``assets/clip/tiny/``) through
open_clip's ``create_model_and_transforms("local-dir:...")`` and ``get_tokenizer`` -- no
network. Any other open_clip model name with a pretrained tag, or a local checkpoint file,
loads through the same functions; when the weights are not on disk and the network is
down, :class:`ModelUnavailable` says at once what would be downloaded.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine import scenes

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets" / "clip"
EMBEDDED_DIR = ASSETS / "tiny"
SAMPLES_DIR = ASSETS / "samples"
EVAL_JSON = EMBEDDED_DIR / "eval.json"

MAX_PROMPTS = 100
MAX_PIXELS = 40_000_000  # decompression-bomb limit for uploads (40 megapixels)
MAX_BYTES = 50_000_000
DEFAULT_TEMPLATES: tuple[str, ...] = ("{}", "a photo of {}", "a picture of {}", "an image of {}")
REAL_PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket")
GOLDFISH_VARIANTS: tuple[str, ...] = ("two goldfish", "two nemo", "two nemos", "a photo of two goldfish")


class ClipError(ValueError):
    """Bad input for the CLIP engine (prompts, images); the message is meant for the user."""


class ModelUnavailable(RuntimeError):
    """A requested model cannot be loaded (e.g. weights not on disk and no network)."""


# ----------------------------------------------------------------------------- loading


@dataclass
class ClipBundle:
    """An open_clip model with its image transform and tokenizer.

    ``text_cache`` maps (prompts, templates) to the normalised text embeddings, so scoring
    one image against an unchanged prompt list costs one image forward pass.
    """

    name: str
    model: torch.nn.Module
    preprocess: Callable
    tokenizer: Callable
    device: torch.device
    description: str = ""
    text_cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def logit_scale(self) -> float:
        """tau = exp(logit_scale), the temperature the softmax uses."""
        return float(self.model.logit_scale.detach().exp().cpu())


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _hub_reachable(host: str = "huggingface.co", port: int = 443, timeout: float = 1.5) -> bool:
    """One TCP connect with a short timeout: is the model hub reachable at all?"""
    if os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True"):
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _cached_hub_file(hub_id: str, cache_dir: str | None) -> str | None:
    """Path of an already-downloaded open_clip weight file in the Hugging Face cache, if any."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub ships with open_clip's deps
        return None
    repo, filename = os.path.split(hub_id.rstrip("/")) if not hub_id.endswith("/") else (hub_id.rstrip("/"), "")
    names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    for fn in names:
        hit = try_to_load_from_cache(repo, fn, cache_dir=cache_dir)
        if isinstance(hit, str) and os.path.isfile(hit):
            return hit
    return None


def describe_download(name: str, pretrained: str) -> str:
    """What open_clip would fetch for ``name``/``pretrained`` (for offline messages)."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(name, pretrained)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(name)
        raise ModelUnavailable(f"'{pretrained}' is neither a pretrained tag of {name} (known tags: "
                               f"{', '.join(tags) or 'none'}) nor an existing checkpoint file.")
    if cfg.get("hf_hub"):
        return f"the {name} weights '{pretrained}' from the Hugging Face Hub repo {cfg['hf_hub'].rstrip('/')}"
    return f"the {name} weights '{pretrained}' from {cfg.get('url', 'its download URL')}"


def _finish(name: str, model: torch.nn.Module, preprocess: Callable, tokenizer: Callable, description: str,
            device: torch.device) -> ClipBundle:
    model = model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return ClipBundle(name, model, preprocess, tokenizer, device, description)


def load_clip(name: str = "embedded", pretrained: str | None = None, *, cache_dir: str | None = None,
              device: str | torch.device | None = None, allow_download: bool = True) -> ClipBundle:
    """Load a CLIP model through open_clip's ``create_model_and_transforms`` and ``get_tokenizer``.

    Parameters
    ----------
    name : ``"embedded"`` (the tiny CLIP in ``assets/clip/tiny``; ``pretrained`` may then be a
        checkpoint file with the same architecture), a folder holding ``open_clip_config.json``
        and weights, or an open_clip model name such as ``"ViT-B-32"``.
    pretrained : for open_clip names, a pretrained tag (``"openai"``) or a local checkpoint
        file (``.safetensors``, or a torch file loaded with ``weights_only=True``).
    allow_download : if False, never touch the network.

    Raises
    ------
    ModelUnavailable : unknown name/tag, missing files, or weights that would have to be
        downloaded while the hub is unreachable (checked with one 1.5 s connect, no retries).
    """
    import open_clip

    dev = torch.device(device) if device is not None else _device()
    if name == "embedded" or Path(name).is_dir():
        folder = EMBEDDED_DIR if name == "embedded" else Path(name)
        if not (folder / "open_clip_config.json").is_file():
            raise ModelUnavailable(f"no open_clip_config.json in {folder}; train the embedded model with "
                                   "`python scripts/train_tiny_clip.py`")
        has_weights = any(folder.glob("*.safetensors")) or any(folder.glob("*.bin")) or any(folder.glob("*.pt*"))
        if pretrained is None and not has_weights:
            raise ModelUnavailable(f"no weights in {folder}")
        ident = f"local-dir:{folder}"
        model, _, preprocess = open_clip.create_model_and_transforms(ident, load_weights=pretrained is None,
                                                                     device="cpu")
        tokenizer = open_clip.get_tokenizer(ident)
        desc = f"tiny CLIP trained on synthetic scenes ({folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder})"
        if pretrained is not None:
            _load_local_checkpoint(model, pretrained)
            desc += f", weights from {pretrained}"
        return _finish(name, model, preprocess, tokenizer, desc, dev)

    if name not in open_clip.list_models():
        if Path(name).exists():
            raise ModelUnavailable(f"{name} is a file; pass an architecture name with pretrained='{name}' "
                                   "(e.g. load_clip('ViT-B-32', pretrained=path)) or a folder with open_clip_config.json")
        close = [m for m in open_clip.list_models() if name.lower()[:4] in m.lower()][:8]
        raise ModelUnavailable(f"unknown open_clip model '{name}'" + (f"; similar: {', '.join(close)}" if close else ""))
    if pretrained is None:
        raise ModelUnavailable(f"give a pretrained tag or checkpoint for {name}; tags: "
                               f"{', '.join(open_clip.list_pretrained_tags_by_model(name)) or 'none'}")
    if os.path.isfile(pretrained):
        model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained, device="cpu",
                                                                     weights_only=True)
        return _finish(name, model, preprocess, open_clip.get_tokenizer(name), f"{name} from {pretrained}", dev)

    what = describe_download(name, pretrained)  # raises for unknown tags
    cfg = open_clip.get_pretrained_cfg(name, pretrained)
    cached = _cached_hub_file(cfg["hf_hub"], cache_dir) if cfg.get("hf_hub") else None
    if cached is not None:
        model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=cached, device="cpu",
                                                                     weights_only=True)
        return _finish(name, model, preprocess, open_clip.get_tokenizer(name), f"{name} ({pretrained}, cached)", dev)
    if not allow_download or not _hub_reachable():
        raise ModelUnavailable(f"{name}/{pretrained} is not on this machine and the network is unreachable: "
                               f"loading it would download {what}. The embedded tiny CLIP stays in use.")
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained, device="cpu",
                                                                 cache_dir=cache_dir)
    return _finish(name, model, preprocess, open_clip.get_tokenizer(name), f"{name} ({pretrained})", dev)


def _load_local_checkpoint(model: torch.nn.Module, path: str) -> None:
    """Load a safetensors or ``torch.load(weights_only=True)`` state dict (strict)."""
    import open_clip

    if not os.path.isfile(path):
        raise ModelUnavailable(f"checkpoint file not found: {path}")
    try:
        open_clip.load_checkpoint(model, path, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure here is a user-facing load error
        raise ModelUnavailable(f"could not load {path} into the embedded architecture: {exc}") from exc


def eval_results() -> dict:
    """Held-out zero-shot accuracy of the embedded model (written by the training script)."""
    return json.loads(EVAL_JSON.read_text())


# ----------------------------------------------------------------------------- inputs


def load_image(data: bytes | str | Path | Image.Image, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode an image (bytes, path or PIL image) to RGB, with clear errors.

    Checks, in order: size of the file (<= 50 MB), that Pillow recognises it, the pixel
    count from the header (<= ``max_pixels``, before decoding: decompression bombs), and
    a full decode (truncated files fail here).
    """
    if isinstance(data, Image.Image):
        img = data
    else:
        if isinstance(data, (str, Path)):
            data = Path(data).read_bytes()
        if len(data) == 0:
            raise ClipError("the file is empty")
        if len(data) > MAX_BYTES:
            raise ClipError(f"the file is {len(data) / 1e6:.0f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB")
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise ClipError(f"the image is too large to decode safely ({exc})") from exc
        except Exception as exc:  # noqa: BLE001 - PIL raises UnidentifiedImageError, OSError, ...
            raise ClipError("this file is not an image Pillow can read (try PNG or JPEG)") from exc
    w, h = img.size
    if w * h > max_pixels:
        raise ClipError(f"the image is {w} x {h} = {w * h / 1e6:.0f} megapixels; the limit is "
                        f"{max_pixels / 1e6:.0f} megapixels (decompression-bomb guard). Downscale it first.")
    try:
        img.load()
        return img.convert("RGB")
    except Exception as exc:  # noqa: BLE001
        raise ClipError(f"the image could not be decoded (truncated or corrupt file: {exc})") from exc


def clean_prompts(prompts: Sequence[str] | str) -> list[str]:
    """Validate a prompt list: 1..100 prompts, none blank. A string is split into lines,
    and empty lines are skipped (text-area editing); in a list, a blank prompt is an error."""
    if isinstance(prompts, str):
        prompts = [line.strip() for line in prompts.splitlines() if line.strip()]
    prompts = [str(p) for p in prompts]
    if not prompts:
        raise ClipError("the prompt list is empty: enter at least one prompt (one per line)")
    blank = [i + 1 for i, p in enumerate(prompts) if not p.strip()]
    if blank:
        raise ClipError(f"prompt(s) {', '.join(map(str, blank[:10]))} are blank; write some text or remove them")
    if len(prompts) > MAX_PROMPTS:
        raise ClipError(f"{len(prompts)} prompts; at most {MAX_PROMPTS} at a time")
    return [p.strip() for p in prompts]


def _clean_templates(templates: Sequence[str] | None) -> tuple[str, ...]:
    if not templates:
        return ("{}",)
    bad = [t for t in templates if t.count("{}") != 1]
    if bad:
        raise ClipError(f"each template needs exactly one {{}} for the prompt; bad: {bad[:3]}")
    return tuple(templates)


# ----------------------------------------------------------------------------- scoring


@torch.no_grad()
def text_embeddings(bundle: ClipBundle, prompts: Sequence[str], templates: Sequence[str] | None = None) -> torch.Tensor:
    """Unit text embeddings g_k (K x d), ensembled over templates, cached per (prompts, templates).

    g_k = normalize( (1/M) sum_m normalize(E_txt(T_m(t_k))) )   (Radford et al. 2021, §3.1.4)
    """
    prompts = tuple(clean_prompts(list(prompts)))
    temps = _clean_templates(templates)
    key = (prompts, temps)
    with bundle.lock:
        if key in bundle.text_cache:
            bundle.text_cache.move_to_end(key)
            return bundle.text_cache[key]
    texts = [t.format(p) for p in prompts for t in temps]
    tokens = bundle.tokenizer(texts).to(bundle.device)
    g = F.normalize(bundle.model.encode_text(tokens).float(), dim=-1).view(len(prompts), len(temps), -1)
    g = F.normalize(g.mean(dim=1), dim=-1)
    with bundle.lock:
        bundle.text_cache[key] = g
        while len(bundle.text_cache) > 64:
            bundle.text_cache.popitem(last=False)
    return g


@torch.no_grad()
def image_embeddings(bundle: ClipBundle, images: Sequence[Image.Image]) -> torch.Tensor:
    """Unit image embeddings f (N x d) after the model's own preprocess."""
    x = torch.stack([bundle.preprocess(load_image(im)) for im in images]).to(bundle.device)
    return F.normalize(bundle.model.encode_image(x).float(), dim=-1)


def zero_shot(bundle: ClipBundle, image: Image.Image | bytes, prompts: Sequence[str] | str,
              templates: Sequence[str] | None = None) -> np.ndarray:
    """Probabilities over ``prompts`` for one image: p_k = softmax_k(tau <f, g_k>), summing to 1.

    ``templates`` (e.g. ``DEFAULT_TEMPLATES``) turns on prompt ensembling. Raises
    :class:`ClipError` for an empty/blank/too long prompt list or an unreadable image.
    """
    return similarity(bundle, [image], prompts, templates).probabilities[0]


@dataclass
class SimilarityResult:
    """Images x prompts scores: ``cosine[i, k] = <f_i, g_k>``, ``logits = tau * cosine``,
    ``probabilities[i]`` = softmax over prompts of row i (each row sums to 1)."""

    prompts: list[str]
    cosine: np.ndarray
    logits: np.ndarray
    probabilities: np.ndarray
    logit_scale: float
    templates: tuple[str, ...]


def similarity(bundle: ClipBundle, images: Sequence[Image.Image | bytes], prompts: Sequence[str] | str,
               templates: Sequence[str] | None = None) -> SimilarityResult:
    """Score every image against every prompt (one batched image pass, cached text)."""
    prompts = clean_prompts(prompts)
    if len(images) == 0:
        raise ClipError("no images to score")
    g = text_embeddings(bundle, prompts, templates)
    f = image_embeddings(bundle, list(images))
    cos = (f @ g.T).double()
    tau = bundle.logit_scale
    logits = tau * cos
    probs = torch.softmax(logits, dim=1)
    return SimilarityResult(prompts, cos.cpu().numpy(), logits.cpu().numpy(), probs.cpu().numpy(), tau,
                            _clean_templates(templates))


# ----------------------------------------------------------------------------- prompt sensitivity

_COUNT_RE = re.compile(r"\b(" + "|".join(scenes.COUNT_WORDS) + r")\b")


@dataclass
class SensitivityRow:
    """One prompt variant: mean probability it gets among its candidates, how often it ranks
    first (over the images), and ``works`` = it ranks first on a majority of the images."""

    prompt: str
    probability: float
    win_rate: float
    works: bool
    in_training_vocabulary: bool


@dataclass
class PromptSensitivity:
    """Variants of one prompt scored on the same images (write-up §4.2)."""

    rows: list[SensitivityRow]
    n_images: int
    distractors: list[str]
    model: str
    criterion: str

    def row(self, prompt: str) -> SensitivityRow:
        return next(r for r in self.rows if r.prompt == prompt)

    def as_records(self) -> list[dict]:
        return [vars(r).copy() for r in self.rows]


def training_vocabulary() -> set[str]:
    """The words the embedded model saw in training captions (colours, shapes, counts, names, templates)."""
    words = set(scenes.COUNT_WORDS) | set(scenes.COLOURS) | set(scenes.SHAPES) | set(scenes.PLURALS.values())
    words |= set(scenes.GOLDFISH_NAMES)
    words |= {"a", "an", "photo", "picture", "image", "drawing", "of", "there", "is", "are", "single"}
    return words


def default_distractors(count_word: str) -> list[str]:
    """Canonical captions of every other (colour, shape) at the same count."""
    n = scenes.COUNT_WORDS.index(count_word) + 1
    return [scenes.class_prompt(n, c, s) for c in scenes.COLOURS for s in scenes.SHAPES
            if not (c == "orange" and s == "fish")]


def prompt_sensitivity(bundle: ClipBundle, images: Sequence[Image.Image], variants: Sequence[str],
                       distractors: Sequence[str] | None = None) -> PromptSensitivity:
    """Score each variant separately against its own candidate set, on every image.

    For a variant v containing a count word w, the candidates are v itself, v with w
    replaced by each other count word ("two nemo" -> "one nemo", "three nemo", ...), and
    the ``distractors`` (default: the canonical captions of all other colours/shapes at
    the same count). p(v) = softmax over the candidates of tau <f, g>. A variant *works*
    when it ranks first on more than half of the images.
    """
    variants = clean_prompts(list(variants))
    vocab = training_vocabulary()
    rows = []
    used_distractors: list[str] = []
    for v in variants:
        m = _COUNT_RE.search(v)
        swaps = [_COUNT_RE.sub(w, v, count=1) for w in scenes.COUNT_WORDS if m and w != m.group(1)]
        dis = list(distractors) if distractors is not None else (default_distractors(m.group(1)) if m else [])
        used_distractors = dis
        cands = [v] + [c for c in swaps + dis if c != v]
        probs = similarity(bundle, list(images), cands).probabilities
        p_v = probs[:, 0]
        win = probs.argmax(axis=1) == 0
        known = all(w in vocab for w in re.findall(r"[a-z]+", v.lower()))
        rows.append(SensitivityRow(v, float(p_v.mean()), float(win.mean()), bool(win.mean() > 0.5), known))
    return PromptSensitivity(rows, len(images), used_distractors, bundle.name,
                             "ranks first among count-swapped versions and other colour/shape captions "
                             "on a majority of images")


def goldfish_images(n: int = 24, seed: int = 0) -> list[Image.Image]:
    """``n`` seeded synthetic scenes of two orange fish (two goldfish)."""
    rng = np.random.default_rng(seed)
    return [scenes.draw_scene(scenes.SceneSpec(2, "orange", "fish"), rng) for _ in range(n)]


def goldfish_sensitivity(bundle: ClipBundle | None = None, n_images: int = 24, seed: int = 0,
                         variants: Sequence[str] = GOLDFISH_VARIANTS) -> PromptSensitivity:
    """Write-up §4.2 on the embedded model: do "two goldfish", "two nemo", "two nemos",
    "a photo of two goldfish" pick out images of two goldfish? (see :func:`prompt_sensitivity`)."""
    bundle = bundle if bundle is not None else load_clip("embedded")
    return prompt_sensitivity(bundle, goldfish_images(n_images, seed), variants)


# ----------------------------------------------------------------------------- samples


def sample_images() -> dict[str, Image.Image]:
    """Shipped synthetic scenes (assets/clip/samples/*.png, named by their caption; two goldfish
    first) and a few real photographs bundled with scikit-image (``skimage.data``)."""
    out: dict[str, Image.Image] = {}
    for p in sorted(SAMPLES_DIR.glob("*.png"), key=lambda q: (q.stem != "two_orange_fish", q.stem)):
        out[p.stem.replace("_", " ")] = load_image(p)
    try:
        import skimage.data as skd

        for n in REAL_PHOTOS:
            out[f"photo: {n}"] = Image.fromarray(np.asarray(getattr(skd, n)())).convert("RGB")
    except Exception:  # noqa: BLE001, S110 - photos are optional extras
        pass
    return out


def write_samples(seed: int = 11) -> list[Path]:
    """Draw the shipped sample scenes (one per shape, counts one..four) into assets/clip/samples."""
    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    specs = [scenes.SceneSpec(2, "orange", "fish"), scenes.SceneSpec(3, "red", "circle"),
             scenes.SceneSpec(1, "blue", "square"), scenes.SceneSpec(4, "green", "triangle"),
             scenes.SceneSpec(3, "purple", "fish"), scenes.SceneSpec(2, "yellow", "square")]
    paths = []
    for s in specs:
        p = SAMPLES_DIR / f"{s.label.replace(' ', '_')}.png"
        scenes.draw_scene(s, rng, size=128).save(p)
        paths.append(p)
    return paths
