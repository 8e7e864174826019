"""Curvature of a loss: the largest Hessian eigenvalue, which caps a stable learning rate.

Gradient descent on a quadratic with Hessian ``H`` converges exactly when ``lr < 2 / lambda_max``
(``lambda_max`` the largest eigenvalue of ``H``). Near a point of a network's loss the same
bound holds for the local quadratic model; this module measures ``lambda_max`` (the
*sharpness*) by power iteration with Hessian-vector products, never forming ``H``.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_int

LossLike = str | Callable


def _hvp_function(model: keras.Model, x: object, y: object, loss: LossLike) -> Callable:
    """Return a compiled ``v -> H v`` for the batch-mean loss of ``model`` on ``(x, y)``."""
    loss_fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    if not callable(loss_fn):
        raise ValueError(f"loss must be a Keras loss name or a callable, got {loss!r}")
    xt = tf.convert_to_tensor(np.asarray(x, dtype=np.float32))
    yt = tf.convert_to_tensor(np.asarray(y, dtype=np.float32))
    variables = model.trainable_variables

    @tf.function
    def hvp(vector: list[tf.Tensor]) -> list[tf.Tensor]:
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                value = tf.reduce_mean(loss_fn(yt, model(xt, training=False)))
            grads = inner.gradient(value, variables)
            projected = tf.add_n([tf.reduce_sum(g * v) for g, v in zip(grads, vector, strict=True)])
        return outer.gradient(projected, variables)

    return hvp


def _power_iteration(
    matvec: Callable[[np.ndarray], np.ndarray], start: np.ndarray, iters: int, tol: float
) -> float:
    """Return the Rayleigh quotient of the dominant (largest-magnitude) eigenvector."""
    v = start / np.linalg.norm(start)
    estimate = 0.0
    for _ in range(iters):
        hv = matvec(v)
        new = float(v @ hv)
        norm = np.linalg.norm(hv)
        if norm == 0:
            return 0.0
        v = hv / norm
        if abs(new - estimate) <= tol * abs(new):
            return new
        estimate = new
    return estimate


def sharpness(
    model: keras.Model,
    x: object,
    y: object,
    *,
    loss: LossLike = "mse",
    iters: int = 50,
    tol: float = 1e-4,
    seed: int = 0,
) -> float:
    """Return the largest eigenvalue ``lambda_max`` of the Hessian of the loss at the weights.

    Power iteration with Hessian-vector products over all trainable weights, on the batch-mean
    loss over ``(x, y)`` (the full-batch loss when ``x`` is the whole data set). Power iteration
    finds the eigenvalue of largest magnitude; if that one is negative, a second run on
    ``H - mu I`` finds the largest (most positive) eigenvalue. Gradient descent on the local
    quadratic model is stable exactly when ``lr < 2 / lambda_max``.

    Args:
        model: A built Keras model.
        x: Inputs.
        y: Targets.
        loss: A Keras loss name, or a callable ``loss(y_true, y_pred)`` (per example or scalar).
        iters: Maximum power-iteration steps per run.
        tol: Stop when the estimate changes by less than this fraction.
        seed: Seed of the random starting vector.

    Returns:
        ``lambda_max`` as a float.

    Used in: "Exploding gradients".
    """
    iters = check_int("iters", iters)
    hvp = _hvp_function(model, x, y, loss)
    shapes = [tuple(v.shape) for v in model.trainable_variables]
    sizes = [int(np.prod(s)) for s in shapes]
    if not sizes:
        raise ValueError(f"model {model.name!r} has no trainable weights")

    def matvec(flat: np.ndarray) -> np.ndarray:
        parts = np.split(flat.astype(np.float32), np.cumsum(sizes)[:-1])
        vector = [tf.constant(p.reshape(s)) for p, s in zip(parts, shapes, strict=True)]
        return np.concatenate([h.numpy().reshape(-1) for h in hvp(vector)]).astype(np.float64)

    start = make_rng(seed).normal(size=sum(sizes))
    dominant = _power_iteration(matvec, start, iters, tol)
    if dominant >= 0:
        return dominant
    shifted = _power_iteration(lambda v: matvec(v) - dominant * v, start, iters, tol)
    return shifted + dominant
