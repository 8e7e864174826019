"""Weight initialisation from variance preservation (Glorot & Bengio 2010; He et al. 2015).

The forward and backward passes here are plain NumPy, written out layer by layer, so the
chapter can show exactly which variance is multiplied by what at every layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from matplotlib.axes import Axes

from vgrad_course.activations import ACTIVATIONS, activate, derivative
from vgrad_course.plotting import plot_layer_values
from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_choice, check_int

#: Initialisation schemes compared in the course.
SCHEMES: tuple[str, ...] = ("naive", "glorot", "he")

#: Standard deviation of the "naive" scheme (a small Gaussian, as in early practice).
NAIVE_STD: float = 0.01


def glorot_std(fan_in: int, fan_out: int) -> float:
    """Return the Glorot/Xavier standard deviation ``sqrt(2 / (fan_in + fan_out))``.

    It is the compromise between keeping forward variance (``1/fan_in``) and backward
    variance (``1/fan_out``) for units that are linear near zero, such as tanh.

    Args:
        fan_in: Inputs per unit.
        fan_out: Outputs per unit.

    Returns:
        The standard deviation of the weights.

    Used in: "Weight initialisation".
    """
    return float(np.sqrt(2.0 / (check_int("fan_in", fan_in) + check_int("fan_out", fan_out))))


def he_std(fan_in: int) -> float:
    """Return the He/Kaiming standard deviation ``sqrt(2 / fan_in)`` for ReLU layers.

    A ReLU zeroes half of a symmetric input, halving its second moment; doubling the
    weight variance compensates.

    Args:
        fan_in: Inputs per unit.

    Returns:
        The standard deviation of the weights.

    Used in: "Weight initialisation".
    """
    return float(np.sqrt(2.0 / check_int("fan_in", fan_in)))


def init_std(scheme: str, fan_in: int, fan_out: int) -> float:
    """Return the weight standard deviation of ``scheme`` for a layer of the given fans.

    Args:
        scheme: ``"naive"`` (``NAIVE_STD``), ``"glorot"`` or ``"he"``.
        fan_in: Inputs per unit.
        fan_out: Outputs per unit.

    Returns:
        The standard deviation.

    Used in: "Weight initialisation".
    """
    if scheme == "naive":
        return NAIVE_STD
    if scheme == "glorot":
        return glorot_std(fan_in, fan_out)
    if scheme == "he":
        return he_std(fan_in)
    raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def forward_backward(
    x: np.ndarray, weights: list[np.ndarray], *, activation: str = "relu", seed: int = 0
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Run a bias-free MLP forward, then backpropagate ``L = sum(outputs * g)`` for a fixed g.

    Layer ``l`` computes ``h_l = f(h_{l-1} @ W_l)``. The upstream gradient at the top is a
    standard normal array drawn with ``seed``, so ``dL/dh_l`` has the statistics of a generic
    backward signal.

    Args:
        x: Inputs, shape ``(batch, fan_in)``.
        weights: One matrix per layer, shapes ``(fan_in_l, fan_out_l)``.
        activation: One of :data:`vgrad_course.activations.ACTIVATIONS`.
        seed: Seed of the upstream gradient at the top.

    Returns:
        ``(activations, grads)``: per layer, ``h_l`` and ``dL/dh_l`` (input side first).

    Used in: "Weight initialisation".
    """
    check_choice("activation", activation, ACTIVATIONS)
    h = np.asarray(x, dtype=np.float64)
    if h.ndim != 2:
        raise ValueError(f"x must have shape (batch, features), got {h.shape}")
    pre, acts = [], []
    for i, w in enumerate(weights):
        if w.shape[0] != h.shape[1]:
            raise ValueError(f"layer {i + 1} expects {w.shape[0]} inputs, got {h.shape[1]}")
        z = h @ w
        h = activate(activation, z)
        pre.append(z)
        acts.append(h)
    delta = make_rng(seed).standard_normal(h.shape)
    grads = [np.zeros(0)] * len(weights)
    for i in range(len(weights) - 1, -1, -1):
        grads[i] = delta
        delta = (delta * derivative(activation, pre[i])) @ weights[i].T
    return acts, grads


def std_through_depth(
    depth: int,
    width: int,
    *,
    scheme: str = "he",
    activation: str = "relu",
    batch: int = 256,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Measure activation and gradient standard deviations layer by layer at initialisation.

    Inputs are standard normal, weights are zero-mean Gaussians with the scheme's std.

    Args:
        depth: Number of layers.
        width: Units per layer (and input features).
        scheme: ``"naive"``, ``"glorot"`` or ``"he"`` (see :func:`init_std`).
        activation: Activation name (see :func:`forward_backward`).
        batch: Number of input examples.
        seed: Seed of the inputs and weights.

    Returns:
        ``{"activation_std": (depth,), "gradient_std": (depth,)}``, input side first.

    Used in: "Weight initialisation".
    """
    depth, width = check_int("depth", depth), check_int("width", width)
    rng = make_rng(seed)
    std = init_std(scheme, width, width)
    weights = [rng.normal(0.0, std, size=(width, width)) for _ in range(depth)]
    x = rng.standard_normal((check_int("batch", batch), width))
    acts, grads = forward_backward(x, weights, activation=activation, seed=seed)
    return {
        "activation_std": np.array([a.std() for a in acts]),
        "gradient_std": np.array([g.std() for g in grads]),
    }


def end_to_end_ratios(
    depth: int,
    width: int,
    *,
    scheme: str = "he",
    activation: str = "relu",
    seeds: Iterable[int] = range(5),
    batch: int = 256,
) -> dict[str, np.ndarray]:
    """Measure, for several seeds, how much the network scales its signal end to end.

    For each seed, :func:`std_through_depth` is run and two ratios are kept: the activation
    std of the last layer over that of the first, and the gradient std at the first layer over
    that at the last (a ratio below 1 means the backward signal shrinks towards the input).

    Args:
        depth: Number of layers.
        width: Units per layer.
        scheme: ``"naive"``, ``"glorot"`` or ``"he"`` (see :func:`init_std`).
        activation: Activation name (see :func:`forward_backward`).
        seeds: Seeds of the inputs and weights, one draw each.
        batch: Number of input examples per draw.

    Returns:
        ``{"activation": (n_seeds,), "gradient": (n_seeds,)}``, one ratio per seed.

    Used in: "Weight initialisation".
    """
    act, grad = [], []
    for seed in seeds:
        r = std_through_depth(
            depth, width, scheme=scheme, activation=activation, batch=batch, seed=seed
        )
        act.append(r["activation_std"][-1] / r["activation_std"][0])
        grad.append(r["gradient_std"][0] / r["gradient_std"][-1])
    if not act:
        raise ValueError("seeds must not be empty")
    return {"activation": np.array(act), "gradient": np.array(grad)}


def plot_std_through_depth(
    results: Mapping[str, Mapping[str, np.ndarray]],
    *,
    key: str = "activation_std",
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Plot one std-per-layer curve for each labelled result of :func:`std_through_depth`.

    Args:
        results: ``{label: std_through_depth(...)}``.
        key: ``"activation_std"`` or ``"gradient_std"``.
        ax: Axes to draw on (a new figure if None).
        title: Optional title.

    Returns:
        The Axes drawn on (log-scale y).

    Used in: "Weight initialisation".
    """
    if key not in ("activation_std", "gradient_std"):
        raise ValueError(f"key must be 'activation_std' or 'gradient_std', got {key!r}")
    ylabel = "std of activations $h_l$" if key == "activation_std" else "std of ∂L/∂$h_l$"
    values = {label: r[key] for label, r in results.items()}
    return plot_layer_values(values, ax=ax, ylabel=ylabel, title=title, logy=True)
