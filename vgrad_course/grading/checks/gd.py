"""Checks for the exercise set "Gradient descent"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import each_matches
from vgrad_course.grading.checks._helpers import (
    as_array,
    as_float,
    as_positive,
    close,
    fd_grad,
    once,
)
from vgrad_course.grading.labs_descent import line_fit_sgd
from vgrad_course.grading.registry import Fail, question

#: Curvature ``a`` of the quadratic ``f(w) = a w^2 / 2`` used by the set.
CURVATURE = 4.0


def _run(lr: float, *, steps: int = 200, w0: float = 1.0) -> float:
    """Final |w| after gradient descent on ``a w^2 / 2`` (the reference simulation)."""
    w = w0
    for _ in range(steps):
        w = w - lr * CURVATURE * w
    return abs(w)


@question("gd.step", answer="gd_step", kind="function")
def _step(f: object) -> object:
    rng = np.random.default_rng(101)
    w, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    out = once(lambda: as_array(f(w.copy(), g.copy(), 0.05), shape=w.shape, what="gd_step"))
    yield "moves by -lr x gradient", 2, lambda: close(out() - w, -0.05 * g, what="the update")

    def zero_lr() -> None:
        close(
            as_array(f(w.copy(), g.copy(), 0.0), shape=w.shape, what="gd_step"),
            w,
            what="the result with lr = 0",
        )

    yield "a zero learning rate leaves the weights unchanged", 1, zero_lr

    def decreases() -> None:
        new = as_array(f(w.copy(), w.copy(), 0.1), shape=w.shape, what="gd_step")
        if not np.sum(new**2) < np.sum(w**2):
            raise Fail("one step on f(w) = |w|^2 / 2 (gradient w) did not lower the loss")

    yield "one small step lowers the loss |w|^2 / 2", 1, decreases

    def leaves_inputs() -> None:
        w_in, g_in = w.copy(), g.copy()
        new = as_array(f(w_in, g_in, 0.05), shape=w.shape, what="gd_step")
        for name, before, after in (("w", w, w_in), ("grad", g, g_in)):
            if not np.array_equal(before, after):
                raise Fail(
                    f"gd_step changed {name} in place: return a new array and leave the "
                    "caller's weights as they were (the caller may still need them)"
                )
        close(new - w, -0.05 * g, what="the update")

    yield "returns the step as a new array, leaving w and grad unchanged", 1, leaves_inputs


@question("gd.max_lr", answer="max_lr")
def _max_lr(a: object) -> object:
    def brackets() -> None:
        lr = as_positive(a, what="max_lr")
        if not _run(0.995 * lr) < 1.0:
            raise Fail(
                "gradient descent already diverges at 0.995 x your rate: it is past the "
                "largest stable rate (a rate your table shows diverging is too large)"
            )
        if not _run(1.005 * lr) > 1.0:
            raise Fail("gradient descent still converges at 1.005 x your rate: it is too small")

    yield "converges at 0.995 x your rate and diverges at 1.005 x it", 2, brackets


@question("gd.one_step_lr", answer="one_step_lr")
def _one_step(a: object) -> object:
    def lands() -> None:
        lr = as_float(a, what="one_step_lr")
        w1 = 3.0 - lr * CURVATURE * 3.0
        if abs(w1) > 3e-3:
            side = "overshoots past" if w1 < 0 else "stops short of"
            raise Fail(f"one step from w = 3 {side} the minimum (lands at w = {w1:.3g})")

    yield "one step from w = 3 lands on the minimum (|w| < 0.003)", 2, lands


def _line_loss(params: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """``1/2 mean((w x + b - y)^2)``: the line fit's loss on the examples given."""
    return float(0.5 * np.mean((params[0] * x + params[1] - y) ** 2))


def _reference_epoch(
    params: np.ndarray, x: np.ndarray, y: np.ndarray, lr: float, batch_size: int, order: np.ndarray
) -> np.ndarray:
    """One epoch of mini-batch SGD, each batch's gradient by finite differences (the reference)."""
    p = params.copy()
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        p = p - lr * fd_grad(lambda v, idx=idx: _line_loss(v, x[idx], y[idx]), p)
    return p


@question("gd.sgd_epoch", answer="sgd_epoch", kind="function")
def _sgd_epoch(f: object) -> object:
    rng = np.random.default_rng(202)
    x, y = rng.uniform(-1, 1, size=10), rng.normal(size=10)
    params, lr = np.array([0.5, -0.3]), 0.3
    order = rng.permutation(10)

    def call(batch_size: int, p: np.ndarray) -> np.ndarray:
        out = f(p, x.copy(), y.copy(), lr, batch_size, order.copy())
        return as_array(out, shape=(2,), what=f"sgd_epoch(..., batch_size={batch_size}, ...)")

    def same(batch_size: int, what: str) -> None:
        ref = _reference_epoch(params, x, y, lr, batch_size, order)
        close(call(batch_size, params.copy()) - params, ref - params, what=what, rtol=1e-6)

    yield (
        "batch_size = n: one step on the mean gradient of all 10 examples",
        1,
        lambda: same(10, "the change of (w, b) in one full-batch epoch"),
    )
    yield (
        "batch_size = 1: one step per example, in the given order",
        1,
        lambda: same(1, "the change of (w, b) in 10 single-example steps"),
    )
    yield (
        "batch_size = 4: batches of 4, 4 and 2, each step on its batch's mean gradient",
        2,
        lambda: same(4, "the change of (w, b) in batches of 4, 4 and 2"),
    )

    def leaves_params() -> None:
        p = params.copy()
        call(4, p)
        if not np.array_equal(p, params):
            raise Fail(
                "sgd_epoch changed params in place: return new parameters and leave the "
                "caller's as they were"
            )

    yield "returns new parameters, leaving params unchanged", 1, leaves_params


def _valley_factors(lr: float, curvatures: tuple[float, float], steps: int = 40) -> np.ndarray:
    """Measured per-step factor of |w_i| over the last step of gradient descent on the valley."""
    c = np.array(curvatures)
    w = np.array([-1.8, 1.0])
    for _ in range(steps):
        prev, w = w, w - lr * c * w
    return np.abs(w / prev)


@question("gd.valley_factors", answer="valley_factors")
def _valley(a: object) -> object:
    yield from each_matches(
        a,
        lambda: _valley_factors(0.19, (1.0, 10.0)),
        [
            (f"the factor by which |{c}| shrinks per step ({which})", f"your factor for {c}", p)
            for c, which, p in [
                ("w1", "the shallow direction", 1),
                ("w2", "the steep direction", 2),
            ]
        ],
        what="valley_factors (two numbers)",
        rtol=0.01,
    )


def _sgd_miss(run: dict[str, float], *, target: float) -> str:
    """Why a learning rate misses the target: still travelling, or jittering."""
    if not np.isfinite(run["rms"]):
        return "the run diverged (the parameters overflowed): the rate is far too large"
    if run["jitter"] >= run["bias"]:
        return (
            f"the last epoch jitters around the fit (rms distance {run['rms']:.3g} > {target}, "
            "mostly spread): the rate is too large, and the noise of the batches grows with it"
        )
    return (
        f"the last epoch is still on its way (rms distance {run['rms']:.3g} > {target}, mostly "
        "an offset of its mean): the rate is too small to arrive within 20 epochs"
    )


@question("gd.sgd_lr", answer="sgd_lr")
def _sgd_lr(a: object) -> object:
    target = 0.02

    def within(seeds: range) -> None:
        lr = as_positive(a, what="sgd_lr")
        for seed in seeds:
            run = line_fit_sgd(lr, seed=seed)
            if not run["rms"] < target:
                raise Fail(f"shuffling seed {seed}: {_sgd_miss(run, target=target)}")

    yield (
        f"20 epochs end within {target} of the least-squares fit (rms over the last epoch)",
        2,
        lambda: within(range(1)),
    )
    yield (
        "... in all 5 shuffling seeds 0-4, not just seed 0",
        1,
        lambda: within(range(5)),
    )
