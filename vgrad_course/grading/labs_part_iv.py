"""Small NumPy experiments for the exercise set of Part IV (students run them; checks re-run them).

- :func:`truncated_input_grads`: how far back truncated BPTT carries the loss's gradient;
- :func:`bn_unit_grad` and :func:`direction_step`: a batch-normalised unit's gradient, and how
  far one SGD step turns its weight vector;
- :func:`minibatch_noise`: the variance of a minibatch gradient around the full-batch one.

Everything is deterministic for a given ``seed``; the grader imports no TensorFlow.
"""

from __future__ import annotations

import numpy as np

from vgrad_course.validation import check_int, check_positive


def truncated_input_grads(
    steps: int, k2: int, *, units: int = 8, scale: float = 1.0, seed: int = 0
) -> np.ndarray:
    """Norm of the loss's gradient with respect to each input, with BPTT truncated to ``k2``.

    A tanh RNN ``h_t = tanh(x_t W_x + h_{t-1} W_h)`` (row vectors, as Keras) reads ``steps``
    inputs ``x_0 .. x_{steps-1}`` from ``h_{-1} = 0``; the loss is ``sum(h_{steps-1})``. The
    backward pass goes through the last ``k2`` states, ``h_{steps-1}`` down to
    ``h_{steps-k2}``, and stops there (its gradient is not passed to ``h_{steps-k2-1}``).

    Args:
        steps: Length of the sequence.
        k2: States the backward pass goes through (``k2 >= steps``: full BPTT).
        units: Hidden units.
        scale: Recurrent weights are orthogonal times ``scale`` (1 keeps the gradient alive).
        seed: Seed of the weights and inputs.

    Returns:
        ``|dL/dx_t|`` for ``t = 0 .. steps-1``, shape ``(steps,)``; exactly 0 where the
        truncated backward pass does not reach.

    Used in: "Graded exercises".
    """
    check_int("steps", steps, minimum=1)
    check_int("k2", k2, minimum=1)
    check_positive("scale", scale)
    rng = np.random.default_rng(seed)
    w_x = rng.normal(size=(1, units)) / 2
    w_h = scale * np.linalg.qr(rng.normal(size=(units, units)))[0]
    xs = rng.normal(size=(steps, 1))
    hs = np.zeros((steps + 1, units))  # hs[t + 1] = h_t
    for t in range(steps):
        hs[t + 1] = np.tanh(xs[t] @ w_x + hs[t] @ w_h)
    grads = np.zeros(steps)
    dh = np.ones(units)
    for t in range(steps - 1, max(steps - k2, 0) - 1, -1):
        da = dh * (1 - hs[t + 1] ** 2)
        grads[t] = np.linalg.norm(da @ w_x.T)
        dh = da @ w_h.T
    return grads


def bn_unit_grad(w: np.ndarray, *, batch: int = 64, seed: int = 0) -> np.ndarray:
    """The gradient of a loss through one batch-normalised unit with respect to its weights.

    The unit computes ``z = (x w - mean) / std`` over a fixed batch ``x`` (batch statistics,
    no epsilon) and the loss is ``mean((z - y)^2)`` with fixed targets ``y``.

    Args:
        w: The weight vector, shape ``(d,)``.
        batch: Rows of the fixed batch.
        seed: Seed of the batch and targets.

    Returns:
        ``dL/dw``, shape ``(d,)`` (exact: backpropagation through the normalisation).

    Used in: "Graded exercises".
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"w must be a vector, got shape {w.shape}")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, w.size)) + rng.normal(size=w.size)
    y = np.tanh(x @ rng.normal(size=w.size))
    a = x @ w
    centred = a - a.mean()
    std = np.sqrt(np.mean(centred**2))
    z = centred / std
    dz = 2 * (z - y) / batch
    da = (dz - dz.mean() - z * np.mean(dz * z)) / std
    return x.T @ da


def direction_step(w: np.ndarray, lr: float, *, seed: int = 0) -> float:
    """The angle (radians) by which one SGD step on :func:`bn_unit_grad` turns ``w``.

    Args:
        w: The weight vector.
        lr: The learning rate.
        seed: Seed of the unit's batch.

    Returns:
        The angle between ``w`` and ``w - lr * dL/dw``.

    Used in: "Graded exercises".
    """
    check_positive("lr", lr)
    w = np.asarray(w, dtype=np.float64)
    new = w - lr * bn_unit_grad(w, seed=seed)
    cos = float(w @ new / (np.linalg.norm(w) * np.linalg.norm(new)))
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def minibatch_noise(
    batch_size: int, *, examples: int = 4096, dim: int = 10, draws: int = 4000, seed: int = 0
) -> float:
    """Variance of the minibatch gradient of least squares around the full-batch gradient.

    Linear regression ``y ~ x w`` on ``examples`` fixed examples, at a fixed ``w``;
    minibatches of ``batch_size`` examples drawn with replacement.

    Args:
        batch_size: Examples per minibatch.
        examples: Size of the data set.
        dim: Number of weights.
        draws: Minibatches drawn.
        seed: Seed of the data and the draws.

    Returns:
        ``E |g_B - g|^2`` estimated over the draws (summed over the weights).

    Used in: "Graded exercises".
    """
    check_int("batch_size", batch_size, minimum=1)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(examples, dim))
    y = x @ rng.normal(size=dim) + rng.normal(size=examples)
    per_example = (x @ np.zeros(dim) - y)[:, None] * x  # gradients at w = 0
    full = per_example.mean(axis=0)
    picks = np.random.default_rng(seed + 1).integers(0, examples, size=(draws, batch_size))
    batch_means = per_example[picks].mean(axis=1)
    return float(np.mean(np.sum((batch_means - full) ** 2, axis=1)))
