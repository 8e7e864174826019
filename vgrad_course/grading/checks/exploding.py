"""Checks for the exercise set "Exploding gradients"."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgrad_course.grading.checks._cases import band_case, matches_measured
from vgrad_course.grading.checks._helpers import as_float, as_positive, close
from vgrad_course.grading.labs import linear_rnn_gain
from vgrad_course.grading.registry import Fail, question


def _rho(f: object, w: np.ndarray, what: str) -> float:
    return as_float(f(w.copy()), what=what)


def _radius_is(
    f: object, w: np.ndarray, expected: float, *, what: str, rtol: float = 1e-4
) -> Callable[[], None]:
    """A case thunk: ``f(w)`` equals ``expected``."""
    return lambda: close(np.asarray(_rho(f, w, what)), np.asarray(expected), what=what, rtol=rtol)


@question("exploding.spectral_radius", answer="spectral_radius", kind="function")
def _spectral_radius(f: object) -> object:
    # Non-normal matrices: there the spectral norm (largest singular value) is larger than
    # the spectral radius, so a check on them tells the two apart.
    tri = np.array([[0.5, 4.0, 1.0], [0.0, -3.0, 2.0], [0.0, 0.0, 2.0]])
    yield (
        "triangular matrix: the largest |diagonal entry| (not its norm)",
        1,
        _radius_is(f, tri, 3.0, what="spectral_radius of a triangular matrix"),
    )
    t, shear = 0.9, np.array([[1.0, 3.0], [0.0, 1.0]])
    rot = t * np.array([[np.cos(1.0), -np.sin(1.0)], [np.sin(1.0), np.cos(1.0)]])
    similar = shear @ rot @ np.linalg.inv(shear)  # same eigenvalues, far from normal
    yield (
        "complex eigenvalues 0.9 e^(+-i): their modulus",
        1,
        _radius_is(f, similar, t, what="spectral_radius of a sheared 0.9 x rotation"),
    )
    w = np.random.default_rng(5).normal(size=(8, 8)) / np.sqrt(8)
    k = 400
    gelfand = float(np.linalg.norm(np.linalg.matrix_power(w, k), 2)) ** (1 / k)
    yield (
        "agrees with Gelfand's formula ||W^k||^(1/k)",
        1,
        _radius_is(f, w, gelfand, what="spectral_radius of a random matrix", rtol=0.02),
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
        matches_measured(a, ref, what="growth_50", rtol=0.02),
    )


@question("exploding.critical_scale", answer="critical_scale")
def _critical(a: object) -> object:
    yield band_case(
        lambda: linear_rnn_gain(as_positive(a, what="critical_scale"), n=32, steps=100, seed=0),
        low=0.5,
        high=2.0,
        name="the gradient neither vanishes nor explodes over 100 steps (gain in [0.5, 2])",
        vanish="after 100 steps the gradient norm shrank to {factor:.3g}x: scale too small",
        explode="after 100 steps the gradient norm grew by {factor:.3g}x: scale too large",
    )
