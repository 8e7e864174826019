"""Checks for the exercise set "Gradient descent"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._helpers import as_array, as_float, as_positive, close, once
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
