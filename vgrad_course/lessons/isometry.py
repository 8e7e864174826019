"""Dynamical isometry and the edge of chaos: the spectrum of a deep random network's Jacobian.

Layers ``h = x W + b`` with ``W_ij ~ N(0, sigma_w^2 / width)`` (or ``sigma_w`` times a random
orthogonal matrix) and ``b_j ~ N(0, sigma_b^2)``. In a wide tanh network the pre-activations'
variance ``q`` follows the length map to a fixed point ``q*`` (Poole et al. 2016); one layer
multiplies the mean squared singular value of the Jacobian by ``chi_1`` (Schoenholz et al.
2017); the spread of the singular values is a separate condition (Pennington et al. 2017).
Expectations over ``z ~ N(0, 1)`` use Gauss-Hermite quadrature; the networks are NumPy with
kernels drawn by Keras' initializers.
"""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm

from vgrad_course.lessons.init_sanity import fixed_point, gaussian_average
from vgrad_course.palette import BLACK
from vgrad_course.seeds import effective_seed, layer_seed, make_rng
from vgrad_course.validation import check_choice, check_int

#: Kinds of random kernels: i.i.d. Gaussian entries or a random orthogonal matrix.
KINDS: tuple[str, ...] = ("gaussian", "orthogonal")
#: Activations of the random networks here: ``"tanh"`` or ``"linear"`` (tanh at ``q -> 0``).
NETWORK_ACTIVATIONS: tuple[str, ...] = ("tanh", "linear")


def _slope(h: np.ndarray) -> np.ndarray:
    """tanh'(h) = 1 - tanh(h)^2."""
    return 1.0 - np.tanh(h) ** 2


def _slope_sq(h: np.ndarray) -> np.ndarray:
    return _slope(h) ** 2


def chi1(q: float | np.ndarray, sigma_w: float | np.ndarray) -> np.ndarray:
    """Return ``chi_1 = sigma_w^2 E[tanh'(sqrt(q) z)^2]``, a layer's mean squared singular value.

    Args:
        q: Pre-activation variance (``q*`` for a deep network).
        sigma_w: Weight scale.

    Returns:
        ``chi_1`` (broadcast over the arguments).

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    return np.asarray(sigma_w, dtype=np.float64) ** 2 * gaussian_average(_slope_sq, q)


def critical_point(q_star: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``(sigma_w, sigma_b)`` on the edge of chaos whose fixed point is ``q_star``.

    ``chi_1 = 1`` gives ``sigma_w^2 = 1 / E[tanh'(sqrt(q*) z)^2]``; the fixed-point equation
    then gives ``sigma_b^2 = q* - sigma_w^2 E[tanh(sqrt(q*) z)^2]``.

    Args:
        q_star: Fixed-point variances (> 0).

    Returns:
        ``(sigma_w, sigma_b)``, each of the shape of ``q_star``.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    q = np.asarray(q_star, dtype=np.float64)
    if np.any(q <= 0):
        raise ValueError(f"q_star must be > 0, got {q}")
    sigma_w2 = 1.0 / gaussian_average(_slope_sq, q)
    sigma_b2 = q - sigma_w2 * gaussian_average(lambda h: np.tanh(h) ** 2, q)
    return np.sqrt(sigma_w2), np.sqrt(np.maximum(sigma_b2, 0.0))


def spread_theory(depth: int | np.ndarray, q: float, *, kind: str) -> np.ndarray:
    """Return the free-probability prediction of ``var(lambda) / mean(lambda)^2`` for ``J J^T``.

    Normalised variances add over freely independent factors: each layer adds ``v_W`` (1 for
    Gaussian, 0 for orthogonal weights) and ``v_D = E[tanh'^4] / E[tanh'^2]^2 - 1`` at
    pre-activation variance ``q`` (Pennington et al. 2017). A linear network is ``q = 0``.

    Args:
        depth: Number of layers (an int or an array of them).
        q: Pre-activation variance of every layer (``q*``).
        kind: ``"gaussian"`` or ``"orthogonal"``.

    Returns:
        ``depth * (v_W + v_D)``.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    check_choice("kind", kind, KINDS)
    v_d = gaussian_average(lambda h: _slope(h) ** 4, q) / gaussian_average(_slope_sq, q) ** 2 - 1
    return np.asarray(depth, dtype=np.float64) * ((kind == "gaussian") + v_d)


def weight_matrices(depth: int, width: int, *, kind: str, seed: int = 0) -> np.ndarray:
    """Draw ``depth`` square kernels at scale 1 with Keras' initializers.

    ``"gaussian"``: ``RandomNormal(stddev=1 / sqrt(width))``; ``"orthogonal"``: ``Orthogonal()``
    (a uniformly random rotation: Keras' default for recurrent kernels). Scaling by ``sigma_w``
    is left to the caller, so one draw serves every scale.

    Args:
        depth: Number of kernels.
        width: Their size.
        kind: ``"gaussian"`` or ``"orthogonal"``.
        seed: Seed; kernel ``i`` uses ``layer_seed(seed, i)``.

    Returns:
        float64 array ``(depth, width, width)``.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    check_choice("kind", kind, KINDS)
    width = check_int("width", width)
    kernels = []
    for i in range(1, check_int("depth", depth) + 1):
        s = effective_seed(layer_seed(seed, i))
        init = (
            keras.initializers.Orthogonal(seed=s)
            if kind == "orthogonal"
            else keras.initializers.RandomNormal(stddev=width**-0.5, seed=s)
        )
        kernels.append(np.asarray(init((width, width)), dtype=np.float64))
    return np.stack(kernels)


def jacobian_spectra(
    weights: np.ndarray,
    depths: list[int] | tuple[int, ...],
    *,
    sigma_w: float = 1.0,
    sigma_b: float = 0.0,
    activation: str = "tanh",
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Measure the spectrum of the input-output Jacobian of one random network, by depth.

    Layer ``l`` is ``h = x (sigma_w W_l) + b_l`` with ``b_l ~ N(0, sigma_b^2)``, then ``tanh``
    (or nothing if linear); the input sits at the fixed point (``x = tanh(sqrt(q*) z)``; ``z``
    if linear). The layer Jacobians ``diag(phi'(h)) (sigma_w W_l)^T`` are multiplied from the
    input up. For the eigenvalues ``lambda`` of ``J J^T`` (the squared singular values) it
    records ``mean = tr(J J^T) / width`` and ``spread = var(lambda) / mean^2``, from traces:
    the tiny singular values that float64 cannot resolve hardly enter either.

    Args:
        weights: Scale-1 kernels ``(depth, width, width)`` (:func:`weight_matrices`).
        depths: Increasing depths at which to measure (at most ``len(weights)``).
        sigma_w: Weight scale.
        sigma_b: Bias standard deviation.
        activation: ``"tanh"`` or ``"linear"`` (no biases then).
        seed: Seed of the input and the biases.

    Returns:
        ``{"mean", "spread"}``: ``(len(depths),)`` arrays; ``"singular_values"``: ``(width,)``
        at the deepest depth, largest first.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    check_choice("activation", activation, NETWORK_ACTIVATIONS)
    weights = np.asarray(weights, dtype=np.float64)
    depths = [check_int("depth", d) for d in depths]
    if depths != sorted(set(depths)) or depths[-1] > len(weights):
        raise ValueError(f"depths must increase up to {len(weights)}, got {depths}")
    width, linear = weights.shape[-1], activation == "linear"
    rng = make_rng(seed)
    z = rng.standard_normal(width)
    x = z if linear else np.tanh(np.sqrt(float(fixed_point(sigma_w, sigma_b))) * z)
    jac, out = np.eye(width), {"mean": [], "spread": []}
    for layer, w in enumerate(weights[: depths[-1]] * sigma_w, start=1):
        h = x @ w + (0.0 if linear else sigma_b * rng.standard_normal(width))
        x, slope = (h, np.ones(width)) if linear else (np.tanh(h), _slope(h))
        jac = (slope[:, None] * w.T) @ jac
        if layer in depths:
            m1 = np.sum(jac**2) / width
            out["mean"].append(m1)
            out["spread"].append(np.sum((jac @ jac.T) ** 2) / width / m1**2 - 1.0)
    values = {k: np.array(v) for k, v in out.items()}
    values["singular_values"] = tf.linalg.svd(jac, compute_uv=False).numpy()
    return values


def measured_chi(
    sigma_w: np.ndarray,
    sigma_b: np.ndarray,
    weights: np.ndarray,
    *,
    burn_in: int = 20,
    batch: int = 8,
    seed: int = 0,
) -> np.ndarray:
    """Measure ``log chi_1`` on random tanh networks over a grid of weight and bias scales.

    Every grid point scales the same Gaussian kernels and biases (a smooth map). ``batch``
    standard normal inputs go through ``len(weights)`` layers; after ``burn_in`` layers (``q``
    reaches ``q*``), each layer's ``||J_l||_F^2 / width``, the mean squared singular value of
    its Jacobian ``diag(tanh'(h)) (sigma_w W_l)^T``, is averaged over later layers and inputs.

    Args:
        sigma_w: Weight scales, shape ``(n_w,)``.
        sigma_b: Bias scales, shape ``(n_b,)``.
        weights: Scale-1 Gaussian kernels ``(depth, width, width)`` (:func:`weight_matrices`).
        burn_in: Layers skipped before measuring (< depth).
        batch: Inputs.
        seed: Seed of the inputs and biases.

    Returns:
        ``(n_w, n_b)`` array of the natural log of the measured ``chi_1``.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    weights = np.asarray(weights, dtype=np.float64)
    (depth, width, _), batch = weights.shape, check_int("batch", batch)
    if not 0 <= burn_in < depth:
        raise ValueError(f"burn_in must be in [0, {depth}), got {burn_in}")
    sw = np.asarray(sigma_w, dtype=np.float64).reshape(-1, 1, 1, 1)
    sb = np.asarray(sigma_b, dtype=np.float64).reshape(1, -1, 1, 1)
    rng = make_rng(seed)
    x = np.broadcast_to(rng.standard_normal((batch, width)), (sw.size, sb.size, batch, width))
    total = np.zeros((sw.size, sb.size))
    for layer, w in enumerate(weights):
        h = sw * (x @ w) + sb * rng.standard_normal(width)
        x = np.tanh(h)
        if layer >= burn_in:
            chi = sw[..., 0] ** 2 * (_slope_sq(h) @ (w**2).sum(axis=0)) / width
            total += chi.mean(axis=-1)
    return np.log(total / (depth - burn_in))


def critical_sigma_w(sigma_w: np.ndarray, log_chi: np.ndarray) -> np.ndarray:
    """Return, for each column of ``log_chi``, the ``sigma_w`` where it first crosses 0 upwards.

    Args:
        sigma_w: Increasing weight scales, shape ``(n_w,)``.
        log_chi: ``(n_w, n_b)`` as from :func:`measured_chi`.

    Returns:
        ``(n_b,)`` crossings, interpolated linearly (NaN where a column does not cross).

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    sw, lc = np.asarray(sigma_w, dtype=np.float64), np.asarray(log_chi, dtype=np.float64)
    out = np.full(lc.shape[1], np.nan)
    for j, col in enumerate(lc.T):
        up = np.flatnonzero((col[:-1] < 0) & (col[1:] >= 0))
        if up.size:
            i = up[0]
            out[j] = np.interp(0.0, col[i : i + 2], sw[i : i + 2])
    return out


def plot_phase_diagram(
    sigma_w: np.ndarray,
    sigma_b: np.ndarray,
    log_chi: np.ndarray,
    *,
    line: tuple[np.ndarray, np.ndarray] | None = None,
    marks: dict[str, tuple[float, float]] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw ``log chi_1`` over ``(sigma_w, sigma_b)`` as a heat map with the phases labelled.

    Args:
        sigma_w: Weight scales (x axis), shape ``(n_w,)``.
        sigma_b: Bias scales (y axis), shape ``(n_b,)``.
        log_chi: ``(n_w, n_b)`` values, as from :func:`measured_chi`.
        line: Optional ``(sigma_w, sigma_b)`` of the mean-field edge of chaos, drawn dashed.
        marks: Optional ``{label: (sigma_w, sigma_b)}`` points to mark.
        ax: Axes to draw on (a new figure if None).

    Returns:
        The Axes drawn on.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    lc = np.asarray(log_chi, dtype=np.float64)
    norm = TwoSlopeNorm(0.0, vmin=min(lc.min(), -1e-3), vmax=max(lc.max(), 1e-3))
    image = ax.pcolormesh(sigma_w, sigma_b, lc.T, cmap="RdBu_r", norm=norm, shading="nearest")
    ax.figure.colorbar(image, ax=ax, label="log $\\chi_1$ (growth of $E\\|g\\|^2$ per layer)")
    if line is not None:
        ax.plot(*line, color=BLACK, linestyle="--", label="mean field: $\\chi_1 = 1$")
        ax.legend(loc="upper right")
    for label, (w, b) in (marks or {}).items():
        side = {"ha": "right", "xytext": (-4, 4)} if w > np.mean(sigma_w) else {"xytext": (4, 4)}
        ax.plot(w, b, marker="o", color=BLACK, linestyle="none")
        ax.annotate(label, (w, b), textcoords="offset points", fontsize=8, **side)
    style = {"transform": ax.transAxes, "fontsize": 9, "color": BLACK}
    ax.text(0.03, 0.9, "ordered:\ngradients vanish", **style)
    ax.text(0.72, 0.5, "chaotic:\ngradients explode", **style)
    ax.set(xlabel="weight scale $\\sigma_w$", ylabel="bias scale $\\sigma_b$")
    ax.grid(False)
    return ax
