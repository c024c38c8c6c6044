"""Write-up audit: every claim of the write-up, computed live, with verdicts and evidence.

Widgets -> engine.audit.run_audit (cached) -> dashboard.plots_audit -> ui.show. No math here.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import nav, ui, widgets
from dashboard import plots_audit as plots
from engine import audit

VERDICTS = list(audit.VERDICTS)
ICONS = {audit.HOLDS: ":material/check_circle:", audit.FAILS: ":material/cancel:", audit.CAVEAT: ":material/warning:"}


@st.cache_data(show_spinner=False)
def _run() -> list[audit.Check]:
    return audit.run_audit()


def _section_group(section: str) -> str:
    return section.split(".")[0] + "." + section.split(".")[1] if section.count(".") >= 1 else section


def render() -> None:
    ui.header(
        "Write-up audit",
        "Every claim of the course write-up, checked live against this project's engine: the verdict is computed "
        "on each run, never stored. Expand a row for the deciding numbers and, where a claim fails, the correct version.",
        source="Write-up sections 1.1.1-4.2",
    )
    with st.spinner("Running every check (engine calls, the tiny CLIP model and the shipped runs)..."):
        checks = _run()

    counts = audit.summary(checks)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Claims checked", len(checks))
    c2.metric("Hold", counts[audit.HOLDS])
    c3.metric("Fail", counts[audit.FAILS])
    c4.metric("Hold with caveat", counts[audit.CAVEAT])
    st.markdown(f"**{counts[audit.HOLDS]} hold, {counts[audit.FAILS]} fail, {counts[audit.CAVEAT]} with caveat.**")
    errors = [c for c in checks if c.error]
    if errors:
        ui.error(f"{len(errors)} check(s) could not run: " + ", ".join(c.section for c in errors),
                 hint="Their evidence shows the error.")

    groups = sorted({_section_group(c.section) for c in checks}, key=lambda s: [int(p) for p in s.split(".")])
    per_group = {g: audit.summary([c for c in checks if _section_group(c.section) == g]) for g in groups}
    ui.show(plots.verdict_summary(counts, per_group), key="au_summary_fig")
    st.caption("Red bars are claims the computation contradicts; orange ones hold only under a stated assumption.")

    f1, f2 = st.columns(2)
    chosen = widgets.multiselect("Verdict", VERDICTS, default=VERDICTS, key="au_verdict", where=f1)
    section = widgets.selectbox("Section", ["all", *groups], key="au_section", where=f2)
    shown = [c for c in checks if c.verdict in chosen and (section == "all" or _section_group(c.section) == section)]
    if not shown:
        ui.note("No claim matches these filters.")
        return

    table = pd.DataFrame(
        {
            "section": [c.section for c in shown],
            "verdict": [c.verdict for c in shown],
            "claim": [c.claim for c in shown],
            "page": ["/" + c.page for c in shown],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(f"{len(shown)} of {len(checks)} claims shown.")

    for i, c in enumerate(shown):
        label = f"{c.section} · {c.verdict} · {c.claim[:90]}{'…' if len(c.claim) > 90 else ''}"
        with st.expander(label, expanded=False, icon=ICONS.get(c.verdict)):
            st.markdown(f"{ui.verdict_badge(c.verdict)} **Write-up {c.section}:** “{c.claim}”")
            st.markdown(f"**Evidence.** {c.evidence}")
            if c.error:
                st.code(c.error)
            if c.correction and c.verdict != audit.HOLDS:
                st.markdown(f"**Correct version.** {c.correction}")
            if c.numbers:
                nums = pd.DataFrame(
                    {"quantity": list(c.numbers),
                     "value": [ui.fmt_number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
                               for v in c.numbers.values()]}
                )
                st.dataframe(nums, hide_index=True, width="stretch")
            if c.compare:
                ui.show(plots.claimed_vs_computed(c.compare, log_scale=c.log_scale), key=f"au_fig_{i}_{c.section}")
            nav.page_link(c.page, label=f"See it on the page /{c.page}", icon=":material/arrow_forward:")
