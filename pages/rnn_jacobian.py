"""RNN Jacobian (write-up 1.2): singular values of d x_{T+1}/d x_1 for x_{t+1} = phi(W x_t)."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from dashboard import plots_gradients as plots
from dashboard import ui, widgets
from engine import gradients, spectra

STEPS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
FAMILIES = {
    "gaussian": "Gaussian, variance g^2/N",
    "orthogonal": "scaled orthogonal, g Q",
    "sigma_max": "rescaled to sigma_max = s",
    "jordan": "Jordan block (non-normal), sigma_max = s",
}
LN10 = math.log(10.0)

PRESETS = {
    "write-up §1.2.1 (sigma_max = 1/4, sigmoid)": dict(
        rnn_family="sigma_max", rnn_scale=0.25, rnn_act="sigmoid", rnn_tied=True, rnn_n=32, rnn_steps=20),
    "edge of chaos (tanh, orthogonal, g = 1)": dict(
        rnn_family="orthogonal", rnn_scale=1.0, rnn_act="tanh", rnn_tied=True, rnn_n=64, rnn_steps=1000),
    "exploding (g = 1.5)": dict(
        rnn_family="gaussian", rnn_scale=1.5, rnn_act="tanh", rnn_tied=True, rnn_n=64, rnn_steps=200),
    "ReLU vs orthogonal tanh: dynamical isometry": dict(
        rnn_family="orthogonal", rnn_scale=1.0, rnn_act="tanh", rnn_tied=False, rnn_n=64, rnn_steps=50),
    "non-normal W: where the SVD step fails": dict(
        rnn_family="jordan", rnn_scale=0.25, rnn_act="linear", rnn_tied=True, rnn_n=8, rnn_steps=50),
}


def _layer_sigma_max(family: str, scale: float):
    if family in ("orthogonal", "sigma_max", "jordan"):
        return lambda t: abs(scale)
    return None


@st.cache_data(show_spinner=False, max_entries=64)
def compute(n: int, steps: int, activation: str, family: str, scale: float, seed: int, tied: bool,
            track: bool = True):
    """Engine call for one widget state (cached): the spectrum with the sigma_max path."""
    x1 = np.random.default_rng(seed + 7).standard_normal(n)
    if tied:
        W = gradients.make_weights(family, n, scale, seed)
        spec = gradients.jacobian_spectrum(W, x1, steps, activation, track_sigma_max=track)
        return spec, W
    Wfn = lambda t: gradients.make_weights(family, n, scale, seed, layer=t + 1)  # noqa: E731
    spec = gradients.jacobian_spectrum(Wfn, x1, steps, activation, track_sigma_max=track,
                                       layer_sigma_max=_layer_sigma_max(family, scale))
    return spec, Wfn(0)


@st.cache_data(show_spinner=False, max_entries=32)
def _non_normal(n: int, k: int):
    return gradients.non_normal_counterexample(n=n, sigma_max_target=0.25, k=k)


@st.cache_data(show_spinner=False, max_entries=4)
def _pascanu(depth: int):
    return gradients.pascanu_counterexample(depth=depth)


@st.cache_data(show_spinner=False, max_entries=16)
def _isometry(n: int, depth: int, seed: int):
    return {
        "ReLU, Gaussian, sigma_w^2 = 2": spectra.measure_isometry(n, depth, "relu", "gaussian", math.sqrt(2), seed=seed),
        "ReLU, orthogonal, sigma_w^2 = 2": spectra.measure_isometry(n, depth, "relu", "orthogonal", math.sqrt(2), seed=seed),
        "tanh, orthogonal, g = 1, q* ~ 0": spectra.measure_isometry(n, depth, "tanh", "orthogonal", 1.0, seed=seed),
    }


def theory_density(spec, n: int, depth: int, g: float):
    """Fuss-Catalan density transformed to log10 sigma, for untied Gaussian linear layers."""
    fc = spectra.fuss_catalan_density(depth)
    lam = fc.x * g ** (2 * depth)
    # sigma = sqrt(lam): density per unit log10 sigma = 2 ln10 lam rho(lam / g^2L) / g^2L
    return 0.5 * np.log10(lam), 2 * LN10 * fc.x * fc.density


def render() -> None:
    ui.header(
        "RNN Jacobian: singular values of long products",
        "x_{t+1} = phi(W x_t): the input-output Jacobian is the product D_T W ... D_1 W with "
        "D_t = diag(phi'(W x_t)). Its largest singular value is bounded by (gamma sigma_max(W))^T; the "
        "whole spectrum is computed exactly (QR re-orthonormalisation, log-scaled), at depths where the "
        "naive product under- or overflows.",
        source="Write-up 1.2.1; Pascanu et al. 2013; Newman 1986; Penson & Zyczkowski 2011; Pennington et al. 2017.",
    )
    widgets.preset_buttons({k: v for k, v in list(PRESETS.items())[:3]})
    widgets.preset_buttons({k: v for k, v in list(PRESETS.items())[3:]})
    controls, plot = st.columns([1, 2], gap="large")
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
    n, steps, seed = int(n), int(steps), int(seed)
    if scale == 0:
        ui.note("W = 0: every layer Jacobian is 0, so for T >= 1 the Jacobian is exactly 0 (shown as "
                "'0 (exactly)'), and so is the bound.")
    if scale > 1e3 and activation in ("tanh", "sigmoid"):
        ui.note("A huge scale saturates every unit: phi' is astronomically small, so the Jacobian "
                "vanishes in one step. The numbers below stay exact (log space).")
    if n == 1 and family == "orthogonal":
        st.caption("N = 1: an orthogonal 1x1 matrix is +-1, so W = +-g.")

    try:
        slow = n * n * steps > 64 * 64 * 2000
        if slow:
            with st.status(f"Multiplying {steps} Jacobians of size {n}x{n}...", expanded=False) as status:
                spec, W0 = compute(n, steps, activation, family, float(scale), seed, bool(tied))
                status.update(label="Done", state="complete")
        else:
            spec, W0 = compute(n, steps, activation, family, float(scale), seed, bool(tied))
    except ValueError as exc:
        ui.error(f"Cannot compute this configuration: {exc}")
        return

    lsv = spec.log_singular_values
    with plot:
        ui.show(plots.sigma_max_path_figure(spec), key="rnn_path")
        st.caption("The measured sigma_max always lies below the dashed bound (submultiplicativity); how far "
                   "below shows how loose (gamma sigma_max(W))^T is: phi' rarely reaches gamma, and W's "
                   "singular directions do not line up from step to step.")

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
    lhs = (rf"\sigma_{{\max}}\!\left(\tfrac{{\partial x_{{{steps + 1}}}}}{{\partial x_1}}\right) = "
           rf"\text{{{ui.fmt_ln(spec.log_sigma_max)}}} \;\le\; ")
    if tied:
        st.latex(lhs + rf"(\gamma\,\sigma_{{\max}}(W))^{{T}} = ({gamma:g}\times{ui.fmt_number(sm)})^{{{steps}}} = "
                 rf"\text{{{ui.fmt_ln(spec.log_bound)}}}")
    else:
        st.latex(lhs + rf"\prod_{{t=1}}^{{{steps}}} \gamma\,\sigma_{{\max}}(W_t) = \text{{{ui.fmt_ln(spec.log_bound)}}}")
    if not tied:
        st.caption("Untied: the bound is the product of gamma sigma_max(W_t) over the layers.")
    if steps == 0:
        ui.note("T = 0: the Jacobian of x_1 with respect to itself is the identity; every singular value is 1.")
    unresolved = int(np.sum(~spec.resolved))
    if unresolved:
        st.caption(f"{unresolved} of {n} singular values lie more than e^-25 below the largest; they are read "
                   "from the graded triangular factor (trailing-block / Lyapunov-limit estimate) rather than "
                   "an SVD, since no float64 SVD of the product could resolve them.")

    # ---- spectrum and Lyapunov -------------------------------------------
    left, right = st.columns(2)
    with left:
        theory = None
        if family == "gaussian" and not tied and activation == "linear" and steps >= 1 and scale > 0:
            theory = theory_density(spec, n, steps, float(scale))
        ui.show(plots.spectrum_figure(spec, theory), key="rnn_spec")
        st.caption("Singular values at depth T. The Fuss-Catalan curve (Penson & Zyczkowski 2011) appears for "
                   "untied Gaussian linear layers, the N -> inf law of products of Gaussian matrices.")
    with right:
        th, th_name = None, "theory"
        if activation == "linear" and steps >= 1:
            if tied:
                with np.errstate(divide="ignore"):
                    th = np.sort(np.log(np.abs(np.linalg.eigvals(W0))))[::-1]
                th_name = "Yamamoto: ln|lambda_i(W)|"
            elif family == "gaussian" and scale > 0:
                th = spectra.newman_lyapunov(n) + math.log(scale)
                th_name = "Newman 1986 (exact)"
            elif family == "orthogonal" and scale > 0:
                th = np.full(n, math.log(scale))
                th_name = "ln g (orthogonal)"
        ui.show(plots.lyapunov_figure(spec.lyapunov_exponents, th, th_name), key="rnn_lyap")
        if activation in ("tanh", "sigmoid", "relu") and family in ("gaussian", "orthogonal") and scale > 0:
            mf = spectra.mean_field(float(scale), 0.0, activation)
            st.caption(f"Mean field (Poole et al. 2016): chi = {ui.fmt_number(mf.chi)} ({mf.phase}); "
                       f"for wide untied nets the top exponent tends to ln(chi)/2 = "
                       f"{ui.fmt_number(0.5 * math.log(mf.chi)) if mf.chi > 0 else 'n/a'}.")
        else:
            st.caption("Theory lines: Yamamoto's theorem for tied linear W; Newman's exact exponents for untied "
                       "Gaussian linear layers.")

    # ---- counterexamples --------------------------------------------------
    with st.expander("Where the write-up's SVD step fails: a non-normal W", expanded=family == "jordan"):
        k = min(max(steps, 60), 200)
        cx = _non_normal(max(2, min(n, 8)), k)
        ui.show(plots.non_normal_figure(cx), key="rnn_nonnormal")
        st.markdown(
            f"Write-up 1.2.1 uses 'W^i = U Sigma^i V^T' to get sigma_max(W^k) = sigma_max(W)^k. For this "
            f"{cx.W.shape[0]}x{cx.W.shape[0]} Jordan block with sigma_max(W) = 1/4: sigma_max(W^{k}) = "
            f"**{ui.fmt_ln(cx.log_sigma_max_Wk)}** but (1/4)^{k} = **{ui.fmt_ln(cx.log_sigma_max_W_pow_k)}**. "
            f"The identity {'holds' if cx.identity_holds else 'fails'} (it needs W normal; here normal = "
            f"{cx.is_normal}); the final bound {'holds' if cx.bound_holds else 'fails'}, because it only needs "
            "submultiplicativity."
        )
    with st.expander("Pascanu et al. 2013: the eigenvalue condition is not enough"):
        px = _pascanu(40)
        ui.show(plots.pascanu_figure(px), key="rnn_pascanu")
        st.markdown(
            f"W = [[8, 8], [-8, -8]] has spectral radius **{ui.fmt_number(px.spectral_radius_W)}** (nilpotent) but "
            f"sigma_max = **{ui.fmt_number(px.sigma_max_W)}**. With x_t = W tanh(x_(t-1)) + b and b = "
            f"({px.b[0]:.4g}, {px.b[1]:.4g}), x* = (0, artanh 1/2) is a fixed point, J = [[8, 6], [-8, -6]] and "
            f"J^2 = 2J ({px.J_squared_equals_2J}): the gradient grows at "
            f"{ui.fmt_number(px.growth_rate)} nats per step (ln 2 = 0.6931), although rho(W) < 1/gamma predicts "
            "vanishing. Only the largest singular value makes the condition true."
        )
    with st.expander("Dynamical isometry: ReLU vs orthogonal tanh (Pennington et al. 2017)",
                     expanded=activation == "tanh" and family == "orthogonal" and not tied):
        depth = max(1, min(steps, 50))
        nn = max(2, min(n, 64))
        iso = _isometry(nn, depth, seed)
        ui.show(plots.isometry_figure(iso), key="rnn_iso")
        rows = [{"configuration": k, "mean sigma^2": round(r.mean, 4), "variance / mean^2": round(r.normalized_variance, 4),
                 "theory (L/p or L(1-p)/p)": round(r.theory_variance, 4), "p": round(r.p, 3)} for k, r in iso.items()]
        st.dataframe(rows, hide_index=True)
        st.caption(f"L = {depth} layers, N = {nn}, at criticality. ReLU keeps only half its units (p = 1/2), so "
                   "the spread grows with depth even for orthogonal W; orthogonal tanh near q* = 0 has p -> 1 and "
                   "stays near 1 (dynamical isometry).")
