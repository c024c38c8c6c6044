"""Widgets whose values live in the URL: one place for state.

Every widget here is created with Streamlit's native ``bind="query-params"``: its
``key`` is the query-parameter name, so a copied URL reopens the same view. Before the
widget is created, the value in the URL (if any) is validated; an unusable value
(``depth=abc``, ``depth=-5``) is reported in a small notice on the page and Streamlit
falls back to the default (it ignores and removes invalid bound values itself).
Query parameters that no widget on the page claims are reported and removed by
:func:`report_unknown_params`, which ``dashboard/app.py`` calls after each page.

Keys must be unique across the whole app; prefix them with the page's short name
(``sn_depth``, ``rnn_steps``) except for the few shared sidebar keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

_BOUND = "_gsl_bound_keys"
_NOTICES = "_gsl_param_notices"
# Query parameters Streamlit itself understands; never reported as unknown.
RESERVED_PARAMS = frozenset({"embed", "embed_options"})


# ---------------------------------------------------------------------------
# Run bookkeeping (called by app.py)
# ---------------------------------------------------------------------------
def begin_run() -> None:
    """Reset the per-run registry of bound keys and notices."""
    st.session_state[_BOUND] = set()
    st.session_state[_NOTICES] = []


def bound_keys() -> set[str]:
    return st.session_state.setdefault(_BOUND, set())


def notices() -> list[str]:
    return st.session_state.setdefault(_NOTICES, [])


def notify(message: str) -> None:
    """Queue a small notice about the URL state; shown at the top of the page."""
    if message not in notices():
        notices().append(message)


def report_unknown_params() -> None:
    """Report and remove query parameters that no widget of this run claimed."""
    claimed = bound_keys()
    for name in list(st.query_params.keys()):
        if name in claimed or name in RESERVED_PARAMS:
            continue
        notify(f"Ignored unknown URL parameter `{name}`.")
        try:
            del st.query_params[name]
        except Exception:  # pragma: no cover - bound or already gone
            pass


# ---------------------------------------------------------------------------
# Validation of raw URL values
# ---------------------------------------------------------------------------
def _raw(key: str) -> list[str] | None:
    """The raw URL value(s) for ``key`` on first render, or None when the widget
    already has state (the URL then mirrors the widget, not the other way round)."""
    if key in st.session_state or key not in st.query_params:
        return None
    return st.query_params.get_all(key)


def _check(key: str, label: str, problem: str | None, raw: list[str]) -> None:
    if problem:
        shown = ",".join(raw)
        notify(f"Ignored URL parameter `{key}={shown}` ({label}): {problem}; using the default.")


def _number_problem(raw: list[str], lo: float, hi: float, integer: bool, count: int) -> str | None:
    if len(raw) != count:
        return f"expected {count} value{'s' if count > 1 else ''}"
    for r in raw:
        try:
            v = float(r)
        except ValueError:
            return "not a number"
        if not math.isfinite(v):
            return "not a finite number"
        if integer and v != int(v):
            return "not a whole number"
        if v < lo or v > hi:
            return f"outside the allowed range [{lo:g}, {hi:g}]"
    return None


def _option_problem(raw: list[str], options: Sequence[Any], format_func: Callable[[Any], str] | None, multi: bool) -> str | None:
    # Streamlit writes the displayed label to the URL, so with a format_func only the
    # formatted labels are accepted back.
    fmt = format_func if format_func is not None else str
    allowed = {str(fmt(o)) for o in options}
    if not multi and len(raw) != 1:
        return "expected one value"
    values = raw
    if multi and len(raw) == 1 and raw[0] not in allowed and "," in raw[0]:
        values = raw[0].split(",")
    bad = [r for r in values if r not in allowed and r != ""]
    if bad:
        return f"not one of the choices ({', '.join(sorted(allowed))[:120]})"
    return None


def _register(key: str) -> None:
    if not key:
        raise ValueError("bound widgets need a key (it is the URL parameter name)")
    bound_keys().add(key)


# ---------------------------------------------------------------------------
# Bound widgets
# ---------------------------------------------------------------------------
def slider(label: str, min_value, max_value, value, *, key: str, where=st, **kwargs):
    """``st.slider`` bound to the URL parameter ``key``. A two-element ``value``
    makes a range slider."""
    _register(key)
    raw = _raw(key)
    if raw is not None:
        integer = all(isinstance(v, int) for v in (min_value, max_value))
        count = 2 if isinstance(value, (tuple, list)) else 1
        _check(key, label, _number_problem(raw, min_value, max_value, integer, count), raw)
    return where.slider(label, min_value, max_value, value, key=key, bind="query-params", **kwargs)


def number_input(label: str, min_value, max_value, value, *, key: str, where=st, **kwargs):
    """``st.number_input`` bound to the URL parameter ``key``."""
    _register(key)
    raw = _raw(key)
    if raw is not None:
        lo = -math.inf if min_value is None else min_value
        hi = math.inf if max_value is None else max_value
        integer = isinstance(value, int) and not isinstance(value, bool)
        _check(key, label, _number_problem(raw, lo, hi, integer, 1), raw)
    return where.number_input(
        label, min_value=min_value, max_value=max_value, value=value, key=key, bind="query-params", **kwargs
    )


def _choice(fn_name: str, label: str, options: Sequence[Any], *, key: str, where, multi=False, **kwargs):
    _register(key)
    raw = _raw(key)
    if raw is not None:
        _check(key, label, _option_problem(raw, options, kwargs.get("format_func"), multi), raw)
    return getattr(where, fn_name)(label, options, key=key, bind="query-params", **kwargs)


def selectbox(label: str, options: Sequence[Any], *, key: str, where=st, **kwargs):
    """``st.selectbox`` bound to the URL parameter ``key``."""
    return _choice("selectbox", label, options, key=key, where=where, **kwargs)


def radio(label: str, options: Sequence[Any], *, key: str, where=st, **kwargs):
    """``st.radio`` bound to the URL parameter ``key``."""
    return _choice("radio", label, options, key=key, where=where, **kwargs)


def segmented_control(label: str, options: Sequence[Any], *, key: str, where=st, **kwargs):
    """``st.segmented_control`` bound to the URL parameter ``key``."""
    return _choice("segmented_control", label, options, key=key, where=where, **kwargs)


def select_slider(label: str, options: Sequence[Any], *, key: str, where=st, **kwargs):
    """``st.select_slider`` bound to the URL parameter ``key`` (use it for log-spaced
    choices such as ``[1, 2, 5, 10, 20, 50, ...]``)."""
    return _choice("select_slider", label, options, key=key, where=where, **kwargs)


def multiselect(label: str, options: Sequence[Any], *, key: str, where=st, **kwargs):
    """``st.multiselect`` bound to the URL parameter ``key``."""
    return _choice("multiselect", label, options, key=key, where=where, multi=True, **kwargs)


def _bool_widget(fn_name: str, label: str, value: bool, *, key: str, where, **kwargs):
    _register(key)
    raw = _raw(key)
    if raw is not None:
        ok = len(raw) == 1 and raw[0].lower() in {"true", "false", "1", "0"}
        _check(key, label, None if ok else "expected true or false", raw)
    return getattr(where, fn_name)(label, value=value, key=key, bind="query-params", **kwargs)


def toggle(label: str, value: bool = False, *, key: str, where=st, **kwargs) -> bool:
    """``st.toggle`` bound to the URL parameter ``key``."""
    return _bool_widget("toggle", label, value, key=key, where=where, **kwargs)


def checkbox(label: str, value: bool = False, *, key: str, where=st, **kwargs) -> bool:
    """``st.checkbox`` bound to the URL parameter ``key``."""
    return _bool_widget("checkbox", label, value, key=key, where=where, **kwargs)


def text_input(label: str, value: str = "", *, key: str, where=st, max_chars: int | None = None, **kwargs) -> str:
    """``st.text_input`` bound to the URL parameter ``key``."""
    _register(key)
    raw = _raw(key)
    if raw is not None and max_chars is not None and len(raw[0]) > max_chars:
        _check(key, label, f"longer than {max_chars} characters", raw)
    return where.text_input(label, value=value, key=key, max_chars=max_chars, bind="query-params", **kwargs)


def text_area(label: str, value: str = "", *, key: str, where=st, **kwargs) -> str:
    """``st.text_area`` bound to the URL parameter ``key``."""
    _register(key)
    return where.text_area(label, value=value, key=key, bind="query-params", **kwargs)


# ---------------------------------------------------------------------------
# Presets
# ---------------------------------------------------------------------------
def apply_preset(values: dict[str, Any]) -> None:
    """Set several bound widgets at once (use as a button's ``on_click`` callback, so
    it runs before the widgets are created). The URL follows the widgets."""
    for k, v in values.items():
        st.session_state[k] = v


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
        )
