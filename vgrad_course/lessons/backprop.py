"""Backpropagation by hand for a tiny network: 1 input -> 2 tanh units -> 1 output, squared loss.

The forward pass stores every intermediate value; the backward pass applies the chain rule
node by node. Two independent references check it: ``tf.GradientTape`` and central finite
differences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from vgrad_course.palette import BLUE
from vgrad_course.validation import check_positive

#: Parameter names of the tiny network, in order.
PARAMS: tuple[str, ...] = ("w1", "b1", "w2", "b2")
_SHAPES = {"w1": (2,), "b1": (2,), "w2": (2,), "b2": ()}

Params = Mapping[str, np.ndarray]


def _check_params(params: Params) -> dict[str, np.ndarray]:
    """Return the parameters as float64 arrays, or raise if a name or shape is wrong."""
    if not isinstance(params, Mapping) or set(params) != set(PARAMS):
        got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        raise ValueError(f"params must be a mapping with keys {PARAMS}, got {got}")
    out = {}
    for name in PARAMS:
        value = np.asarray(params[name], dtype=np.float64)
        if value.shape != _SHAPES[name]:
            raise ValueError(f"{name} must have shape {_SHAPES[name]}, got {value.shape}")
        out[name] = value
    return out


def forward(params: Params, x: float, y: float) -> dict[str, np.ndarray]:
    """Run the forward pass on one example and keep every intermediate value.

    ``z = w1 * x + b1``, ``h = tanh(z)``, ``y_hat = w2 . h + b2``, ``loss = (y_hat - y)^2 / 2``.

    Args:
        params: ``{"w1": (2,), "b1": (2,), "w2": (2,), "b2": ()}``.
        x: The scalar input.
        y: The scalar target.

    Returns:
        ``{"x", "y", "z", "h", "y_hat", "loss"}`` as float64 arrays.

    Used in: "The chain rule and backpropagation".
    """
    p = _check_params(params)
    x, y = float(x), float(y)
    z = p["w1"] * x + p["b1"]
    h = np.tanh(z)
    y_hat = p["w2"] @ h + p["b2"]
    loss = 0.5 * (y_hat - y) ** 2
    return {"x": np.float64(x), "y": np.float64(y), "z": z, "h": h, "y_hat": y_hat, "loss": loss}


def backward(params: Params, cache: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Apply the chain rule backwards through the values stored by :func:`forward`.

    Args:
        params: The parameters used in the forward pass.
        cache: The output of :func:`forward`.

    Returns:
        ``dL/d(node)`` for every node: ``"y_hat", "h", "z"`` and the parameters.

    Used in: "The chain rule and backpropagation".
    """
    p = _check_params(params)
    d_y_hat = cache["y_hat"] - cache["y"]  # dL/dy_hat for L = (y_hat - y)^2 / 2
    d_w2 = d_y_hat * cache["h"]
    d_b2 = d_y_hat
    d_h = d_y_hat * p["w2"]
    d_z = d_h * (1.0 - cache["h"] ** 2)  # tanh'(z) = 1 - tanh(z)^2
    d_w1 = d_z * cache["x"]
    d_b1 = d_z
    return {"y_hat": d_y_hat, "h": d_h, "z": d_z, "w1": d_w1, "b1": d_b1, "w2": d_w2, "b2": d_b2}


def tape_gradients(params: Params, x: float, y: float) -> dict[str, np.ndarray]:
    """Compute the parameter gradients of the same network with ``tf.GradientTape``.

    Args:
        params: The parameters.
        x: The scalar input.
        y: The scalar target.

    Returns:
        ``{name: dL/d(name)}`` for the four parameters, as float64 arrays.

    Used in: "The chain rule and backpropagation".
    """
    import tensorflow as tf

    p = _check_params(params)
    variables = {k: tf.Variable(v, dtype=tf.float64) for k, v in p.items()}
    with tf.GradientTape() as tape:
        h = tf.tanh(variables["w1"] * x + variables["b1"])
        y_hat = tf.reduce_sum(variables["w2"] * h) + variables["b2"]
        loss = 0.5 * (y_hat - y) ** 2
    grads = tape.gradient(loss, variables)
    return {k: grads[k].numpy() for k in PARAMS}


def numerical_gradients(
    loss_fn: Callable[[dict[str, np.ndarray]], float], params: Params, *, eps: float = 1e-6
) -> dict[str, np.ndarray]:
    """Estimate every parameter gradient by central finite differences.

    ``dL/dp_i ~ (L(p + eps e_i) - L(p - eps e_i)) / (2 eps)``, one entry at a time.

    Args:
        loss_fn: Function of a parameter dict returning the scalar loss.
        params: The point at which to differentiate (not modified).
        eps: The step size.

    Returns:
        ``{name: estimated gradient}`` with the shapes of ``params``.

    Used in: "The chain rule and backpropagation".
    """
    eps = check_positive("eps", eps)
    base = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    grads = {}
    for name, value in base.items():
        grad = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            shifted = {k: v.copy() for k, v in base.items()}
            shifted[name][i] = value[i] + eps
            up = float(loss_fn(shifted))
            shifted[name][i] = value[i] - eps
            down = float(loss_fn(shifted))
            grad[i] = (up - down) / (2 * eps)
        grads[name] = grad
    return grads


def max_relative_error(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> float:
    """Return ``max |a - b| / max(|a| + |b|, 1e-12)`` over every entry of every shared key.

    Args:
        a: One set of gradients.
        b: Another set with the same keys and shapes.

    Returns:
        The largest relative difference (below ~1e-7 means "the same" in float64).

    Used in: "The chain rule and backpropagation".
    """
    if set(a) != set(b):
        raise ValueError(f"the two gradient sets have different keys: {sorted(a)} vs {sorted(b)}")
    worst = 0.0
    for key in a:
        u, v = np.asarray(a[key], dtype=float), np.asarray(b[key], dtype=float)
        denom = np.maximum(np.abs(u) + np.abs(v), 1e-12)
        worst = max(worst, float(np.max(np.abs(u - v) / denom)))
    return worst


def plot_graph(
    cache: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
) -> Axes:
    """Draw the computational graph with each node's forward value and its gradient dL/d(node).

    Args:
        cache: The output of :func:`forward`.
        grads: The output of :func:`backward`.
        ax: Axes to draw on (a new wide figure if None).

    Returns:
        The Axes drawn on.

    Used in: "The chain rule and backpropagation".
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    d_loss = 1.0
    nodes = {
        "x": ((0, 0), cache["x"], None),
        "z₁": ((1, 0.8), cache["z"][0], grads["z"][0]),
        "z₂": ((1, -0.8), cache["z"][1], grads["z"][1]),
        "h₁": ((2, 0.8), cache["h"][0], grads["h"][0]),
        "h₂": ((2, -0.8), cache["h"][1], grads["h"][1]),
        "ŷ": ((3, 0), cache["y_hat"], grads["y_hat"]),
        "L": ((4, 0), cache["loss"], d_loss),
    }
    edges = [
        ("x", "z₁", "×w1₁ +b1₁"),
        ("x", "z₂", "×w1₂ +b1₂"),
        ("z₁", "h₁", "tanh"),
        ("z₂", "h₂", "tanh"),
        ("h₁", "ŷ", "×w2₁"),
        ("h₂", "ŷ", "×w2₂ (+b2)"),
        ("ŷ", "L", "½(ŷ−y)²"),
    ]
    for start, end, label in edges:
        (x0, y0), (x1, y1) = nodes[start][0], nodes[end][0]
        dx, dy = x1 - x0, y1 - y0
        # leave the boxes (half-size 0.42 x 0.27) along the edge's own direction
        cut = min(0.42 / abs(dx) if dx else np.inf, 0.27 / abs(dy) if dy else np.inf)
        ax.annotate(
            "",
            xy=(x1 - cut * dx, y1 - cut * dy),
            xytext=(x0 + cut * dx, y0 + cut * dy),
            arrowprops={"arrowstyle": "->", "color": "0.4"},
        )
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, label, ha="center", fontsize=8)
    for name, ((x0, y0), value, grad) in nodes.items():
        text = f"{name} = {float(value):.3f}"
        if grad is not None:
            text += f"\n∂L/∂{name} = {float(grad):.3f}"
        ax.text(
            x0,
            y0,
            text,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": BLUE},
        )
    ax.set_xlim(-0.5, 4.5)
    ax.set_ylim(-1.4, 1.4)
    ax.set_axis_off()
    ax.set_title("forward values (top line) and backward gradients (bottom line)", fontsize=9)
    return ax
