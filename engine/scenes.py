"""Procedurally drawn scenes and their captions: the training data of the embedded tiny CLIP.

A scene holds ``count`` (1..4) copies of one ``shape`` (circle, square, triangle, fish) in
one ``colour`` (red, green, blue, yellow, orange, purple) on a varied, low-saturation
background (flat tint, gradient, noise, stripes or checks). Captions say the count as a
word ("two orange fish", "three red circles") with phrasing variants ("a photo of ...",
"there are ..."). An orange fish is a *goldfish*; it may also be called *nemo*, used as an
invariant plural ("two nemo") -- the training text never contains "nemos", so write-up
§4.2's "two nemos" is a word the tiny model has never read.

Everything is deterministic given a ``numpy.random.Generator`` (``seed`` arguments), and
needs only numpy and Pillow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "fish")
PLURALS: dict[str, str] = {"circle": "circles", "square": "squares", "triangle": "triangles", "fish": "fish"}
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 30, 35),
    "green": (35, 165, 55),
    "blue": (35, 75, 215),
    "yellow": (240, 215, 25),
    "orange": (250, 130, 10),
    "purple": (135, 45, 175),
}
COUNT_WORDS: tuple[str, ...] = ("one", "two", "three", "four")
#: Names of an orange fish the captions use besides "orange fish" (invariant plurals).
GOLDFISH_NAMES: tuple[str, ...] = ("goldfish", "nemo")
IMAGE_SIZE = 64

_TEMPLATES_PLURAL = (
    "{n} {obj}",
    "{n} {obj}",
    "a photo of {n} {obj}",
    "a picture of {n} {obj}",
    "an image of {n} {obj}",
    "there are {n} {obj}",
    "a drawing of {n} {obj}",
)
_TEMPLATES_ONE = (
    "one {obj}",
    "one {obj}",
    "a {obj}",
    "a single {obj}",
    "a photo of one {obj}",
    "a photo of a {obj}",
    "a picture of one {obj}",
    "there is one {obj}",
)


@dataclass(frozen=True)
class SceneSpec:
    """What a scene shows: ``count`` objects (1..4) of one ``shape`` in one ``colour``."""

    count: int
    colour: str
    shape: str

    @property
    def label(self) -> str:
        """Canonical caption, e.g. ``"two orange fish"``."""
        return class_prompt(self.count, self.colour, self.shape)


def class_prompt(count: int, colour: str, shape: str) -> str:
    """Canonical caption ``"<count word> <colour> <shape, plural if count > 1>"``."""
    noun = shape if count == 1 else PLURALS[shape]
    return f"{COUNT_WORDS[count - 1]} {colour} {noun}"


def all_specs() -> list[SceneSpec]:
    """The 4 x 6 x 4 = 96 scene classes, in (count, colour, shape) order."""
    return [SceneSpec(n, c, s) for n in range(1, 5) for c in COLOURS for s in SHAPES]


def sample_spec(rng: np.random.Generator) -> SceneSpec:
    """A uniformly random scene class."""
    return SceneSpec(
        int(rng.integers(1, 5)),
        list(COLOURS)[int(rng.integers(len(COLOURS)))],
        SHAPES[int(rng.integers(len(SHAPES)))],
    )


def caption(spec: SceneSpec, rng: np.random.Generator) -> str:
    """A random phrasing of the scene's caption (count always as a word).

    Orange fish are called "goldfish" or "nemo" in about half of their captions.
    """
    noun = spec.shape if spec.count == 1 else PLURALS[spec.shape]
    obj = f"{spec.colour} {noun}"
    if spec.colour == "orange" and spec.shape == "fish" and rng.random() < 0.5:
        obj = GOLDFISH_NAMES[int(rng.integers(len(GOLDFISH_NAMES)))]
    if spec.count == 1:
        template = _TEMPLATES_ONE[int(rng.integers(len(_TEMPLATES_ONE)))]
        if obj[0] in "aeiou" and "a {obj}" in template:
            template = template.replace("a {obj}", "an {obj}")
        return template.format(obj=obj)
    template = _TEMPLATES_PLURAL[int(rng.integers(len(_TEMPLATES_PLURAL)))]
    return template.format(n=COUNT_WORDS[spec.count - 1], obj=obj)


# ----------------------------------------------------------------------------- drawing


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A low-saturation background (float RGB in [0, 255]), so object colours stay distinct.

    Base grey level g ~ U(35, 225) with a tint of at most +-18 per channel, then one of:
    flat, linear gradient, Gaussian noise, stripes, checks.
    """
    grey = rng.uniform(35, 225)
    tint = rng.uniform(-18, 18, size=3)
    base = np.clip(grey + tint, 0, 255)
    img = np.broadcast_to(base, (size, size, 3)).astype(np.float32).copy()
    kind = int(rng.integers(5))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == 1:  # gradient along a random direction
        theta = rng.uniform(0, 2 * math.pi)
        ramp = (np.cos(theta) * xx + np.sin(theta) * yy)[..., None]
        img += rng.uniform(20, 60) * (ramp - ramp.mean())
    elif kind == 2:  # pixel noise
        img += rng.normal(0, rng.uniform(4, 14), size=img.shape)
    elif kind == 3:  # stripes
        period = rng.uniform(0.12, 0.35)
        theta = rng.uniform(0, math.pi)
        phase = (np.cos(theta) * xx + np.sin(theta) * yy) / period
        img += (rng.uniform(10, 30) * np.sign(np.sin(2 * math.pi * phase)))[..., None]
    elif kind == 4:  # checks
        cells = int(rng.integers(3, 8))
        check = ((np.floor(xx * cells) + np.floor(yy * cells)) % 2)[..., None]
        img += rng.uniform(10, 30) * (check - 0.5)
    return np.clip(img, 0, 255)


def _shape_polygon(shape: str, cx: float, cy: float, r: float, angle: float, flip: bool) -> list:
    """Vertices of a square/triangle of circumradius r, or the tail of a fish."""
    if shape == "square":
        pts = [(math.cos(angle + math.pi / 4 + k * math.pi / 2), math.sin(angle + math.pi / 4 + k * math.pi / 2))
               for k in range(4)]
        return [(cx + r * 0.92 * x, cy + r * 0.92 * y) for x, y in pts]
    if shape == "triangle":
        pts = [(math.cos(angle - math.pi / 2 + k * 2 * math.pi / 3), math.sin(angle - math.pi / 2 + k * 2 * math.pi / 3))
               for k in range(3)]
        return [(cx + r * 1.1 * x, cy + r * 1.1 * y) for x, y in pts]
    raise ValueError(shape)


def _draw_object(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float,
                 fill: tuple[int, int, int], rng: np.random.Generator, bg_dark: bool) -> None:
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape in ("square", "triangle"):
        angle = rng.uniform(-0.35, 0.35)
        draw.polygon(_shape_polygon(shape, cx, cy, r, angle, False), fill=fill)
    elif shape == "fish":
        r = 0.84 * r  # keep body + tail (about 1.2 r from the centre) inside the placement disc
        # body: ellipse 2r x 1.1r, tail: triangle behind it; faces left or right
        d = 1 if rng.random() < 0.5 else -1
        bx = cx + d * 0.25 * r
        draw.ellipse([bx - r * 0.95, cy - r * 0.55, bx + r * 0.95, cy + r * 0.55], fill=fill)
        tail_x = bx - d * r * 0.75
        draw.polygon([(tail_x, cy), (tail_x - d * r * 0.75, cy - r * 0.6), (tail_x - d * r * 0.75, cy + r * 0.6)],
                     fill=fill)
        eye = r * 0.14
        ex, ey = bx + d * r * 0.5, cy - r * 0.12
        draw.ellipse([ex - eye, ey - eye, ex + eye, ey + eye], fill=(255, 255, 255) if bg_dark else (20, 20, 20))
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {SHAPES}")


def draw_scene(spec: SceneSpec, rng: np.random.Generator, size: int = IMAGE_SIZE) -> Image.Image:
    """Draw ``spec`` as an RGB image of ``size`` x ``size`` pixels.

    Objects (radius 0.09..0.17 of the side, colour jittered by +-15 per channel) are
    placed without overlap by rejection sampling; drawn at 2x and downsampled (antialias).
    """
    if spec.count < 1 or spec.count > len(COUNT_WORDS):
        raise ValueError(f"count must be 1..{len(COUNT_WORDS)}, got {spec.count}")
    if spec.colour not in COLOURS:
        raise ValueError(f"unknown colour {spec.colour!r}; known: {tuple(COLOURS)}")
    scale = 2
    big = size * scale
    bg = _background(rng, big)
    img = Image.fromarray(bg.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    base = np.array(COLOURS[spec.colour], dtype=np.float32)
    r_max = 0.17 if spec.count <= 2 else 0.14
    placed: list[tuple[float, float, float]] = []
    for _ in range(spec.count):
        for _attempt in range(200):
            r = rng.uniform(0.09, r_max) * big
            cx = rng.uniform(r + 2, big - r - 2)
            cy = rng.uniform(r + 2, big - r - 2)
            if all(math.hypot(cx - x, cy - y) > r + q + 0.04 * big for x, y, q in placed):
                break
        else:  # pragma: no cover - geometry leaves room for 4 objects
            raise RuntimeError("could not place objects")
        placed.append((cx, cy, r))
        fill = tuple(int(v) for v in np.clip(base + rng.uniform(-15, 15, size=3), 0, 255))
        _draw_object(draw, spec.shape, cx, cy, r, fill, rng, bg_dark=float(bg.mean()) < 110)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def make_dataset(n: int, seed: int, size: int = IMAGE_SIZE) -> tuple[np.ndarray, list[SceneSpec]]:
    """``n`` random scenes as a uint8 array (n, size, size, 3) and their specs."""
    rng = np.random.default_rng(seed)
    specs = [sample_spec(rng) for _ in range(n)]
    images = np.stack([np.asarray(draw_scene(s, rng, size)) for s in specs])
    return images, specs
