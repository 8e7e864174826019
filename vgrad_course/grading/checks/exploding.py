"""Checks for the exercise set "Exploding gradients"."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgrad_course.grading.checks._cases import band_case, matches_measured
from vgrad_course.grading.checks._helpers import as_array, as_float, as_positive, close, near, once
from vgrad_course.grading.labs import linear_rnn_gain
from vgrad_course.grading.labs_descent import chain_sharpness
from vgrad_course.grading.labs_gradients import gaussian_product_gain
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


def _first_explosion(values: np.ndarray, *, factor: float = 10.0, window: int = 5) -> int | None:
    """The reference detector: first non-finite step, or first jump to a new high."""
    high = -np.inf
    for step, value in enumerate(values):
        if not np.isfinite(value):
            return step
        if step and value > factor * np.median(values[max(0, step - window) : step]):
            if value > high:
                return step
        high = max(high, value)
    return None


def _as_step(value: object) -> int | None:
    """A detector's answer: ``None`` or a step index."""
    if value is None:
        return None
    number = as_float(value, what="detect_explosion's result")
    if number != int(number) or number < 0:
        raise Fail(f"detect_explosion should return a step index (an int) or None, got {number}")
    return int(number)


#: Series of gradient norms, each built to tell the right detector from a common wrong one.
_SERIES: dict[str, list[float]] = {
    # a NaN at step 6, with no jump before it
    "nan": [3.0, 2.5, 2.7, 2.2, 2.4, 2.0, np.nan, 1.0, 50.0],
    # a clean spike at step 9 (12x the median of the previous five)
    "spike": [5.0, 4.0, 4.5, 4.2, 3.9, 4.1, 4.3, 4.0, 4.4, 50.0, np.inf],
    # a slow drift: x1.4 per step is never a 10x jump over the last five steps
    "drift": [1.4**t for t in range(24)],
    # near the minimum: 10x jumps that stay far below the first steps' norms
    "noise": [80.0, 40.0, 20.0, 5.0, 1.0, 0.1, 0.02, 0.03, 0.5, 0.01, 0.02, 0.4, 0.03],
    # the median of the previous five (1), not of four (3), nor with the value itself (5)
    "window": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 5.0, 30.0],
    # one earlier outlier: the median of the previous five ignores it, their mean does not
    "median": [2.0, 2.0, 2.0, 2.0, 2.0, 15.0, 2.0, 2.0, 2.0, 25.0],
    # both sides of the factor 10: 9.5x is quiet, 10.5x fires
    "factor": [2.0, 2.0, 2.0, 2.0, 2.0, 19.0, 2.0, 2.0, 2.0, 21.0],
}


@question("exploding.detect", answer="detect_explosion", kind="function")
def _detect(f: object) -> object:
    def agrees(name: str, message: str) -> None:
        values = np.array(_SERIES[name])
        expected = _first_explosion(values)
        got = _as_step(f(values.copy()))
        if got != expected:
            said = "None (no explosion)" if got is None else f"step {got}"
            raise Fail(f"on the '{name}' series it returned {said}: {message}")

    def quiet(name: str, message: str) -> None:
        agrees("spike", "a detector must fire on a clean 12x jump to a new high")
        agrees(name, message)

    yield (
        "flags the first non-finite value",
        1,
        lambda: agrees("nan", "a NaN is an explosion at once (np.isfinite)"),
    )
    yield (
        "flags a jump to a new high of more than 10x the median of the previous five",
        1,
        lambda: agrees("spike", "the value at the jump is 12x the previous five's median"),
    )
    yield (
        "stays quiet on a slow drift (x1.4 per step)",
        1,
        lambda: quiet("drift", "compare with the median of the previous five values only"),
    )
    yield (
        "stays quiet on 10x jumps near the minimum, below an earlier high",
        1,
        lambda: quiet("noise", "an explosion must also be a new high, above every earlier value"),
    )

    def details() -> None:
        agrees("window", "the reference is the median of the five values before the step")
        agrees("median", "take the median of the previous five, not their mean")
        agrees("factor", "more than 10x fires, 9.5x does not")

    yield "the window (five values before), the median, and the factor 10 exactly", 1, details


@question("exploding.chain_lrs", answer="chain_lrs")
def _chain_lrs(a: object) -> object:
    pair = once(lambda: as_array(a, shape=(2,), what="chain_lrs (two numbers)"))
    for i, (depth, points) in enumerate([(2, 1), (10, 2)]):
        yield (
            f"2 / lambda_max of the {depth}-weight chain",
            points,
            lambda i=i, depth=depth: near(
                float(pair()[i]),
                2 / chain_sharpness(depth, weight=1.1, x=0.5),
                what=f"your rate for depth {depth}",
                rtol=0.02,
            ),
        )


def _worst_gain(a: object, seeds: tuple[int, ...]) -> float:
    """The growth factor farthest from 1 (in log) over ``seeds``, at scale ``a``."""
    scale = as_positive(a, what="gaussian_scale")
    gains = [gaussian_product_gain(scale, seed=s) for s in seeds]
    return max(gains, key=lambda g: abs(np.log(g)))


@question("exploding.gaussian_scale", answer="gaussian_scale")
def _gaussian_scale(a: object) -> object:
    for seeds, points in [((0,), 2), ((1, 2, 3, 4), 1)]:
        where = f"seed {seeds[0]}" if len(seeds) == 1 else "seeds 1-4"
        yield band_case(
            lambda seeds=seeds: _worst_gain(a, seeds),
            low=0.5,
            high=2.0,
            name=f"50 Gaussian 10 x 10 matrices keep the norm within [0.5, 2] ({where})",
            vanish=f"{where}: the typical norm shrank to {{factor:.3g}}x: scale too small",
            explode=f"{where}: the typical norm grew by {{factor:.3g}}x: scale too large",
            points=points,
        )
