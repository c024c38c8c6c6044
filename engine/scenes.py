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

import io
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

    def validate(self) -> None:
        """Raise ``ValueError`` unless count is 1..4 and colour and shape are known."""
        if self.count < 1 or self.count > len(COUNT_WORDS):
            raise ValueError(f"count must be 1..{len(COUNT_WORDS)}, got {self.count}")
        if self.colour not in COLOURS:
            raise ValueError(f"unknown colour {self.colour!r}; known: {tuple(COLOURS)}")
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; known: {SHAPES}")


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


def draw_scene_classic(spec: SceneSpec, rng: np.random.Generator, size: int = IMAGE_SIZE) -> Image.Image:
    """The first renderer (the model shipped before issue 16 saw only this): ``spec`` as an RGB image.

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


# ----------------------------------------------------------------------------- drawing (issue 16)

#: Hue ranges in degrees (red wraps around 0) that a colour name covers in training, and the
#: floors of saturation and value: wide enough for the shades people pick (CSS "orange" has hue
#: 39, CSS "purple" 300, matplotlib's "tab:blue" 205), narrow enough that the names stay apart.
HUE_RANGES: dict[str, tuple[float, float]] = {
    "red": (-12.0, 10.0), "orange": (18.0, 40.0), "yellow": (47.0, 64.0),
    "green": (88.0, 150.0), "blue": (200.0, 245.0), "purple": (258.0, 305.0),
}
_SV_FLOOR: dict[str, tuple[float, float]] = {
    "red": (0.6, 0.55), "orange": (0.65, 0.75), "yellow": (0.6, 0.8),
    "green": (0.5, 0.4), "blue": (0.5, 0.5), "purple": (0.45, 0.4),
}
#: Largest object diameter (fraction of the frame side) for each count; the smallest is 0.08.
MAX_DIAMETER: dict[int, float] = {1: 0.9, 2: 0.55, 3: 0.45, 4: 0.4}
MIN_DIAMETER = 0.08
STYLES: tuple[str, ...] = ("filled", "outline", "sketch", "sketch-filled")
_STYLE_P = (0.42, 0.28, 0.18, 0.12)


def sample_colour(name: str, rng: np.random.Generator) -> tuple[int, int, int]:
    """A random shade of colour ``name``: hue from :data:`HUE_RANGES`, saturation and value above
    the floors, converted HSV -> RGB (uint8)."""
    lo, hi = HUE_RANGES[name]
    h = (rng.uniform(lo, hi) % 360.0) / 60.0
    s_min, v_min = _SV_FLOOR[name]
    s = rng.uniform(s_min, 1.0)
    v = rng.uniform(v_min, 1.0)
    c = v * s
    x = c * (1 - abs(h % 2 - 1))
    k = int(h) % 6
    r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][k]
    m = v - c
    return tuple(int(round(255 * (t + m))) for t in (r, g, b))  # type: ignore[return-value]


def _unit_outline(shape: str, rng: np.random.Generator, sketch: bool) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Closed outline of ``shape`` in unit coordinates (fits in the unit disc), and the fish's eye.

    Circle: 64-gon of radius 0.88; square and triangle: circumradius 1; fish: body ellipse
    plus forked tail, scaled to fit the unit disc, facing +x, eye above the midline.
    """
    if shape == "circle":
        t = np.linspace(0, 2 * math.pi, 64, endpoint=False)
        return 0.88 * np.stack([np.cos(t), np.sin(t)], axis=1), None
    if shape == "square":
        t = math.pi / 4 + np.arange(4) * math.pi / 2
        pts = np.stack([np.cos(t), np.sin(t)], axis=1)
    elif shape == "triangle":
        t = -math.pi / 2 + np.arange(3) * 2 * math.pi / 3
        pts = np.stack([np.cos(t), np.sin(t)], axis=1)
    elif shape == "fish":
        t = np.linspace(-math.pi + 0.55, math.pi - 0.55, 40)
        body = np.stack([0.25 + 0.95 * np.cos(t), 0.55 * np.sin(t)], axis=1)
        tail = np.array([[-1.25, 0.6], [-1.05, 0.0], [-1.25, -0.6]])
        pts = np.concatenate([body, tail]) / 1.4
        eye = (0.75 / 1.4, -0.14 / 1.4)
        if sketch:
            pts = pts + rng.normal(0, 0.02, size=pts.shape)
        return pts, eye
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {SHAPES}")
    if sketch:  # hand-drawn corners: each vertex moves by up to ~10 % of the radius
        pts = pts + rng.normal(0, 0.06, size=pts.shape)
    # densify straight edges so the sketch wobble can bend them
    dense = []
    for a, b in zip(pts, np.roll(pts, -1, axis=0)):
        for u in np.linspace(0, 1, 12, endpoint=False):
            dense.append(a + u * (b - a))
    return np.array(dense), None


def _place(pts: np.ndarray, cx: float, cy: float, r: float, angle: float, mirror: bool,
           stretch: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    p = pts * np.array(stretch)
    if mirror:
        p = p * np.array([1.0, -1.0])
    c, s = math.cos(angle), math.sin(angle)
    rot = p @ np.array([[c, s], [-s, c]])
    return np.stack([cx + r * rot[:, 0], cy + r * rot[:, 1]], axis=1)


def _wobble(pts: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Smooth radial jitter of a closed outline (sum of two low-frequency sinusoids), like a hand."""
    n = len(pts)
    t = np.arange(n) / n * 2 * math.pi
    rad = np.ones(n)
    for freq in (int(rng.integers(2, 4)), int(rng.integers(4, 8))):
        rad += amount * rng.uniform(0.3, 1.0) * np.sin(freq * t + rng.uniform(0, 2 * math.pi))
    centre = pts.mean(axis=0)
    return centre + (pts - centre) * rad[:, None]


def _stroke(draw: ImageDraw.ImageDraw, pts: np.ndarray, colour: tuple[int, int, int], width: float,
            rng: np.random.Generator, uneven: bool) -> None:
    """A closed stroke along ``pts``; with ``uneven`` the width drifts along the line (0.5..1.5 x)
    and the end overshoots or stops short of the start, as a pen would."""
    if not uneven:
        seq = [tuple(p) for p in np.concatenate([pts, pts[:1]])]
        draw.line(seq, fill=colour, width=max(1, int(round(width))), joint="curve")
        return
    n = len(pts)
    extra = int(rng.integers(-n // 16, n // 8 + 1))
    idx = np.arange(n + 1 + extra) % n
    seq = pts[idx]
    phase = rng.uniform(0, 2 * math.pi)
    widths = width * (1 + 0.5 * np.sin(np.linspace(0, rng.uniform(2, 6), len(seq)) + phase))
    for k in range(len(seq) - 1):
        w = max(1, int(round(widths[k])))
        draw.line([tuple(seq[k]), tuple(seq[k + 1])], fill=colour, width=w)
        if w > 2:
            rr = w / 2
            draw.ellipse([seq[k + 1][0] - rr, seq[k + 1][1] - rr, seq[k + 1][0] + rr, seq[k + 1][1] + rr], fill=colour)


def _plain_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """White paper (R, G, B in 244..255) or a flat low-saturation tint (grey 35..245, +-20 per channel)."""
    if rng.random() < 0.55:
        base = rng.uniform(244, 255) + rng.uniform(-2, 2, size=3)
    else:
        base = rng.uniform(35, 245) + rng.uniform(-20, 20, size=3)
    return np.broadcast_to(np.clip(base, 0, 255), (size, size, 3)).astype(np.float32).copy()


def draw_scene(spec: SceneSpec, rng: np.random.Generator, size: int = IMAGE_SIZE) -> Image.Image:
    """Draw ``spec`` as an RGB image of ``size`` x ``size`` pixels: the training renderer (issue 16).

    A wide distribution, so that what the model learns is colour, shape and count, not one
    renderer's habits:

    * 10 % of scenes come from the first renderer (:func:`draw_scene_classic`);
    * canvas resolution R = size * 2**U(-0.4, 2.3) (about 48..315 px), resized to ``size`` with a
      random filter (nearest, box, bilinear, bicubic, Lanczos);
    * background: white paper or a flat tint (45 %), or textured (gradient, noise, stripes,
      checks; 55 %);
    * object diameter d ~ log-uniform(0.08, MAX_DIAMETER[count]) of the frame (up to 0.9 for one
      object), anywhere in the frame, no overlaps, any rotation, fish mirrored at random;
    * style per scene: filled, outline only, sketch (wobbly outline, drifting pen width,
      overshoot) or sketch-filled; colour: a random shade within :data:`HUE_RANGES`;
    * afterwards: Gaussian blur (25 %), JPEG at quality 25..85 (25 %), pixel noise (15 %).
    """
    spec.validate()
    if rng.random() < 0.10:
        img = draw_scene_classic(spec, rng, size)
    else:
        big = max(24, int(round(size * 2 ** rng.uniform(-0.4, 2.3))))
        bg = _plain_background(rng, big) if rng.random() < 0.45 else _background(rng, big)
        img = Image.fromarray(bg.astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(img)
        style = STYLES[int(rng.choice(len(STYLES), p=_STYLE_P))]
        sketch = style.startswith("sketch")
        d_max = MAX_DIAMETER[spec.count]
        gap = 0.03 * big
        placed: list[tuple[float, float, float]] = []
        shrink = 1.0
        while len(placed) < spec.count:
            for _attempt in range(60):
                r = 0.5 * big * shrink * math.exp(rng.uniform(math.log(MIN_DIAMETER), math.log(d_max)))
                cx = rng.uniform(r + 1, big - r - 1)
                cy = rng.uniform(r + 1, big - r - 1)
                if all(math.hypot(cx - x, cy - y) > r + q + gap for x, y, q in placed):
                    placed.append((cx, cy, r))
                    break
            else:
                shrink *= 0.85
        bg_mean = float(bg.mean())
        one_colour = rng.random() < 0.5
        colour = sample_colour(spec.colour, rng)
        for cx, cy, r in placed:
            if not one_colour:
                colour = sample_colour(spec.colour, rng)
            pts, eye = _unit_outline(spec.shape, rng, sketch)
            stretch = (rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15)) if sketch else (1.0, 1.0)
            angle = rng.uniform(0, 2 * math.pi)
            mirror = bool(rng.random() < 0.5)
            xy = _place(pts, cx, cy, r, angle, mirror, stretch)
            if sketch:
                xy = _wobble(xy, rng, 0.05)
            width = max(1.4 * big / size, r * rng.uniform(0.06, 0.2))
            if style == "filled":
                draw.polygon([tuple(p) for p in xy], fill=colour)
                if rng.random() < 0.15:  # a dark or light contour around the fill
                    edge = (25, 25, 25) if bg_mean > 110 else (235, 235, 235)
                    _stroke(draw, xy, edge, max(1.0, 0.4 * width), rng, False)
            elif style == "sketch-filled":
                inner = _wobble(xy, rng, 0.04)
                draw.polygon([tuple(p) for p in inner], fill=colour)
                _stroke(draw, xy, colour, width, rng, True)
            else:
                _stroke(draw, xy, colour, width, rng, sketch)
            if eye is not None and rng.random() < 0.75:
                e_xy = _place(np.array([eye]), cx, cy, r, angle, mirror, stretch)[0]
                er = max(0.8 * big / size, 0.1 * r)
                filled_body = style in ("filled", "sketch-filled")
                e_col = ((255, 255, 255) if sum(colour) < 300 else (20, 20, 20)) if filled_body else colour
                draw.ellipse([e_xy[0] - er, e_xy[1] - er, e_xy[0] + er, e_xy[1] + er], fill=e_col)
        filt = [Image.Resampling.NEAREST, Image.Resampling.BOX, Image.Resampling.BILINEAR,
                Image.Resampling.BICUBIC, Image.Resampling.LANCZOS][int(rng.choice(5, p=(0.08, 0.2, 0.22, 0.25, 0.25)))]
        img = img.resize((size, size), filt)
    return _degrade(img, rng)


def _degrade(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Mild blur, JPEG noise and pixel noise (each independently, 25 %, 25 %, 15 %)."""
    from PIL import ImageFilter

    if rng.random() < 0.25:
        img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 1.0))))
    if rng.random() < 0.25:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(rng.integers(25, 86)))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if rng.random() < 0.15:
        arr = np.asarray(img).astype(np.float32) + rng.normal(0, rng.uniform(2, 8), size=(img.size[1], img.size[0], 3))
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return img


def make_dataset(n: int, seed: int, size: int = IMAGE_SIZE, renderer: str = "wide") -> tuple[np.ndarray, list[SceneSpec]]:
    """``n`` random scenes as a uint8 array (n, size, size, 3) and their specs; ``renderer``:
    ``"wide"`` (:func:`draw_scene`) or ``"classic"`` (:func:`draw_scene_classic`)."""
    draw = {"wide": draw_scene, "classic": draw_scene_classic}[renderer]
    rng = np.random.default_rng(seed)
    specs = [sample_spec(rng) for _ in range(n)]
    images = np.stack([np.asarray(draw(s, rng, size)) for s in specs])
    return images, specs


# ----------------------------------------------------------------------------- non-scenes (outlier exposure)


def _pink_noise(rng: np.random.Generator, size: int, alpha: float, channels: int) -> np.ndarray:
    """Noise with power spectrum ~ 1/f**alpha (natural images have alpha near 2), scaled to [0, 1]."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1.0
    out = []
    for _ in range(channels):
        spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (alpha / 2)
        spec[0, 0] = 0
        x = np.fft.irfft2(spec, s=(size, size))
        out.append((x - x.min()) / max(1e-9, float(x.max() - x.min())))
    return np.stack(out, axis=-1)


def draw_non_scene(rng: np.random.Generator, size: int = IMAGE_SIZE) -> Image.Image:
    """An image that is *not* a scene of the training distribution, for the out-of-domain detector
    (outlier exposure, Hendrycks et al. 2019, "Deep Anomaly Detection with Outlier Exposure").

    Kinds: 1/f**alpha noise (alpha 1..3, the spectrum of natural photographs) in colour, mixed
    into a random palette, or grey; clutter of 6..30 overlapping shapes in many colours; smooth
    random colour fields with fine texture; grey 1/f noise with a few hard edges. Mild blur and
    JPEG as for scenes. Never a photograph: the detector is measured on real photos it never saw.
    """
    big = size * 2
    kind = int(rng.integers(4))
    if kind == 0:
        x = _pink_noise(rng, big, rng.uniform(1.0, 3.0), 3)
        if rng.random() < 0.5:  # correlated channels: a random colour map, like a photo's palette
            mix = rng.uniform(-0.3, 1.0, size=(3, 3))
            x = x @ mix.T
            x = (x - x.min()) / max(1e-9, float(x.max() - x.min()))
        elif rng.random() < 0.5:
            x = np.repeat(x[..., :1], 3, axis=-1)
        arr = 255 * x
    elif kind == 1:
        arr = np.broadcast_to(rng.uniform(0, 255, size=3), (big, big, 3)).astype(np.float32).copy()
        img = Image.fromarray(arr.astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(6, 31))):
            cx, cy = rng.uniform(0, big, size=2)
            r = rng.uniform(0.03, 0.3) * big
            col = tuple(int(v) for v in rng.integers(0, 256, size=3))
            if rng.random() < 0.5:
                draw.ellipse([cx - r, cy - r * rng.uniform(0.3, 1), cx + r, cy + r], fill=col)
            else:
                pts = [(cx + r * math.cos(t), cy + r * math.sin(t)) for t in np.sort(rng.uniform(0, 2 * math.pi, 5))]
                draw.polygon(pts, fill=col)
        arr = np.asarray(img).astype(np.float32)
    elif kind == 2:
        low = rng.uniform(0, 255, size=(int(rng.integers(2, 6)),) * 2 + (3,)).astype(np.uint8)
        field = np.asarray(Image.fromarray(low, "RGB").resize((big, big), Image.Resampling.BICUBIC)).astype(np.float32)
        arr = field + 60 * (_pink_noise(rng, big, rng.uniform(0.5, 1.5), 1) - 0.5)
    else:
        x = _pink_noise(rng, big, rng.uniform(1.5, 2.5), 1)[..., 0]
        for _ in range(int(rng.integers(1, 5))):
            theta = rng.uniform(0, math.pi)
            yy, xx = np.mgrid[0:big, 0:big] / big
            x = x + rng.uniform(-0.5, 0.5) * ((math.cos(theta) * xx + math.sin(theta) * yy) > rng.uniform(0.2, 0.8))
        x = (x - x.min()) / max(1e-9, float(x.max() - x.min()))
        arr = 255 * np.repeat(x[..., None], 3, axis=-1)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB").resize((size, size), Image.Resampling.BILINEAR)
    return _degrade(img, rng)
