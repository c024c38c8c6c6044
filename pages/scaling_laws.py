"""Scaling laws: Chinchilla's three approaches side by side on the same runs (IsoFLOP
parabolas, the envelope of training curves, the parametric loss), the compute-optimal
check, Approach 2's biases and a sweep runner on the job queue (write-up 2.3)."""

from __future__ import annotations

import io
import math
from dataclasses import asdict

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import jobs, settings, ui, widgets
from dashboard import plots_scaling as plots
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
N_BOOT = 1000  # Approach 2 (cheap: batched parabolas)
N_BOOT3 = 200  # Approach 3 (vectorised refits)
SWEEP_KEY = "_sl_sweep_job"
MY_SWEEP = "_sl_my_sweep"
MY_CURVES = "_sl_my_curves"
APPROACHES = ("Approach 1: envelope", "Approach 2: IsoFLOP parabolas", "Approach 3: parametric L(N, D)")
# The shipped sweep's training settings (assets/scaling/sweep_piglatin.json): the page's own
# sweep uses the same, so its runs can be compared with the shipped ones.
SWEEP_EXTRA = {"num_heads": 2, "lr": 1e-2}
SWEEP_LAYERS = 1
# Presets for the write-up's section 2.3 examples (URL query strings in the report / tour).
PRESETS = {
    "2.3.1 Table 2": {"sl_source": "table2"},
    "2.3.2 parabola vertex": {"sl_source": "synthetic", "sl_law": "hoffmann", "sl_noise": 0.0, "sl_points": 9,
                              "sl_width": 2.0},
    "2.3.3 N_opt at 1e15": {"sl_source": "sweep", "sl_at": 15.0},
    "2.3.4 the 260k decoder": {"sl_chk_n": 260_000.0},
    "Chinchilla Fig. 4": {"sl_source": "chinchilla", "sl_at": 24.0},
}


# ---------------------------------------------------------------------------
# Cached engine calls (pure: keyed by their inputs)
# ---------------------------------------------------------------------------
# The bootstrap resamples do not depend on the confidence level, so each fit is cached without
# it and sc.at_level reads the intervals at the level shown (a level move refits nothing).
@st.cache_data(show_spinner=False, max_entries=64)
def _fit2_boot(flops, params, loss, tol, seed=0):
    return sc.fit_isoflop(flops, params, loss, tolerance=tol, n_boot=N_BOOT, seed=seed)


def _fit2(flops, params, loss, tol, level, seed=0):
    return sc.at_level(_fit2_boot(flops, params, loss, tol, seed), level)


@st.cache_data(show_spinner=False, max_entries=32)
def _fit3_boot(params, tokens, loss):
    return sc.fit_parametric(params, tokens, loss, n_boot=N_BOOT3, seed=0)


def _fit3(params, tokens, loss, level):
    return sc.at_level(_fit3_boot(params, tokens, loss), level)


@st.cache_data(show_spinner=False, max_entries=32)
def _fit1_curves_boot(run, params, tokens, flops, loss):
    curves = sc.CurveTable(run, params, tokens, flops, loss)
    return sc.fit_envelope(curves, n_boot=N_BOOT3, seed=0)


def _fit1_curves(run, params, tokens, flops, loss, level):
    return sc.at_level(_fit1_curves_boot(run, params, tokens, flops, loss), level)


@st.cache_data(show_spinner=False, max_entries=32)
def _fit1_final_boot(flops, params, loss, tol):
    return sc.fit_best_per_budget(flops, params, loss, tolerance=tol, n_boot=N_BOOT3, seed=0)


def _fit1_final(flops, params, loss, tol, level):
    return sc.at_level(_fit1_final_boot(flops, params, loss, tol), level)


@st.cache_data(show_spinner=False, max_entries=32)
def _synthetic(law_key, noise, width, points, seed):
    return sc.synthetic_isoflop(sc.PARAMETRIC_LAWS[law_key], points_per_budget=points, width=width, noise=noise,
                                seed=seed)


@st.cache_data(show_spinner=False, max_entries=32)
def _bias(alpha, beta, offset, slope):
    law = sc.ParametricLaw("custom", 1.69, 406.4, 410.7, alpha, beta)
    return law, sc.approach2_bias(law, widths=tuple(np.round(np.arange(0.5, 3.01, 0.25), 2)), offset=offset,
                                  offset_slope=slope)


@st.cache_data(show_spinner=False, max_entries=8)
def _read_csv(data: bytes, max_rows: int):
    """The first ``max_rows`` rows of an uploaded CSV, and whether the file had more."""
    df = pd.read_csv(io.BytesIO(data), nrows=max_rows + 1)
    return df.iloc[:max_rows], len(df) > max_rows


@st.cache_data(show_spinner=False)
def _shipped_sweep():
    return sc.load_shipped_sweep()


@st.cache_data(show_spinner=False)
def _shipped_curves():
    name = "sweep_piglatin_curves.csv"  # optional: a sweep shipped without curves has no Approach 1
    return sc.read_shipped_csv(name) if (sc.ASSETS / name).exists() else None


@st.cache_data(show_spinner=False)
def _shipped_settings() -> dict:
    import json

    path = sc.ASSETS / "sweep_piglatin.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@st.cache_data(show_spinner=False)
def _decoder_tokens() -> float | None:
    """Tokens seen by the shipped 2.2.3 decoder run (for the 2.3.4 check), if available."""
    try:
        from engine.nmt.results import shipped_results

        r = shipped_results()
        return float(r.runs[r.decoder_name].tokens_seen)
    except Exception:  # noqa: BLE001 - the check then uses its own default D
        return None


# ---------------------------------------------------------------------------
# Cached figures (rebuilt only when their inputs change)
# ---------------------------------------------------------------------------
@ui.cache_figures(16)
def _iso_fig(flops, params, loss, tol, level):
    return plots.isoflop_figure(_fit2(flops, params, loss, tol, level))


@ui.cache_figures(16)
def _contour_fig(flops, params, loss, tokens, tol, level, at, curves_key):
    fit3 = _fit3(params, tokens, loss, level)
    fit2 = _fit2(flops, params, loss, tol, level)
    fit1 = _approach1(flops, params, loss, tol, level, curves_key)
    lo_c = min(float(flops.min()), at) / 3
    hi_c = max(float(flops.max()), at) * 3
    c_grid = np.logspace(math.log10(lo_c), math.log10(hi_c), 60)
    frontiers = {name: (c_grid, f.predict_params(c_grid), colour) for name, f, colour in
                 zip(("Approach 3 frontier", "Approach 2 line", "Approach 1 line"), (fit3, fit2, fit1),
                     plots.APPROACH_COLOURS[::-1])
                 if f is not None and f.ok}
    if not fit3.ok:
        return None
    n_vals = [float(params.min()), float(params.max())]
    for v in frontiers.values():
        fin = v[1][np.isfinite(v[1]) & (v[1] > 0)]
        n_vals += [float(fin.min()), float(fin.max())] if fin.size else []
    runs = sc.RunTable(flops, params, loss, tokens)
    return plots.contour_figure(fit3.law, runs, frontiers, (lo_c, hi_c), (min(n_vals) / 3, max(n_vals) * 3), at)


@ui.cache_figures(16)
def _approaches_fig(flops, params, loss, tokens, tol, level, at, quantity, curves_key, laws):
    fits = _fits(flops, params, loss, tokens, tol, level, curves_key)
    c_grid = np.logspace(min(math.log10(float(flops.min())), math.log10(at)) - 0.5,
                         max(math.log10(float(flops.max())), math.log10(at)) + 0.5, 80)
    chosen = {k: sc.REFERENCE_LAWS[k] for k in laws}
    return plots.approaches_figure(list(zip(APPROACHES, fits)), c_grid, at, quantity=quantity, laws=chosen)


@ui.cache_figures(8)
def _envelope_fig(curves_key):
    curves = _CURVES.get(curves_key)
    if curves is None:
        return None
    env = _fit1_curves(curves.run, curves.params, curves.tokens, curves.flops, curves.loss, 0.8)
    return plots.envelope_figure(curves, env)


# Curves cannot be hashed cheaply on every call: they are registered under a key made of
# their source and selection, and the cached functions look them up.
_CURVES: dict[str, sc.CurveTable] = {}


def _approach1(flops, params, loss, tol, level, curves_key):
    curves = _CURVES.get(curves_key) if curves_key else None
    if curves is not None:
        return _fit1_curves(curves.run, curves.params, curves.tokens, curves.flops, curves.loss, level)
    return _fit1_final(flops, params, loss, tol, level)


def _fits(flops, params, loss, tokens, tol, level, curves_key):
    return (_approach1(flops, params, loss, tol, level, curves_key), _fit2(flops, params, loss, tol, level),
            _fit3(params, tokens, loss, level))


# ---------------------------------------------------------------------------
# Data sources -> (CleanResult, curves or None)
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


SWEEP_MAP = {"flops": "flops", "params": "params", "loss": "val_loss", "tokens": "tokens"}


def _curves_for(frame: pd.DataFrame | None, runs: sc.RunTable | None) -> sc.CurveTable | None:
    """Curves of the runs that survived cleaning (curve ``run`` = 0-based row of the run table)."""
    if frame is None or runs is None or runs.row_numbers is None or len(frame) == 0:
        return None
    keep = set((runs.row_numbers - 1).tolist())
    sub = frame[frame["run"].isin(keep)]
    return sc.curves_from_frame(sub) if len(sub) else None


def _load_source(source: str, col):
    if source == "synthetic":
        law_key = widgets.selectbox("Law", list(LAW_KEYS), key="sl_law", where=col, format_func=LAW_KEYS.get,
                                    help="Runs drawn from this published L(N, D); all three approaches should "
                                         "recover its exponent.")
        noise = widgets.slider("Loss noise (std)", 0.0, 0.05, 0.005, key="sl_noise", where=col, step=0.001,
                               format="%.3f", help="Gaussian noise added to each final loss and curve point.")
        width = widgets.slider("Grid width (decades of N)", 0.4, 3.0, 1.0, key="sl_width", where=col, step=0.1,
                               help="Span of model sizes per budget, centred on the law's optimum.")
        points = widgets.slider("Runs per budget", 3, 15, 9, key="sl_points", where=col)
        seed = widgets.number_input("Seed", 0, 10_000, 0, key="sl_seed", where=col)
        runs = _synthetic(law_key, noise, width, points, int(seed))
        res = sc.clean_runs(runs.as_frame(), source="synthetic")
        curves = sc.law_curves(sc.PARAMETRIC_LAWS[law_key], runs, noise=noise, seed=int(seed) + 1)
        return res, curves
    if source == "sweep":
        try:
            df = _shipped_sweep()
        except sc.AssetError as exc:  # a damaged asset is reported, the rest of the page goes on
            return sc.CleanResult(None, [str(exc)], [], True), None
        res = sc.clean_runs(df, SWEEP_MAP, source="shipped sweep")
        calls = _shipped_settings().get("calls", [])
        if calls:
            first, dates = calls[0], [c.get("date") for c in calls if c.get("date")]
            col.caption(
                f"{len(df)} runs of engine.nmt's decoder ({first.get('layers')} layer, {first.get('heads')} heads, "
                f"lr {first.get('lr')}), D = C/(6N) tokens each, made by scripts/run_sweep.py in {len(calls)} "
                f"calls" + (f", {dates[0][:10]}" if dates else "") + "; regenerate with "
                "`scripts/run_sweep.py --replay assets/scaling/sweep_piglatin.json`.")
        elif (sc.ASSETS / "sweep_piglatin.json").exists():
            col.warning("assets/scaling/sweep_piglatin.json (the sweep's settings) cannot be read; the runs are "
                        "shown without them. Restore it with `git checkout -- assets/scaling/sweep_piglatin.json`.",
                        icon=":material/warning:")
        try:
            curves = _shipped_curves()
        except sc.AssetError as exc:  # Approach 1 then has no curves; Approaches 2 and 3 still work
            col.warning(str(exc), icon=":material/warning:")
            curves = None
        return res, _curves_for(curves, res.runs)
    if source == "mysweep":
        df = st.session_state.get(MY_SWEEP)
        if df is None or df.empty:
            return sc.CleanResult(None, ["No sweep has been run in this session yet: use *Run a sweep* below."], [],
                                  True), None
        res = sc.clean_runs(df, SWEEP_MAP, source="your sweep")
        return res, _curves_for(st.session_state.get(MY_CURVES), res.runs)
    if source == "chinchilla":
        df = pd.read_csv(CHINCHILLA)
        return sc.clean_runs(df, {"flops": "Training FLOP", "params": "Model Size", "loss": "loss"},
                             source="Epoch AI digitisation of Chinchilla Fig. 4"), None
    if source == "table2":
        try:
            df = sc.load_table2()
        except sc.AssetError as exc:
            return sc.CleanResult(None, [str(exc)], [], True), None
        ui.table(df, where=col)
        return sc.clean_runs(df, {"flops": "approx_flops", "params": "hidden_size", "loss": "val_loss"},
                             source="write-up Table 2"), None
    # upload with column mapping
    up = col.file_uploader("CSV with one row per run", type=["csv"], key="sl_upload",
                           help="Columns for FLOPs (or tokens), parameters and final loss; map them below.")
    if up is None:
        return sc.CleanResult(None, ["Upload a CSV to fit it (one row per run: FLOPs, parameters, loss)."], [],
                              True), None
    cap = settings.max_upload_rows()
    try:
        df, truncated = _read_csv(up.getvalue(), cap)
    except Exception as exc:  # noqa: BLE001 - any parse failure becomes a message
        return sc.CleanResult(None, [f"Could not read the file as CSV ({type(exc).__name__})."], [], True), None
    if truncated:
        col.warning(f"The file has more than {cap:,} rows: the first {cap:,} are used (the server's limit, "
                    "GSL_MAX_UPLOAD_ROWS).", icon=":material/warning:")
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
    return sc.clean_runs(df, m, source=up.name), None


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
INTRO = (
    "Each FLOP budget $C$ trains several model sizes $N$ for $D = C/(6N)$ tokens. Chinchilla (Hoffmann et al. 2022) "
    "reads the compute-optimal law $N_{opt} = k\\,C^{a}$ off such runs in three ways: **Approach 1** takes the lower "
    "envelope of the training curves, **Approach 2** fits a parabola in $\\log N$ per budget, **Approach 3** fits "
    "$L(N, D) = E + A/N^{\\alpha} + B/D^{\\beta}$ to every run, so $a = \\beta/(\\alpha+\\beta)$. Here all three "
    "run on the same data, with bootstrap intervals."
)


def render() -> None:
    ui.header("Scaling laws: three ways to a compute-optimal law", INTRO,
              source="Write-up 2.3 · Hoffmann et al. 2022 (Chinchilla) · Besiroglu et al. 2024 · Kaplan et al. 2020")
    widgets.preset_buttons(_presets(), help={k: "Set the page to this write-up example" for k in PRESETS})
    keys = _available_sources()
    ctrl, main = st.columns([1, 2.6], gap="large")
    source = widgets.selectbox("Data source", keys, key="sl_source", where=ctrl, format_func=SOURCES.get,
                               help="Which runs all three approaches fit.")
    res, curves = _load_source(source, ctrl)
    tol = widgets.slider("Budget tolerance (decades of C)", 0.02, 0.3, sc.DEFAULT_TOLERANCE, key="sl_tol", where=ctrl,
                         step=0.01, help="Runs whose log10 C lie within this distance of a budget's centre are "
                         "grouped into that budget (real runs never hit a budget exactly).")
    level = widgets.select_slider("Confidence level", [0.5, 0.8, 0.9, 0.95], key="sl_level", where=ctrl, value=0.8,
                                  help="Percentile bootstrap intervals at this level.")
    at_exp = widgets.slider("Chosen budget C = 10^x FLOPs", 10.0, 26.0, 15.0, key="sl_at", where=ctrl, step=0.1,
                            help="N_opt and D_opt of every approach are read at this budget (extrapolated when "
                                 "outside the runs).")
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
        _extras(None)
        return

    fit_all = _fit2(runs.flops, runs.params, runs.loss, tol, level)
    lc = np.log10([b.flops for b in fit_all.budgets])
    lo, hi = math.floor(lc.min() * 10) / 10, math.ceil(lc.max() * 10) / 10
    if hi <= lo:
        hi = lo + 0.1
    _clamp_range_state("sl_range", lo, hi, "Budgets in the fit: log10 C range", ctrl)
    rng = widgets.slider("Budgets in the fit: log10 C range", lo, hi, (lo, hi), key="sl_range", where=ctrl, step=0.1,
                         help="Only budgets whose C falls in this range enter the fits.")
    chosen = np.flatnonzero((lc >= rng[0] - 1e-9) & (lc <= rng[1] + 1e-9))
    rows = np.concatenate([fit_all.budgets[j].rows for j in chosen]) if chosen.size else np.array([], dtype=int)
    if rows.size == 0:
        ui.error("No budget lies in the selected range; widen it.")
        return
    rows = np.sort(rows)
    sel = sc.RunTable(runs.flops[rows], runs.params[rows], runs.loss[rows], runs.tokens[rows], runs.source,
                      runs.row_numbers[rows] if runs.row_numbers is not None else rows + 1)
    curves_key = ""
    if curves is not None:
        keep = np.isin(curves.run, sel.row_numbers - 1) if source in ("sweep", "mysweep") else np.isin(curves.run, rows)
        sub = sc.CurveTable(curves.run[keep], curves.params[keep], curves.tokens[keep], curves.flops[keep],
                            curves.loss[keep], curves.source)
        if sub.flops.size:
            curves_key = f"{source}|{hash((sub.run.tobytes(), sub.loss.tobytes(), sub.flops.tobytes()))}"
            _CURVES[curves_key] = sub
            while len(_CURVES) > 64:  # bounded: the oldest selections go first
                _CURVES.pop(next(iter(_CURVES)))
    args = (sel.flops, sel.params, sel.loss, sel.tokens, tol, level)

    with main:
        with st.spinner("Fitting three approaches (cached after the first time)..."):
            fits = _fits(sel.flops, sel.params, sel.loss, sel.tokens, tol, level, curves_key)
        msgs = sc.budget_problems(fits[1], sel.row_numbers)
        if source == "table2":
            st.warning(
                "The write-up's Table 2 gives every run its own 'budget' (FLOPs = hidden^2), so no budget has the "
                "3 runs a parabola needs: the table cannot produce an IsoFLOP fit. The FLOP count itself is off by "
                "many decades: training compute is C = 6 N D, and with N ~ 12 L h^2 (Kaplan et al. 2020) a 2-layer "
                f"model spends 6 N = {sc.hidden_squared_vs_6nd(64, sw.transformer_params(64, 2), 1).ratio[0]:.0f} "
                "h^2 FLOPs on a single training token.",
                icon=":material/warning:",
            )
        if msgs:
            with widgets.expander(f"{len(msgs)} note(s) on budgets left out of Approach 2", key="sl_x_notes",
                                  expanded=not fits[1].ok):
                for m in msgs:
                    st.text("- " + m)
        _approaches_panel(args, at, at_exp, curves_key, source)
        _figures_panel(args, at, curves_key)
        _law_panel(args, at, curves_key)
    _extras(fits[1] if fits[1].ok else None, fits[2].law if fits[2].ok else None)


def _presets() -> dict:
    out = {k: dict(v) for k, v in PRESETS.items()}
    d = _decoder_tokens()
    if d is not None:
        out["2.3.4 the 260k decoder"]["sl_chk_d"] = d
    if not CHINCHILLA.exists():
        out.pop("Chinchilla Fig. 4")
    return out


def _fmt_iv(lo: float, hi: float, digits: int = 3) -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "no interval"
    return f"[{ui.fmt_number(lo, digits)}, {ui.fmt_number(hi, digits)}]"


@st.fragment
def _approaches_panel(args, at, at_exp, curves_key, source) -> None:
    flops, params, loss, tokens, tol, level = args
    fits = _fits(flops, params, loss, tokens, tol, level, curves_key)
    st.subheader("Three approaches, same runs")
    notes = [
        "" if curves_key else "no training curves in these data: best run per budget (final losses only)",
        "",
        "",
    ]
    summ = [sc.summarise_approach(name, f, at, level, note) for name, f, note in zip(APPROACHES, fits, notes)]
    cols = st.columns(3)
    for k, (c, s) in enumerate(zip(cols, summ), start=1):
        with c:
            st.markdown(f"**{s.name}**")
            if not s.ok:
                st.caption("No fit: " + s.note)
                continue
            st.metric(f"Exponent a · A{k}", f"{s.exponent:.3f}",
                      help=f"N_opt = k C^a. {level:.0%} bootstrap interval below.")
            st.caption(f"{level:.0%} interval {_fmt_iv(s.exponent_low, s.exponent_high)}")
            st.metric(f"N_opt at 1e{at_exp:g} · A{k}", ui.fmt_number(s.params, 3),
                      help=f"Compute-optimal parameters at the chosen budget C = 1e{at_exp:g} FLOPs.")
            st.caption(f"in {_fmt_iv(s.params_low, s.params_high)}")
            st.metric(f"D_opt at 1e{at_exp:g} · A{k}", ui.fmt_number(s.tokens, 3),
                      help="Compute-optimal tokens D = C / (6 N_opt).")
            st.caption(f"in {_fmt_iv(s.tokens_low, s.tokens_high)}" + (f" · {s.note}" if s.note else ""))
    f3 = fits[2]
    if f3.ok:
        st.latex(rf"L(N, D) = {ui.fmt_number(f3.E, 3)} + \frac{{{ui.fmt_number(f3.A, 4)}}}{{N^{{{f3.alpha:.3f}}}}} + "
                 rf"\frac{{{ui.fmt_number(f3.B, 4)}}}{{D^{{{f3.beta:.3f}}}}},\qquad a = \frac{{\beta}}"
                 rf"{{\alpha+\beta}} = {f3.exponent:.3f}")
    if fits[1].ok:
        st.latex(rf"\text{{Approach 2: }} N_{{opt}}(C) = {ui.fmt_number(fits[1].coefficient, 3)}\cdot "
                 rf"C^{{{fits[1].exponent:.3f}}},\qquad D_{{opt}} = \frac{{C}}{{6 N_{{opt}}}}")
    st.markdown(_disagreement_text(summ, fits, source))


def _disagreement_text(summ, fits, source) -> str:
    ok = [s for s in summ if s.ok]
    lines = []
    if len(ok) >= 2:
        lo_s, hi_s = min(ok, key=lambda s: s.exponent), max(ok, key=lambda s: s.exponent)
        overlap = all(a.exponent_low <= b.exponent_high and b.exponent_low <= a.exponent_high for a in ok for b in ok
                      if math.isfinite(a.exponent_low) and math.isfinite(b.exponent_low))
        spread = hi_s.exponent - lo_s.exponent
        lines.append(f"**Where they disagree.** The exponents span {spread:.3f} "
                     f"({lo_s.name.split(':')[0]} {lo_s.exponent:.3f} to {hi_s.name.split(':')[0]} {hi_s.exponent:.3f}); "
                     + ("the intervals overlap, so these data cannot tell the approaches apart."
                        if overlap else "the intervals do not all overlap: the difference is more than resampling "
                        "noise, so it comes from what each approach assumes."))
        ratio = max(s.params for s in ok) / min(s.params for s in ok)
        lines.append(f"At the chosen budget their N_opt differ by a factor {ui.fmt_number(ratio, 3)}; "
                     "extrapolating further from the runs multiplies the exponent difference.")
    lines.append(
        "*Approach 2* approximates each IsoFLOP curve by a parabola in log N: when alpha != beta the curve is "
        "asymmetric and the vertex misses the optimum by an amount that grows with the grid's width and offset "
        "(see *When Approach 2 misleads* below; arXiv 2603.22339). It uses only the budgets with a vertex inside "
        "their sampled sizes.")
    lines.append(
        "*Approach 3* depends on the loss and the optimiser: a Huber loss with delta = 1e-3 in log space is almost an "
        "absolute-error fit, and with scipy's default stopping tolerance L-BFGS stops far from the optimum on these "
        "tiny values (the failure Besiroglu et al. 2024 found in the original fit); the functional form must also "
        "hold, including the irreducible loss E. Here it runs from a 4,500-point start grid with tight tolerances.")
    lines.append(
        "*Approach 1* can only return sizes that were trained (the envelope steps between them) and reads curve "
        "points early in long runs whose learning-rate schedule was set for the full length, which favours larger "
        "models at small C; at the ends of the FLOP range few runs compete.")
    if source == "chinchilla":
        lines.append("On these Chinchilla runs Besiroglu et al. report alpha 0.348, beta 0.366, E 1.82 (a ~ 0.51); "
                     "the fit above is this page's own optimum of the same objective on the same digitised points.")
    return "\n\n".join(lines)


@st.fragment
def _figures_panel(args, at, curves_key) -> None:
    flops, params, loss, tokens, tol, level = args
    st.subheader("Loss surface and efficient frontier")
    fig = _contour_fig(flops, params, loss, tokens, tol, level, at, curves_key)
    if fig is None:
        st.caption("No Approach 3 fit on these data, so no loss surface to draw.")
    else:
        ui.show(fig, key="sl_contour")
        st.caption("Iso-loss contours of the Approach 3 fit L(N, D = C/(6N)) in the (C, N) plane (Chinchilla Fig. 4, "
                   "left), each approach's efficient frontier N_opt(C), and the runs (circles). Dotted: the "
                   "chosen budget.")
    view = widgets.tab_bar("Runs view", ["IsoFLOP parabolas (Approach 2)", "Training curves (Approach 1)"],
                           key="sl_view")
    if view.startswith("IsoFLOP"):
        ui.show(_iso_fig(flops, params, loss, tol, level), key="sl_iso")
        st.caption("One parabola in log10 N per budget (colour: log10 C); stars mark the vertices N_opt(C). "
                   "Grey budgets are left out; hover for why.")
    else:
        fig = _envelope_fig(curves_key) if curves_key else None
        if fig is None:
            st.caption("These data hold final losses only: Approach 1 needs each run's loss during training. "
                       "The shipped sweep, your sweeps and the synthetic source record curves; here Approach 1 "
                       "falls back to the best run of each budget.")
        else:
            ui.show(fig, key="sl_env")
            st.caption("Every run's loss against the compute spent so far (grey); dots: the lowest loss at each "
                       "FLOP count over all runs, coloured by the size of the run that reaches it.")


@st.fragment
def _law_panel(args, at, curves_key) -> None:
    flops, params, loss, tokens, tol, level = args
    st.subheader("Compute-optimal allocation")
    laws = widgets.multiselect("Published laws to compare", list(sc.REFERENCE_LAWS), key="sl_laws",
                               default=["hoffmann", "besiroglu", "kaplan"],
                               format_func=lambda k: sc.REFERENCE_LAWS[k].name,
                               help="Dashed lines: laws fitted on other models and data.")
    which = widgets.tab_bar("Quantity", ["N_opt(C): parameters", "D_opt(C): tokens"], key="sl_alloc")
    quantity = "params" if which.startswith("N_opt") else "tokens"
    ui.show(_approaches_fig(flops, params, loss, tokens, tol, level, at, quantity, curves_key, tuple(laws)),
            key="sl_alloc_fig")
    st.caption("Bands: pointwise bootstrap intervals; they widen away from the budgets measured.")
    fit2 = _fit2(flops, params, loss, tol, level)
    claim = sc.check_claimed_optimum(1e15, 1e10, fit=fit2 if fit2.ok else None)
    st.markdown(
        "**Write-up 2.3.3** claims *1e10 parameters are optimal at 1e15 FLOPs*. That allocation leaves "
        f"D = C/(6N) = {ui.fmt_number(claim.claimed_tokens, 3)} tokens ({ui.fmt_number(claim.tokens_per_param, 2)} "
        "tokens per parameter). N_opt(1e15): "
        + "; ".join(f"{v.law.replace('fitted law', 'Approach 2 fit')} {ui.fmt_number(v.optimal_params, 3)}"
                    for v in claim.verdicts) + "."
    )


def _reference_only(main, at):
    with main:
        st.subheader("Reference laws")
        st.caption("No usable runs from this source; the published laws alone:")
        cols = st.columns(len(sc.REFERENCE_LAWS))
        for c, law in zip(cols, sc.REFERENCE_LAWS.values()):
            c.metric(f"{law.name}: N_opt at {ui.fmt_number(at, 2)}", ui.fmt_number(float(law.optimal_params(at)), 3))


def _extras(fit=None, law3=None):
    st.divider()
    _optimality(fit, law3)
    with widgets.expander("When Approach 2 misleads (arXiv 2603.22339)", key="sl_x_bias") as box:
        if box.open:
            _bias_panel()
    with widgets.expander("Run a sweep (Pig Latin decoder, on the job queue)", key="sl_x_sweep",
                          expanded=SWEEP_KEY in st.session_state) as box:
        if box.open:
            _sweep_panel()


@st.fragment
def _optimality(fit, law3=None):
    st.subheader("Is this setup compute-optimal?")
    c1, c2, c3 = st.columns([1, 1, 2.4])
    n = widgets.number_input("Parameters N", 1.0, 1e15, 260_000.0, key="sl_chk_n", where=c1, format="%.4g",
                             help="Write-up 2.2.3's decoder: about 260,000 parameters.")
    d = widgets.number_input("Training tokens D", 1.0, 1e16, 5.0e6, key="sl_chk_d", where=c2, format="%.4g",
                             help="Tokens the model saw; the 2.3.4 preset uses the shipped decoder run's count.")
    laws = dict(sc.REFERENCE_LAWS)
    if law3 is not None:
        laws["approach3"] = sc.ParametricLaw("Approach 3 fit (these data)", law3.E, law3.A, law3.B, law3.alpha,
                                             law3.beta)
    chk = sc.is_compute_optimal(n, d, fit=fit, laws=laws)
    with c3:
        st.markdown(f"$C = 6ND$ = **{ui.fmt_number(chk.flops, 3)} FLOPs**; compute-optimal here means $N$ within a "
                    f"factor {chk.factor:g} of $N_{{opt}}(C)$.")
        table = pd.DataFrame([{"law": v.law.replace("fitted law", "Approach 2 fit (these data)"),
                               "N_opt(C)": ui.fmt_number(v.optimal_params, 3),
                               "D_opt(C)": ui.fmt_number(v.optimal_tokens, 3),
                               "N / N_opt": ui.fmt_number(v.ratio, 3), "verdict": v.verdict} for v in chk.verdicts])
        st.table(table.set_index("law"))
    verdicts = {v.verdict for v in chk.verdicts}
    st.caption("Write-up 2.3.4 says the 260k-parameter decoder is not compute-optimal and should shrink. "
               + ("Every law gives the same verdict here." if len(verdicts) == 1 else
                  "The laws disagree here: the answer depends on which law you trust.")
               + " Set D to your run's tokens.")


@st.fragment
def _bias_panel():
    st.markdown("Noise-free IsoFLOP data from $L = E + A/N^{\\alpha} + B/D^{\\beta}$, fitted by parabolas. When "
                "$\\alpha \\ne \\beta$ the curve is asymmetric in $\\log N$, so the vertex misses $N_{opt}$ by a "
                "factor that grows with the grid width; grids whose centre drifts with $C$ (e.g. one fixed set of "
                "model sizes) also tilt the exponent.")
    c1, c2, c3, c4 = st.columns(4)
    alpha = widgets.slider("alpha", 0.1, 0.8, 0.34, key="sl_b_alpha", where=c1, step=0.01)
    beta = widgets.slider("beta", 0.1, 0.8, 0.28, key="sl_b_beta", where=c2, step=0.01)
    offset = widgets.slider("Grid offset (decades)", -1.0, 1.0, 0.0, key="sl_b_off", where=c3, step=0.1)
    slope = widgets.slider("Offset drift per decade of C", -0.3, 0.3, 0.0, key="sl_b_slope", where=c4, step=0.05)
    law, pts = _bias(alpha, beta, offset, slope)
    ui.show(plots.bias_figure(pts), key="sl_bias")
    worst = max(pts, key=lambda p: abs(math.log10(p.params_ratio)) if math.isfinite(p.params_ratio) else 0)
    st.markdown(f"True $a = \\beta/(\\alpha+\\beta)$ = **{law.exponent:.3f}**. At the widest grid "
                f"({pts[-1].width:g} decades) the fit gives a = {ui.fmt_number(pts[-1].fitted_exponent, 4)} and "
                f"N_opt(1e24) off by a factor {ui.fmt_number(pts[-1].params_ratio, 3)}; worst factor over widths "
                f"{ui.fmt_number(worst.params_ratio, 3)}.")


# ---------------------------------------------------------------------------
# Sweeps on the job queue
# ---------------------------------------------------------------------------
def _sweep_centre(flops: float) -> float:
    """A guess of N_opt(C) for planning: Approach 2 on the shipped sweep, else 20 tokens/param."""
    try:
        df = _shipped_sweep()
        res = sc.clean_runs(df, SWEEP_MAP)
        fit = sc.fit_isoflop(res.runs.flops, res.runs.params, res.runs.loss)
        if fit.ok:
            return float(fit.predict_params(flops))
    except Exception:  # noqa: BLE001 - no shipped sweep: the rule of thumb
        pass
    return math.sqrt(flops / 120.0)


def _make_sweep_fn(plan, skipped, backend, train_fn, address):
    from dashboard import runtime

    def fn(ctx):
        done_runs: list[dict] = []
        curves: list[dict] = []

        def progress(done, total, run):
            rec = {k: v for k, v in asdict(run).items() if k != "curve"}
            done_runs.append(rec)
            i = len(done_runs) - 1
            curves.extend({"run": i, "budget": run.budget, "hidden_size": run.hidden_size, "params": run.params,
                           "tokens": t, "flops": 6.0 * run.params * t, "loss": v} for t, v in run.curve)
            ctx.report(done / total, f"{done} of {total} runs done (last: C = {run.budget:.0e}, hidden "
                       f"{run.hidden_size}, loss {run.val_loss:.4f}, {run.seconds:.0f} s)",
                       runs=list(done_runs), curves=list(curves), total=total)

        ctx.report(0.0, f"0 of {len(plan)} runs done (starting workers)", runs=[], curves=[], total=len(plan))
        result = sw.run_sweep(plan, backend=backend, address=address, train_fn=train_fn, progress=progress,
                              skipped=skipped, should_stop=ctx.should_stop, on_pool=ctx.track_executor,
                              on_process=ctx.track_process, initializer=runtime.worker_initializer)
        ctx.check()  # a stopped sweep ends as cancelled / timeout (its finished runs stay in the live data)
        return {"runs": pd.DataFrame(done_runs), "curves": pd.DataFrame(curves), "seconds": result.seconds}

    return fn


def _live_sweep(status) -> None:
    frame = pd.DataFrame(status.data.get("runs") or [])
    total = status.data.get("total", 0)
    if len(frame):
        ui.show(plots.sweep_figure(frame), key="sl_sweep_live")
        usable = sc.fit_isoflop(frame["flops"].to_numpy(float), frame["params"].to_numpy(float),
                                frame["val_loss"].to_numpy(float)) if frame["val_loss"].notna().all() else None
        n_ok = len(usable.included) if usable is not None else 0
        st.caption(f"{len(frame)} of {total} runs finished; {n_ok} budget(s) with a usable parabola so far.")


def _sweep_done(status) -> None:
    res = status.result
    if status.state == "done" and isinstance(res, dict):
        st.session_state[MY_SWEEP] = res["runs"]
        st.session_state[MY_CURVES] = res["curves"]
    elif status.data.get("runs"):  # cancelled / timed out: keep the runs that finished
        st.session_state[MY_SWEEP] = pd.DataFrame(status.data["runs"])
        st.session_state[MY_CURVES] = pd.DataFrame(status.data.get("curves") or [])


@st.fragment
def _sweep_panel():
    have_nmt = sw.nmt_available()
    address = settings.ray_address()
    trainers = (["nmt"] if have_nmt else []) + ["law"]
    c1, c2, c3 = st.columns(3)
    trainer = widgets.radio("Trainer", trainers, key="sl_sw_trainer", where=c1,
                            format_func={"nmt": "Pig Latin decoder (engine.nmt)",
                                         "law": "Law stand-in (Hoffmann 2022, instant)"}.get)
    budgets = widgets.multiselect("Budgets C (FLOPs)", [1e9, 3e9, 1e10, 3e10, 1e11], key="sl_sw_budgets", where=c2,
                                  default=[1e9, 3e9, 1e10], format_func=lambda v: f"{v:.0e}",
                                  help="Each budget trains the sizes nearest its expected optimum.")
    sizes = widgets.multiselect("Hidden sizes to choose from", [4, 6, 8, 12, 16, 24, 32, 48, 64, 96],
                                key="sl_sw_sizes", where=c3, default=[4, 6, 8, 12, 16, 24, 32, 48],
                                help="Per budget, the sizes closest (in log N) to the optimum predicted from the "
                                     "shipped sweep are trained.")
    c4, c5 = st.columns(2)
    per = widgets.slider("Sizes per budget", 3, 7, 5, key="sl_sw_per", where=c4,
                         help="A parabola needs 3; 5 straddle the optimum more reliably.")
    backends = ["local"] + (["ray"] if address else [])
    backend = widgets.radio("Backend", backends, key="sl_sw_backend", where=c5, horizontal=True,
                            help="Ray is offered only when the operator set GSL_RAY_ADDRESS.")
    if not address:
        st.caption("Ray: not configured on this server (the operator sets GSL_RAY_ADDRESS); sweeps use the "
                   "local process pool.")
    if not budgets or not sizes:
        ui.error("Pick at least one budget and one hidden size.")
        return
    try:
        count = None if trainer == "nmt" else sw.transformer_params
        extra = SWEEP_EXTRA if trainer == "nmt" else None
        centre = _sweep_centre if trainer == "nmt" else (lambda c: float(sc.HOFFMANN_2022.optimal_params(c)))
        plan, skipped = sw.plan_isoflop(sorted(budgets), sorted(sizes), per_budget=per, centre=centre,
                                        num_layers=SWEEP_LAYERS if trainer == "nmt" else 2, count_params=count,
                                        extra=extra)
    except Exception as exc:  # noqa: BLE001
        ui.error(f"Could not plan the sweep ({type(exc).__name__}).")
        return
    cap_s = settings.job_cap_s("sweep")
    tokens = sum(j.max_tokens for j in plan)
    size = f"{len(plan)} runs, {ui.fmt_number(tokens, 3)} tokens"
    st.caption(f"Plan: {size} (D = C/(6N) per run; 1 layer, 2 heads, lr 1e-2 as the shipped sweep). Time cap "
               f"{cap_s:.0f} s (operator setting); on 2 cores the default plan takes a few minutes.")
    running = jobs.is_active(st.session_state.get(SWEEP_KEY))
    if st.button("Run sweep", key="sl_sw_run", type="primary", disabled=running or not plan,
                 help="Queued on the server's job queue; results stream into the plot as runs finish."):
        train_fn = None if trainer == "nmt" else sw.LawTrainer(sc.HOFFMANN_2022, noise=0.005)
        fn = _make_sweep_fn(plan, skipped, backend, train_fn, address if backend == "ray" else None)
        st.session_state[SWEEP_KEY] = jobs.submit(kind="sweep", label=f"Sweep of {len(plan)} runs ({backend})",
                                                  fn=fn, cap_s=cap_s, size=size)
    for s in skipped:
        st.text(f"Skipped: {s}")
    jobs.progress_panel(SWEEP_KEY, render_live=_live_sweep, on_done=_sweep_done)
    if MY_SWEEP in st.session_state:
        st.caption("Choose *Your sweep (this session)* as the data source to fit it with all three approaches.")


