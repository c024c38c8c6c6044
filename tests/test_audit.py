"""Write-up audit: verdicts are computed from the engine, and the page shows them."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import metric, run_page, shown_text

from engine import audit, gradients, relattn

SECTIONS = {"1.1.1", "1.1.2", "1.2.1", "1.3.1", "1.3.2", "2.1.1", "2.1.2", "2.1.3", "2.1.4", "2.2.3",
            "2.3.1", "2.3.2", "2.3.3", "2.3.4", "3.2", "3.3", "4.2"}


@pytest.fixture(scope="module")
def checks():
    return audit.run_audit()


def _find(checks, section, text):
    hits = [c for c in checks if c.section == section and text.lower() in c.claim.lower()]
    assert len(hits) == 1, (section, text, [c.claim for c in checks if c.section == section])
    return hits[0]


def test_every_section_checked_without_errors(checks):
    assert {c.section for c in checks} == SECTIONS
    for c in checks:
        assert c.error is None, (c.section, c.error)
        assert c.verdict in audit.VERDICTS
        assert c.claim and c.evidence and c.page
        if c.verdict == audit.FAILS:
            assert c.correction, c.section
    counts = audit.summary(checks)
    assert sum(counts.values()) == len(checks)


def test_math_verdicts(checks):
    assert _find(checks, "1.1.1", "bounded").verdict == "holds"
    assert _find(checks, "1.1.2", "prod").verdict == "holds"
    assert _find(checks, "1.1.2", "cannot vanish").verdict == "fails"
    assert _find(checks, "1.1.2", "h_(i-1) >= 0").verdict == "fails"
    assert _find(checks, "1.2.1", "(1/16)^(n-1)").verdict == "holds"
    svd = _find(checks, "1.2.1", "W^i = U Sigma^i V^T")
    assert svd.verdict == "fails"
    assert svd.numbers["ln sigma_max(W^k)"] < svd.numbers["k ln sigma_max(W)"] - 1
    assert _find(checks, "1.2.1", "sigma_max(D_i)").verdict == "holds with caveat"
    conv = _find(checks, "1.3.1", "ln 2")
    assert conv.verdict == "fails"
    assert "2.4 x_{i+1}" in conv.evidence and "0.6 x_{i-1}" in conv.evidence
    assert conv.numbers["error of the correct heads"] < 1e-9
    assert _find(checks, "1.3.2", "max pooling").verdict == "fails"
    assert _find(checks, "2.1.1", "numerator").verdict == "holds"
    assert _find(checks, "2.3.1", "hidden^2").verdict == "fails"
    assert _find(checks, "2.3.2", "polyfit").verdict in ("holds", "holds with caveat")
    c233 = _find(checks, "2.3.3", "1e15")
    assert c233.verdict == "fails"
    assert c233.numbers["claimed tokens"] == pytest.approx(1e15 / 6e10)


def test_verdict_follows_engine_conv(monkeypatch):
    """If the write-up's heads computed the right kernel, the 1.3.1 verdict must flip to holds."""
    real = relattn.audit_writeup_conv()

    def fixed():
        return type(real)(**{**real.__dict__, "writeup_effective": real.correct_effective, "writeup_error": 0.0})

    monkeypatch.setattr(relattn, "audit_writeup_conv", fixed)
    (c,) = audit.run_audit([audit.check_1_3_1])
    assert c.verdict == "holds"
    assert c.evidence.startswith("The write-up's parameters compute 1 x_{i+1} + 2 x_{i-1} as claimed")


def test_verdict_follows_engine_chain(monkeypatch):
    """A ReLU chain whose gradient exceeded prod|w_i| must turn the 1.1.2 bound verdict into fails."""
    real = gradients.relu_chain

    def broken(x, weights):
        r = real(x, weights)
        r.log_abs_gradient = r.log_bound + 1.0
        r.gradient = float(np.exp(r.log_bound + 1.0)) or 1.0
        return r

    monkeypatch.setattr(gradients, "relu_chain", broken)
    (c,) = audit.run_audit([audit.check_1_1_2_bound])
    assert c.verdict == "fails"


def test_verdict_follows_engine_svd(monkeypatch):
    real = gradients.non_normal_counterexample()
    monkeypatch.setattr(gradients, "non_normal_counterexample", lambda: type(real)(**{**real.__dict__, "identity_holds": True}))
    (c,) = audit.run_audit([audit.check_1_2_1_svd_step])
    assert c.verdict == "holds"


def test_crashing_check_is_reported_not_raised(monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(relattn, "audit_writeup_maxpool", boom)
    out = audit.run_audit([audit.check_1_3_2, audit.check_1_3_1])
    assert out[0].error and "engine exploded" in out[0].evidence
    assert out[1].error is None and out[1].verdict == "fails"


def test_page_shows_summary():
    at = run_page("audit")
    counts = audit.summary(audit.run_audit())
    assert metric(at, "Hold") == str(counts["holds"])
    assert metric(at, "Fail") == str(counts["fails"])
    assert metric(at, "Hold with caveat") == str(counts["holds with caveat"])
    text = shown_text(at)
    assert f"{counts['holds']} hold, {counts['fails']} fail, {counts['holds with caveat']} with caveat" in text
    assert "2.4 x_{i+1}" in text


def test_page_filters():
    at = run_page("audit")
    at.multiselect(key="au_verdict").set_value(["fails"]).run()
    assert not at.exception
    assert all(v == "fails" for v in at.dataframe[0].value["verdict"])
    at.selectbox(key="au_section").set_value("2.3").run()
    assert not at.exception
    assert set(at.dataframe[0].value["section"]) <= {"2.3.1", "2.3.3"}
    at.multiselect(key="au_verdict").set_value([]).run()
    assert not at.exception
    assert "No claim matches" in shown_text(at)
