"""AppTest tests for pages/scaling_laws.py: defaults, sources, bad CSVs, checks, sweep panel."""

from __future__ import annotations

import pytest
from conftest import metric, page_app, run_page, shown_text

from engine import scaling as sc
from pages.scaling_laws import LAW_KEYS, SOURCES

MODULE = "scaling_laws"


def _float(s: str) -> float:
    return float(s.replace(",", ""))


def test_default_view_fits_and_extrapolates_to_1e15():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"]})
    a = _float(metric(at, "Exponent a"))
    assert abs(a - sc.HOFFMANN_2022.exponent) < 0.02
    n = _float(metric(at, "N_opt at C = 1e15"))
    assert 1e6 < n < 1e7
    text = shown_text(at)
    assert "bootstrap interval" in text and "1e10 parameters are optimal at 1e15 FLOPs" in text


def test_extrapolation_budget_slider_moves_the_readout():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"]})
    n15 = _float(metric(at, "N_opt at C = 1e15"))
    at.slider(key="sl_at").set_value(20.0).run()
    assert not at.exception
    n20 = _float(metric(at, "N_opt at C = 1e20"))
    assert n20 / n15 == pytest.approx(10 ** (5 * _float(metric(at, "Exponent a"))), rel=0.02)


def test_budget_range_drops_budgets_to_one_and_explains():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"]})
    at.slider(key="sl_range").set_value((18.0, 18.2)).run()
    assert not at.exception
    text = shown_text(at)
    assert "No law can be fitted" in text and "at least 2 budgets" in text


def test_besiroglu_source_changes_exponent():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"], "sl_law": LAW_KEYS["besiroglu"]})
    assert abs(_float(metric(at, "Exponent a")) - sc.BESIROGLU_2024.exponent) < 0.02


def test_table2_source_explains_why_no_fit():
    at = run_page(MODULE, {"sl_source": SOURCES["table2"]})
    text = shown_text(at)
    assert "cannot produce an IsoFLOP fit" in text
    assert "only 1 run" in text and "row 1" in text
    assert "No law can be fitted" in text


def test_compute_optimal_check_table():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"]})
    at.number_input(key="sl_chk_n").set_value(1e10).run()
    at.number_input(key="sl_chk_d").set_value(1e4).run()
    assert not at.exception
    df = at.dataframe[-1].value
    assert set(df["verdict"]) == {"too many parameters"}
    assert "6.00e+14 FLOPs" in shown_text(at)


def test_chinchilla_source_when_shared_present(shared_dir):
    if not (shared_dir / "data" / "chinchilla_fig4_epoch_extracted.csv").exists():
        pytest.skip("no Chinchilla data")
    at = run_page(MODULE, {"sl_source": SOURCES["chinchilla"]})
    a = _float(metric(at, "Exponent a"))
    assert 0.462 <= a <= 0.534


def test_bad_url_value_keeps_page_working():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"], "sl_tol": "abc"})
    assert "Ignored URL parameter" in shown_text(at)
    assert metric(at, "Exponent a")


def test_upload_source_without_file_asks_for_one():
    at = run_page(MODULE, {"sl_source": SOURCES["upload"]})
    assert "Upload a CSV" in shown_text(at)


def test_bias_panel_reports_true_exponent():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"], "sl_b_alpha": "0.2", "sl_b_beta": "0.6"})
    assert "True a = beta/(alpha+beta) = **0.750**" in shown_text(at)


def test_sweep_panel_runs_law_stand_in_and_feeds_the_fit():
    at = page_app(MODULE, {"sl_source": SOURCES["synthetic"], "sl_sw_backend": "local"}).run()
    assert not at.exception
    at.multiselect(key="sl_sw_budgets").set_value([1e10, 1e11, 1e12]).run()
    at.multiselect(key="sl_sw_sizes").set_value([8, 16, 24, 32, 48, 64, 96, 128]).run()
    at.radio(key="sl_sw_trainer").set_value("law").run()
    at.button(key="sl_sw_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Done in" in str([s.label for s in at.status]) or "Choose *Your sweep" in shown_text(at)
    at.selectbox(key="sl_source").set_value("mysweep").run()
    assert not at.exception
    assert _float(metric(at, "Exponent a")) > 0


def test_shipped_sweep_is_the_default_and_fits():
    at = run_page(MODULE)
    assert at.selectbox(key="sl_source").value == "sweep"
    text = shown_text(at)
    # the smallest budgets have their optimum below the smallest model: left out, with reasons
    assert "left out of the fit" in text and "outside the sampled range" in text
    a = _float(metric(at, "Exponent a"))
    fit = sc.fit_isoflop(*(sc.load_shipped_sweep()[c] for c in ("flops", "params", "val_loss")))
    assert a == pytest.approx(fit.exponent, abs=1e-3)
    assert len(fit.included) >= 2
