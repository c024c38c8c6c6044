"""Widgets whose values live in the URL: one place for state.

Every widget here is created with Streamlit's native ``bind="query-params"``: its
``key`` is the query-parameter name, so a copied URL reopens the same view.

URL safety (issue 17). Before a widget is created, the value the URL would seed it
with is validated here (numbers: finite, in range, whole where the widget is an
integer, within JavaScript's safe integers; choices: one of the displayed labels;
booleans: ``true``/``false``; text: at most ``max_chars`` characters). An unusable
value is removed from the URL (``st.query_params`` and the copy Streamlit seeds
widgets from) and from session state *before* the widget exists, so Streamlit never
receives it (``?rnn_seed=inf`` used to crash ``number_input`` with OverflowError), and
a small notice names it on the page. Notices are plain text (``st.text``), never
markdown: a value such as ``x`[a](http://evil)`` is shown literally, truncated when
long.

Query parameters that no widget on the page claims are reported and removed by
:func:`report_unknown_params`, which ``dashboard/app.py`` calls after each full run.
Widgets created inside ``st.fragment`` panels are remembered for the session, so a
full run never deletes a parameter that belongs to a panel's widget.

Keys must be unique across the whole app; prefix them with the page's short name
(``sn_depth``, ``rnn_steps``) except for the few shared sidebar keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import streamlit as st

_BOUND = "_gsl_bound_keys"
_FRAGMENT_KEYS = "_gsl_fragment_keys"
_NOTICES = "_gsl_param_notices"
# Query parameters Streamlit itself understands; never reported as unknown.
RESERVED_PARAMS = frozenset({"embed", "embed_options"})
# Longest raw value (characters) quoted in a notice.
NOTICE_VALUE_CHARS = 60
# Default caps on URL-seeded (and typed) text when a page gives no max_chars.
TEXT_INPUT_MAX_CHARS = 1_000
TEXT_AREA_MAX_CHARS = 5_000
# JavaScript's Number.MAX_SAFE_INTEGER: integer widgets cannot hold more.
MAX_SAFE_INTEGER = 2**53 - 1


# ---------------------------------------------------------------------------
# Run bookkeeping (called by app.py)
# ---------------------------------------------------------------------------
def begin_run() -> None:
    """Reset the per-run registry of bound keys and notices (full runs only)."""
    st.session_state[_BOUND] = set()
    st.session_state[_NOTICES] = []


def bound_keys() -> set[str]:
    """Keys of the bound widgets created in this run (fragment widgets included)."""
    return st.session_state.setdefault(_BOUND, set())


def fragment_keys() -> set[str]:
    """Keys of bound widgets ever created inside an ``st.fragment`` in this session."""
    return st.session_state.setdefault(_FRAGMENT_KEYS, set())


def notices() -> list[str]:
    """Plain-text notices about the URL state queued in this run."""
    return st.session_state.setdefault(_NOTICES, [])


def notify(message: str) -> None:
    """Queue a small plain-text notice about the URL state; shown at the top of the page.

    ``message`` is displayed with ``st.text`` (never markdown), so it may quote user
    input; still, pass values through :func:`quote_value` to keep notices short.
    """
    if message not in notices():
        notices().append(message)


def show_notices(where=st) -> None:
    """Display the queued notices as plain text (``st.text``: no markdown, no HTML)."""
    for message in notices():
        where.text("\u26a0 " + message)


def quote_value(value: str, limit: int = NOTICE_VALUE_CHARS) -> str:
    """``value`` made safe and short for a plain-text notice: control characters
    escaped, at most ``limit`` characters followed by the total length."""
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in value[: limit + 1])
    if len(value) > limit:
        return f"{shown[:limit]}\u2026 ({len(value):,} characters)"
    return shown


def _in_fragment() -> bool:
    """True while code runs inside an ``st.fragment`` body."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

        return ThreadState.get().fragment_id is not None
    except Exception:  # pragma: no cover - internal API moved
        return False


def _streamlit_bound(name: str) -> bool:
    """Whether Streamlit holds a widget binding for query parameter ``name``."""
    try:
        with _qp() as qp:
            return bool(qp.is_bound(name))
    except Exception:  # pragma: no cover - internal API moved
        return False


def keep_params(*keys: str) -> None:
    """Declare URL keys of widgets that exist but did not run this time (the bodies of
    the tabs that are not open, a closed expander's content that is skipped), so
    :func:`report_unknown_params` keeps them in the URL: a shared link then restores
    them when their tab is opened. Call it where the skipped body would have run."""
    bound_keys().update(keys)


def report_unknown_params() -> None:
    """Report and remove query parameters that no widget claims.

    Called once per full run, after the page. A parameter is kept when a widget of
    this run claimed it, when a widget created inside an ``st.fragment`` ever claimed
    it in this session, or when Streamlit still holds a binding for it (its widget
    lives on, e.g. in a panel that did not rerun).
    """
    claimed = bound_keys() | fragment_keys()
    for name in list(st.query_params.keys()):
        if name in claimed or name in RESERVED_PARAMS or _streamlit_bound(name):
            continue
        notify(f"Ignored unknown URL parameter `{quote_value(name)}`.")
        _drop_param(name, keep_state=True)


# ---------------------------------------------------------------------------
# Reading and removing raw URL values
# ---------------------------------------------------------------------------
@contextmanager
def _qp() -> Iterator[Any]:
    """Streamlit's internal QueryParams object (holds the seeding copy of the URL)."""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    with get_session_state().query_params() as qp:
        yield qp


def _raw(key: str) -> list[str] | None:
    """The raw URL value(s) a widget with ``key`` could be seeded from, or None.

    Streamlit seeds a bound widget from the query string the browser sent with this
    run (on first load, page switches and history navigation), so that copy is the
    one checked; the live ``st.query_params`` is checked too while the widget has no
    state yet.
    """
    values: list[str] | None = None
    try:
        with _qp() as qp:
            initial = qp._initial_query_params.get(key)
        if initial is not None:
            values = [str(v) for v in initial] if isinstance(initial, (list, tuple)) else [str(initial)]
    except Exception:  # pragma: no cover - internal API moved
        values = None
    if values is None and key not in st.session_state and key in st.query_params:
        values = st.query_params.get_all(key)
    return values


def _drop_param(key: str, *, keep_state: bool = False) -> None:
    """Remove ``key`` from the URL, from the copy widgets are seeded from and (unless
    ``keep_state``) from session state, before any widget with that key exists."""
    try:
        with _qp() as qp:
            qp._initial_query_params.pop(key, None)
            qp.remove_param(key)  # bypasses the bound-param guard, updates the browser URL
    except Exception:  # pragma: no cover - internal API moved
        try:
            del st.query_params[key]
        except Exception:
            pass
    if not keep_state and key in st.session_state:
        try:
            del st.session_state[key]
        except Exception:  # pragma: no cover - widget already created this run
            pass


def _reject(key: str, label: str, problem: str | None, raw: list[str]) -> bool:
    """Drop an invalid URL value and queue a notice; True when it was invalid."""
    if not problem:
        return False
    _drop_param(key)
    shown = quote_value(",".join(raw))
    notify(f"Ignored URL parameter `{quote_value(key)}={shown}` ({quote_value(label, 80)}): {problem}; using the default.")
    return True


def _number_problem(raw: list[str], lo: float, hi: float, integer: bool, count: int) -> str | None:
    if len(raw) != count:
        return f"expected {count} value{'s' if count > 1 else ''}"
    for r in raw:
        if len(r) > 64:
            return "too long for a number"
        try:
            v = float(r)
        except ValueError:
            return "not a number"
        if not math.isfinite(v):
            return "not a finite number"
        if integer:
            if v != int(v):
                return "not a whole number"
            if abs(v) > MAX_SAFE_INTEGER:
                return "too large a whole number"
        if v != 0 and abs(v) < 1e-300:
            return "too close to zero to be represented safely"
        if v < lo or v > hi:
            return f"outside the allowed range [{lo:g}, {hi:g}]"
    return None


def _option_problem(raw: list[str], options: Sequence[Any], format_func: Callable[[Any], str] | None,
                    multi: bool, count: int = 1) -> str | None:
    # Streamlit writes the displayed label to the URL, so with a format_func only the
    # formatted labels are accepted back.
    fmt = format_func if format_func is not None else str
    allowed = {str(fmt(o)) for o in options}
    values = raw
    if multi and len(raw) == 1 and raw[0] not in allowed and "," in raw[0]:
        values = raw[0].split(",")
    if not multi and len(values) != count:
        return "expected one value" if count == 1 else f"expected {count} values"
    bad = [r for r in values if r not in allowed and not (multi and r == "")]
    if bad:
        choices = ", ".join(sorted(allowed))
        return f"not one of the choices ({quote_value(choices, 120)})"
    return None


def _register(key: str) -> None:
    if not key:
        raise ValueError("bound widgets need a key (it is the URL parameter name)")
    bound_keys().add(key)
    if _in_fragment():
        fragment_keys().add(key)


def _is_integer(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# ---------------------------------------------------------------------------
# Bound widgets
# ---------------------------------------------------------------------------
def slider(label: str, min_value, max_value, value, *, key: str, where=st, **kwargs):
    """``st.slider`` bound to the URL parameter ``key``. A two-element ``value``
    makes a range slider."""
    _register(key)
    raw = _raw(key)
    if raw is not None:
        integer = all(_is_integer(v) for v in (min_value, max_value))
        count = 2 if isinstance(value, (tuple, list)) else 1
        _reject(key, label, _number_problem(raw, min_value, max_value, integer, count), raw)
    return where.slider(label, min_value, max_value, value, key=key, bind="query-params", **kwargs)


def number_input(label: str, min_value, max_value, value, *, key: str, where=st, **kwargs):
    """``st.number_input`` bound to the URL parameter ``key``."""
    _register(key)
    raw = _raw(key)
    if raw is not None:
        lo = -math.inf if min_value is None else min_value
        hi = math.inf if max_value is None else max_value
        _reject(key, label, _number_problem(raw, lo, hi, _is_integer(value), 1), raw)
    return where.number_input(
        label, min_value=min_value, max_value=max_value, value=value, key=key, bind="query-params", **kwargs
    )


def _choice(fn_name: str, label: str, options: Sequence[Any], *, key: str, where, multi=False, **kwargs):
    _register(key)
    if kwargs.get("format_func") is not None:
        _LABELS[key] = kwargs["format_func"]
    raw = _raw(key)
    if raw is not None:
        count = 2 if isinstance(kwargs.get("value"), (tuple, list)) else 1
        _reject(key, label, _option_problem(raw, options, kwargs.get("format_func"), multi, count), raw)
    return getattr(where, fn_name)(label, options, key=key, bind="query-params", **kwargs)


def selectbox(label: str, options: Sequence[Any], *, key: str, where=st, **kwargs):
    """``st.selectbox`` bound to the URL parameter ``key``."""
    return _choice("selectbox", label, options, key=key, where=where, **kwargs)


def radio(label: str, options: Sequence[Any], *, key: str, where=st, **kwargs):
    """``st.radio`` bound to the URL parameter ``key``."""
    return _choice("radio", label, options, key=key, where=where, **kwargs)


def segmented_control(label: str, options: Sequence[Any], *, key: str, where=st, **kwargs):
    """``st.segmented_control`` bound to the URL parameter ``key``."""
    multi = kwargs.get("selection_mode") == "multi"
    return _choice("segmented_control", label, options, key=key, where=where, multi=multi, **kwargs)


def select_slider(label: str, options: Sequence[Any], *, key: str, where=st, **kwargs):
    """``st.select_slider`` bound to the URL parameter ``key`` (use it for log-spaced
    choices such as ``[1, 2, 5, 10, 20, 50, ...]``). A two-element ``value`` makes a
    range select slider (two URL values)."""
    return _choice("select_slider", label, options, key=key, where=where, **kwargs)


def multiselect(label: str, options: Sequence[Any], *, key: str, where=st, **kwargs):
    """``st.multiselect`` bound to the URL parameter ``key``."""
    return _choice("multiselect", label, options, key=key, where=where, multi=True, **kwargs)


def _bool_widget(fn_name: str, label: str, value: bool, *, key: str, where, **kwargs):
    _register(key)
    raw = _raw(key)
    if raw is not None:
        ok = len(raw) == 1 and raw[0].lower() in {"true", "false"}
        _reject(key, label, None if ok else "expected true or false", raw)
    return getattr(where, fn_name)(label, value=value, key=key, bind="query-params", **kwargs)


def toggle(label: str, value: bool = False, *, key: str, where=st, **kwargs) -> bool:
    """``st.toggle`` bound to the URL parameter ``key``."""
    return _bool_widget("toggle", label, value, key=key, where=where, **kwargs)


def checkbox(label: str, value: bool = False, *, key: str, where=st, **kwargs) -> bool:
    """``st.checkbox`` bound to the URL parameter ``key``."""
    return _bool_widget("checkbox", label, value, key=key, where=where, **kwargs)


def _text_problem(raw: list[str], max_chars: int) -> str | None:
    if len(raw) != 1:
        return "expected one value"
    if len(raw[0]) > max_chars:
        return f"longer than {max_chars:,} characters"
    if "\x00" in raw[0]:
        return "contains a NUL character"
    return None


def text_input(label: str, value: str = "", *, key: str, where=st, max_chars: int | None = None, **kwargs) -> str:
    """``st.text_input`` bound to the URL parameter ``key``; at most ``max_chars``
    characters (default :data:`TEXT_INPUT_MAX_CHARS`), typed or from the URL.

    The returned text is user input: show it with ``st.text``/``st.code`` or escape it,
    never as markdown."""
    cap = TEXT_INPUT_MAX_CHARS if max_chars is None else max_chars
    _register(key)
    raw = _raw(key)
    if raw is not None:
        _reject(key, label, _text_problem(raw, cap), raw)
    return where.text_input(label, value=value, key=key, max_chars=cap, bind="query-params", **kwargs)


def text_area(label: str, value: str = "", *, key: str, where=st, max_chars: int | None = None, **kwargs) -> str:
    """``st.text_area`` bound to the URL parameter ``key``; at most ``max_chars``
    characters (default :data:`TEXT_AREA_MAX_CHARS`), typed or from the URL."""
    cap = TEXT_AREA_MAX_CHARS if max_chars is None else max_chars
    _register(key)
    raw = _raw(key)
    if raw is not None:
        _reject(key, label, _text_problem(raw, cap), raw)
    return where.text_area(label, value=value, key=key, max_chars=cap, bind="query-params", **kwargs)


# ---------------------------------------------------------------------------
# Tabs and expanders whose state is part of the URL (issue 14)
# ---------------------------------------------------------------------------
def tab_bar(label: str, options: Sequence[str], *, key: str, default: str | None = None, where=st,
            **kwargs) -> str:
    """Tabs whose choice lives in the URL and whose bodies run only when chosen.

    A URL-bound ``st.segmented_control`` (one choice always selected) used as a tab
    switcher: ``?ra_tab=Max pooling (1.3.2)`` reopens that tab, and only the chosen
    body runs (``st.tabs`` runs every body)::

        tab = widgets.tab_bar("View", ["Convolution", "Max pooling"], key="ra_tab")
        if tab == "Convolution":
            conv_panel()
        else:
            pool_panel()

    ``options`` are the labels shown (plain strings, unique, no markdown). Widgets of
    the bodies that did not run can keep their URL values with :func:`keep_params`.
    """
    options = list(options)
    if not options:
        raise ValueError("tab_bar needs at least one option")
    chosen_default = options[0] if default is None else default
    kwargs.setdefault("label_visibility", "collapsed")
    kwargs.setdefault("width", "stretch")
    value = segmented_control(label, options, key=key, where=where, default=chosen_default,
                              required=True, **kwargs)
    return chosen_default if value is None else value


def expander(label: str, *, key: str, expanded: bool = False, where=st, **kwargs):
    """``st.expander`` whose open/closed state lives in the URL (``?key=true``).

    Streamlit 1.67's ``st.expander`` takes ``key`` and ``bind="query-params"``: the
    state is tracked (toggling reruns the app) and the returned container's ``.open``
    says whether it is open, so expensive content can be skipped while closed::

        with widgets.expander("Dynamical isometry", key="rnn_iso") as box:
            if box.open:
                isometry_panel()
    """
    _register(key)
    raw = _raw(key)
    if raw is not None:
        ok = len(raw) == 1 and raw[0].lower() in {"true", "false"}
        _reject(key, label, None if ok else "expected true or false", raw)
    return where.expander(label, expanded=expanded, key=key, bind="query-params", **kwargs)


# ---------------------------------------------------------------------------
# Presets
# ---------------------------------------------------------------------------
# key -> format_func of choice widgets (keys are unique app-wide), so a preset can write
# the displayed label to the URL as Streamlit itself does.
_LABELS: dict[str, Callable[[Any], str]] = {}


def url_value(key: str, value: Any) -> str | list[str]:
    """The URL text Streamlit writes for ``value`` of the bound widget ``key``."""
    fmt = _LABELS.get(key)

    def one(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(fmt(v)) if fmt is not None else str(v)

    if isinstance(value, (list, tuple)):
        return [one(v) for v in value]
    return one(value)


def apply_preset(values: dict[str, Any]) -> None:
    """Set several bound widgets at once (use as a button's ``on_click`` callback, so
    it runs before the widgets are created). The values are also written to the URL:
    a widget the preset makes appear for the first time (a control of another data
    source, say) would otherwise be missing from a shared link."""
    for k, v in values.items():
        st.session_state[k] = v
        try:
            st.query_params[k] = url_value(k, v)
        except Exception:  # pragma: no cover - a value Streamlit cannot put in the URL
            pass


def preset_buttons(presets: dict[str, dict[str, Any]], *, where=st, help: dict[str, str] | None = None) -> None:
    """A row of buttons, one per preset; clicking one sets its widget values."""
    cols = where.columns(len(presets)) if presets else []
    for col, (name, values) in zip(cols, presets.items()):
        col.button(
            name,
            key=f"preset::{name}",
            on_click=apply_preset,
            args=(values,),
            help=(help or {}).get(name),
            width="stretch",
            wrap=True,
        )
