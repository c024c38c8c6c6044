"""Scaling laws: IsoFLOP profiles, parabola fits, N_opt = k C^a with bootstrap bands,
the compute-optimal check, Approach 2's biases and a sweep runner (write-up 2.3)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import plots_scaling as plots
from dashboard import ui, widgets
from engine import scaling as sc
from engine import sweeps as sw

SOURCES = {
    "sweep": "Shipped Pig Latin sweep",
    "synthetic": "Synthetic (from a reference law)",
    "table2": "Write-up Table 2",
    "upload": "Upload a CSV",
    "chinchilla": "Chinchilla Fig. 4 (Epoch digitisation)",
    "mysweep": "Your sweep (this session)",
}
CHINCHILLA = sc.ASSETS.parents[2] / "shared" / "data" / "chinchilla_fig4_epoch_extracted.csv"
LAW_KEYS = {"hoffmann": "Hoffmann 2022", "besiroglu": "Besiroglu 2024"}
N_BOOT = 1000


# ---------------------------------------------------------------------------
# Cached engine calls
# ---------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=64)
def _fit(flops, params, loss, tol, level, seed):
    return sc.fit_isoflop(flops, params, loss, tolerance=tol, n_boot=N_BOOT, level=level, seed=seed)


@st.cache_data(show_spinner=False, max_entries=32)
def _synthetic(law_key, noise, width, points, seed):
    return sc.synthetic_isoflop(sc.PARAMETRIC_LAWS[law_key], points_per_budget=points, width=width, noise=noise,
                                seed=seed)


@st.cache_data(show_spinner=False, max_entries=32)
def _bias(alpha, beta, offset, slope):
    law = sc.ParametricLaw("custom", 1.69, 406.4, 410.7, alpha, beta)
    return law, sc.approach2_bias(law, widths=tuple(np.round(np.arange(0.5, 3.01, 0.25), 2)), offset=offset,
                                  offset_slope=slope)


@st.cache_data(show_spinner=False)
def _read_csv(data: bytes):
    return pd.read_csv(io.BytesIO(data))


@st.cache_data(show_spinner=False)
def _shipped_sweep():
    return sc.load_shipped_sweep()


# ---------------------------------------------------------------------------
# Data sources -> (RunTable | None, problems, notes)
# ---------------------------------------------------------------------------
def _available_sources() -> list[str]:
    keys = []
    if (sc.ASSETS / "sweep_piglatin.csv").exists():
        keys.append("sweep")
    keys += ["synthetic", "table2", "upload"]
    if CHINCHILLA.exists():
        keys.append("chinchilla")
    keys.append("mysweep")
    return keys


def _load_source(source: str, col):
    if source == "synthetic":
        law_key = widgets.selectbox("Law", list(LAW_KEYS), key="sl_law", where=col, format_func=LAW_KEYS.get)
        noise = widgets.slider("Loss noise (std)", 0.0, 0.05, 0.005, key="sl_noise", where=col, step=0.001,
                               format="%.3f")
        width = widgets.slider("Grid width (decades of N)", 0.4, 3.0, 1.0, key="sl_width", where=col, step=0.1)
        points = widgets.slider("Runs per budget", 3, 15, 9, key="sl_points", where=col)
        seed = widgets.number_input("Seed", 0, 10_000, 0, key="sl_seed", where=col)
        return sc.clean_runs(_synthetic(law_key, noise, width, points, int(seed)).as_frame(), source="synthetic")
    if source == "sweep":
        df = _shipped_sweep()
        return sc.clean_runs(df, {"flops": "flops", "params": "params", "loss": "val_loss", "tokens": "tokens"},
                             source="shipped sweep")
    if source == "mysweep":
        df = st.session_state.get("_sl_my_sweep")
        if df is None or df.empty:
            return sc.CleanResult(None, ["No sweep has been run in this session yet: use *Run a sweep* below."], [],
                                  True)
        return sc.clean_runs(df, {"flops": "flops", "params": "params", "loss": "val_loss", "tokens": "tokens"},
                             source="your sweep")
    if source == "chinchilla":
        df = pd.read_csv(CHINCHILLA)
        return sc.clean_runs(df, {"flops": "Training FLOP", "params": "Model Size", "loss": "loss"},
                             source="Epoch AI digitisation of Chinchilla Fig. 4")
    if source == "table2":
        df = sc.load_table2()
        col.dataframe(df, hide_index=True)
        return sc.clean_runs(df, {"flops": "approx_flops", "params": "hidden_size", "loss": "val_loss"},
                             source="write-up Table 2")
    # upload with column mapping
    up = col.file_uploader("CSV with one row per run", type=["csv"], key="sl_upload")
    if up is None:
        return sc.CleanResult(None, ["Upload a CSV to fit it (one row per run: FLOPs, parameters, loss)."], [], True)
    try:
        df = _read_csv(up.getvalue())
    except Exception as exc:
        return sc.CleanResult(None, [f"Could not read the file as CSV: {exc}"], [], True)
    cols = ["(none)"] + [str(c) for c in df.columns]

    def guess(*names):
        for c in df.columns:
            if str(c).lower() in names:
                return cols.index(str(c))
        return 0

    c1, c2, c3, c4 = col.columns(4)
    for k in ("sl_col_flops", "sl_col_params", "sl_col_loss", "sl_col_tokens"):
        _valid_choice_state(k, cols)
    m = {
        "flops": widgets.selectbox("FLOPs", cols, key="sl_col_flops", where=c1,
                                   index=guess("flops", "training flop", "c", "compute")),
        "params": widgets.selectbox("Params", cols, key="sl_col_params", where=c2,
                                    index=guess("params", "model size", "n", "parameters")),
        "loss": widgets.selectbox("Loss", cols, key="sl_col_loss", where=c3, index=guess("loss", "val_loss", "l")),
        "tokens": widgets.selectbox("Tokens (optional)", cols, key="sl_col_tokens", where=c4,
                                    index=guess("tokens", "d")),
    }
    m = {k: v for k, v in m.items() if v and v != "(none)"}
    return sc.clean_runs(df, m, source=up.name)


# ---------------------------------------------------------------------------
# Widgets whose range depends on the data
# ---------------------------------------------------------------------------
def _clamp_range_state(key: str, lo: float, hi: float, label: str, where) -> None:
    """Re-derive a data-dependent range widget's stored value before the widget exists.

    A range slider keeps its value in session state when the data change (another source,
    another upload); a value outside the new [lo, hi] made Streamlit raise
    StreamlitValueBelowMinError. The stored value is clamped into [lo, hi] (or reset to the
    full range when nothing of it overlaps) and a small notice says so.
    """
    cur = st.session_state.get(key)
    if cur is None:
        return
    try:
        a, b = sorted((float(cur[0]), float(cur[1])))
    except (TypeError, ValueError, IndexError):
        del st.session_state[key]
        return
    if lo - 1e-9 <= a and b <= hi + 1e-9:
        return
    na, nb = max(a, lo), min(b, hi)
    if nb <= na:  # no overlap with the new data: the full range
        na, nb = lo, hi
    st.session_state[key] = (round(na, 1), round(nb, 1))
    where.caption(f"{label}: the previous selection {a:g} to {b:g} lies outside these data's {lo:g} to {hi:g}; "
                  f"now {round(na, 1):g} to {round(nb, 1):g}.")


def _valid_choice_state(key: str, options: list[str]) -> None:
    """Forget a stored column choice that the current upload does not have."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


# ---------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------
def render() -> None:
    ui.header(
        "Scaling laws: IsoFLOP profiles",
        "Each FLOP budget C trains several model sizes N for D = C/(6N) tokens. A parabola in log10 N through "
        "each budget's losses gives the best size N_opt(C); a straight line through the vertices on log-log axes "
        "gives the compute-optimal law **N_opt = k C^a** (Chinchilla's Approach 2). The bootstrap shows how sure "
        "the law is; the reference laws show what published fits say.",
        source="Write-up 2.3 · Hoffmann et al. 2022 (Chinchilla) · Besiroglu et al. 2024 · Kaplan et al. 2020",
    )
    keys = _available_sources()
    ctrl, main = st.columns([1, 2.4], gap="large")
    source = widgets.selectbox("Data source", keys, key="sl_source", where=ctrl, format_func=SOURCES.get)
    res = _load_source(source, ctrl)
    tol = widgets.slider("Budget tolerance (decades of C)", 0.02, 0.3, sc.DEFAULT_TOLERANCE, key="sl_tol", where=ctrl,
                         step=0.01, help="Runs whose log10 C lie within this distance of a budget's centre are "
                         "grouped into that budget (real runs never hit a budget exactly).")
    level = widgets.select_slider("Confidence level", [0.5, 0.8, 0.9, 0.95], key="sl_level", where=ctrl, value=0.8)
    at_exp = widgets.slider("Extrapolate to C = 10^x FLOPs", 10.0, 26.0, 15.0, key="sl_at", where=ctrl, step=0.1)
    at = 10.0**at_exp

    for p in res.problems:
        if res.fatal:
            ui.error(p)
        else:
            st.warning(p, icon=":material/warning:")
    if res.problems and not res.fatal:
        st.caption("Rows are numbered from 1 for the first data row below the header; the other rows are used.")
    runs = res.runs
    if runs is None:
        _reference_only(main, at)
        _extras(at)
        return

    # budget selection on a log scale
    fit_all = _fit(runs.flops, runs.params, runs.loss, tol, level, 0)
    lc = np.log10([b.flops for b in fit_all.budgets])
    lo, hi = math.floor(lc.min() * 10) / 10, math.ceil(lc.max() * 10) / 10
    if hi <= lo:
        hi = lo + 0.1
    _clamp_range_state("sl_range", lo, hi, "Budgets in the fit: log10 C range", ctrl)
    rng = widgets.slider("Budgets in the fit: log10 C range", lo, hi, (lo, hi), key="sl_range", where=ctrl, step=0.1,
                         help="Only budgets whose C falls in this range enter the fit.")
    chosen = np.flatnonzero((lc >= rng[0] - 1e-9) & (lc <= rng[1] + 1e-9))
    rows = np.concatenate([fit_all.budgets[j].rows for j in chosen]) if chosen.size else np.array([], dtype=int)
    if rows.size == 0:
        ui.error("No budget lies in the selected range; widen it.")
        return
    rows = np.sort(rows)
    fit = _fit(runs.flops[rows], runs.params[rows], runs.loss[rows], tol, level, 0)
    rownums = runs.row_numbers[rows] if runs.row_numbers is not None else rows + 1
    msgs = sc.budget_problems(fit, rownums)
    if msgs:
        with main.expander(f"{len(msgs)} note(s) on budgets left out", expanded=not fit.ok):
            for m in msgs:
                st.markdown(f"- {m}")
    if source == "table2":
        main.warning(
            "The write-up's Table 2 gives every run its own 'budget' (FLOPs = hidden^2), so no budget has the "
            "3 runs a parabola needs: the table cannot produce an IsoFLOP fit. The FLOP count itself is off by "
            "many decades: training compute is C = 6 N D, and with N ~ 12 L h^2 (Kaplan et al. 2020) a 2-layer "
            f"model spends 6 N = {sc.hidden_squared_vs_6nd(64, sw.transformer_params(64, 2), 1).ratio[0]:.0f} h^2 "
            "FLOPs on a single training token.",
            icon=":material/warning:",
        )

    with main:
        st.subheader("IsoFLOP profiles")
        ui.show(plots.isoflop_figure(fit), key="sl_iso")
        st.caption("Stars mark each parabola's vertex (the budget's N_opt). Grey budgets are left out; hover for why.")

    c_grid = np.logspace(min(math.log10(runs.flops.min()), at_exp) - 0.5, max(math.log10(runs.flops.max()),
                                                                                at_exp) + 0.5, 80)
    _law_panel(fit, main, c_grid, at, at_exp, level)
    _extras(at, fit)


def _law_panel(fit, main, c_grid, at, at_exp, level):
    with main:
        st.subheader("Compute-optimal law")
        if not fit.ok:
            ui.error("No law can be fitted: " + " ".join(fit.problems))
            return
        boot = fit.bootstrap
        iv = boot.exponent_interval()
        n_at = fit.predict_params(at)
        n_lo, n_hi = boot.params_interval([at])
        d_lo, d_hi = boot.tokens_interval([at])
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Exponent a", f"{fit.exponent:.3f}", help=f"{level:.0%} bootstrap interval below")
        m2.metric("Coefficient k", ui.fmt_number(fit.coefficient, 3))
        m3.metric(f"N_opt at C = 1e{at_exp:g}", ui.fmt_number(n_at, 3))
        m4.metric(f"D_opt at C = 1e{at_exp:g}", ui.fmt_number(at / (6 * n_at), 3))
        st.markdown(
            f"{level:.0%} bootstrap interval ({boot.n_valid} of {N_BOOT} resamples usable): "
            f"a in [{ui.fmt_number(iv.low, 3)}, {ui.fmt_number(iv.high, 3)}]; "
            f"N_opt in [{ui.fmt_number(float(n_lo[0]), 3)}, {ui.fmt_number(float(n_hi[0]), 3)}]; "
            f"D_opt in [{ui.fmt_number(float(d_lo[0]), 3)}, {ui.fmt_number(float(d_hi[0]), 3)}]"
        )
        st.latex(
            rf"N_{{opt}}(C) = {ui.fmt_number(fit.coefficient, 3)} \cdot C^{{{fit.exponent:.3f}}},\quad "
            rf"D_{{opt}} = \frac{{C}}{{6 N_{{opt}}}};\quad N_{{opt}}(10^{{{at_exp:g}}}) = {ui.fmt_number(n_at, 3)}"
        )
        laws = sc.REFERENCE_LAWS
        n_curves = {law.name: law.optimal_params(c_grid) for law in laws.values()}
        d_curves = {law.name: c_grid / (6 * n_curves[law.name]) for law in laws.values()}
        left, right = st.columns(2)
        with left:
            ui.show(plots.optimal_figure(fit, laws, c_grid, at, quantity="params", band=boot.params_interval(c_grid),
                                         law_curves=n_curves), key="sl_nopt")
        with right:
            ui.show(plots.optimal_figure(fit, laws, c_grid, at, quantity="tokens", band=boot.tokens_interval(c_grid),
                                         law_curves=d_curves), key="sl_dopt")
        st.caption("The band is the pointwise bootstrap interval of the fitted line; it widens away from the "
                   "budgets you measured. Dashed lines: published laws (fitted on other models and data).")
        claim = sc.check_claimed_optimum(1e15, 1e10, fit=fit)
        st.markdown(
            "**Write-up 2.3.3** claims *1e10 parameters are optimal at 1e15 FLOPs*. That allocation leaves "
            f"D = C/(6N) = {ui.fmt_number(claim.claimed_tokens, 3)} tokens ({ui.fmt_number(claim.tokens_per_param, 2)} "
            "tokens per parameter). N_opt(1e15): "
            + "; ".join(f"{v.law} {ui.fmt_number(v.optimal_params, 3)}" for v in claim.verdicts) + "."
        )


def _reference_only(main, at):
    with main:
        st.subheader("Reference laws")
        st.caption("No usable runs from this source; the published laws alone:")
        cols = st.columns(len(sc.REFERENCE_LAWS))
        for c, law in zip(cols, sc.REFERENCE_LAWS.values()):
            c.metric(f"{law.name}: N_opt at {ui.fmt_number(at, 2)}", ui.fmt_number(float(law.optimal_params(at)), 3))


def _extras(at, fit=None):
    st.divider()
    _optimality(fit)
    with st.expander("When Approach 2 misleads (arXiv 2603.22339)", expanded=False):
        _bias_panel()
    with st.expander("Run a sweep (Pig Latin decoder, local pool or Ray)", expanded=False):
        _sweep_panel()


def _optimality(fit):
    st.subheader("Is this setup compute-optimal?")
    c1, c2, c3 = st.columns([1, 1, 2])
    n = widgets.number_input("Parameters N", 1.0, 1e15, 260_000.0, key="sl_chk_n", where=c1, format="%.4g",
                             help="Write-up 2.2.3's decoder: about 260,000 parameters.")
    d = widgets.number_input("Training tokens D", 1.0, 1e16, 5.0e6, key="sl_chk_d", where=c2, format="%.4g")
    chk = sc.is_compute_optimal(n, d, fit=fit if fit is not None and fit.ok else None)
    with c3:
        st.markdown(f"C = 6 N D = **{ui.fmt_number(chk.flops, 3)} FLOPs**; compute-optimal here means N within a "
                    f"factor {chk.factor:g} of N_opt(C).")
        table = pd.DataFrame([{"law": v.law, "N_opt(C)": ui.fmt_number(v.optimal_params, 3),
                               "D_opt(C)": ui.fmt_number(v.optimal_tokens, 3),
                               "N / N_opt": ui.fmt_number(v.ratio, 3), "verdict": v.verdict} for v in chk.verdicts])
        st.dataframe(table, hide_index=True)
    st.caption("Write-up 2.3.4 says the 260k-parameter decoder is not compute-optimal and should shrink; the "
               "answer depends on the tokens it saw and on which law you trust. Set D to your run's tokens.")


def _bias_panel():
    st.markdown("Noise-free IsoFLOP data from L = E + A/N^alpha + B/D^beta, fitted by parabolas. When alpha != beta "
                "the curve is asymmetric in log N, so the vertex misses N_opt by a factor that grows with the grid "
                "width; grids whose centre drifts with C (e.g. one fixed set of model sizes) also tilt the exponent.")
    c1, c2, c3, c4 = st.columns(4)
    alpha = widgets.slider("alpha", 0.1, 0.8, 0.34, key="sl_b_alpha", where=c1, step=0.01)
    beta = widgets.slider("beta", 0.1, 0.8, 0.28, key="sl_b_beta", where=c2, step=0.01)
    offset = widgets.slider("Grid offset (decades)", -1.0, 1.0, 0.0, key="sl_b_off", where=c3, step=0.1)
    slope = widgets.slider("Offset drift per decade of C", -0.3, 0.3, 0.0, key="sl_b_slope", where=c4, step=0.05)
    law, pts = _bias(alpha, beta, offset, slope)
    ui.show(plots.bias_figure(pts), key="sl_bias")
    worst = max(pts, key=lambda p: abs(math.log10(p.params_ratio)) if math.isfinite(p.params_ratio) else 0)
    st.markdown(f"True a = beta/(alpha+beta) = **{law.exponent:.3f}**. At the widest grid ({pts[-1].width:g} decades) "
                f"the fit gives a = {ui.fmt_number(pts[-1].fitted_exponent, 4)} and N_opt(1e24) off by a factor "
                f"{ui.fmt_number(pts[-1].params_ratio, 3)}; worst factor over widths "
                f"{ui.fmt_number(worst.params_ratio, 3)}.")


def _sweep_panel():
    have_nmt = sw.nmt_available()
    trainers = (["nmt"] if have_nmt else []) + ["law"]
    c1, c2, c3 = st.columns(3)
    trainer = widgets.radio("Trainer", trainers, key="sl_sw_trainer", where=c1,
                            format_func={"nmt": "Pig Latin decoder (engine.nmt)",
                                         "law": "Law stand-in (Hoffmann 2022, instant)"}.get)
    budgets = widgets.multiselect("Budgets C (FLOPs)", [1e9, 3e9, 1e10, 3e10, 1e11, 3e11, 1e12], key="sl_sw_budgets",
                                  where=c2, default=[3e9, 1e10], format_func=lambda v: f"{v:.0e}")
    sizes = widgets.multiselect("Hidden sizes", [8, 16, 24, 32, 48, 64, 96, 128], key="sl_sw_sizes", where=c3,
                                default=[16, 32, 48])
    c4, c5, c6 = st.columns(3)
    layers = widgets.slider("Layers", 1, 4, 2, key="sl_sw_layers", where=c4)
    backend = widgets.radio("Backend", ["local", "ray"], key="sl_sw_backend", where=c5, horizontal=True)
    address = widgets.text_input("Ray address (empty: start a local Ray)", "", key="sl_sw_addr", where=c6,
                                 max_chars=200, disabled=backend != "ray")
    if not have_nmt:
        st.caption("engine.nmt is not installed in this build: only the law stand-in trainer is available.")
    if not st.button("Run sweep", key="sl_sw_run", type="primary"):
        if "_sl_my_sweep" in st.session_state:
            ui.show(plots.sweep_figure(st.session_state["_sl_my_sweep"]), key="sl_sweep_fig")
            st.caption("Choose *Your sweep (this session)* as the data source to fit it.")
        return
    if not budgets or not sizes:
        ui.error("Pick at least one budget and one hidden size.")
        return
    try:
        count = None if trainer == "nmt" else sw.transformer_params
        jobs, skipped = sw.plan_sweep(sorted(budgets), sorted(sizes), num_layers=layers, count_params=count)
    except Exception as exc:
        ui.error(f"Could not plan the sweep: {exc}")
        return
    for s in skipped:
        st.warning(f"Skipped {s}.")
    if not jobs:
        ui.error("No configuration fits in the chosen budgets.")
        return
    st.caption(f"{len(jobs)} runs, {ui.fmt_number(sum(j.max_tokens for j in jobs), 3)} training tokens in total "
               "(D = C / (6N) per run; on one CPU the Pig Latin decoder trains roughly 10k tokens per second).")
    train_fn = None if trainer == "nmt" else sw.LawTrainer(sc.HOFFMANN_2022, noise=0.005)
    bar = st.progress(0.0, text=f"0 of {len(jobs)} runs")

    def progress(done, total, run):
        bar.progress(done / total, text=f"{done} of {total} runs (last: C = {run.budget:.0e}, hidden "
                                        f"{run.hidden_size}, loss {ui.fmt_number(run.val_loss, 4)})")

    with st.status(f"Training {len(jobs)} runs on backend '{backend}'...", expanded=False) as status:
        try:
            result = sw.run_sweep(jobs, backend=backend, address=address or None, train_fn=train_fn,
                                  progress=progress)
        except Exception as exc:
            status.update(label="Sweep failed", state="error")
            ui.error(f"The sweep could not run on '{backend}': {exc}")
            return
        status.update(label=f"Done in {result.seconds:.1f} s", state="complete")
    frame = result.as_frame()
    errors = frame[frame["error"] != ""]
    if len(errors):
        st.warning(f"{len(errors)} run(s) failed: " + "; ".join(errors["error"].astype(str).head(3)))
    st.session_state["_sl_my_sweep"] = frame
    ui.show(plots.sweep_figure(frame), key="sl_sweep_fig")
    st.caption("Choose *Your sweep (this session)* as the data source to fit it.")
