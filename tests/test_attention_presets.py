"""Every preset on the Attention, Positional encodings and Translation pages can be reopened
from its URL (issue 14: the audit/tour links to them): opening ``preset_urls()[name]`` sets
every widget the preset names to the preset's value."""

from __future__ import annotations

import urllib.parse

import pytest
from conftest import page_app

import pages.attention as attention
import pages.positional_encodings as positional
import pages.translation as translation

CASES = [(m, name) for m in (attention, positional, translation) for name in m.PRESETS]


def _widget_value(at, key):
    for kind in ("selectbox", "select_slider", "slider", "segmented_control", "multiselect", "text_input", "toggle",
                 "number_input"):
        try:
            return getattr(at, kind)(key=key).value
        except (KeyError, AttributeError):
            continue
    raise KeyError(key)


@pytest.mark.parametrize("module,name", CASES, ids=[f"{m.__name__.split('.')[-1]}:{n}" for m, n in CASES])
def test_preset_url_reopens_the_preset(module, name):
    url = module.preset_urls()[name]
    path, query = url.split("?", 1)
    assert path == "/" + {"pages.attention": "attention", "pages.positional_encodings": "positional-encodings",
                          "pages.translation": "translation"}[module.__name__]
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    at = page_app(module.__name__, {k: v if len(v) > 1 else v[0] for k, v in params.items()}).run()
    assert not at.exception, [e.value for e in at.exception]
    notices = [str(t.value) for t in at.text] + [str(c.value) for c in at.caption]
    assert not any("Ignored" in n for n in notices), notices
    for key, want in module.PRESETS[name].items():
        got = _widget_value(at, key)
        if isinstance(want, list):
            assert list(got) == want, (key, got, want)
        elif isinstance(want, float):
            assert float(got) == pytest.approx(want), (key, got, want)
        else:
            assert got == want, (key, got, want)
