"""Checks for the exercise set "Exploding gradients"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checker import Fail, question
from vgrad_course.grading.checks._helpers import as_float, close, near
from vgrad_course.grading.checks.labs import linear_rnn_gain


def _rho(f: object, w: np.ndarray, what: str) -> float:
    return as_float(f(w.copy()), what=what)


@question("exploding.spectral_radius", answer="spectral_radius", kind="function")
def _spectral_radius(f: object) -> object:
    d = np.diag([0.5, -3.0, 2.0])
    yield (
        "diagonal matrix: the largest |entry|",
        1,
        lambda: close(
            np.asarray(_rho(f, d, "spectral_radius(diag)")), np.asarray(3.0), what="spectral_radius"
        ),
    )
    t = 0.9
    rot = t * np.array([[np.cos(1.0), -np.sin(1.0)], [np.sin(1.0), np.cos(1.0)]])
    yield (
        "scaled rotation (complex eigenvalues): the modulus",
        1,
        lambda: close(
            np.asarray(_rho(f, rot, "spectral_radius(rotation)")),
            np.asarray(t),
            what="spectral_radius of 0.9 x a rotation",
        ),
    )
    w = np.random.default_rng(5).normal(size=(8, 8)) / np.sqrt(8)
    k = 400
    gelfand = float(np.linalg.norm(np.linalg.matrix_power(w, k), 2)) ** (1 / k)
    yield (
        "agrees with Gelfand's formula ||W^k||^(1/k)",
        1,
        lambda: close(
            np.asarray(_rho(f, w, "spectral_radius")),
            np.asarray(gelfand),
            what="spectral_radius of a random matrix",
            rtol=0.02,
        ),
    )

    def homogeneous() -> None:
        r1, r3 = _rho(f, w, "spectral_radius"), _rho(f, 3 * w, "spectral_radius")
        if not np.isclose(r3, 3 * abs(r1), rtol=1e-6):
            raise Fail("rho(3 W) should be 3 rho(W)")

    yield "scales with the matrix: rho(3W) = 3 rho(W)", 1, homogeneous


@question("exploding.growth", answer="growth_50")
def _growth(a: object) -> object:
    ref = linear_rnn_gain(1.1, n=16, steps=50, seed=0)
    yield (
        "matches the measured growth factor (2%)",
        2,
        lambda: near(as_float(a, what="growth_50"), ref, what="growth_50", rtol=0.02),
    )


@question("exploding.critical_scale", answer="critical_scale")
def _critical(a: object) -> object:
    def gain() -> float:
        c = as_float(a, what="critical_scale")
        if c <= 0:
            raise Fail("the scale should be positive")
        return linear_rnn_gain(c, n=32, steps=100, seed=0)

    def no_explode() -> None:
        g = gain()
        if g > 2:
            raise Fail(f"after 100 steps the gradient norm grew by {g:.3g}x: scale too large")

    def no_vanish() -> None:
        g = gain()
        if g < 0.5:
            raise Fail(f"after 100 steps the gradient norm shrank to {g:.3g}x: scale too small")

    yield "the gradient does not explode over 100 steps (gain <= 2)", 1, no_explode
    yield "the gradient does not vanish over 100 steps (gain >= 0.5)", 1, no_vanish
