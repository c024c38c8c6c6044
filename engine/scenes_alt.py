"""A second scene renderer, written separately from :mod:`engine.scenes` and never used in training.

It draws the same 96 classes (one to four circles, squares, triangles or fish in red, orange,
yellow, green, blue or purple) by a different code path and in a different style, so that
accuracy on its scenes measures whether the tiny CLIP learned colour, shape and count rather
than the habits of its own renderer (issue 16):

* rasterisation with ``skimage.draw`` (``disk``, ``ellipse``, ``polygon``) into boolean masks and
  numpy compositing; no Pillow ``ImageDraw`` anywhere;
* colours from a fixed list of named shades (CSS and matplotlib "tab:" colours: crimson,
  firebrick, darkorange, gold, forestgreen, limegreen, royalblue, dodgerblue, darkviolet, ...),
  where the training renderer samples hue, saturation and value;
* its own geometry: rounded squares, isosceles triangles, circles slightly squashed into
  ellipses, and a fish with a dorsal fin, a V tail and a ring eye;
* its own styles: filled, cartoon (fill with a black contour), outline made by morphological
  erosion of the mask (mask minus eroded mask), and a round-brush "marker" stroke stamped
  along the outline like a drawing canvas's brush;
* its own backgrounds: white, cream, light grey, a dark "slide" colour, graph paper (a blue grid)
  and a radial vignette; layouts that are random or in a row, as on a slide;
* images come out at the sizes people upload or draw (100 to 300 px square), and go through the
  model's own preprocess (resize to 64 px) like an upload.

Everything is deterministic given a ``numpy.random.Generator``.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import draw as skdraw

from engine.scenes import SHAPES, SceneSpec, sample_spec

#: Named shades per colour word (RGB), none of them taken from the training renderer's anchors.
PALETTE: dict[str, tuple[tuple[int, int, int], ...]] = {
    "red": ((255, 0, 0), (220, 20, 60), (178, 34, 34), (214, 39, 40)),
    "orange": ((255, 165, 0), (255, 140, 0), (255, 127, 14), (245, 120, 40)),
    "yellow": ((255, 255, 0), (255, 215, 0), (250, 220, 50), (240, 230, 60)),
    "green": ((0, 128, 0), (50, 205, 50), (34, 139, 34), (44, 160, 44)),
    "blue": ((0, 0, 255), (65, 105, 225), (30, 144, 255), (31, 119, 180)),
    "purple": ((128, 0, 128), (148, 0, 211), (138, 43, 226), (153, 50, 204)),
}
BACKGROUNDS: tuple[str, ...] = ("white", "cream", "grey", "slide", "graph", "vignette")
STYLES: tuple[str, ...] = ("filled", "cartoon", "outline", "marker")
SIZES: tuple[int, ...] = (100, 128, 160, 224, 256, 300)


def _background(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Float RGB background of ``kind`` (see :data:`BACKGROUNDS`)."""
    img = np.empty((size, size, 3), dtype=np.float32)
    if kind == "white":
        img[:] = 255.0
    elif kind == "cream":
        img[:] = (250.0, 244.0, 228.0)
    elif kind == "grey":
        img[:] = rng.uniform(200, 235)
    elif kind == "slide":
        img[:] = (40.0, 44.0, 52.0) if rng.random() < 0.5 else (28.0, 36.0, 60.0)
    elif kind == "graph":
        img[:] = 255.0
        step = max(6, int(size * rng.uniform(0.05, 0.1)))
        img[::step, :, :] = (190.0, 210.0, 240.0)
        img[:, ::step, :] = (190.0, 210.0, 240.0)
    elif kind == "vignette":
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
        rad = np.sqrt(xx**2 + yy**2)[..., None]
        centre = rng.uniform(215, 250)
        img[:] = np.clip(centre - 150 * rad**2 * rng.uniform(0.8, 1.6), 0, 255)
    else:
        raise ValueError(f"unknown background {kind!r}; known: {BACKGROUNDS}")
    return img


def _polygon_mask(size: int, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    mask = np.zeros((size, size), dtype=bool)
    rr, cc = skdraw.polygon(ys, xs, shape=mask.shape)
    mask[rr, cc] = True
    return mask


def _rotate(xs: np.ndarray, ys: np.ndarray, cx: float, cy: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = xs - cx, ys - cy
    return cx + c * dx - s * dy, cy + s * dx + c * dy


def _shape_mask(shape: str, size: int, cx: float, cy: float, r: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """Boolean mask of one object whose bounding circle has radius ``r``, and the fish's eye mask."""
    angle = rng.uniform(0, 2 * math.pi)
    if shape == "circle":
        mask = np.zeros((size, size), dtype=bool)
        squash = rng.uniform(0.85, 1.0)
        rr, cc = skdraw.ellipse(cy, cx, 0.9 * r * squash, 0.9 * r, shape=mask.shape, rotation=angle)
        mask[rr, cc] = True
        return mask, None
    if shape == "square":
        # rounded square: corners are quarter circles of radius rho
        half = r / math.sqrt(2) * 0.98
        rho = half * rng.uniform(0.0, 0.35)
        t = np.linspace(0, math.pi / 2, 8)
        xs, ys = [], []
        for k, (sx, sy) in enumerate(((1, 1), (-1, 1), (-1, -1), (1, -1))):
            ccx, ccy = sx * (half - rho), sy * (half - rho)
            tt = t + k * math.pi / 2
            xs.extend(ccx + rho * np.cos(tt))
            ys.extend(ccy + rho * np.sin(tt))
        xs_a, ys_a = _rotate(cx + np.array(xs), cy + np.array(ys), cx, cy, angle)
        return _polygon_mask(size, xs_a, ys_a), None
    if shape == "triangle":
        apex = rng.uniform(0.8, 1.0)  # isosceles: apex angle varies
        base_half = rng.uniform(0.75, 0.9)
        xs = np.array([0.0, -base_half, base_half]) * r
        ys = np.array([-apex, 0.55, 0.55]) * r
        xs_a, ys_a = _rotate(cx + xs, cy + ys, cx, cy, angle)
        return _polygon_mask(size, xs_a, ys_a), None
    if shape == "fish":
        d = 1.0 if rng.random() < 0.5 else -1.0
        k = r / 1.3
        body = np.zeros((size, size), dtype=bool)
        rr, cc = skdraw.ellipse(cy, cx + d * 0.2 * k, 0.5 * k, 0.85 * k, shape=body.shape, rotation=0.0)
        body[rr, cc] = True
        # V tail and dorsal fin (before rotation, the fish faces +x when d = 1)
        tx = np.array([-0.55, -1.15, -0.95, -1.15]) * d * k + cx
        ty = np.array([0.0, -0.55, 0.0, 0.55]) * k + cy
        fx = np.array([-0.1, 0.25, 0.45]) * d * k + cx
        fy = np.array([-0.4, -0.78, -0.4]) * k + cy
        mask = body | _polygon_mask(size, tx, ty) | _polygon_mask(size, fx, fy)
        eye = np.zeros((size, size), dtype=bool)
        ex, ey = cx + d * 0.62 * k, cy - 0.1 * k
        rr, cc = skdraw.disk((ey, ex), max(1.5, 0.12 * k), shape=eye.shape)
        eye[rr, cc] = True
        # rotate both masks about the centre by resampling (nearest): a different path from polygons
        deg = math.degrees(rng.uniform(-0.6, 0.6))
        mask = _rotate_mask(mask, cx, cy, deg)
        eye = _rotate_mask(eye, cx, cy, deg)
        return mask, eye
    raise ValueError(f"unknown shape {shape!r}; known: {SHAPES}")


def _rotate_mask(mask: np.ndarray, cx: float, cy: float, degrees: float) -> np.ndarray:
    """Rotate a boolean mask by ``degrees`` about (cx, cy) (nearest-neighbour resampling)."""
    h, w = mask.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    sx = c * (xx - cx) + s * (yy - cy) + cx
    sy = -s * (xx - cx) + c * (yy - cy) + cy
    xi = np.clip(np.round(sx).astype(int), 0, w - 1)
    yi = np.clip(np.round(sy).astype(int), 0, h - 1)
    inside = (sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)
    return mask[yi, xi] & inside


def _marker(mask: np.ndarray, width: float) -> np.ndarray:
    """A round brush of diameter ``width`` stamped along the mask's boundary (like a canvas pen)."""
    edge = mask & ~ndimage.binary_erosion(mask)
    return ndimage.distance_transform_edt(~edge) <= width / 2


def _composite(img: np.ndarray, mask: np.ndarray, colour, alpha: float = 1.0) -> None:
    img[mask] = (1 - alpha) * img[mask] + alpha * np.asarray(colour, dtype=np.float32)


def draw_scene_alt(spec: SceneSpec, rng: np.random.Generator, size: int | None = None) -> Image.Image:
    """Draw ``spec`` with the second renderer; an RGB image of ``size`` px (default: one of :data:`SIZES`).

    Object diameters are 0.1..0.85 of the frame for one object, less for more (0.5, 0.4, 0.34
    at most for two, three, four); objects do not overlap; the whole scene is drawn at twice
    the size and averaged down 2 x 2 (antialiasing by box filter).
    """
    spec.validate()
    out = int(size) if size is not None else int(SIZES[int(rng.integers(len(SIZES)))])
    big = 2 * out
    bg_kind = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    img = _background(bg_kind, big, rng)
    style = STYLES[int(rng.integers(len(STYLES)))]
    d_max = {1: 0.85, 2: 0.5, 3: 0.4, 4: 0.34}[spec.count]
    d_min = 0.1
    centres: list[tuple[float, float, float]] = []
    if spec.count > 1 and rng.random() < 0.3:  # a row (or column), as on a slide
        r = 0.5 * big * min(d_max, 0.8 / spec.count) * rng.uniform(0.6, 1.0)
        # centres spaced at least 2.3 r apart, within the frame
        u_min = min(1.0, 2.3 * r * (spec.count - 1) / (big - 2 * r - 4))
        along = np.linspace(-1, 1, spec.count) * (0.5 * big - r - 2) * rng.uniform(u_min, 1.0)
        other = rng.uniform(r + 2, big - r - 2)
        horizontal = rng.random() < 0.7
        for a in along:
            centres.append((0.5 * big + a, other, r) if horizontal else (other, 0.5 * big + a, r))
    else:
        scale = 1.0
        while len(centres) < spec.count:
            for _ in range(80):
                r = 0.5 * big * scale * rng.uniform(d_min, d_max)
                cx, cy = rng.uniform(r + 2, big - r - 2, size=2)
                if all(math.hypot(cx - x, cy - y) > r + q + 0.04 * big for x, y, q in centres):
                    centres.append((float(cx), float(cy), float(r)))
                    break
            else:
                scale *= 0.9
    dark_bg = bg_kind == "slide"
    shades = PALETTE[spec.colour]
    colour = shades[int(rng.integers(len(shades)))]
    for cx, cy, r in centres:
        mask, eye = _shape_mask(spec.shape, big, cx, cy, r, rng)
        width = max(3.0, r * rng.uniform(0.1, 0.22))
        if style == "filled":
            _composite(img, mask, colour)
        elif style == "cartoon":
            _composite(img, mask, colour)
            contour = mask & ~ndimage.binary_erosion(mask, iterations=max(1, int(width / 3)))
            _composite(img, contour, (230, 230, 230) if dark_bg else (15, 15, 15))
        elif style == "outline":
            ring = mask & ~ndimage.binary_erosion(mask, iterations=max(1, int(width / 2)))
            _composite(img, ring, colour)
        else:  # marker
            _composite(img, _marker(mask, width), colour, alpha=0.92)
        if eye is not None:
            inner = eye & ~ndimage.binary_erosion(eye, iterations=1)
            filled = style in ("filled", "cartoon")
            _composite(img, eye, (255, 255, 255) if filled else colour)
            _composite(img, inner, (0, 0, 0) if filled else colour)
    small = img.reshape(out, 2, out, 2, 3).mean(axis=(1, 3))
    return Image.fromarray(np.clip(small + 0.5, 0, 255).astype(np.uint8), "RGB")


def make_dataset_alt(n: int, seed: int, size: int | None = None) -> tuple[list[Image.Image], list[SceneSpec]]:
    """``n`` random scenes from the second renderer (PIL images of varying size) and their specs."""
    rng = np.random.default_rng(seed)
    specs = [sample_spec(rng) for _ in range(n)]
    return [draw_scene_alt(s, rng, size) for s in specs], specs
