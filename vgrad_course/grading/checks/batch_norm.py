"""Checks for the exercise set "Batch normalization"."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgrad_course.grading.checks._cases import matches_measured
from vgrad_course.grading.checks._helpers import as_array, close, fd_grad, near, once
from vgrad_course.grading.labs_remedies import moving_variance
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


def _bn_weights_problem() -> tuple[Callable[[np.ndarray], float], np.ndarray]:
    """The loss ``sum(c * tanh(BN(x W)))`` of weights ``W`` (4 x 3) feeding BN, and ``W``."""
    rng = np.random.default_rng(23)
    x, w, c = rng.normal(size=(16, 4)), rng.normal(size=(4, 3)), rng.normal(size=(16, 3))

    def loss(v: np.ndarray) -> float:
        return float(np.sum(c * np.tanh(bn(x @ v, np.ones(3), np.zeros(3), eps=0.0))))

    return loss, w


@question("batch_norm.weight_scale", answer="grad_factor")
def _weight_scale(a: object) -> object:
    loss, w = _bn_weights_problem()
    ratio = np.linalg.norm(fd_grad(loss, 10 * w)) / np.linalg.norm(fd_grad(loss, w))
    yield (
        "matches the measured factor ||grad at 10W|| / ||grad at W||",
        2,
        matches_measured(a, ratio, what="grad_factor", rtol=0.01),
    )


def ln(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Reference layer normalization: each example (row) over its features (axis 1)."""
    mean, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


@question("batch_norm.layer_norm", answer="layernorm_forward", kind="function")
def _layer_norm(f: object) -> object:
    # 6 examples of 4 features (not square, so the wrong axis shows; with 4 features the
    # divisor n - 1 instead of n is 25 % off in the variance). Rows of very different scales.
    rng = np.random.default_rng(24)
    scales = np.array([[3.0], [0.5], [10.0], [1.0], [2.0], [0.7]])
    x = rng.normal(size=(6, 4)) * scales + rng.normal(size=(6, 1)) * 5
    gamma, beta = np.array([1.0, 2.0, 0.5, -1.0]), np.array([0.0, 1.0, -3.0, 0.5])

    def run(v: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
        return as_array(f(v.copy(), g.copy(), b.copy()), shape=v.shape, what="layernorm_forward")

    out = once(lambda: run(x, gamma, beta))

    def rows() -> None:
        plain = run(x, np.ones(4), np.zeros(4))
        by_column = np.allclose(plain.mean(0), 0, atol=1e-3) and np.allclose(plain.std(0), 1, 1e-2)
        if by_column:
            raise Fail(
                "you normalised each feature over the batch (axis 0), as batch normalization"
                " does; layer normalization normalises each example over its features"
            )
        close(plain.mean(1), np.zeros(6), what="each example's mean over its features", atol=1e-4)
        close(plain.std(1), np.ones(6), what="each example's std over its features", rtol=1e-3)

    yield "with gamma = 1, beta = 0: every example has mean 0 and std 1 over its features", 1, rows
    yield (
        "matches the reference (4 features: the variance divided by 4)",
        2,
        lambda: close(out(), ln(x, gamma, beta), what="the output", rtol=1e-3, atol=1e-4),
    )
    yield (
        "a batch of one example gives the same output (no batch statistics)",
        1,
        lambda: close(
            run(x[2:3], gamma, beta),
            ln(x, gamma, beta)[2:3],
            what="the output for a batch holding only example 2",
            rtol=1e-3,
            atol=1e-4,
        ),
    )
    a, b = np.array([[2.0], [1.0], [3.0], [1.5], [1.0], [4.0]]), rng.normal(size=(6, 1)) * 10
    yield (
        "invariant to scaling and shifting each example by its own amounts",
        1,
        lambda: close(
            run(a * x + b, gamma, beta), out(), what="the output for a x + b", rtol=1e-3, atol=1e-4
        ),
    )


@question("batch_norm.lr_factors", answer="ratio_factors")
def _lr_factors(a: object) -> object:
    loss, w = _bn_weights_problem()

    def ratio(scale: float) -> float:
        return float(np.linalg.norm(fd_grad(loss, scale * w)) / np.linalg.norm(scale * w))

    base = once(lambda: ratio(1.0))

    def case(index: int, scale: float) -> None:
        value = as_array(a, shape=(3,), what="ratio_factors (three numbers)")[index]
        measured = ratio(scale) / base()
        near(value, measured, what=f"ratio_factors[{index}] (W x {scale:g})", rtol=0.02)

    for index, scale in enumerate((0.5, 3.0, 10.0)):
        yield (
            f"W x {scale:g}: matches the measured factor of the update:data ratio (2%)",
            1,
            lambda index=index, scale=scale: case(index, scale),
        )


#: The variance of every batch in ``batch_norm.momentum`` (tiny, as in the chapter's network).
BATCH_VAR = 0.002


@question("batch_norm.momentum", answer="momenta")
def _momentum(a: object) -> object:
    def caught_up(momentum: float, steps: int) -> bool:
        return moving_variance(momentum, steps=steps, batch_var=BATCH_VAR) <= 2 * BATCH_VAR

    def bracket(index: int, steps: int) -> None:
        m = float(as_array(a, shape=(3,), what="momenta (three numbers)")[index])
        if not 0 <= m <= 1:
            raise Fail(f"momenta[{index}] = {m:.3g}: a momentum lies between 0 and 1")
        if not caught_up(m, steps):
            raise Fail(
                f"after {steps} steps with momentum {m:.3g} the moving variance is still more"
                " than twice the true one: this momentum forgets its start value too slowly"
            )
        if m + 0.01 <= 1 and caught_up(m + 0.01, steps):
            raise Fail(
                f"momentum {m + 0.01:.3g} (0.01 larger) also catches up within {steps} steps:"
                " look for the largest such momentum"
            )

    for index, steps in enumerate((60, 200, 1000)):
        yield (
            f"{steps} steps: the moving variance catches up at your momentum, not at + 0.01",
            1,
            lambda index=index, steps=steps: bracket(index, steps),
        )
