"""Checks for the exercise set "Backpropagation"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import sigmoid
from vgrad_course.grading.checks._cases import matches_measured, slope_cases
from vgrad_course.grading.checks._helpers import as_array, as_parts, close, fd_grad, once
from vgrad_course.grading.registry import Fail, question


@question("backprop.sigmoid_derivative", answer="sigmoid_derivative", kind="function")
def _sigmoid_derivative(f: object) -> object:
    yield from slope_cases(
        f,
        sigmoid,
        np.linspace(-6, 6, 25),
        name="matches finite differences of the sigmoid",
        what="sigmoid_derivative",
        rtol=1e-5,
        seed=3,
    )

    def extreme() -> None:
        out = as_array(f(np.array([-800.0, 800.0])), shape=(2,), what="sigmoid_derivative at +-800")
        if np.any(np.abs(out) > 1e-300):
            raise Fail("the derivative at z = +-800 should be (numerically) 0")

    yield "~0 at z = +-800, with no overflow on the way", 1, extreme


def _layer_loss(x: np.ndarray, w: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    return float(np.sum(c * np.tanh(x @ w + b)))


@question("backprop.layer_backward", answer="tanh_layer_backward", kind="function")
def _layer_backward(f: object) -> object:
    rng = np.random.default_rng(7)
    x, w, b, c = (rng.normal(size=s) for s in [(4, 3), (3, 2), (2,), (4, 2)])
    refs = (
        fd_grad(lambda v: _layer_loss(v, w, b, c), x),
        fd_grad(lambda v: _layer_loss(x, v, b, c), w),
        fd_grad(lambda v: _layer_loss(x, w, v, c), b),
    )
    out = once(
        lambda: as_parts(f(x.copy(), w.copy(), b.copy(), c.copy()), 3, what="tanh_layer_backward")
    )
    for i, (name, ref) in enumerate(zip(("grad_x", "grad_W", "grad_b"), refs, strict=True)):
        yield (
            f"{name} matches finite differences",
            1,
            lambda i=i, name=name, ref=ref: close(
                as_array(out()[i], shape=ref.shape, what=name), ref, what=name, rtol=1e-5
            ),
        )


@question("backprop.chain", answer="chain_derivative")
def _chain(a: object) -> object:
    ref = fd_grad(lambda v: float(sigmoid(sigmoid(v[0]))), np.zeros(1))[0]
    yield (
        "equals the measured derivative of sigmoid(sigmoid(x)) at 0",
        2,
        matches_measured(a, ref, what="chain_derivative", rtol=0.01),
    )
