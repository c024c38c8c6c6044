"""Home: what the lab covers, one sentence per topic on what to look for."""

from __future__ import annotations

import streamlit as st

from dashboard import nav, registry


def render() -> None:
    st.title("Gradient & Scaling Lab")
    st.markdown(
        "Interactive companions to a course write-up on **vanishing and exploding gradients** "
        r"(long products of Jacobians, $\prod_{t} \partial h_{t+1} / \partial h_{t}$), "
        r"**attention** ($\operatorname{softmax}(QK^\top/\sqrt{d})\,V$), "
        r"**scaling laws** ($N_{\mathrm{opt}} = k\,C^{a}$) and **pretrained models**. Nothing here "
        "is taken on trust: every claim of the write-up gets a verdict derived from numbers, computed "
        "when you open the page or, for trained models, read from the project's shipped training runs "
        "(the audit names which run), and each page shows where it holds and where it fails. Everything runs offline on embedded defaults."
    )
    st.caption(
        "Tip: switch on *Lecture mode* in the sidebar for a projector (larger text, one plot "
        "per row), or follow the *Tour of the write-up* step by step; every control is "
        "mirrored in the URL, so a copied link reopens the exact view."
    )
    if not registry.PAGES:
        st.info("No topic pages are registered yet.")
        return
    for section in registry.SECTIONS:
        specs = [p for p in registry.PAGES if p.section == section]
        if not specs:
            continue
        st.subheader(section)
        # One row of columns per three pages, so stacked on a phone they keep their order.
        for start in range(0, len(specs), 3):
            row = specs[start:start + 3]
            for col, spec in zip(st.columns(3), row):
                with col.container(border=True):
                    nav.page_link(spec.url_path, label=spec.title, icon=spec.icon)
                    st.caption(spec.look_for)
