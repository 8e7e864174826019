"""Products of Jacobians: why depth makes gradients explode or vanish.

Backpropagation multiplies the output gradient by one Jacobian per layer. This module
measures such products (random matrices, the layers of a Keras model) and builds deep linear
networks. Catching an explosion during training is monitoring: see
:func:`vgrad_course.probes.detect_explosion`.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from vgrad_course.seeds import effective_seed, layer_seed, make_rng
from vgrad_course.validation import check_int

MATRIX_KINDS: tuple[str, ...] = ("gaussian", "orthogonal")


def _random_matrix(rng: np.random.Generator, width: int, scale: float, kind: str) -> np.ndarray:
    """Draw one ``width x width`` matrix with ``E||W v||^2 = scale^2 ||v||^2``."""
    gaussian = rng.normal(0.0, 1.0, size=(width, width))
    if kind == "gaussian":
        return scale * gaussian / np.sqrt(width)
    q, r = np.linalg.qr(gaussian)
    return scale * q * np.sign(np.diag(r))  # Haar-distributed orthogonal matrix


def random_product_norms(
    depth: int,
    width: int,
    *,
    scale: float = 1.0,
    kind: str = "gaussian",
    trials: int = 20,
    seed: int = 0,
) -> np.ndarray:
    """Return ``||W_l ... W_1 v||`` for l = 0..depth, geometric mean over random draws.

    Each ``W`` is ``width x width``; ``"gaussian"`` entries are N(0, scale^2 / width) (so
    ``E||W v||^2 = scale^2 ||v||^2``), ``"orthogonal"`` is ``scale`` times a random rotation.
    ``v`` is a random unit vector.

    Args:
        depth: Number of matrices multiplied.
        width: Size of each square matrix.
        scale: The gain of each matrix.
        kind: ``"gaussian"`` or ``"orthogonal"``.
        trials: Independent products averaged (in log space).
        seed: Seed of the NumPy generator.

    Returns:
        float64 array of shape ``(depth + 1,)`` starting at 1.

    Used in: "Exploding gradients".
    """
    depth = check_int("depth", depth)
    width = check_int("width", width)
    trials = check_int("trials", trials)
    if kind not in MATRIX_KINDS:
        raise ValueError(f"kind must be one of {MATRIX_KINDS}, got {kind!r}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    rng = make_rng(seed)
    logs = np.zeros((trials, depth + 1))
    for t in range(trials):
        v = rng.normal(size=width)
        v /= np.linalg.norm(v)
        for layer in range(1, depth + 1):
            v = _random_matrix(rng, width, scale, kind) @ v
            norm = np.linalg.norm(v)
            logs[t, layer] = logs[t, layer - 1] + np.log(norm)
            v /= norm  # renormalise so that deep products never overflow
    return np.exp(logs.mean(axis=0))


def growth_per_layer(norms: Sequence[float] | np.ndarray) -> float:
    """Return the geometric-mean factor by which a norm changes per layer.

    Args:
        norms: Norms after 0, 1, ..., depth layers (as from :func:`random_product_norms`).

    Returns:
        ``(norms[-1] / norms[0]) ** (1 / depth)``.

    Used in: "Exploding gradients".
    """
    n = np.asarray(norms, dtype=float)
    if n.ndim != 1 or n.size < 2 or not np.all(n > 0):
        raise ValueError("norms needs at least two positive values")
    return float((n[-1] / n[0]) ** (1.0 / (n.size - 1)))


def critical_scale(
    width: int, *, depth: int = 50, trials: int = 20, kind: str = "gaussian", seed: int = 0
) -> float:
    """Estimate the gain at which random products neither grow nor shrink on average.

    Because ``W = scale * W_1`` with ``W_1`` drawn at scale 1, the log-norm of a product is
    ``depth * log(scale)`` plus that at scale 1; the critical gain is therefore
    ``1 / growth_per_layer(norms at scale 1)``.

    Args:
        width: Size of each square matrix.
        depth: Number of matrices multiplied.
        trials: Independent products averaged.
        kind: ``"gaussian"`` or ``"orthogonal"``.
        seed: Seed of the NumPy generator.

    Returns:
        The critical scale (close to 1, slightly above it for Gaussian matrices).

    Used in: "Exploding gradients".
    """
    norms = random_product_norms(depth, width, scale=1.0, kind=kind, trials=trials, seed=seed)
    return 1.0 / growth_per_layer(norms)


def build_deep_linear(
    depth: int, width: int, *, gain: float = 1.0, input_dim: int = 1, seed: int = 0
) -> keras.Model:
    """Build a deep linear network with one output (no activations, no biases), as in Saxe 2014.

    Every kernel is drawn from N(0, gain^2 / fan_in), so ``gain=1`` preserves the expected
    squared norm of a signal through each layer and ``gain > 1`` amplifies it geometrically.

    Args:
        depth: Number of hidden layers (named ``hidden_1 ..``; the output layer is ``output``).
        width: Units per hidden layer.
        gain: Multiplier of the variance-preserving standard deviation ``1/sqrt(fan_in)``.
        input_dim: Features per example.
        seed: Seed of the model; layer ``i`` (the output layer is ``depth + 1``) draws its
            kernel with :func:`vgrad_course.seeds.layer_seed`, as ``models.build_mlp`` does.

    Returns:
        An uncompiled functional ``keras.Model``.

    Used in: "The chain rule and backpropagation", "Exploding gradients".
    """
    depth = check_int("depth", depth)
    width = check_int("width", width)
    if not gain > 0:
        raise ValueError(f"gain must be > 0, got {gain}")
    inputs = keras.Input(shape=(check_int("input_dim", input_dim),), name="x")
    h = inputs
    fan_in = input_dim
    names = [f"hidden_{i}" for i in range(1, depth + 1)] + ["output"]
    for i, name in enumerate(names, start=1):
        init = keras.initializers.RandomNormal(
            stddev=gain / np.sqrt(fan_in), seed=effective_seed(layer_seed(seed, i))
        )
        units = width if i <= depth else 1
        h = keras.layers.Dense(units, use_bias=False, kernel_initializer=init, name=name)(h)
        fan_in = width
    return keras.Model(inputs, h, name=f"linear_{depth}x{width}_gain{gain:g}")


def _chain_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Return the layers of a chain-shaped model (each layer feeds the next), input excluded."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not layers:
        raise ValueError(f"model {model.name!r} has no layers")
    if any(isinstance(layer, keras.layers.Add | keras.layers.Concatenate) for layer in layers):
        raise ValueError("layer_jacobians needs a plain chain of layers (no skip connections)")
    return layers


def layer_jacobians(model: keras.Model, x: object) -> list[np.ndarray]:
    """Return the Jacobian of every layer's output with respect to its input, for one example.

    Works for chain-shaped models (Sequential, or :func:`~vgrad_course.models.build_mlp`
    without residual connections). An Activation layer's Jacobian is ``diag(phi'(z))``,
    a Dense layer's is its transposed kernel.

    Args:
        model: A built chain-shaped model.
        x: One input example, shape ``(input_dim,)``.

    Returns:
        ``[J_1, ..., J_L]`` with ``J_l`` of shape ``(out_l, in_l)``, input side first.

    Used in: "The chain rule and backpropagation".
    """
    h = tf.convert_to_tensor(np.asarray(x, dtype=np.float32).reshape(1, -1))
    jacobians = []
    for layer in _chain_layers(model):
        with tf.GradientTape() as tape:
            tape.watch(h)
            out = layer(h)
        jacobians.append(tape.jacobian(out, h)[0, :, 0, :].numpy().astype(np.float64))
        h = out
    return jacobians


def chain_rule_grads(
    jacobians: Sequence[np.ndarray], output_grad: Sequence[float] | np.ndarray
) -> list[np.ndarray]:
    """Backpropagate an output gradient by multiplying transposed Jacobians, last layer first.

    ``g_L = output_grad`` and ``g_{l-1} = J_l^T g_l``.

    Args:
        jacobians: ``[J_1, ..., J_L]`` as from :func:`layer_jacobians`.
        output_grad: dL/d(output), shape ``(out_L,)``.

    Returns:
        ``[g_0, ..., g_L]``: the gradient with respect to each layer's input, then the output.

    Used in: "The chain rule and backpropagation".
    """
    g = np.asarray(output_grad, dtype=np.float64).reshape(-1)
    grads = [g]
    for jac in reversed(list(jacobians)):
        if jac.shape[0] != g.shape[0]:
            raise ValueError(f"a Jacobian of shape {jac.shape} cannot follow a gradient {g.shape}")
        g = jac.T @ g
        grads.append(g)
    return grads[::-1]


def tape_layer_grads(
    model: keras.Model, x: object, y: object, *, loss: str = "mse"
) -> list[np.ndarray]:
    """Return dL/d(input of each layer) and dL/d(output) with ``tf.GradientTape``, for one example.

    The reference for :func:`chain_rule_grads`: each intermediate tensor is watched directly.

    Args:
        model: A built chain-shaped model.
        x: One input example, shape ``(input_dim,)``.
        y: Its target, shape ``(output_dim,)``.
        loss: A Keras loss name.

    Returns:
        ``[g_0, ..., g_L]`` as float64 arrays (same layout as :func:`chain_rule_grads`).

    Used in: "The chain rule and backpropagation".
    """
    loss_fn = keras.losses.get(loss)
    h = tf.convert_to_tensor(np.asarray(x, dtype=np.float32).reshape(1, -1))
    yt = tf.convert_to_tensor(np.asarray(y, dtype=np.float32).reshape(1, -1))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(h)
        values = [h]
        for layer in _chain_layers(model):
            values.append(layer(values[-1]))
        value = tf.reduce_mean(loss_fn(yt, values[-1]))
    grads = [tape.gradient(value, v)[0].numpy().astype(np.float64) for v in values]
    del tape
    return grads
