"""The page registry: adding a page to the dashboard is one line in ``PAGES``.

Each entry names the module under ``pages/`` (which exposes ``render()``), the title
shown in the navigation, the URL path, the section it is listed under, an icon and one
sentence on what to look for (shown on Home).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    module: str
    title: str
    url_path: str
    section: str
    icon: str
    look_for: str


HOME = PageSpec("pages.home", "Home", "home", "", ":material/home:", "")

# fmt: off
PAGES: list[PageSpec] = [
]
# fmt: on

SECTIONS = ("Gradients", "Attention", "Scaling", "Pretrained models", "Audit")


def all_pages() -> list[PageSpec]:
    """Home first, then the registered pages in registry order."""
    return [HOME, *PAGES]


def by_url_path(url_path: str) -> PageSpec:
    for spec in all_pages():
        if spec.url_path == url_path:
            return spec
    raise KeyError(url_path)
