"""Checks for the exercise set "Activation functions"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checker import Fail, question
from vgrad_course.grading.checks._helpers import as_array, as_float, choice, close, fd_grad, near
from vgrad_course.grading.checks.labs import sigmoid


@question("activations.relu_derivative", answer="relu_derivative", kind="function")
def _relu(f: object) -> object:
    z = np.array([-3.0, -0.5, -1e-3, 1e-3, 0.7, 4.0])
    ref = np.array(
        [fd_grad(lambda v: float(np.maximum(v[0], 0)), np.array([zi]), eps=1e-5)[0] for zi in z]
    )
    yield (
        "matches finite differences away from 0",
        2,
        lambda: close(
            as_array(f(z.copy()), shape=z.shape, what="relu_derivative"),
            ref,
            what="relu_derivative",
            rtol=1e-6,
        ),
    )
    zz = np.random.default_rng(2).normal(size=(3, 4))
    yield (
        "keeps the shape of a 2-D input",
        1,
        lambda: as_array(f(zz.copy()), shape=zz.shape, what="relu_derivative of a (3, 4) array"),
    )

    def at_zero() -> None:
        v = as_float(f(np.array([0.0])), what="relu_derivative(0)")
        if v not in (0.0, 1.0):
            raise Fail(f"at z = 0 pick a subgradient, 0 or 1 (frameworks use 0); got {v}")

    yield "returns 0 or 1 at z = 0", 1, at_zero


@question("activations.ratio", answer="tanh_over_sigmoid")
def _ratio(a: object) -> object:
    z = np.linspace(-6, 6, 120_001)
    ref = float(np.max(1 - np.tanh(z) ** 2) / np.max(sigmoid(z) * (1 - sigmoid(z))))
    yield (
        "matches the measured ratio of the peak derivatives",
        2,
        lambda: near(
            as_float(a, what="tanh_over_sigmoid"), ref, what="tanh_over_sigmoid", rtol=0.01
        ),
    )


@question("activations.most_flat", answer="most_flat")
def _most_flat(a: object) -> object:
    def verdict() -> None:
        ans = choice(a, ("a", "b", "c"))
        z = np.random.default_rng(0).normal(scale=5.0, size=200_000)
        s = sigmoid(z)
        frac = {
            "a": np.mean(s * (1 - s) < 0.01),
            "b": np.mean(1 - np.tanh(z) ** 2 < 0.01),
            "c": np.mean(z <= 0),
        }
        if ans != max(frac, key=frac.get):
            raise Fail("measure the three fractions on samples of z ~ N(0, 5^2)")

    yield "names the activation with the most near-zero derivatives", 2, verdict
