"""Cases several checks share: each returns ``(name, points, thunk)`` cases to yield.

Names, points and messages are arguments, so a check reads as what it tests; the assertions
the thunks make are in :mod:`~vgrad_course.grading.checks._helpers`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from vgrad_course.grading.checks._helpers import as_array, as_float, choice, close, near, once
from vgrad_course.grading.registry import CaseSpec, Fail


def matches_measured(
    answer: object, measured: float, *, what: str, rtol: float, of: str = "the measured value"
) -> Callable[[], None]:
    """A case thunk: the predicted number ``answer`` is within ``rtol`` of ``measured``.

    Args:
        answer: The student's number.
        measured: The value the check measured (or the one a formula gives).
        what: The answer's name, for the messages.
        rtol: Relative tolerance.
        of: What ``measured`` is, for the messages (a formula's value is not "measured").

    Returns:
        The thunk (it raises :class:`Fail` when the prediction is off).
    """
    return lambda: near(as_float(answer, what=what), measured, what=what, rtol=rtol, of=of)


def picks(
    answer: object, right: Callable[[], str], *, hint: str, options: Sequence[str] = ("a", "b", "c")
) -> Callable[[], None]:
    """A case thunk for a multiple-choice prediction: the letter ``right()`` measures.

    Args:
        answer: The student's letter.
        right: Runs the experiment and returns the right letter.
        hint: The message when the answer is wrong (how to measure it, never the answer).
        options: The letters allowed.

    Returns:
        The thunk.
    """

    def verdict() -> None:
        if choice(answer, options) != right():
            raise Fail(hint)

    return verdict


def slope_cases(
    f: Callable,
    fn: Callable[[np.ndarray], np.ndarray],
    z: np.ndarray,
    *,
    name: str,
    what: str,
    rtol: float,
    eps: float = 1e-6,
    seed: int,
) -> Iterator[CaseSpec]:
    """Cases for an elementwise derivative ``f`` of ``fn``: its values, then its shape.

    Args:
        f: The student's derivative.
        fn: The function it differentiates (the reference is its central difference).
        z: Where to compare.
        name: The first case's name.
        what: The answer's name, for the messages.
        rtol: Relative tolerance of the comparison.
        eps: Finite-difference step.
        seed: Seed of the 2-D input of the shape case.

    Returns:
        Two cases: matches finite differences (2 points), keeps a 2-D shape (1 point).
    """
    ref = (fn(z + eps) - fn(z - eps)) / (2 * eps)
    yield (
        name,
        2,
        lambda: close(as_array(f(z.copy()), shape=z.shape, what=what), ref, what=what, rtol=rtol),
    )
    z2 = np.random.default_rng(seed).normal(size=(3, 4))
    yield (
        "keeps the shape of a 2-D input",
        1,
        lambda: as_array(f(z2.copy()), shape=z2.shape, what=f"{what} of a {z2.shape} array"),
    )


def shape_then_values(
    answer: Callable[[], np.ndarray],
    ref: np.ndarray,
    *,
    names: tuple[str, str],
    expected: str,
    what: str,
    rtol: float,
) -> Iterator[CaseSpec]:
    """Cases for an array answer: its shape (1 point), then its values (2 points).

    Args:
        answer: Calls the student's code and returns its array (called once, then reused).
        ref: The reference array.
        names: The two cases' names.
        expected: What the shape means, e.g. ``"one number per layer"``.
        what: The array's name in the values message.
        rtol: Relative tolerance of the values.

    Returns:
        The two cases; the values case fails on a wrong shape too.
    """
    out = once(answer)

    def shape() -> None:
        if out().shape != ref.shape:
            raise Fail(f"expected {expected}, shape {ref.shape}, got {out().shape}")

    def values() -> None:
        shape()
        close(out(), ref, what=what, rtol=rtol)

    yield names[0], 1, shape
    yield names[1], 2, values


def band_case(
    factor: Callable[[], float],
    *,
    low: float,
    high: float,
    name: str,
    vanish: str,
    explode: str,
    points: int = 2,
) -> CaseSpec:
    """One case for a setting that must keep a measured growth factor in ``[low, high]``.

    A setting that misses on one side misses the band: it earns nothing, and the message says
    which side (too small, the signal vanishes; too large, it explodes).

    Args:
        factor: Measures the factor with the student's setting.
        low: Smallest factor allowed (below it the signal vanishes).
        high: Largest factor allowed (above it the signal explodes).
        name: The case's name.
        vanish: The message below the band, with a ``{factor}`` field.
        explode: The message above it, with a ``{factor}`` field.
        points: The case's points.

    Returns:
        The case.
    """

    def in_band() -> None:
        measured = factor()
        if measured < low:
            raise Fail(vanish.format(factor=measured))
        if measured > high:
            raise Fail(explode.format(factor=measured))

    return name, points, in_band


def each_matches(
    answer: object,
    measured: Callable[[], np.ndarray],
    items: Sequence[tuple[str, str, int]],
    *,
    what: str,
    rtol: float,
) -> Iterator[CaseSpec]:
    """Cases for several predicted numbers, each compared with its own measurement.

    Args:
        answer: The student's numbers (one per item).
        measured: Runs the measurement and returns one number per item (called once).
        items: ``(case name, the number's name in messages, points)`` per number.
        what: The answer's name, for a wrong shape.
        rtol: Relative tolerance of each comparison.

    Returns:
        One case per item.
    """
    values = once(measured)
    given = once(lambda: as_array(answer, shape=(len(items),), what=what))
    for i, (name, label, points) in enumerate(items):
        yield (
            name,
            points,
            lambda i=i, label=label: near(
                float(given()[i]), float(values()[i]), what=label, rtol=rtol
            ),
        )
