"""Assertions shared by the checks; each raises :class:`Fail` with a message for the student.

The cases several checks share, built from these assertions, are in
:mod:`~vgrad_course.grading.checks._cases`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from vgrad_course.grading.registry import Fail

T = TypeVar("T")


def once(fn: Callable[[], T]) -> Callable[[], T]:
    """Memoise a zero-argument call (so several cases share one call of student code)."""
    box: list[T] = []

    def get() -> T:
        if not box:
            box.append(fn())
        return box[0]

    return get


def as_array(
    value: object, *, shape: tuple[int, ...] | None = None, what: str = "it"
) -> np.ndarray:
    """Convert ``value`` to a finite float64 array of the expected shape, or fail clearly."""
    if value is None:
        raise Fail(f"{what} returned None: fill in the body and `return` the result")
    if value is Ellipsis:
        raise Fail(f"{what} is still the placeholder `...`")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise Fail(f"{what} should be numeric, got {type(value).__name__} ({exc})") from None
    if shape is not None and arr.shape != tuple(shape):
        raise Fail(f"{what} has shape {arr.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(arr)):
        raise Fail(f"{what} contains NaN or inf")
    return arr


def as_float(value: object, *, what: str = "your answer") -> float:
    """Convert a scalar answer to a finite float, or fail clearly."""
    if isinstance(value, str | bytes):
        raise Fail(f"{what} should be a number, got the string {value!r}")
    arr = as_array(value, what=what)
    if arr.size != 1:
        raise Fail(f"{what} should be a single number, got shape {arr.shape}")
    return float(arr.reshape(()))


def as_positive(value: object, *, what: str) -> float:
    """Convert a setting (a rate, a scale, a threshold) to a finite float > 0, or fail clearly."""
    number = as_float(value, what=what)
    if number <= 0:
        raise Fail(f"{what} should be positive")
    return number


def as_parts(value: object, n: int, *, what: str = "it") -> list[object]:
    """Unpack a returned tuple/list of ``n`` items, or fail clearly."""
    if not isinstance(value, list | tuple) or len(value) != n:
        got = f"{type(value).__name__}" + (
            f" of length {len(value)}" if hasattr(value, "__len__") else ""
        )
        raise Fail(f"{what} should return a tuple of {n} items, got {got}")
    return list(value)


def close(
    actual: np.ndarray, expected: np.ndarray, *, what: str, rtol: float = 1e-4, atol: float = 1e-7
) -> None:
    """Fail unless ``actual`` ≈ ``expected``; diagnose a wrong sign, factor or transpose."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise Fail(f"{what}: shape {a.shape}, expected {e.shape}")
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return
    hint = ""
    if np.allclose(a, -e, rtol=rtol, atol=atol):
        hint = " It has the wrong sign."
    elif a.ndim == 2 and a.shape[0] == a.shape[1] and np.allclose(a, e.T, rtol=rtol, atol=atol):
        hint = " It looks transposed: rows should index outputs, columns inputs."
    else:
        mask = np.abs(e) > 1e-12
        if mask.sum() > 1:  # a factor common to many entries says something; one ratio does not
            ratios = a[mask] / e[mask]
            if np.allclose(ratios, ratios[0], rtol=1e-3) and abs(ratios[0] - 1) > 0.01:
                hint = f" It is off by a constant factor of {ratios[0]:.4g}."
    worst = float(np.max(np.abs(a - e)))
    raise Fail(f"{what} is wrong (largest error {worst:.3g}).{hint}")


def near(
    value: float, target: float, *, what: str, rtol: float, of: str = "the measured value"
) -> None:
    """Fail unless a predicted number is within ``rtol`` of ``target`` (no reveal).

    ``of`` names the target in the message: "the measured value" for an experiment, something
    else (e.g. "the value the variance condition gives") for a number a formula fixes.
    """
    if target == 0:
        if abs(value) > rtol:
            raise Fail(f"{what} is too far from {of}")
        return
    ratio = value / target
    if abs(ratio - 1) <= rtol:
        return
    if ratio < 0:
        raise Fail(f"{what} has the wrong sign")
    direction = "too large" if ratio > 1 else "too small"
    raise Fail(f"{what} is {direction}: it is {ratio:.3g} times {of}")


def choice(value: object, options: Sequence[str]) -> str:
    """Validate a multiple-choice answer (one of ``options``, case-insensitive)."""
    if not isinstance(value, str) or value.strip().lower() not in options:
        raise Fail(f"answer with one of the letters {', '.join(repr(o) for o in options)}")
    return value.strip().lower()


def fd_grad(f: Callable[[np.ndarray], float], x: np.ndarray, *, eps: float = 1e-6) -> np.ndarray:
    """Central finite-difference gradient of a scalar function (the independent reference)."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = eps
        grad[idx] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def fd_jacobian(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, *, eps: float = 1e-6
) -> np.ndarray:
    """Central finite-difference Jacobian ``J[i, j] = d f_i / d x_j`` of a vector function."""
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step.flat[j] = eps
        cols.append((np.ravel(f(x + step)) - np.ravel(f(x - step))) / (2 * eps))
    return np.stack(cols, axis=1)
