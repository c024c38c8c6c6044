"""The page registry: adding a page to the dashboard is one line in ``PAGES``.

Each entry names the module under ``pages/`` (which exposes ``render()``), the title
shown in the navigation, the URL path, the section it is listed under, an icon and one
sentence on what to look for (shown on Home).
"""

from __future__ import annotations

import importlib
import sys
import threading
from dataclasses import dataclass
from types import ModuleType


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
    # -- Gradients (issue 3) --
    PageSpec("pages.single_neuron", "Single neuron", "single-neuron", "Gradients", ":material/linear_scale:", "A negative input or one dead ReLU zeroes the gradient; weights below or above 1 shrink or blow it up geometrically, always under the bound $\\prod_i \\gamma\\,|w_i|$."),
    PageSpec("pages.rnn_jacobian", "RNN Jacobian", "rnn-jacobian", "Gradients", ":material/stacked_line_chart:", "$\\sigma_{\\max}$ of the Jacobian against the bound $(\\gamma\\,\\sigma_{\\max}(W))^T$ at depths up to 10,000, the full singular spectrum against theory, where the write-up's SVD step fails, and why Pascanu et al.'s vanishing condition needs the largest singular value."),
    PageSpec("pages.gradients_through_time", "Gradients through time", "gradients-through-time", "Gradients", ":material/timeline:", "Train a tanh RNN next to an LSTM on the adding problem: the RNN's ||dL/dh_t|| vanishes towards the first marker and its loss stays at 1/6, the LSTM's stays flat and its loss falls below 0.01; the trained Jacobian's spectrum sits under (gamma sigma_max(W_hh))^T."),
    # -- Attention (issues 4, 5) --
    PageSpec("pages.relative_attention", "Relative attention as conv & max pool", "relative-attention", "Attention", ":material/blur_linear:", "Build any 1-D convolution exactly from relative-attention heads, see the write-up's [2,0,1] answer compute $2.4\\,x_{i+1} + 0.6\\,x_{i-1}$, and watch the max-pool error stall where $x_i = 0$."),
    PageSpec("pages.attention", "Attention, step by step", "attention", "Attention", ":material/grid_on:", "Watch $QK^\\top$ become weights: the causal mask zeroes the future exactly, and temperature moves each row between argmax and uniform."),
    PageSpec("pages.positional_encodings", "Positional encodings", "positional-encodings", "Attention", ":material/linear_scale:", "Sinusoidal similarity depends only on distance and continues past the training length; one-hot has no notion of near and no code past it."),
    PageSpec("pages.translation", "Pig Latin translation", "translation", "Attention", ":material/translate:", "Decoder-only vs encoder-decoder on the same words: Table 1 re-run, attention maps that copy letters, and a model you can train in minutes."),
    # -- Scaling (issue 6) --
    PageSpec("pages.scaling_laws", "Scaling laws", "scaling-laws", "Scaling", ":material/ssid_chart:", "IsoFLOP parabolas turn runs into $N_{\\mathrm{opt}} = k\\,C^{a}$; watch the bootstrap band widen as you extrapolate, and test whether $10^{10}$ params at $10^{15}$ FLOPs is optimal."),
    # -- Pretrained models (issues 7, 8) --
    PageSpec("pages.bert", "BERT fine-tuning", "bert", "Pretrained models", ":material/model_training:", "Freezing the encoder makes an epoch hundreds of times cheaper but costs about 20 points of accuracy; without pretraining the same network does worse in both modes. Then type a sum and watch the probabilities."),
    PageSpec("pages.clip", "CLIP prompting lab", "clip", "Pretrained models", ":material/image_search:", "Type prompts against an image and watch the softmax pick one: 'two goldfish' and 'two nemo' win, 'two nemos' (a word the tiny CLIP never read) does not; the heatmap shows which captions each image lights up."),
    # -- Audit (issue 9) --
    PageSpec("pages.tour", "Tour of the write-up", "tour", "Audit", ":material/slideshow:", "The write-up one claim per screen, 1.1 to 4.2: the live figure on the write-up's numbers, the computed verdict, and the page in the same state; arrow keys or a presenter remote move between steps."),
    PageSpec("pages.audit", "Write-up audit", "audit", "Audit", ":material/fact_check:", "Every claim of the write-up with a computed verdict and its source: which hold, which fail (the 1.3.1 conv gives $2.4\\,x_{i+1} + 0.6\\,x_{i-1}$; $10^{10}$ params at $10^{15}$ FLOPs leaves 17k tokens), and the correct version of each."),
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


# One lock for the first import of every page: sessions run in their own threads, and two
# sessions opening pages at once on a fresh server imported pandas (and torch, plotly) from two
# threads; importlib's deadlock avoidance then handed one of them a half-initialised module
# ("partially initialized module 'pandas' has no attribute 'Series'", seen in the load test).
_IMPORT_LOCK = threading.Lock()


def import_page(module: str) -> ModuleType:
    """``importlib.import_module(module)``, the first import serialised across sessions.

    For page modules and for the engines a page imports lazily (the Tour's asset errors)."""
    mod = sys.modules.get(module)
    if mod is not None and getattr(getattr(mod, "__spec__", None), "_initializing", False) is False:
        return mod
    with _IMPORT_LOCK:
        return importlib.import_module(module)
