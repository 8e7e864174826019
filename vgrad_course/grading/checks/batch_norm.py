"""Checks for the exercise set "Batch normalization"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import matches_measured
from vgrad_course.grading.checks._helpers import as_array, close, fd_grad, once
from vgrad_course.grading.registry import Fail, question

EPS = 1e-5


def bn(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Reference batch normalisation over axis 0 (training mode)."""
    return gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + beta


@question("batch_norm.forward", answer="batchnorm_forward", kind="function")
def _forward(f: object) -> object:
    rng = np.random.default_rng(21)
    x = rng.normal(size=(32, 3)) * np.array([10.0, 0.5, 3.0]) + np.array([5.0, -2.0, 0.0])
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, -3.0])
    out = once(
        lambda: as_array(
            f(x.copy(), gamma.copy(), beta.copy()), shape=x.shape, what="batchnorm_forward"
        )
    )

    def mean() -> None:
        plain = as_array(
            f(x.copy(), np.ones(3), np.zeros(3)), shape=x.shape, what="batchnorm_forward"
        )
        by_row = np.allclose(plain.mean(1), 0, atol=1e-3) and np.allclose(plain.std(1), 1, 1e-2)
        if by_row:
            raise Fail("you normalised over the features (axis 1); normalise over the batch (0)")
        close(out().mean(0), beta, what="the per-feature mean of the output", atol=1e-4)

    yield "per-feature output mean = beta", 1, mean
    yield (
        "per-feature output std = gamma",
        1,
        lambda: close(out().std(0), gamma, what="the per-feature std of the output", rtol=1e-3),
    )
    # On a batch of 4 the variance's divisor matters: B - 1 instead of B is 15 % off.
    small = x[:4]
    yield (
        "matches the reference on a batch of 4 (variance divided by B, as in training mode)",
        2,
        lambda: close(
            as_array(
                f(small.copy(), gamma.copy(), beta.copy()), shape=small.shape, what="batchnorm"
            ),
            bn(small, gamma, beta),
            what="the output for a batch of 4",
            rtol=1e-3,
            atol=1e-4,
        ),
    )

    def invariant() -> None:
        shifted = as_array(
            f(3 * x + 7, gamma.copy(), beta.copy()), shape=x.shape, what="batchnorm_forward"
        )
        close(shifted, out(), what="the output for 3x + 7", rtol=1e-3, atol=1e-4)

    yield "invariant to scaling and shifting the inputs", 1, invariant


@question("batch_norm.backward", answer="batchnorm_backward", kind="function")
def _backward(f: object) -> object:
    rng = np.random.default_rng(22)
    x, c = rng.normal(size=(6, 2)) * 2, rng.normal(size=(6, 2))
    gamma = np.array([1.5, 0.5])
    ref = fd_grad(lambda v: float(np.sum(c * bn(v, gamma, np.zeros(2)))), x)
    out = once(
        lambda: as_array(
            f(x.copy(), c.copy(), gamma.copy()), shape=x.shape, what="batchnorm_backward"
        )
    )
    yield (
        "matches finite differences",
        2,
        lambda: close(out(), ref, what="grad_x", rtol=1e-4, atol=1e-7),
    )
    yield (
        "sums to zero over the batch (shift invariance)",
        1,
        lambda: close(out().sum(0), np.zeros(2), what="the batch sum of grad_x", atol=1e-6),
    )


@question("batch_norm.weight_scale", answer="grad_factor")
def _weight_scale(a: object) -> object:
    rng = np.random.default_rng(23)
    x, w, c = rng.normal(size=(16, 4)), rng.normal(size=(4, 3)), rng.normal(size=(16, 3))

    def loss(v: np.ndarray) -> float:
        return float(np.sum(c * np.tanh(bn(x @ v, np.ones(3), np.zeros(3), eps=0.0))))

    ratio = np.linalg.norm(fd_grad(loss, 10 * w)) / np.linalg.norm(fd_grad(loss, w))
    yield (
        "matches the measured factor ||grad at 10W|| / ||grad at W||",
        2,
        matches_measured(a, ratio, what="grad_factor", rtol=0.01),
    )
