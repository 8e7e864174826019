"""Residual connections: a layer's Jacobian and its singular values (He et al. 2016).

The residual block itself is library code (:class:`vgrad_course.layers.ResidualBlock`, built
into networks by :func:`vgrad_course.models.build_mlp` with ``residual=True``); this lesson
module measures what the skip does to the backward pass.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def layer_jacobian(layer: keras.layers.Layer, h: np.ndarray) -> np.ndarray:
    """Return the Jacobian ``d layer(h) / d h`` at one input vector, by automatic differentiation.

    Args:
        layer: A built layer mapping ``(1, n)`` to ``(1, m)`` (e.g. a block or a Dense layer).
        h: The input vector, shape ``(n,)``.

    Returns:
        float64 array of shape ``(m, n)``: row ``i`` is the gradient of output ``i``.

    Used in: "Residual connections".
    """
    hv = np.asarray(h, dtype=np.float32)
    if hv.ndim != 1:
        raise ValueError(f"h must be one vector of shape (n,), got shape {hv.shape}")
    ht = tf.constant(hv[None, :])
    with tf.GradientTape() as tape:
        tape.watch(ht)
        out = layer(ht)
    jac = tape.jacobian(out, ht)  # (1, m, 1, n)
    return np.asarray(jac, dtype=np.float64)[0, :, 0, :]


def singular_values(jacobian: np.ndarray) -> np.ndarray:
    """Return the singular values of a Jacobian, largest first.

    They are the factors by which the layer stretches a backward signal in its most and
    least favoured directions; values near 1 mean the gradient passes through intact.

    Args:
        jacobian: A 2-D array.

    Returns:
        1-D float64 array.

    Used in: "Residual connections".
    """
    j = np.asarray(jacobian, dtype=np.float64)
    if j.ndim != 2:
        raise ValueError(f"jacobian must be 2-D, got shape {j.shape}")
    return np.linalg.svd(j, compute_uv=False)
