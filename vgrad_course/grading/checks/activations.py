"""Checks for the exercise set "Activation functions"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import activate, derivative
from vgrad_course.grading.checks._cases import matches_measured, picks, slope_cases
from vgrad_course.grading.checks._helpers import as_float
from vgrad_course.grading.registry import Fail, question


@question("activations.relu_derivative", answer="relu_derivative", kind="function")
def _relu(f: object) -> object:
    yield from slope_cases(
        f,
        lambda v: activate("relu", v),
        np.array([-3.0, -0.5, -1e-3, 1e-3, 0.7, 4.0]),
        name="matches finite differences away from 0",
        what="relu_derivative",
        rtol=1e-6,
        eps=1e-5,
        seed=2,
    )

    def at_zero() -> None:
        v = as_float(f(np.array([0.0])), what="relu_derivative(0)")
        if v != 0.0:
            raise Fail(
                f"at z = 0 the exercise asks for 0, the subgradient TensorFlow and PyTorch use; "
                f"got {v:g} (check your comparison: z > 0, not z >= 0)"
            )

    yield "returns 0 at z = 0, as the frameworks do", 1, at_zero


@question("activations.ratio", answer="tanh_over_sigmoid")
def _ratio(a: object) -> object:
    z = np.linspace(-6, 6, 120_001)
    ref = float(np.max(derivative("tanh", z)) / np.max(derivative("sigmoid", z)))
    yield (
        "matches the measured ratio of the peak derivatives",
        2,
        matches_measured(a, ref, what="tanh_over_sigmoid", rtol=0.01),
    )


@question("activations.most_flat", answer="most_flat")
def _most_flat(a: object) -> object:
    def flattest() -> str:
        z = np.random.default_rng(0).normal(scale=5.0, size=200_000)
        options = {"a": "sigmoid", "b": "tanh", "c": "relu"}
        frac = {k: float(np.mean(derivative(name, z) < 0.01)) for k, name in options.items()}
        return max(frac, key=lambda k: frac[k])

    hint = "measure the three fractions on samples of z ~ N(0, 5^2)"
    yield (
        "names the activation with the most near-zero derivatives",
        2,
        picks(a, flattest, hint=hint),
    )
