"""Recurrences, measured: how much gradient a tanh RNN carries back through time.

A small NumPy experiment of the exercise set on backpropagation through time; the check
re-runs it with your setting. Like :mod:`vgrad_course.grading.labs`, it is deterministic
given ``seed``, used as given (``VGRAD_SEED_OFFSET`` does not shift it): the check and your
notebook must run the very same experiment.
"""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.labs import orthogonal
from vgrad_course.validation import check_int, check_positive


def tanh_rnn_gain(
    input_std: float, *, rho: float = 1.0, n: int = 32, steps: int = 50, seed: int = 0
) -> float:
    """Spectral norm of ``dh_T/dh_0`` for the tanh RNN ``h_t = tanh(h_{t-1} W + x_t)``.

    ``W = rho * Q`` with ``Q`` a random orthogonal matrix, so in the linear regime every
    step keeps the gradient's norm (times ``rho``); the inputs ``x_t ~ N(0, input_std^2)``
    push the units away from 0, where ``tanh' = 1 - h^2`` falls below 1. The state starts at
    ``h_0 = 0``; the product of the per-step Jacobians is accumulated exactly as BPTT does.

    Args:
        input_std: Standard deviation of every input.
        rho: Scale of the orthogonal recurrent matrix (its spectral radius and norm).
        n: State size.
        steps: Number of time steps ``T``.
        seed: Seed of ``Q`` (the inputs use ``seed + 1``).

    Returns:
        ``||dh_T/dh_0||_2``.

    Used in: "Graded exercises".
    """
    input_std, rho = check_positive("input_std", input_std), check_positive("rho", rho)
    n, steps = check_int("n", n), check_int("steps", steps)
    w = rho * orthogonal(n, seed=seed)
    xs = np.random.default_rng(seed + 1).normal(0.0, input_std, size=(steps, n))
    h, jac = np.zeros(n), np.eye(n)
    for x in xs:
        h = np.tanh(h @ w + x)
        jac = (1 - h**2)[:, None] * (w.T @ jac)  # diag(tanh') W^T, then the earlier steps
    return float(np.linalg.norm(jac, 2))
