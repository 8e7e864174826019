"""Batch, layer and RMS normalisation side by side: which axis each one averages over.

For pre-activations ``z`` of shape ``(batch, units)``, batch norm (Ioffe & Szegedy 2015)
normalises each unit over the batch, layer norm (Ba, Kiros & Hinton 2016) each example over its
units, and RMSNorm (Zhang & Sennrich 2019) divides each example by the RMS of its units. Here in
NumPy with Keras' conventions (epsilon inside the root; 1e-3 for ``BatchNormalization`` and
``LayerNormalization``, 1e-6 for ``RMSNormalization``) and their backward pass, in a classifier
cheap enough to train many times. The tests check all of it against Keras.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_choice, check_int, check_positive

#: The hidden-layer normalisations: none, over the batch, over the units, by the units' RMS.
NORMS: tuple[str, ...] = ("none", "batch", "layer", "rms")
#: Keras' default epsilon of each normalisation layer.
EPSILON: dict[str, float] = {"batch": 1e-3, "layer": 1e-3, "rms": 1e-6}
#: Hidden activations: the function and its derivative written with the output ``a``.
ACTIVATIONS: dict[str, tuple] = {
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
    "sigmoid": (lambda u: 0.5 * (1.0 + np.tanh(0.5 * u)), lambda a: a * (1.0 - a)),
}
#: Keras' BatchNormalization momentum for the moving averages.
BN_MOMENTUM = 0.99


def norm_forward(z: object, norm: str) -> tuple[np.ndarray, tuple]:
    """Normalise ``z`` (no learned scale or shift yet); keep what the backward pass needs.

    Args:
        z: Pre-activations, shape ``(batch, units)``.
        norm: ``"batch"`` (per unit, over the batch), ``"layer"`` or ``"rms"`` (per example).

    Returns:
        ``(z_hat, cache)``: ``z`` normalised (float64) and the cache for :func:`norm_backward`.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    check_choice("norm", norm, NORMS[1:])
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"z must have shape (batch, units), got {z.shape}")
    axis = 0 if norm == "batch" else -1
    centred = z if norm == "rms" else z - z.mean(axis=axis, keepdims=True)
    inv = 1.0 / np.sqrt(np.square(centred).mean(axis=axis, keepdims=True) + EPSILON[norm])
    return centred * inv, (centred * inv, inv, axis, norm != "rms")


def norm_backward(grad: np.ndarray, cache: tuple) -> np.ndarray:
    """Return dL/dz from dL/dz_hat for the normalisation that produced ``cache``.

    Args:
        grad: dL/dz_hat, the shape of ``z``.
        cache: The second output of :func:`norm_forward`.

    Returns:
        dL/dz.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    z_hat, inv, axis, centred = cache
    out = grad - z_hat * (grad * z_hat).mean(axis=axis, keepdims=True)
    return inv * (out - grad.mean(axis=axis, keepdims=True) if centred else out)


def glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """Draw a kernel as Keras' default does: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)).

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


@dataclass
class MLP:
    """A classifier: ``depth`` x (Dense, normalisation, activation), then Dense logits.

    As in Keras, hidden layer ``i`` has ``kernel_i``, ``bias_i`` unless batch norm would
    cancel it, ``gamma_i`` with any normalisation and ``beta_i`` with batch or layer norm
    (RMSNorm has a scale only). ``moving`` holds batch norm's moving averages.
    """

    norm: str
    activation: str
    depth: int
    params: dict[str, np.ndarray]
    moving: dict[str, np.ndarray]


def init_mlp(
    depth: int,
    width: int,
    *,
    norm: str,
    activation: str = "tanh",
    initializer: float | None = None,
    input_dim: int = 40,
    output_dim: int = 10,
    seed: int = 0,
) -> MLP:
    """Initialise an :class:`MLP`: biases 0, scales 1, shifts 0, moving variances 1.

    Args:
        depth: Hidden layers.
        width: Units per hidden layer.
        norm: One of ``NORMS``.
        activation: ``"tanh"`` or ``"sigmoid"``.
        initializer: Std of the Gaussian hidden kernels; None for ``glorot_uniform``.
        input_dim: Features per example.
        output_dim: Classes (logits; the output kernel is ``glorot_uniform``).
        seed: Seed of the generator (shifted by ``VGRAD_SEED_OFFSET``).

    Returns:
        The network, as an :class:`MLP`.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    depth, width = check_int("depth", depth), check_int("width", width)
    check_choice("norm", norm, NORMS)
    check_choice("activation", activation, tuple(ACTIVATIONS))
    std = None if initializer is None else check_positive("initializer", initializer)
    rng, p, moving = make_rng(seed), {}, {}
    fan_in = check_int("input_dim", input_dim)
    for i in range(1, depth + 1):
        gauss = None if std is None else rng.normal(0.0, std, (fan_in, width))
        p[f"kernel_{i}"] = glorot_uniform(rng, fan_in, width) if gauss is None else gauss
        p |= {} if norm == "batch" else {f"bias_{i}": np.zeros(width)}
        p |= {} if norm == "none" else {f"gamma_{i}": np.ones(width)}
        p |= {f"beta_{i}": np.zeros(width)} if norm in ("batch", "layer") else {}
        if norm == "batch":
            moving[f"mean_{i}"], moving[f"variance_{i}"] = np.zeros(width), np.ones(width)
        fan_in = width
    p["output_kernel"] = glorot_uniform(rng, width, check_int("output_dim", output_dim))
    p["output_bias"] = np.zeros(output_dim)
    return MLP(norm, activation, depth, p, moving)


def _forward(mlp: MLP, x: np.ndarray, *, training: bool) -> tuple[np.ndarray, list]:
    """Return the logits and, per hidden layer, ``(input, z, z_hat, cache, output)``."""
    p, act = mlp.params, ACTIVATIONS[mlp.activation][0]
    h, layers = np.asarray(x, dtype=np.float64), []
    for i in range(1, mlp.depth + 1):
        z = h @ p[f"kernel_{i}"] + p.get(f"bias_{i}", 0.0)
        z_hat, cache = z, None
        if mlp.norm == "batch" and not training:
            mean, var = mlp.moving[f"mean_{i}"], mlp.moving[f"variance_{i}"]
            z_hat = (z - mean) / np.sqrt(var + EPSILON["batch"])
        elif mlp.norm != "none":
            z_hat, cache = norm_forward(z, mlp.norm)
        layers.append((h, z, z_hat, cache))
        h = act(z_hat * p.get(f"gamma_{i}", 1.0) + p.get(f"beta_{i}", 0.0))
        layers[-1] += (h,)
    return h @ p["output_kernel"] + p["output_bias"], layers


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Return dL/dlogits and the mean cross-entropy for integer labels ``y``.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    labels = np.asarray(y).reshape(-1)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    rows, d = np.arange(len(labels)), np.exp(log_p)
    d[rows, labels] -= 1.0
    return d / len(labels), float(-log_p[rows, labels].mean())


def loss_and_grads(mlp: MLP, x: np.ndarray, y: np.ndarray) -> tuple[float, dict, list]:
    """Return the mean cross-entropy in training mode, its gradients and the layers' values.

    Args:
        mlp: The network.
        x: Inputs, shape ``(batch, input_dim)``.
        y: Integer labels.

    Returns:
        ``(loss, {name: gradient}, layers)``; ``layers[i]`` holds hidden layer ``i + 1``'s
        ``(input, z, z_hat, cache, output)``.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    logits, layers = _forward(mlp, x, training=True)
    p, slope = mlp.params, ACTIVATIONS[mlp.activation][1]
    d, loss = softmax_cross_entropy(logits, y)
    grads = {"output_kernel": layers[-1][-1].T @ d, "output_bias": d.sum(axis=0)}
    dh = d @ p["output_kernel"].T
    for i in range(mlp.depth, 0, -1):
        h, _, z_hat, cache, a = layers[i - 1]
        du = dh * slope(a)
        dz = du if cache is None else norm_backward(du * p[f"gamma_{i}"], cache)
        if f"gamma_{i}" in p:
            grads[f"gamma_{i}"] = (du * z_hat).sum(axis=0)
        if f"beta_{i}" in p:
            grads[f"beta_{i}"] = du.sum(axis=0)
        if f"bias_{i}" in p:
            grads[f"bias_{i}"] = dz.sum(axis=0)
        grads[f"kernel_{i}"], dh = h.T @ dz, dz @ p[f"kernel_{i}"].T
    return loss, grads, layers


def kernel_grad_norms(mlp: MLP, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return ``||dL/dW_i||`` of each hidden kernel, input side first, in training mode.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    grads = loss_and_grads(mlp, x, y)[1]
    return np.array(
        [np.sqrt(np.square(grads[f"kernel_{i}"]).sum()) for i in range(1, mlp.depth + 1)]
    )


def shared_fraction(mlp: MLP, x: np.ndarray) -> np.ndarray:
    """Return, per hidden layer, the share of z's spread over the units common to all examples.

    ``var_units(batch mean of z) / mean_b var_units(z_b)``: 1 when every example has the same
    pattern, 0 when the batch means of all units are equal.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    layers = _forward(mlp, x, training=True)[1]
    return np.array([z.mean(axis=0).var() / z.var(axis=1).mean() for _, z, *_ in layers])


def adam_update(params: dict, grads: dict, state: dict, *, lr: float) -> None:
    """Apply one step of Keras' Adam (beta_1 0.9, beta_2 0.999, epsilon 1e-7) in place.

    ``w -= lr * sqrt(1 - 0.999^t) / (1 - 0.9^t) * m / (sqrt(v) + 1e-7)``; ``state`` (start
    with ``{}``) keeps the step count and the moving averages ``m`` and ``v``.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    t = state["t"] = state.get("t", 0) + 1
    alpha = lr * np.sqrt(1.0 - 0.999**t) / (1.0 - 0.9**t)
    for name, g in grads.items():
        if f"m/{name}" not in state:
            state[f"m/{name}"], state[f"v/{name}"] = np.zeros_like(g), np.zeros_like(g)
        m, v = state[f"m/{name}"], state[f"v/{name}"]
        m += (g - m) * 0.1
        v += (g * g - v) * 0.001
        params[name] -= alpha * m / (np.sqrt(v) + 1e-7)


def batch_order(n: int, steps: int, batch_size: int, *, seed: int) -> np.ndarray:
    """Return the indices of ``steps`` batches, shape ``(steps, batch_size)``: shuffled epochs.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    steps, batch_size = check_int("steps", steps), check_int("batch_size", batch_size)
    if batch_size > n:
        raise ValueError(f"batch_size {batch_size} exceeds the {n} training examples")
    rng = make_rng(seed + 10_000)  # not the weights' generator
    order = [rng.permutation(n) for _ in range(-(-steps * batch_size // n))]
    return np.concatenate(order)[: steps * batch_size].reshape(steps, batch_size)


def train_mlp(
    mlp: MLP, x: np.ndarray, y: np.ndarray, *, batch_size: int, steps: int, lr: float, seed: int = 0
) -> np.ndarray:
    """Train ``mlp`` in place with Keras' Adam; batch norm updates its moving averages.

    Args:
        mlp: The network (from :func:`init_mlp`).
        x: Training inputs.
        y: Integer labels.
        batch_size: Examples per step.
        steps: Optimiser steps.
        lr: Adam's learning rate.
        seed: Seed of the batch order.

    Returns:
        The training loss of every step's batch.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    lr, state, losses = check_positive("lr", lr), {}, []
    for idx in batch_order(len(x), steps, batch_size, seed=seed):
        loss, grads, layers = loss_and_grads(mlp, x[idx], y[idx])
        for i, (_, z, *_) in enumerate(layers if mlp.norm == "batch" else [], start=1):
            for key, value in ((f"mean_{i}", z.mean(axis=0)), (f"variance_{i}", z.var(axis=0))):
                mlp.moving[key] = BN_MOMENTUM * mlp.moving[key] + (1 - BN_MOMENTUM) * value
        adam_update(mlp.params, grads, state, lr=lr)
        losses.append(loss)
    return np.array(losses)


def accuracy(mlp: MLP, x: np.ndarray, y: np.ndarray) -> float:
    """Return the accuracy in inference mode (batch norm uses its moving averages).

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    logits = _forward(mlp, x, training=False)[0]
    return float(np.mean(logits.argmax(axis=-1) == np.asarray(y).reshape(-1)))
