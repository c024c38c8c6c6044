"""The presenter tour: every step renders with its verdict and a link to its page in the
same state; Previous / Next move through the write-up in order; presets are the write-up's
numbers."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from conftest import metric, page_app, shown_table, shown_text

from dashboard import registry, tour
from engine import audit


def _run(step_id: str, **query):
    at = page_app("tour", {"tour_step": step_id, **query}, timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _link(at, page: str) -> str:
    """The URL of the step's page link (a caption when the page is rendered alone)."""
    text = shown_text(at)
    m = re.search(rf"Open /{re.escape(page)} in this state: (/{re.escape(page)}\S*)", text)
    assert m, text[-1500:]
    return m.group(1)


def test_steps_cover_the_writeup_in_order():
    ids = tour.STEP_IDS
    assert ids[0] == "1.1.1" and ids[-1] == "4.2"
    assert len(ids) == len(set(ids))
    sections = [tuple(int(p) for p in re.sub(r"[a-z]$", "", s).split(".")) for s in ids]
    assert sections == sorted(sections)
    names = {fn.__name__ for fn in audit.CHECKS}
    covered = {n for s in tour.STEPS for n in s.checks}
    assert covered <= names
    assert covered == names, f"audit checks with no tour step: {names - covered}"
    for s in tour.STEPS:
        assert s.preset, s.id  # every step opens on the write-up's numbers
        assert all(k.startswith("tour_") for k in s.keys)


@pytest.mark.parametrize("step_id", tour.STEP_IDS)
def test_step_renders_with_verdict_and_link(step_id):
    step = tour.BY_ID[step_id]
    at = _run(step_id)
    text = shown_text(at)
    assert "Ignored" not in text, text[:1500]
    for name in step.checks:
        c = tour.verdict(name)
        assert c.verdict in audit.VERDICTS and c.verdict != audit.ERROR
        assert f"[{c.verdict}]" in text  # the badge
    assert step.claim.replace("*", r"\*").replace("_", r"\_")[:60] in text
    url = _link(at, step.page)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))
    # the link opens the full page in the same state: that page accepts every parameter
    target = page_app(registry.by_url_path(step.page).module, query, timeout=300).run()
    assert not target.exception, [e.value for e in target.exception]
    assert "Ignored" not in shown_text(target)


def test_1_1_1_opens_with_all_weights_one():
    at = _run("1.1.1")
    assert float(metric(at, "df/dx")) == 1.0
    assert "sn_w=1.00" in _link(at, "single-neuron")
    at.button(key="preset::x = -1: gradient 0").click().run()
    assert float(metric(at, "df/dx")) == 0.0


def test_1_1_2_preset_shows_the_counterexample():
    at = _run("1.1.2")
    assert float(metric(at, "df/dx")) == pytest.approx(1.5**10, rel=1e-3)
    at.button(key="preset::w = 1.5, x = -1: vanishes").click().run()
    assert not at.exception
    assert float(metric(at, "df/dx")) == 0.0
    assert "sn_x=-1.00" in _link(at, "single-neuron")


def test_2_3_4_shows_each_law_ratio():
    at = _run("2.3.4")
    table = shown_table(at)
    hoff = table[table["law"].str.startswith("Hoffmann")]["N / N_opt"].iloc[0]
    assert hoff == pytest.approx(1.15, abs=0.02)
    assert "[depends on the law]" in shown_text(at)


def test_next_and_previous_move_and_reset_the_step():
    at = _run("1.1.1")
    at.slider(key="tour_111_depth").set_value(30).run()
    at.button(key="tour_next").click().run()
    assert not at.exception
    assert at.session_state["tour_step"] == "1.1.2"
    assert at.query_params.get("tour_step") in ("1.1.2", ["1.1.2"])
    assert "tour_111_depth" not in at.session_state  # the left step forgets its controls
    at.button(key="tour_prev").click().run()
    assert at.session_state["tour_step"] == "1.1.1"
    assert at.slider(key="tour_111_depth").value == 10  # back on the write-up's numbers
    assert at.button(key="tour_prev").disabled


def test_last_step_disables_next():
    at = _run("4.2")
    assert at.button(key="tour_next").disabled
    assert not at.button(key="tour_prev").disabled


def test_bad_step_in_url_is_reported_not_raised():
    at = page_app("tour", {"tour_step": "9.9"}).run()
    assert not at.exception
    assert "Ignored URL parameter" in shown_text(at)
    assert at.session_state["tour_step"] == "1.1.1"


def test_user_text_stays_text():
    at = _run("4.2", tour_42_prompts="two goldfish\n**bold** [x](http://evil)")
    assert not at.exception
    assert "<a href" not in shown_text(at)


def test_tour_is_registered():
    spec = registry.by_url_path("tour")
    assert spec.module == "pages.tour"
