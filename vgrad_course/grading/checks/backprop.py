"""Checks for the exercise set "Backpropagation"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import sigmoid
from vgrad_course.grading.checks._cases import each_matches, matches_measured, slope_cases
from vgrad_course.grading.checks._helpers import (
    as_array,
    as_parts,
    as_positive,
    close,
    fd_grad,
    fd_jacobian,
    once,
)
from vgrad_course.grading.labs_gradients import TINY_PARAMS, gradient_check_error, tiny_net_loss
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


def _tanh_layer(v: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.tanh(v @ w + b)


@question("backprop.layer_jacobian", answer="tanh_layer_jacobian", kind="function")
def _layer_jacobian(f: object) -> object:
    # Three inputs, five outputs: a transposed Jacobian has the wrong shape.
    rng = np.random.default_rng(17)
    x, w, b = rng.normal(size=3), rng.normal(size=(3, 5)), rng.normal(size=5) * 0.5
    saturated = b.copy()
    saturated[[1, 3]] = [12.0, -12.0]  # two units deep in tanh's flat tails
    ref = fd_jacobian(lambda v: _tanh_layer(v, w, b), x)
    out = once(lambda: as_array(f(x.copy(), w.copy(), b.copy()), what="tanh_layer_jacobian"))

    def shape() -> None:
        if out().shape != ref.shape:
            raise Fail(
                f"for 3 inputs and 5 outputs it has shape {out().shape}, expected {ref.shape}: "
                "one row per output, one column per input"
            )

    def values() -> None:
        shape()
        close(out(), ref, what="the Jacobian dy/dx", rtol=1e-5)

    def flat_rows() -> None:
        got = as_array(f(x.copy(), w.copy(), saturated.copy()), what="tanh_layer_jacobian")
        sat_ref = fd_jacobian(lambda v: _tanh_layer(v, w, saturated), x)
        if got.shape != sat_ref.shape:
            raise Fail(f"shape {got.shape}, expected {sat_ref.shape}")
        if np.abs(got[[1, 3]]).max() > 1e-6:
            raise Fail(
                "two units are saturated (|z| > 10), so their rows should be (almost) 0: "
                "tanh'(z) must multiply each output's row, with z = x W + b"
            )
        close(got, sat_ref, what="the Jacobian with two saturated units", rtol=1e-5)

    yield "one row per output, one column per input: shape (5, 3)", 1, shape
    yield "matches the finite-difference Jacobian", 2, values
    yield "saturated units pass (almost) nothing back: zero rows", 1, flat_rows


#: The tiny network of the chapter with its second unit saturated (z_2 = -1.5 - 3.8 = -5.3).
_SATURATED = np.array(TINY_PARAMS)
_SATURATED[3] = -3.8


@question("backprop.saturated", answer="saturated_grads")
def _saturated(a: object) -> object:
    units = [("w1[0]", "the first unit, not saturated", 1), ("w1[1]", "the saturated unit", 2)]
    yield from each_matches(
        a,
        lambda: fd_grad(lambda p: float(tiny_net_loss(p)), _SATURATED)[:2],
        [(f"dL/d{name}, {which}", f"your dL/d{name}", points) for name, which, points in units],
        what="saturated_grads (two numbers)",
        rtol=0.01,
    )


def _fd_side(eps: float, *, x: float, y: float) -> str:
    """Which error dominates at ``eps``: truncation grows with eps, round-off shrinks."""
    error = gradient_check_error(eps, x=x, y=y)
    if not np.isfinite(error) or gradient_check_error(4 * eps, x=x, y=y) > error:
        return "it grows with a larger step: truncation error (order eps^2), eps is too large"
    return "it grows with a smaller step: round-off error (order 1e-16 / eps), eps is too small"


@question("backprop.fd_eps", answer="fd_eps")
def _fd_eps(a: object) -> object:
    target = 1e-10

    def sharp(x: float, y: float) -> None:
        eps = as_positive(a, what="fd_eps")
        error = gradient_check_error(eps, x=x, y=y)
        if not error < target:
            raise Fail(
                f"at x = {x}, y = {y} the relative error is {error:.2g} > {target:g}: "
                + _fd_side(eps, x=x, y=y)
            )

    yield (
        f"relative error below {target:g} on the chapter's example (x = 1.5, y = 1)",
        2,
        lambda: sharp(1.5, 1.0),
    )
    yield (
        f"... and below {target:g} on another example (x = -0.7, y = 0.3)",
        1,
        lambda: sharp(-0.7, 0.3),
    )
