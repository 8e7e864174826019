"""Activation functions and their derivatives, computed by automatic differentiation."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

#: Activations compared in the course (all are Keras activation names).
ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "selu")


def _get(name: str) -> Callable:
    """Return the Keras activation called ``name`` or raise a clear error."""
    try:
        return keras.activations.get(name)
    except ValueError as exc:
        raise ValueError(f"unknown activation {name!r}; try one of {ACTIVATIONS}") from exc


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """Apply the activation ``name`` elementwise.

    Args:
        name: A Keras activation name, e.g. ``"sigmoid"``.
        z: Pre-activations.

    Returns:
        float64 array of the same shape.

    Used in: "Activation functions".
    """
    fn = _get(name)
    return np.asarray(fn(tf.constant(np.asarray(z, dtype=np.float32))), dtype=np.float64)


def derivative(name: str, z: np.ndarray) -> np.ndarray:
    """Return the derivative of the activation ``name`` at ``z`` (by automatic differentiation).

    Args:
        name: A Keras activation name, e.g. ``"sigmoid"``.
        z: Points at which to evaluate the derivative.

    Returns:
        float64 array of the same shape as ``z``.

    Used in: "Vanishing gradients in deep networks", "Activation functions".
    """
    fn = _get(name)
    zt = tf.constant(np.asarray(z, dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(zt)
        out = fn(zt)
    return np.asarray(tape.gradient(out, zt), dtype=np.float64)
