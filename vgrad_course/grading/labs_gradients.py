"""Gradients, measured: a finite-difference check of a tiny network, products of random matrices.

Small NumPy experiments of the exercise sets on backpropagation and exploding gradients; the
checks re-run them with your setting. Like :mod:`vgrad_course.grading.labs`, they are
deterministic given ``seed``, used as given (``VGRAD_SEED_OFFSET`` does not shift them).
"""

from __future__ import annotations

import numpy as np

from vgrad_course.validation import check_int, check_positive

#: The tiny network's parameters in the chapter, as one vector ``(w1, b1, w2, b2)``.
TINY_PARAMS: tuple[float, ...] = (0.5, -1.0, 0.1, 0.2, 1.0, 2.0, 0.0)


def tiny_net_loss(params: object, *, x: float = 1.5, y: float = 1.0) -> float:
    """Loss of the tiny network: ``1/2 (w2 . tanh(w1 x + b1) + b2 - y)^2``.

    Args:
        params: ``(w1[0], w1[1], b1[0], b1[1], w2[0], w2[1], b2)``, as :data:`TINY_PARAMS`.
        x: The scalar input.
        y: The scalar target.

    Returns:
        The loss (a complex number if ``params`` is complex, for the complex-step derivative).

    Used in: "Graded exercises".
    """
    p = np.asarray(params)
    h = np.tanh(p[0:2] * x + p[2:4])
    return 0.5 * (p[4:6] @ h + p[6] - y) ** 2


def tiny_net_grad(params: object, *, x: float = 1.5, y: float = 1.0) -> np.ndarray:
    """The tiny network's gradient by backpropagation, in the order of :data:`TINY_PARAMS`.

    Args:
        params: The seven parameters.
        x: The scalar input.
        y: The scalar target.

    Returns:
        ``dL/dparams``, shape ``(7,)``.

    Used in: "Graded exercises".
    """
    p = np.asarray(params, dtype=np.float64)
    h = np.tanh(p[0:2] * x + p[2:4])
    d_out = p[4:6] @ h + p[6] - y
    d_z = d_out * p[4:6] * (1 - h**2)
    return np.concatenate([d_z * x, d_z, d_out * h, [d_out]])


def gradient_check_error(eps: float, *, x: float = 1.5, y: float = 1.0) -> float:
    """Largest relative error of central finite differences with step ``eps`` (tiny network).

    The error of entry ``i`` is ``|fd_i - bp_i| / (|fd_i| + |bp_i|)``, with ``bp`` the gradient
    by backpropagation, at :data:`TINY_PARAMS`; as ``backprop.max_relative_error`` in the
    chapter.

    Args:
        eps: The finite-difference step.
        x: The scalar input.
        y: The scalar target.

    Returns:
        The largest relative error over the seven parameters.

    Used in: "Graded exercises".
    """
    eps = check_positive("eps", eps)
    p = np.array(TINY_PARAMS)
    exact = tiny_net_grad(p, x=x, y=y)
    fd = np.array(
        [
            (tiny_net_loss(p + eps * e, x=x, y=y) - tiny_net_loss(p - eps * e, x=x, y=y))
            / (2 * eps)
            for e in np.eye(p.size)
        ]
    )
    return float(np.max(np.abs(fd - exact) / np.maximum(np.abs(fd) + np.abs(exact), 1e-12)))


def gaussian_product_gain(
    scale: float, *, width: int = 10, depth: int = 50, trials: int = 100, seed: int = 0
) -> float:
    """Typical growth of a vector's norm through a product of random Gaussian matrices.

    Each matrix has entries ``N(0, scale^2 / width)`` (so ``E||W v||^2 = scale^2 ||v||^2``);
    the start is a random unit vector. The typical factor is the geometric mean over
    ``trials`` independent products.

    Args:
        scale: The gain of every matrix.
        width: Size of the square matrices.
        depth: Number of matrices multiplied.
        trials: Independent products (averaged in log space).
        seed: Random seed.

    Returns:
        The geometric mean of ``||W_depth ... W_1 v||``.

    Used in: "Graded exercises".
    """
    scale = check_positive("scale", scale)
    width, depth = check_int("width", width), check_int("depth", depth)
    trials = check_int("trials", trials)
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(trials, width))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    log_norm = np.zeros(trials)
    for _ in range(depth):
        w = rng.normal(0.0, scale / np.sqrt(width), size=(trials, width, width))
        v = np.einsum("tij,tj->ti", w, v)
        norm = np.linalg.norm(v, axis=1)
        log_norm += np.log(norm)
        v /= norm[:, None]  # renormalised, so that long products never overflow
    return float(np.exp(log_norm.mean()))
