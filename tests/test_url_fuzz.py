"""URL fuzzing (issue 17): no URL value can crash a page or inject markdown.

For every registered page the test discovers its URL keys (the bound keys a default
run registers in ``widgets.bound_keys()``, plus the ``key="..."`` literals of the page
module, which reach widgets in tabs or expanders the default run does not open), then
runs the page once per value of a fixed corpus of bad values with *every* key set to
that value. It asserts that no run raises, and that nothing the page rendered as
markdown (text, captions, alerts, metrics, labels, help) contains a live link or image
built from the value, or raw HTML from it in an HTML-enabled element.

When a batched run fails, the keys are retried one at a time, so the failure names
the page, the key and the value.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from conftest import page_app, walk_tree

from dashboard import registry

PHISH = "`x` [phish](http://example.com/p) ![t](http://example.com/t.png)"
HTML = "<script>alert(1)</script><img src=x>"
CORPUS: list[str] = [
    "abc", "nan", "NaN", "inf", "-inf", "1e400", "-1e400", "1" + "0" * 399, "1e-320", "5e-324",
    "-5", "0", "", "é😀", PHISH, HTML, "x" * 10_000,
]
# Fields of element protos that Streamlit renders as markdown.
_MARKDOWN_FIELDS = ("body", "label", "help", "delta", "caption", "captions")
# Elements whose body is shown verbatim (no markdown), so user text there is fine.
_PLAIN_TYPES = {"text", "code", "json", "exception", "text_input", "text_area", "dataframe", "table", "arrow_data_frame"}
_LINK = re.compile(r"\]\(\s*<?\s*https?://example\.com", re.IGNORECASE)


def _keys_of(spec: registry.PageSpec) -> list[str]:
    """URL keys of a page: what a default run binds plus the key literals in its source."""
    at = page_app(spec.module).run()
    keys = set(at.session_state["_gsl_bound_keys"]) if "_gsl_bound_keys" in at.session_state else set()
    source = inspect.getsource(importlib.import_module(spec.module))
    keys |= set(re.findall(r"""key\s*=\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""", source))
    keys -= {"lecture", "export"}  # sidebar keys, not part of a page run
    return sorted(keys)


def _strings(proto) -> list[tuple[str, str]]:
    """(field, text) pairs of markdown-rendered string fields of a protobuf message."""
    out: list[tuple[str, str]] = []
    if proto is None or not hasattr(proto, "ListFields"):
        return out
    for field, value in proto.ListFields():
        if field.name in _MARKDOWN_FIELDS:
            if isinstance(value, str):
                out.append((field.name, value))
            elif not hasattr(value, "ListFields") and all(isinstance(v, str) for v in value):
                out.extend((field.name, v) for v in value)
        elif hasattr(value, "ListFields") and field.name not in _PLAIN_TYPES:
            out.extend(_strings(value))
    return out


def _injections(at) -> list[str]:
    """Markdown-rendered texts that carry a link/image to example.com, or raw HTML."""
    found: list[str] = []
    for node in walk_tree(at._tree):
        kind = getattr(node, "type", "")
        if kind in _PLAIN_TYPES:
            continue
        proto = getattr(node, "proto", None)
        for field, text in _strings(proto):
            if _LINK.search(text):
                found.append(f"{kind}.{field}: {text[:160]!r}")
        if kind == "markdown" and getattr(proto, "allow_html", False) and ("<script>alert(1)" in proto.body
                                                                           or "<img src=x>" in proto.body):
            found.append(f"markdown(unsafe_allow_html): {proto.body[:160]!r}")
        if kind == "html" and ("<script>alert(1)" in getattr(proto, "body", "") or "<img src=x>" in getattr(proto, "body", "")):
            found.append(f"html: {proto.body[:160]!r}")
    return found


def _run(spec: registry.PageSpec, query: dict[str, str]):
    at = page_app(spec.module, query, timeout=180).run()
    errors = [f"{type(e).__name__ if not hasattr(e, 'message') else ''}{getattr(e, 'message', e)}"[:300]
              for e in at.exception]
    return errors, _injections(at)


def _label(value: str) -> str:
    return repr(value if len(value) <= 24 else value[:20] + f"...({len(value)} chars)")


@pytest.mark.parametrize("spec", registry.all_pages(), ids=lambda s: s.url_path)
def test_url_values_never_crash_or_inject(spec):
    keys = _keys_of(spec)
    if not keys:
        pytest.skip(f"{spec.url_path} has no URL keys")
    failures: list[str] = []
    for value in CORPUS:
        errors, injected = _run(spec, dict.fromkeys(keys, value))
        if not errors and not injected:
            continue
        # Name the key(s): retry one key at a time.
        named = False
        for key in keys:
            e1, i1 = _run(spec, {key: value})
            if e1 or i1:
                named = True
                failures.append(f"{spec.url_path} ?{key}={_label(value)}: {'; '.join(e1 + i1)[:400]}")
        if not named:
            failures.append(f"{spec.url_path} all keys={_label(value)}: {'; '.join(errors + injected)[:400]}")
    assert not failures, "\n".join(failures)
