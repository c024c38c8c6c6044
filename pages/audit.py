"""Write-up audit: every claim of the write-up with its computed verdict, evidence, source and link.

Widgets -> engine.audit.run_audit (cached) -> dashboard.plots_audit -> ui.show. No math here.
Each verdict is derived when the audit runs; its numbers are either computed then or read
from a shipped training run (the row's "source" says which, with script, settings and date).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import plots_audit as plots
from dashboard import tour, ui, widgets
from engine import audit

VERDICTS = list(audit.VERDICTS)
ICONS = {audit.HOLDS: ":material/check_circle:", audit.FAILS: ":material/cancel:", audit.CAVEAT: ":material/warning:",
         audit.NOT_REPRODUCED: ":material/science:", audit.DEPENDS: ":material/call_split:",
         audit.ERROR: ":material/error:"}
METRIC_LABELS = {audit.HOLDS: "Hold", audit.FAILS: "Fail", audit.CAVEAT: "Hold with caveat",
                 audit.NOT_REPRODUCED: "Not reproduced", audit.DEPENDS: "Depend on the law", audit.ERROR: "Errors"}


@st.cache_data(show_spinner=False)
def _run() -> list[audit.Check]:
    return audit.run_audit()


def _section_group(section: str) -> str:
    return section.split(".")[0] + "." + section.split(".")[1] if section.count(".") >= 1 else section


def render() -> None:
    ui.header(
        "Write-up audit",
        "Every claim of the course write-up with a verdict derived from numbers when the audit runs. Most numbers "
        "are computed then by the engine; claims about trained models read the project's shipped training runs "
        "(too long to train on a page load), and each row's source says which run, script, settings and date. "
        "Expand a row for the deciding numbers and, where a claim fails, the correct version; its link opens the "
        "page in the state that shows the claim.",
        source="Write-up sections 1.1.1-4.2",
    )
    with st.spinner("Running every check (engine calls, the tiny CLIP model and the shipped runs)..."):
        checks = _run()

    counts = audit.summary(checks)
    shown_verdicts = [v for v in VERDICTS if counts[v] or v in (audit.HOLDS, audit.FAILS, audit.CAVEAT)]
    cols = st.columns(len(shown_verdicts) + 1)
    cols[0].metric("Claims checked", len(checks))
    for col, v in zip(cols[1:], shown_verdicts):
        col.metric(METRIC_LABELS[v], counts[v])
    n_shipped = sum(not c.computed_now for c in checks)
    st.markdown(", ".join(f"**{counts[v]} {v}**" for v in shown_verdicts) + ". "
                f"{len(checks) - n_shipped} checks computed now, {n_shipped} read (partly) from shipped runs.")
    errors = [c for c in checks if c.error]
    if errors:
        ui.error(f"{len(errors)} check(s) could not run: " + ", ".join(c.section for c in errors),
                 hint="Their evidence shows the error.")

    groups = sorted({_section_group(c.section) for c in checks}, key=lambda s: [int(p) for p in s.split(".")])
    per_group = {g: audit.summary([c for c in checks if _section_group(c.section) == g]) for g in groups}
    ui.show(plots.verdict_summary(counts, per_group), key="au_summary_fig")
    st.caption("Red: claims the computation contradicts; orange: hold only under a stated assumption; purple: our "
               "runs do not reproduce the write-up's experiment (a different architecture and loss); blue: the "
               "answer depends on the scaling law.")

    f1, f2 = st.columns(2)
    chosen = widgets.multiselect("Verdict", VERDICTS, default=VERDICTS, key="au_verdict", where=f1)
    section = widgets.selectbox("Section", ["all", *groups], key="au_section", where=f2)
    index = [k for k, c in enumerate(checks)
             if c.verdict in chosen and (section == "all" or _section_group(c.section) == section)]
    shown = [checks[k] for k in index]
    if not shown:
        ui.note("No claim matches these filters.")
        return

    table = pd.DataFrame(
        {
            "section": [c.section for c in shown],
            "verdict": [c.verdict for c in shown],
            "claim": [c.claim for c in shown],
            "source": ["computed now" if c.computed_now else "shipped run" for c in shown],
            "open": [tour.page_url(c.page, c.query) for c in shown],
        }
    )
    ui.table(table, links={"open": "page, in the claim's state"})
    st.caption(f"{len(shown)} of {len(checks)} claims shown.")

    st.caption("An open row is part of the URL: share it and the row opens again.")
    for k, c in zip(index, shown):  # k: the check's place in the audit, stable under the filters
        label = f"{c.section} · {c.verdict} · {c.claim[:90]}{'…' if len(c.claim) > 90 else ''}"
        with widgets.expander(label, key=f"au_row{k}", icon=ICONS.get(c.verdict)) as box:
            if not box.open:
                continue
            st.markdown(f"{ui.verdict_badge(c.verdict)} **Write-up {c.section}:** “{_md(c.claim)}”")
            st.markdown(f"**Evidence.** {_md(c.evidence)}")
            st.markdown("**Source.**\n\n" + "\n".join(f"- {_md(p)}" for p in c.provenance))
            if c.error:
                st.code(c.error)
            if c.correction and c.verdict != audit.HOLDS:
                st.markdown(f"**Correct version.** {_md(c.correction)}")
            if c.numbers:
                nums = pd.DataFrame(
                    {"quantity": list(c.numbers),
                     "value": [ui.fmt_number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
                               for v in c.numbers.values()]}
                )
                ui.table(nums)
            if c.compare:
                ui.show(plots.claimed_vs_computed(c.compare, log_scale=c.log_scale), key=f"au_fig_{k}_{c.section}")
            tour.page_link(c.page, c.query, label=f"Open /{c.page} in the state that shows this claim")


def _md(text: str) -> str:
    """Evidence text for markdown: keep it literal (no emphasis from '*' or '_', no links)."""
    for ch in "\\*_`[]<>#|$~":
        text = text.replace(ch, "\\" + ch)
    return text
