"""Bad CSV uploads on the scaling page: messages name the rows, the rest is still fitted."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from conftest import metric, page_app, shown_text

from engine import scaling as sc
from pages.scaling_laws import SOURCES


class _Upload:
    """Stand-in for Streamlit's UploadedFile (AppTest cannot drive file_uploader)."""

    def __init__(self, text: str, name: str = "runs.csv"):
        self._data = text.encode()
        self.name = name

    def getvalue(self) -> bytes:
        return self._data


def _good_frame() -> pd.DataFrame:
    runs = sc.synthetic_isoflop(sc.HOFFMANN_2022, budgets=(1e18, 1e19, 1e20, 1e21), points_per_budget=7)
    return pd.DataFrame({"C": runs.flops, "N": runs.params, "loss": runs.loss})


def _csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue()


def _run_upload(monkeypatch, text: str):
    from streamlit.delta_generator import DeltaGenerator

    monkeypatch.setattr(DeltaGenerator, "file_uploader", lambda self, *a, **k: _Upload(text))
    # AppTest runs the page in this process, so the patched uploader is used.
    at = page_app("scaling_laws", {"sl_source": SOURCES["upload"]}).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_bad_rows_are_named_and_the_rest_fitted(monkeypatch):
    df = _good_frame().astype(object)
    df.loc[2, "loss"] = np.nan  # row 3
    df.loc[5, "N"] = -10.0  # row 6
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)  # duplicate of row 1 -> row 29
    df.loc[len(df)] = [1e23, 1e9, 2.0]  # a budget with one run -> row 30
    at = _run_upload(monkeypatch, _csv(df))
    text = shown_text(at)
    assert "Row 3: loss is missing" in text
    assert "Row 6: params must be positive" in text
    assert "Row 29: duplicate" in text
    assert "row 30" in text and "only 1 run" in text
    assert abs(float(metric(at, "Exponent a · A2")) - sc.HOFFMANN_2022.exponent) < 0.03


def test_missing_column_is_a_clear_error(monkeypatch):
    at = _run_upload(monkeypatch, "x,y\n1,2\n3,4\n")
    text = shown_text(at)
    assert "Missing column(s)" in text and "x, y" in text


def test_single_budget_upload(monkeypatch):
    df = _good_frame().iloc[:7]
    at = _run_upload(monkeypatch, _csv(df))
    assert "at least 2 budgets" in shown_text(at)


def test_not_a_csv(monkeypatch):
    at = _run_upload(monkeypatch, "\x00\x01garbage,\n\"unterminated")
    assert at.error  # a message, not a traceback


def test_nonpositive_nan_and_non_monotone_rows(monkeypatch):
    """Zero/negative FLOPs, NaN loss and a budget whose losses fall monotonically (no minimum
    inside): each is named, the remaining budgets are fitted by every approach."""
    df = _good_frame().astype(object)
    df.loc[0, "C"] = 0.0
    df.loc[1, "C"] = -5.0
    df.loc[3, "loss"] = "nan"
    mono = pd.DataFrame({"C": [1e22] * 4, "N": [1e9, 2e9, 4e9, 8e9], "loss": [2.4, 2.3, 2.2, 2.1]})
    at = _run_upload(monkeypatch, _csv(pd.concat([df, mono], ignore_index=True)))
    text = shown_text(at)
    assert "Rows 1, 2: flops must be positive" in text
    assert "Row 4: loss is missing" in text
    assert "outside the sampled range" in text or "opens downward" in text
    for k in (1, 2, 3):
        assert metric(at, f"Exponent a · A{k}")


def test_row_cap_keeps_the_first_rows_with_a_message(monkeypatch):
    monkeypatch.setenv("GSL_MAX_UPLOAD_ROWS", "20")
    from dashboard import settings

    settings.max_upload_rows.cache_clear()
    try:
        at = _run_upload(monkeypatch, _csv(_good_frame()))
        text = shown_text(at)
        assert "more than 20 rows" in text and "GSL_MAX_UPLOAD_ROWS" in text
        assert metric(at, "Exponent a · A2")  # 20 rows = 2 full budgets + part of a third: still fitted
    finally:
        monkeypatch.delenv("GSL_MAX_UPLOAD_ROWS")
        settings.max_upload_rows.cache_clear()
