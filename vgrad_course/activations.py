"""Activation functions and their derivatives, in NumPy, with Keras' definitions and defaults.

One home for the activation maths of the whole course: the lessons use it for variance
propagation, the chapters to plot slopes, and the grader's labs (which must not start
TensorFlow) for their small experiments. ``tests/test_activations.py`` checks every function
and derivative against Keras and its automatic differentiation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import erf

from vgrad_course.validation import check_choice

#: Activations compared in the course (Keras names), plus ``"linear"``.
ACTIVATIONS: tuple[str, ...] = (
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "selu",
)

#: Keras' default slope of ``leaky_relu`` for negative inputs.
LEAKY_SLOPE: float = 0.2
#: SELU's constants (Klambauer et al. 2017), as in Keras.
SELU_ALPHA: float = 1.6732632423543772
SELU_SCALE: float = 1.0507009873554805

_Fn = Callable[[np.ndarray], np.ndarray]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Return the logistic sigmoid ``1 / (1 + exp(-z))``, without overflow for large ``|z|``.

    Args:
        z: Pre-activations.

    Returns:
        float64 array of the same shape.

    Used in: "Vanishing gradients in deep networks", "Graded exercises".
    """
    z = np.asarray(z, dtype=np.float64)
    ez = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + ez), ez / (1.0 + ez))


def _gaussian_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + erf(z / np.sqrt(2.0)))


def _elu_part(z: np.ndarray) -> np.ndarray:
    """``exp(z) - 1`` for ``z <= 0`` (0 elsewhere), without overflow for large positive ``z``."""
    return np.expm1(np.minimum(z, 0.0))


_VALUES: dict[str, _Fn] = {
    "linear": lambda z: z,
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
    "elu": lambda z: np.where(z > 0, z, _elu_part(z)),
    "gelu": lambda z: z * _gaussian_cdf(z),
    "selu": lambda z: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * _elu_part(z)),
}

# Slopes at z = 0 follow TensorFlow's gradients (ReLU: 0, leaky ReLU: its negative slope,
# SELU: its positive-side slope).
_SLOPES: dict[str, _Fn] = {
    "linear": np.ones_like,
    "sigmoid": lambda z: sigmoid(z) * (1.0 - sigmoid(z)),
    "tanh": lambda z: 1.0 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(np.float64),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, LEAKY_SLOPE),
    "elu": lambda z: np.where(z > 0, 1.0, _elu_part(z) + 1.0),
    "gelu": lambda z: _gaussian_cdf(z) + z * np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi),
    "selu": lambda z: SELU_SCALE * np.where(z >= 0, 1.0, SELU_ALPHA * (_elu_part(z) + 1.0)),
}


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """Apply the activation ``name`` elementwise.

    Args:
        name: One of :data:`ACTIVATIONS`, e.g. ``"sigmoid"``.
        z: Pre-activations.

    Returns:
        float64 array of the same shape.

    Used in: "Activation functions".
    """
    check_choice("activation", name, ACTIVATIONS)
    return np.asarray(_VALUES[name](np.asarray(z, dtype=np.float64)), dtype=np.float64)


def derivative(name: str, z: np.ndarray) -> np.ndarray:
    """Return the derivative of the activation ``name`` at ``z`` (the analytic formula).

    Args:
        name: One of :data:`ACTIVATIONS`, e.g. ``"sigmoid"``.
        z: Points at which to evaluate the derivative.

    Returns:
        float64 array of the same shape as ``z``.

    Used in: "Vanishing gradients in deep networks", "Activation functions".
    """
    check_choice("activation", name, ACTIVATIONS)
    return np.asarray(_SLOPES[name](np.asarray(z, dtype=np.float64)), dtype=np.float64)
