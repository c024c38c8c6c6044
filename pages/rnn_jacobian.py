"""RNN Jacobian (write-up 1.2): singular values of d x_{T+1}/d x_1 for x_{t+1} = phi(W x_t).

The page is a list of panels (issue 12), each an ``st.fragment`` with the controls only it
reads: the spectrum (width, depth, activation, weights), the non-normal counterexample, the
Pascanu example and the dynamical-isometry comparison. Engine calls and figures are cached by
their inputs. A spectrum that takes seconds (N = 128 and T >= 2,000, long ReLU runs) runs in the
server's job queue with a progress bar, an estimate of the time left and a Cancel button, while
the other panels stay usable.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st

from dashboard import jobs, ui, widgets
from dashboard import plots_gradients as plots
from engine import gradients, spectra

STEPS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
FAMILIES = {
    "gaussian": "Gaussian, variance g^2/N",
    "orthogonal": "scaled orthogonal, g Q",
    "sigma_max": "rescaled to sigma_max = s",
    "jordan": "Jordan block (non-normal), sigma_max = s",
}
LN10 = math.log(10.0)
# n^2 T (x4 for ReLU, whose rank-deficient products need one QR per step) from which the
# spectrum runs as a background job: N = 128, T = 2,000 (tanh) or T = 1,000 (ReLU)
LONG_WORK = 128 * 128 * 2000
JOB_KEY = "rnn_spectrum_job"
JOB_CAP_S = 300.0
ISO_WIDTHS = [8, 16, 32, 64, 128, 256]
ISO_DEPTHS = [1, 2, 5, 10, 20, 50, 100, 200]

# Presets named after the write-up section they reproduce (the tour links to them).
PRESETS = {
    "§1.2.1: sigma_max(W) = 1/4, sigmoid": dict(
        rnn_family="sigma_max", rnn_scale=0.25, rnn_act="sigmoid", rnn_tied=True, rnn_n=32, rnn_steps=20),
    "§1.2.1: the SVD-power step (non-normal W)": dict(
        rnn_family="jordan", rnn_scale=0.25, rnn_act="linear", rnn_tied=True, rnn_n=8, rnn_steps=50),
    "Edge of chaos: tanh, orthogonal, g = 1": dict(
        rnn_family="orthogonal", rnn_scale=1.0, rnn_act="tanh", rnn_tied=True, rnn_n=64, rnn_steps=1000),
    "Exploding: Gaussian g = 1.5": dict(
        rnn_family="gaussian", rnn_scale=1.5, rnn_act="tanh", rnn_tied=True, rnn_n=64, rnn_steps=200),
    "Dynamical isometry: orthogonal tanh": dict(
        rnn_family="orthogonal", rnn_scale=1.0, rnn_act="tanh", rnn_tied=False, rnn_n=64, rnn_steps=50,
        rnn_iso_n=128, rnn_iso_l=10),
}
PRESET_HELP = {
    "§1.2.1: sigma_max(W) = 1/4, sigmoid": "The write-up's setting: x_(t+1) = sigmoid(W x_t) with sigma_max(W) = 1/4; "
    "the bound is (1/16)^(n-1) with n - 1 = T steps.",
    "§1.2.1: the SVD-power step (non-normal W)": "A Jordan block with sigma_max = 1/4: W^k = U Sigma^k V^T fails, the bound holds.",
}


# ---------------------------------------------------------------------------
# Engine calls (cached by their inputs)
# ---------------------------------------------------------------------------
def _layer_sigma_max(family: str, scale: float):
    if family in ("orthogonal", "sigma_max", "jordan"):
        return lambda t: abs(scale)
    return None


def track_every(steps: int) -> int:
    """Power steps for the sigma_max path: every step up to T = 250, then about 250 points
    (plus every step up to t = 50): a plot ~1000 px wide shows no more, and each power step
    costs about as much as the step itself at N = 128."""
    return max(1, math.ceil(steps / 250))


def spectrum(n: int, steps: int, activation: str, family: str, scale: float, seed: int, tied: bool,
             progress=None):
    """One engine call for a widget state: the spectrum with its sigma_max path, and W_1."""
    x1 = np.random.default_rng(seed + 7).standard_normal(n)
    kw = dict(track_sigma_max=True, track_every=track_every(steps), progress=progress)
    if tied:
        W = gradients.make_weights(family, n, scale, seed)
        return gradients.jacobian_spectrum(W, x1, steps, activation, **kw), W
    Wfn = lambda t: gradients.make_weights(family, n, scale, seed, layer=t + 1)  # noqa: E731
    spec = gradients.jacobian_spectrum(Wfn, x1, steps, activation, layer_sigma_max=_layer_sigma_max(family, scale),
                                       **kw)
    return spec, Wfn(0)



def preset_query(name: str) -> dict[str, str]:
    """The URL query parameters that open preset ``name`` (as Streamlit writes them)."""
    return {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in PRESETS[name].items()}

@st.cache_data(show_spinner=False, max_entries=64)
def compute(n: int, steps: int, activation: str, family: str, scale: float, seed: int, tied: bool):
    """Cached :func:`spectrum` for the configurations that take well under a second."""
    return spectrum(n, steps, activation, family, scale, seed, tied)


def is_long(n: int, steps: int, activation: str) -> bool:
    return n * n * steps * (4 if activation == "relu" else 1) >= LONG_WORK


# Long spectra finish in a job thread; their results are kept here (process-wide, pure).
_RESULTS: OrderedDict = OrderedDict()
_RESULTS_LOCK = threading.Lock()
_RESULTS_MAX = 16


def _store(params: tuple, result) -> None:
    with _RESULTS_LOCK:
        _RESULTS[params] = result
        _RESULTS.move_to_end(params)
        while len(_RESULTS) > _RESULTS_MAX:
            _RESULTS.popitem(last=False)


def _stored(params: tuple):
    with _RESULTS_LOCK:
        got = _RESULTS.get(params)
        if got is not None:
            _RESULTS.move_to_end(params)
        return got


def _spectrum_job(params: tuple):
    def fn(ctx):
        def progress(t: int, total: int) -> None:
            ctx.check()
            ctx.report(t / max(total, 1), f"step {t:,} of {total:,}")

        out = spectrum(*params, progress=progress)
        _store(params, out)
        return out

    return fn


@st.cache_data(show_spinner=False, max_entries=8)
def _non_normal(n: int, k: int):
    return gradients.non_normal_counterexample(n=n, sigma_max_target=0.25, k=k)


@st.cache_data(show_spinner=False, max_entries=8)
def _pascanu(depth: int):
    return gradients.pascanu_counterexample(depth=depth)


ISO_CONFIGS = {
    "ReLU, Gaussian, sigma_w^2 = 2": ("relu", "gaussian", math.sqrt(2)),
    "ReLU, orthogonal, sigma_w^2 = 2": ("relu", "orthogonal", math.sqrt(2)),
    "tanh, orthogonal, g = 1, q* ~ 0": ("tanh", "orthogonal", 1.0),
}


@st.cache_data(show_spinner=False, max_entries=16)
def _isometry(n: int, depth: int, seed: int):
    return {k: spectra.measure_isometry(n, depth, a, f, g, seed=seed) for k, (a, f, g) in ISO_CONFIGS.items()}


# ---------------------------------------------------------------------------
# Figures (cached: an unchanged panel is not rebuilt)
# ---------------------------------------------------------------------------
def _result(params: tuple):
    return compute(*params) if not is_long(params[0], params[1], params[2]) else _stored(params)


@ui.cache_figures(16)
def _main_figures(params: tuple):
    got = _result(params)
    if got is None:  # a long result evicted between the check and now: recompute plainly
        got = spectrum(*params)
    spec, W0 = got
    n, steps, activation, family, scale, _, tied = params
    theory = None
    if family == "gaussian" and not tied and activation == "linear" and steps >= 1 and scale > 0:
        theory = spectra.fuss_catalan_log10_sigma(steps, scale)
    th, th_name = None, "theory"
    if activation == "linear" and steps >= 1:
        if tied:
            th, th_name = spectra.log_abs_eigenvalues(W0), "Yamamoto: ln|lambda_i(W)|"
        elif family == "gaussian" and scale > 0:
            th, th_name = spectra.newman_lyapunov(n) + math.log(scale), "Newman 1986 (exact)"
        elif family == "orthogonal" and scale > 0:
            th, th_name = np.full(n, math.log(scale)), "ln g (orthogonal)"
    return (plots.sigma_max_path_figure(spec), plots.spectrum_figure(spec, theory),
            plots.lyapunov_figure(spec.lyapunov_exponents, th, th_name))


@ui.cache_figures(8)
def _non_normal_figure(n: int, k: int):
    return plots.non_normal_figure(_non_normal(n, k))


@ui.cache_figures(8)
def _pascanu_figure(depth: int):
    return plots.pascanu_figure(_pascanu(depth))


@ui.cache_figures(16)
def _isometry_figure(n: int, depth: int, seed: int):
    return plots.isometry_figure(_isometry(n, depth, seed))


# ---------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------
def render() -> None:
    ui.header(
        "RNN Jacobian: singular values of long products",
        r"For $x_{t+1} = \phi(W x_t)$ the input-output Jacobian is the product "
        r"$\frac{\partial x_{T+1}}{\partial x_1} = D_T W \cdots D_1 W$ with "
        r"$D_t = \mathrm{diag}(\phi'(W x_t))$. Its largest singular value is bounded by "
        r"$(\gamma\,\sigma_{\max}(W))^T$, $\gamma = \sup|\phi'|$. The whole spectrum is computed exactly "
        "(QR re-orthonormalisation, log-scaled), at depths where the naive product under- or overflows.",
        source="Write-up 1.2.1; Pascanu, Mikolov & Bengio 2013 (sec. 2.1); Newman 1986; Penson & Zyczkowski 2011; "
        "Pennington, Schoenholz & Ganguli 2017.",
    )
    names = list(PRESETS)
    widgets.preset_buttons({k: PRESETS[k] for k in names[:2]}, help=PRESET_HELP)
    widgets.preset_buttons({k: PRESETS[k] for k in names[2:]}, help=PRESET_HELP)
    spectrum_panel()
    fam = st.session_state.get("rnn_family", st.query_params.get("rnn_family"))
    with widgets.expander("Where the write-up's SVD step fails: a non-normal W", key="rnn_x_nonnormal",
                          expanded=fam == "jordan"):
        non_normal_panel()
    with widgets.expander("Pascanu et al. 2013, sec. 2.1: why the condition needs the largest singular value",
                          key="rnn_x_pascanu"):
        pascanu_panel()
    with widgets.expander("Dynamical isometry: ReLU vs orthogonal tanh (Pennington et al. 2017)", key="rnn_x_iso"):
        isometry_panel()


@st.fragment
def spectrum_panel() -> None:
    """Controls, sigma_max path, readouts, spectrum and Lyapunov exponents."""
    plot, controls = st.columns([2, 1], gap="large")  # plot first: above its controls on narrow screens
    n = widgets.slider("Width N", 1, 128, 32, key="rnn_n", where=controls)
    steps = widgets.select_slider("Steps T (depth)", STEPS, key="rnn_steps", value=100, where=controls)
    activation = widgets.segmented_control("Activation", list(gradients.ACTIVATIONS), key="rnn_act",
                                           default="sigmoid", where=controls)
    family = widgets.selectbox("Weight family", list(FAMILIES), key="rnn_family", where=controls, index=2,
                               help="; ".join(f"{k}: {v}" for k, v in FAMILIES.items()))
    scale_label = "g" if family in ("gaussian", "orthogonal") else "sigma_max(W) = s"
    scale = widgets.number_input(scale_label, 0.0, 1e6, 0.25, key="rnn_scale", step=0.05, format="%.4g",
                                 where=controls)
    seed = widgets.number_input("Seed", 0, 10_000, 0, key="rnn_seed", where=controls)
    tied = widgets.toggle("Tied weights (one W, an RNN)", True, key="rnn_tied", where=controls,
                          help="Off: a fresh W_t per layer (a deep feed-forward net).")
    if activation is None or family is None:
        ui.error("Pick an activation and a weight family.")
        return
    n, steps, seed, scale = int(n), int(steps), int(seed), float(scale)
    if not math.isfinite(scale):
        ui.error("The scale must be a finite number.")
        return
    with controls:
        if scale == 0:
            ui.note(r"$W = 0$: every layer Jacobian is 0, so for $T \ge 1$ the Jacobian is exactly 0 (shown as "
                    "'0 (exactly)'), and so is the bound.")
        if scale > 1e3 and activation in ("tanh", "sigmoid"):
            ui.note(r"A huge scale saturates every unit: $\phi'$ is astronomically small, so the Jacobian "
                    "vanishes in one step. The numbers below stay exact (log space).")
        if n == 1 and family == "orthogonal":
            st.caption(r"$N = 1$: an orthogonal $1\times 1$ matrix is $\pm 1$, so $W = \pm g$.")

    params = (n, steps, activation, family, scale, seed, bool(tied))
    try:
        if is_long(n, steps, activation):
            got = _stored(params)
            if got is None:
                with plot:
                    got = _long_run(params)
                if got is None:
                    return
            _clear_job()
        else:
            got = compute(*params)
        path_fig, spec_fig, lyap_fig = _main_figures(params)
    except ValueError as exc:
        ui.error(f"Cannot compute this configuration: {exc}")
        return
    spec, W0 = got
    lsv = spec.log_singular_values
    with plot:
        ui.show(path_fig, key="rnn_path")
        every = track_every(steps)
        st.caption(r"The measured $\sigma_{\max}$ always lies below the dashed bound (submultiplicativity); how "
                   r"far below shows how loose $(\gamma\,\sigma_{\max}(W))^T$ is: $\phi'$ rarely reaches $\gamma$, "
                   "and W's singular directions do not line up from step to step."
                   + (f" Path drawn every {every} steps past t = 50 (exact at T)." if every > 1 else ""))

    # ---- readouts ---------------------------------------------------------
    c = st.columns(5)
    c[0].metric("sigma_max(J)", ui.fmt_ln(spec.log_sigma_max), help="J = dx_(T+1) / dx_1")
    c[1].metric("bound", ui.fmt_ln(spec.log_bound), help="(gamma sigma_max(W))^T")
    smin = float(lsv[-1]) if n else -math.inf
    c[2].metric("sigma_min(J)", ui.fmt_ln(smin))
    gap = spec.log_sigma_max - spec.log_bound
    c[3].metric("log10 sigma_max / bound",
                ui.fmt_number(gap / LN10) if math.isfinite(gap) else "undefined (both 0)")
    c[4].metric("top Lyapunov exp.", ui.fmt_number(float(spec.lyapunov_exponents[0]))
                if steps and math.isfinite(spec.lyapunov_exponents[0]) else "n/a")
    gamma = gradients.GAMMA[activation]
    sm = gradients.sigma_max(W0)
    lhs = (rf"\sigma_{{\max}}\!\left(\tfrac{{\partial x_{{{steps + 1}}}}}{{\partial x_1}}\right) &= "
           rf"\text{{{ui.fmt_ln(spec.log_sigma_max)}}}")
    if tied:
        rhs = (rf"&\le (\gamma\,\sigma_{{\max}}(W))^{{T}} = ({gamma:g}\times{ui.fmt_number(sm)})^{{{steps}}} "
               rf"= \text{{{ui.fmt_ln(spec.log_bound)}}}")
    else:
        rhs = rf"&\le \prod_{{t=1}}^{{{steps}}} \gamma\,\sigma_{{\max}}(W_t) = \text{{{ui.fmt_ln(spec.log_bound)}}}"
    st.latex(r"\begin{aligned}" + lhs + r"\\ " + rhs + r"\end{aligned}")
    if not tied:
        st.caption(r"Untied: the bound is the product of $\gamma\,\sigma_{\max}(W_t)$ over the layers.")
    if steps == 0:
        ui.note("T = 0: the Jacobian of x_1 with respect to itself is the identity; every singular value is 1.")
    unresolved = int(np.sum(~spec.resolved))
    if unresolved:
        st.caption(f"{unresolved} of {n} singular values lie more than $e^{{-25}}$ below the largest; they are read "
                   "from the graded triangular factor (trailing-block / Lyapunov-limit estimate) rather than "
                   "an SVD, since no float64 SVD of the product could resolve them.")

    # ---- spectrum and Lyapunov -------------------------------------------
    left, right = st.columns(2)
    with left:
        ui.show(spec_fig, key="rnn_spec")
        st.caption("Singular values at depth T. The Fuss-Catalan curve (Penson & Zyczkowski 2011; computed in log "
                   "space, mass 1 at every depth) appears for untied Gaussian linear layers: the "
                   r"$N \to \infty$ law of products of Gaussian matrices.")
    with right:
        ui.show(lyap_fig, key="rnn_lyap")
        if activation in ("tanh", "sigmoid", "relu") and family in ("gaussian", "orthogonal") and scale > 0:
            mf = spectra.mean_field(scale, 0.0, activation)
            st.caption(rf"Mean field (Poole et al. 2016): $\chi$ = {ui.fmt_number(mf.chi)} ({mf.phase}); "
                       r"for wide untied nets the top exponent tends to $\ln(\chi)/2$ = "
                       f"{ui.fmt_number(0.5 * math.log(mf.chi)) if mf.chi > 0 else 'n/a'}.")
        else:
            st.caption("Theory lines: Yamamoto's theorem for tied linear W; Newman's exact exponents for untied "
                       "Gaussian linear layers.")


def _clear_job() -> None:
    for k in (JOB_KEY, f"{JOB_KEY}__params"):
        st.session_state.pop(k, None)


def _restart(params: tuple) -> None:
    st.session_state.pop(f"{JOB_KEY}__stopped", None)


def _long_run(params: tuple):
    """Run the spectrum for ``params`` in the job queue and show its progress (the other
    panels stay usable); returns the result once the job is done (no status box stays), else
    None."""
    job_id = st.session_state.get(JOB_KEY)
    if job_id and st.session_state.get(f"{JOB_KEY}__params") != params:
        jobs.cancel(job_id)  # the controls moved on: the old spectrum is no longer wanted
        _clear_job()
        job_id = None
    s = None
    if job_id:
        try:
            s = jobs.status(job_id)
        except KeyError:
            _clear_job()
    if s is not None and s.state == "done" and s.result is not None:
        _clear_job()
        _store(params, s.result)
        return s.result
    if s is not None and s.state in jobs.FINAL_STATES:
        st.session_state[f"{JOB_KEY}__stopped"] = (params, jobs.outcome_text(s))
        _clear_job()
        s = None
    if s is None:
        stopped = st.session_state.get(f"{JOB_KEY}__stopped")
        if stopped and stopped[0] == params:
            ui.note(f"The spectrum did not finish: {stopped[1]}")
            st.button("Compute again", key="rnn_spectrum_again", on_click=_restart, args=(params,))
            return None
        n, steps, activation = params[:3]
        job_id = jobs.submit(kind="rnn-spectrum", label=f"Spectrum N={n}, T={steps:,}, {activation}",
                             fn=_spectrum_job(params), cap_s=JOB_CAP_S,
                             size=f"{steps:,} products of {n}x{n} Jacobians")
        st.session_state[JOB_KEY] = job_id
        st.session_state[f"{JOB_KEY}__params"] = params
    st.caption(f"A spectrum this long takes seconds: it runs in the server's job queue (cap {JOB_CAP_S:.0f} s). "
               "The other panels stay usable; the plots appear when it finishes.")
    jobs.progress_panel(JOB_KEY)
    return None


@st.fragment
def non_normal_panel() -> None:
    c1, c2 = st.columns(2)
    size = int(widgets.slider("Size of the Jordan block", 2, 8, 8, key="rnn_nn_n", where=c1))
    k = int(widgets.slider("Power k", 1, 200, 60, key="rnn_nn_k", where=c2))
    cx = _non_normal(size, k)
    ui.show(_non_normal_figure(size, k), key="rnn_nonnormal")
    st.markdown(
        r"Write-up 1.2.1 uses $W^i = U\Sigma^iV^T$ to get $\sigma_{\max}(W^k) = \sigma_{\max}(W)^k$. For this "
        rf"${size}\times{size}$ Jordan block with $\sigma_{{\max}}(W) = 1/4$: $\sigma_{{\max}}(W^{{{k}}})$ = "
        f"**{ui.fmt_ln(cx.log_sigma_max_Wk)}** but $(1/4)^{{{k}}}$ = **{ui.fmt_ln(cx.log_sigma_max_W_pow_k)}**. "
        f"The identity {'holds' if cx.identity_holds else 'fails'} (it needs W normal; here normal = "
        f"{cx.is_normal}); the final bound {'holds' if cx.bound_holds else 'fails'}, because it only needs "
        "submultiplicativity."
    )


@st.fragment
def pascanu_panel() -> None:
    depth = int(widgets.slider("Depth l", 2, 200, 40, key="rnn_px_depth"))
    px = _pascanu(depth)
    ui.show(_pascanu_figure(depth), key="rnn_pascanu")
    st.markdown(
        "Pascanu, Mikolov & Bengio (2013, sec. 2.1) show that it is *sufficient* for the largest **singular "
        r"value** of W to satisfy $\lambda_1 < 1/\gamma$ for gradients to vanish (the published version; only "
        "arXiv v1 stated it with the largest eigenvalue). This example shows why the eigenvalue wording "
        r"cannot be right: $W = \begin{pmatrix} 8 & 8 \\ -8 & -8 \end{pmatrix}$ has spectral radius "
        f"**{ui.fmt_number(px.spectral_radius_W)}** (nilpotent) but $\\sigma_{{\\max}}$ = "
        f"**{ui.fmt_number(px.sigma_max_W)}**. With $x_t = W\\tanh(x_{{t-1}}) + b$ and "
        f"$b = ({px.b[0]:.4g}, {px.b[1]:.4g})$, $x^* = (0, \\operatorname{{artanh}}\\tfrac12)$ is a fixed point, "
        r"$J = \begin{pmatrix} 8 & 6 \\ -8 & -6 \end{pmatrix}$ and "
        f"$J^2 = 2J$ ({px.J_squared_equals_2J}): the gradient grows at "
        f"{ui.fmt_number(px.growth_rate)} nats per step (ln 2 = 0.6931), although $\\rho(W) < 1/\\gamma$ would "
        r"predict vanishing. The singular-value condition ($16 < 1$ is false) rightly predicts nothing."
    )


@st.fragment
def isometry_panel() -> None:
    c1, c2 = st.columns(2)
    nn = int(widgets.select_slider("Width N", ISO_WIDTHS, key="rnn_iso_n", value=128, where=c1,
                                   help="The theory is N -> infinity at fixed L; it applies while L/N << 1."))
    depth = int(widgets.select_slider("Depth L", ISO_DEPTHS, key="rnn_iso_l", value=10, where=c2))
    iso = _isometry(nn, depth, 0)
    ui.show(_isometry_figure(nn, depth, 0), key="rnn_iso")
    rows = [{"configuration": k, "mean σ²": f"{r.mean:.4g}",
             "var / mean² measured": f"{r.normalized_variance:.4g}",
             "theory N → ∞": f"{r.theory_variance:.4g}",
             "finite-N estimate": f"{r.finite_n_variance:.4g}" if math.isfinite(r.finite_n_variance) else "Gaussian only",
             "max (N − 1)": f"{r.ceiling:g}", "p": f"{r.p:.3f}"} for k, r in iso.items()]
    ui.table(rows)
    st.caption("Columns: variance / mean² of the squared singular values, measured; Pennington et al.'s N → ∞ "
               "value (L/p Gaussian, L(1 − p)/p orthogonal); the finite-N estimate; the largest value N numbers "
               "can have; p the active fraction.")
    ratio = depth / nn
    st.caption(rf"$L$ = {depth} layers, $N$ = {nn} ($L/N$ = {ratio:.3g}), at criticality. ReLU keeps only half its "
               r"units ($p = 1/2$), so the spread grows with depth even for orthogonal W; orthogonal tanh near "
               r"$q^* = 0$ has $p \to 1$ and stays near 1 (dynamical isometry). Finite-N estimate (Gaussian only): "
               "a second-moment recursion over the layers (engine.spectra.isometry_variance_finite_n).")
    outside = [k for k, r in iso.items() if not r.in_regime]
    if outside:
        worst = max(iso.values(), key=lambda r: r.theory_variance)
        ui.note(
            f"Outside the theory's regime: L/N = {depth}/{nn} = {ratio:.3g}. The N -> infinity theory applies while "
            f"L/N <= {spectra.ISOMETRY_REGIME_L_OVER_N:g} (and the variance it predicts is below N - 1 = "
            f"{worst.ceiling:g}, the largest variance / mean^2 that N values can have: here it predicts "
            f"{worst.theory_variance:.3g}). The measured values are finite-N effects, not a test of the theory. "
            "Raise N or lower L."
        )
    else:
        st.caption(f"L/N = {ratio:.3g} <= {spectra.ISOMETRY_REGIME_L_OVER_N:g}: inside the regime where the "
                   "infinite-width theory applies.")
