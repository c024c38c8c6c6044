"""The scaling page's sweep runs on the server's job queue and feeds the three approaches."""

from __future__ import annotations

import pandas as pd
from conftest import metric, page_app, shown_text

from dashboard import jobs
from pages.scaling_laws import MY_SWEEP, SOURCES, SWEEP_KEY

MODULE = "scaling_laws"


def test_sweep_panel_queues_a_law_sweep_and_feeds_the_fits():
    at = page_app(MODULE, {"sl_source": SOURCES["synthetic"], "sl_x_sweep": "true"}).run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    text = shown_text(at)
    assert "Ray: not configured on this server" in text  # no operator address: local pool only
    assert [o for o in at.radio(key="sl_sw_backend").options] == ["local"]
    at.radio(key="sl_sw_trainer").set_value("law").run(timeout=300)
    at.multiselect(key="sl_sw_budgets").set_value([1e9, 3e9, 1e10, 3e10]).run(timeout=300)
    at.button(key="sl_sw_run").click().run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    job_id = at.session_state[SWEEP_KEY]
    final = jobs._get_queue().wait(job_id, timeout=240)
    assert final.state == "done", (final.state, final.error)
    runs = final.data["runs"]
    assert len(runs) == final.data["total"] and final.fraction == 1.0
    assert final.data["curves"]  # loss curves recorded for Approach 1
    at.run(timeout=300)
    at.run(timeout=300)
    assert isinstance(at.session_state[MY_SWEEP], pd.DataFrame) and len(at.session_state[MY_SWEEP]) == len(runs)
    at.selectbox(key="sl_source").set_value("mysweep").run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    for k in (1, 2, 3):
        assert float(metric(at, f"Exponent a · A{k}")) > 0


def test_ray_is_offered_only_with_an_operator_address(monkeypatch):
    from dashboard import settings

    monkeypatch.setenv("GSL_RAY_ADDRESS", "local")
    settings.ray_address.cache_clear()
    try:
        at = page_app(MODULE, {"sl_source": SOURCES["synthetic"], "sl_x_sweep": "true",
                               "sl_sw_addr": "127.0.0.1:1"}).run(timeout=300)
        assert not at.exception, [e.value for e in at.exception]
        assert list(at.radio(key="sl_sw_backend").options) == ["local", "ray"]
        assert not [t for t in at.text_input if t.key == "sl_sw_addr"]  # no address box: URL cannot set it
    finally:
        monkeypatch.delenv("GSL_RAY_ADDRESS")
        settings.ray_address.cache_clear()
