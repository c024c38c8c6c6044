"""Presenter tour: the write-up, one claim per screen, from 1.1 to 4.2 (issue 14).

The step lives in the URL (``tour_step``). Previous / Next buttons and the keyboard
(ArrowLeft / ArrowRight, PageUp / PageDown, as presenter remotes send) move between steps.
Each step is a panel (``st.fragment``): its controls rerun only the panel. Steps are
defined in ``dashboard/tour.py``; verdicts come from ``engine.audit``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import registry, tour, ui, widgets

STEP_KEY = "tour_step"
PREV_KEY, NEXT_KEY = "tour_prev", "tour_next"

# Clicks the Previous / Next buttons on ArrowLeft/Right and PageUp/Down. Installed once per
# browser tab; ignored while typing in a field or moving a slider (which use the arrows).
KEYBOARD_JS = """
<script>
(function () {
  if (window.__gslTourKeys) { return; }
  window.__gslTourKeys = true;
  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var map = {ArrowRight: "tour_next", PageDown: "tour_next", ArrowLeft: "tour_prev", PageUp: "tour_prev"};
    var key = map[ev.key];
    if (!key) { return; }
    var el = document.activeElement;
    if (el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) ||
               el.getAttribute("role") === "slider" || el.closest("[data-baseweb='select']"))) { return; }
    var button = document.querySelector(".st-key-" + key + " button");
    if (!button || button.disabled) { return; }
    ev.preventDefault();
    button.click();
  }, true);
})();
</script>
"""


def _clear_step(step_id: str) -> None:
    """Forget a step's control values (session state and URL) so it reopens on its preset."""
    step = tour.BY_ID.get(step_id)
    if step is None:
        return
    for key in step.keys:
        st.session_state.pop(key, None)
        if key in st.query_params:
            del st.query_params[key]


def _go(delta: int) -> None:
    current = st.session_state.get(STEP_KEY, tour.STEP_IDS[0])
    i = tour.STEP_IDS.index(current) if current in tour.STEP_IDS else 0
    j = min(max(i + delta, 0), len(tour.STEP_IDS) - 1)
    if j != i:
        _clear_step(current)
        st.session_state[STEP_KEY] = tour.STEP_IDS[j]


def _on_pick() -> None:
    previous = st.session_state.get("_tour_shown")
    if previous and previous != st.session_state.get(STEP_KEY):
        _clear_step(previous)


@st.fragment
def step_panel(step_id: str) -> None:
    """One step: the quoted claim, live controls and figure, the audit's verdicts, the link."""
    step = tour.BY_ID[step_id]
    st.markdown(f"#### {step.id} · {step.title}")
    st.markdown("> " + step.claim.replace("*", r"\*").replace("_", r"\_"))
    if step.latex:
        st.latex(step.latex)
    st.caption(f"Write-up §{step.id.rstrip('b')}, quoted as written" + (" and typeset." if step.latex else "."))
    if step.presets:
        widgets.preset_buttons({"Write-up's numbers": step.preset, **step.presets})
    left, right = st.columns([1, 2.4], gap="large")
    try:
        query = step.draw(step, left, right)
    except _asset_errors() as exc:  # a damaged shipped file: say which, keep the tour going
        ui.error(f"This step's figure cannot be drawn: {exc}", hint="The other steps and pages are not affected.")
        query = {}

    st.markdown("**Verdict (computed by the audit)**")
    for name in step.checks:
        c = tour.verdict(name)
        with st.container(border=True):
            st.markdown(f"{ui.verdict_badge(c.verdict)} “{_md(c.claim)}”")
            st.caption(_md(c.evidence))
            st.caption("Source: " + _md("; ".join(c.provenance)))
    tour.page_link(step.page, query, label=f"Open /{step.page} in this state")


def _asset_errors() -> tuple[type[Exception], ...]:
    """What a damaged or missing shipped file raises (each message names the file and its restore command)."""
    bert, clip, scaling, nassets = (registry.import_page(m) for m in
                                    ("engine.bert", "engine.clip", "engine.scaling", "engine.nmt.assets"))
    return scaling.AssetError, nassets.AssetError, clip.ModelUnavailable, bert.CheckpointUnavailable


def _md(text: str) -> str:
    """Text shown through markdown with its markdown characters escaped."""
    for ch in "\\*_`[]<>#|$~":
        text = text.replace(ch, "\\" + ch)
    return text


def render() -> None:
    ui.header(
        "Tour of the write-up",
        "The write-up told as steps, one claim per screen: the claim as written, a live figure set to the "
        "write-up's own numbers (the controls still work), the audit's computed verdict, and a link to the full "
        "page in the same state. Use Previous / Next, the arrow keys or a presenter remote (PageUp / PageDown).",
        source="Write-up sections 1.1-4.2 · verdicts from engine.audit",
    )
    top = st.columns([2, 3], vertical_alignment="bottom")
    step_id = widgets.selectbox("Step", tour.STEP_IDS, key=STEP_KEY, where=top[0], on_change=_on_pick,
                                help="The write-up section of the step (also the URL parameter tour_step).")
    i = tour.STEP_IDS.index(step_id)
    buttons = top[1].columns(2)
    buttons[0].button("Previous", key=PREV_KEY, on_click=_go, args=(-1,), disabled=i == 0, width="stretch",
                      icon=":material/arrow_back:")
    buttons[1].button("Next", key=NEXT_KEY, on_click=_go, args=(1,), disabled=i == len(tour.STEP_IDS) - 1,
                      width="stretch", icon=":material/arrow_forward:")
    st.progress((i + 1) / len(tour.STEP_IDS), text=f"Step {i + 1} of {len(tour.STEP_IDS)}")
    st.session_state["_tour_shown"] = step_id
    st.html(KEYBOARD_JS, unsafe_allow_javascript=True)
    step_panel(step_id)
