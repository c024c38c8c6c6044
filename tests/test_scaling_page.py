"""AppTest tests for pages/scaling_laws.py: the three approaches, sources, checks, presets, sweeps."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import metric, page_app, run_page, shown_text

from engine import scaling as sc
from pages.scaling_laws import LAW_KEYS, PRESETS, SOURCES

MODULE = "scaling_laws"
CHINCHILLA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chinchilla_fig4_epoch_extracted.csv"


def _float(s: str) -> float:
    return float(s.replace(",", ""))


def _a(at, k: int) -> float:
    return _float(metric(at, f"Exponent a · A{k}"))


def test_synthetic_source_three_approaches_recover_the_law():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"]})
    assert not at.exception
    for k in (1, 2, 3):
        assert abs(_a(at, k) - sc.HOFFMANN_2022.exponent) < 0.03, k
    n = _float(metric(at, "N_opt at 1e15 · A2"))
    assert 1e6 < n < 1e7
    text = shown_text(at)
    assert "Where they disagree" in text and "1e10 parameters are optimal at 1e15 FLOPs" in text
    assert any("alpha" in str(x.value) or "\\alpha" in str(x.value) for x in at.latex) or "a = " in text


def test_chosen_budget_moves_every_readout():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"]})
    n15 = _float(metric(at, "N_opt at 1e15 · A2"))
    at.slider(key="sl_at").set_value(20.0).run()
    assert not at.exception
    n20 = _float(metric(at, "N_opt at 1e20 · A2"))
    assert n20 / n15 == pytest.approx(10 ** (5 * _a(at, 2)), rel=0.02)
    assert metric(at, "N_opt at 1e20 · A3")


def test_budget_range_down_to_one_budget_explains():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"]})
    at.slider(key="sl_range").set_value((18.0, 18.2)).run()
    assert not at.exception
    text = shown_text(at)
    assert "at least 2 budgets" in text


def test_besiroglu_source_changes_exponent():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"], "sl_law": LAW_KEYS["besiroglu"]})
    assert abs(_a(at, 2) - sc.BESIROGLU_2024.exponent) < 0.02
    assert abs(_a(at, 3) - sc.BESIROGLU_2024.exponent) < 0.02


def test_table2_source_explains_why_no_fit():
    at = run_page(MODULE, {"sl_source": SOURCES["table2"]})
    text = shown_text(at)
    assert "cannot produce an IsoFLOP fit" in text
    assert "only 1 run" in text and "row 1" in text
    assert "N and D move together" in text  # Approach 3 is not identified either


def test_compute_optimal_check_table_has_every_law():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"]})
    at.number_input(key="sl_chk_n").set_value(1e10).run()
    at.number_input(key="sl_chk_d").set_value(1e4).run()
    assert not at.exception
    df = at.table[-1].value
    assert set(df["verdict"]) == {"too many parameters"}
    assert any("Approach 3 fit" in str(i) for i in df.index) and any("Approach 2 fit" in str(i) for i in df.index)
    assert "6.00e+14 FLOPs" in shown_text(at)


def test_chinchilla_source():
    if not CHINCHILLA.exists():
        pytest.skip(f"needs {CHINCHILLA} (Epoch AI's digitisation of Chinchilla Fig. 4), which is missing")
    at = run_page(MODULE, {"sl_source": SOURCES["chinchilla"]}, timeout=300)
    assert 0.462 <= _a(at, 2) <= 0.534
    assert 0.50 < _a(at, 3) < 0.60
    assert "Besiroglu et al. report" in shown_text(at)


def test_bad_url_value_keeps_page_working():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"], "sl_tol": "abc"})
    assert "Ignored URL parameter" in shown_text(at)
    assert metric(at, "Exponent a · A2")


def test_upload_source_without_file_asks_for_one():
    at = run_page(MODULE, {"sl_source": SOURCES["upload"]})
    assert "Upload a CSV" in shown_text(at)


def test_bias_panel_reports_true_exponent():
    at = run_page(MODULE, {"sl_source": SOURCES["synthetic"], "sl_x_bias": "true", "sl_b_alpha": "0.2",
                           "sl_b_beta": "0.6"})
    assert "= **0.750**" in shown_text(at)


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_apply(name):
    if name == "Chinchilla Fig. 4" and not CHINCHILLA.exists():
        pytest.skip(f"needs {CHINCHILLA}")
    at = page_app(MODULE).run(timeout=300)
    at.button(key=f"preset::{name}").click().run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    for key, value in PRESETS[name].items():
        assert at.session_state[key] == value


def test_shipped_sweep_is_the_default_with_four_budgets_and_three_approaches():
    at = run_page(MODULE, timeout=300)
    assert at.selectbox(key="sl_source").value == "sweep"
    df = sc.load_shipped_sweep()
    runs = sc.clean_runs(df, {"flops": "flops", "params": "params", "loss": "val_loss", "tokens": "tokens"}).runs
    fit = sc.fit_isoflop(runs.flops, runs.params, runs.loss, n_boot=1000, level=0.8, seed=0)
    assert len(fit.included) >= 4
    for b in fit.included:
        assert b.params.size >= 5  # each budget straddles its optimum with at least 5 sizes
    iv = fit.bootstrap.exponent_interval()
    assert iv.high - iv.low < 0.25, (iv.low, iv.high)
    assert _a(at, 2) == pytest.approx(fit.exponent, abs=1e-3)
    for k in (1, 3):
        assert _a(at, k) > 0
    assert (sc.ASSETS / "sweep_piglatin_curves.csv").exists()


# The query strings the tour and the audit link to (write-up 2.3 examples).
PRESET_URLS = {
    "2.3.1": {"sl_source": "Write-up Table 2"},
    "2.3.2": {"sl_source": "Synthetic (from a reference law)", "sl_law": "Hoffmann 2022", "sl_noise": "0.0",
              "sl_points": "9", "sl_width": "2.0"},
    "2.3.3": {"sl_at": "15.0"},
    "2.3.4": {"sl_chk_n": "260000.0", "sl_chk_d": "1424180.0"},
}


@pytest.mark.parametrize("name", list(PRESET_URLS))
def test_preset_query_strings_open_cleanly(name):
    at = run_page(MODULE, PRESET_URLS[name], timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    text = shown_text(at)
    assert "Ignored URL parameter" not in text and "Ignored unknown URL parameter" not in text
    if name == "2.3.2":
        assert at.slider(key="sl_noise").value == 0.0 and at.slider(key="sl_width").value == 2.0
    if name == "2.3.4":
        assert f"{6 * 260000 * 1424180:.2e} FLOPs" in text  # C = 6 N D of the shipped 2.2.3 decoder run


# --- damaged shipped files (issue 17) -----------------------------------------------------------
DAMAGES = {
    "binary": b"\x00\xff\xfe\x00garbage\x00" * 50,
    "truncated": b'params,tokens,"flo',
    "wrong columns": b"a,b\n1,2\n",
}


@pytest.fixture
def damaged_assets(tmp_path, monkeypatch):
    """A copy of assets/scaling in tmp_path, used by the page and the engine (caches cleared)."""
    import shutil

    import streamlit as st

    d = tmp_path / "scaling"
    shutil.copytree(sc.ASSETS, d)
    monkeypatch.setattr(sc, "ASSETS", d)
    st.cache_data.clear()
    yield d
    st.cache_data.clear()


@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("name", ["sweep_piglatin.csv", "writeup_table2.csv"])
def test_damaged_runs_file_is_named_and_the_page_keeps_working(damaged_assets, name, damage):
    (damaged_assets / name).write_bytes(DAMAGES[damage])
    source = "sweep" if name.startswith("sweep") else "table2"
    at = run_page(MODULE, {"sl_source": SOURCES[source]})
    errors = " ".join(e.value for e in at.error)
    assert f"assets/scaling/{name} is damaged" in errors and f"git checkout -- assets/scaling/{name}" in errors
    assert "the published laws alone" in shown_text(at)  # the reference laws are still shown
    at.selectbox(key="sl_source").set_value("synthetic").run()  # another source still fits
    assert not at.exception and _a(at, 2) > 0


def test_damaged_curves_and_settings_keep_the_sweep(damaged_assets):
    (damaged_assets / "sweep_piglatin_curves.csv").write_bytes(DAMAGES["binary"])
    (damaged_assets / "sweep_piglatin.json").write_text('{"calls": [')
    at = run_page(MODULE, {"sl_source": SOURCES["sweep"]})
    warnings = " ".join(w.value for w in at.warning)
    assert "assets/scaling/sweep_piglatin_curves.csv is damaged" in warnings
    assert "sweep_piglatin.json" in warnings
    assert not at.error and _a(at, 2) > 0  # Approaches 2 and 3 still fit the runs
