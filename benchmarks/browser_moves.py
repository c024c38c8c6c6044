"""The main widgets of every page, and how a user moves them (shared by the browser benchmark,
``benchmarks/bench_browser.py``, the load test and ``tests/test_panels_browser.py``).

A widget is found in the page by its key (the URL parameter name): Streamlit puts the CSS
class ``st-key-<key>`` on the element that holds a widget created with ``key=``. A widget that
is not on the page (renamed, moved to another tab) is skipped and reported, never fatal.

``kind`` says how the widget is moved, as a user would with the keyboard or a click:

* ``slider`` (also select_slider): focus the thumb, press ArrowRight / ArrowLeft alternately;
* ``select``: open the select box, ArrowDown (or ArrowUp) then Enter;
* ``choice`` (segmented control, radio, pills): click the next option;
* ``text`` / ``textarea``: type one of ``values`` and press Enter (Ctrl+Enter for a text area);
* ``number``: click the + / - step buttons alternately;
* ``toggle`` (toggle, checkbox): click it.

``query`` opens the page with that URL query before the move (untimed), for a widget that sits
in a part of the page another control opens (relative attention's max-pool width is under the
"Max pooling" part); the page is opened plainly again after it.

``scope`` is what a move should rerun once the page is made of panels (issue 12):
``"fragment"`` (only the panel holding the widget) or ``"full"`` (a control several panels
read). ``training=True`` marks a training setting (nothing on screen but the widget changes).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Move:
    key: str
    kind: str  # slider | select | choice | text | textarea | number | toggle
    label: str  # as it appears in reports ("input x", "width N")
    scope: str = "fragment"  # fragment | full
    values: tuple[str, ...] = ()  # text / textarea: what to type, cycled
    training: bool = False  # a training setting: nothing but the widget should change
    main: bool = False  # the page's main widget (used by the panel test)
    query: str = ""  # URL query the page is opened with before this move (e.g. the tab holding it)


# url_path -> moves, in the order they are exercised
MOVES: dict[str, list[Move]] = {
    "single-neuron": [
        Move("sn_x", "slider", "input x", main=True),
        Move("sn_act", "choice", "activation", scope="full"),
    ],
    "rnn-jacobian": [
        Move("rnn_n", "slider", "width N", main=True),
        Move("rnn_steps", "slider", "steps T"),
        Move("rnn_act", "choice", "activation", scope="full"),
    ],
    "gradients-through-time": [
        Move("gtt_T", "slider", "sequence length T (training setting)", training=True, main=True),
        Move("gtt_lr", "slider", "learning rate (training setting)", training=True),
    ],
    "relative-attention": [
        Move("ra_n", "slider", "sequence length n", scope="full", main=True),
        Move("ra_kernel", "text", "kernel", values=("1,0,2", "2,0,1", "0.5,1,0.5")),
        Move("ra_k", "slider", "max-pool width k", query="ra_tab=Max+pooling+%281.3.2%29"),
    ],
    "attention": [
        Move("at_temp", "slider", "temperature", scope="full", main=True),
        Move("at_tokens", "text", "tokens", values=("the cat sat on the mat", "a b c d", "one two three")),
        Move("at_causal", "toggle", "causal mask"),
    ],
    "positional-encodings": [
        Move("pe_train", "slider", "training length L", scope="full", main=True),
        Move("pe_dim", "slider", "encoding width d"),
    ],
    "translation": [
        Move("tr_text", "text", "typed sentence", values=("hello world", "the quick brown fox", "attention is all")),
        Move("tr_word", "select", "word shown", main=True),
        Move("tr_epochs", "slider", "epochs (training setting)", training=True),
    ],
    "scaling-laws": [
        Move("sl_at", "slider", "extrapolate to C", scope="full", main=True),
        Move("sl_tol", "slider", "budget tolerance"),
        Move("sl_level", "slider", "confidence level"),
    ],
    "bert": [
        Move("bert_text", "textarea", "typed sum", values=("12+7=19", "3+4=8", "40+2=42"), main=True),
        Move("bert_epochs", "slider", "epochs (training setting)", training=True),
    ],
    "clip": [
        Move("cl_ngold", "slider", "goldfish scenes", main=True),
        Move("cl_image", "select", "image"),
        Move("cl_ensemble", "toggle", "prompt ensemble"),
    ],
    "audit": [
        Move("au_section", "select", "section", scope="full", main=True),
    ],
}

# pages whose heavy button goes through the job queue (used by the load test): url path (with the
# query that opens the button's section) -> button keys
HEAVY_BUTTONS: dict[str, list[str]] = {
    "translation": ["tr_train"],
    "scaling-laws?sl_x_sweep=true": ["sl_sw_run"],
    "bert": ["bert_train"],
    "gradients-through-time": ["gtt_train"],
}

# pages for the light part of the load test
LIGHT_PAGES = ["single-neuron", "rnn-jacobian", "attention", "positional-encodings", "relative-attention"]


def main_move(url_path: str) -> Move | None:
    """The page's main widget (first flagged ``main``, else the first move)."""
    moves = MOVES.get(url_path, [])
    for m in moves:
        if m.main:
            return m
    return moves[0] if moves else None
