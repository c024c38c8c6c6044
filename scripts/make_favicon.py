"""Draw assets/favicon.png, the browser-tab icon (a falling loss curve on the accent colour).

The icon is a local file so that opening the dashboard fetches nothing from outside the
server: a ``:material/...:`` page icon makes the browser load the favicon SVG from
fonts.gstatic.com, which fails offline and leaks every page view to a third party.

Run: .venv/bin/python scripts/make_favicon.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "assets" / "favicon.png"
ACCENT = (0, 114, 178)  # primaryColor of .streamlit/config.toml
SIZE, SCALE = 64, 4  # drawn 4x larger, then downsampled for smooth edges


def draw(size: int = SIZE) -> Image.Image:
    """Rounded square in the accent colour with a white curve L(x) = 0.15 + 0.75 exp(-4 x)."""
    s = size * SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=ACCENT + (255,))
    pad = s * 0.18
    x = np.linspace(0.0, 1.0, 64)
    y = 0.15 + 0.75 * np.exp(-4.0 * x)
    pts = [(pad + xi * (s - 2 * pad), s - pad - yi * (s - 2 * pad)) for xi, yi in zip(x, y)]
    d.line(pts, fill=(255, 255, 255, 255), width=int(s * 0.09), joint="curve")
    r = s * 0.07
    cx, cy = pts[-1]
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255, 255))
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    draw().save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
