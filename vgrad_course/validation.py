"""Argument checks shared by the whole package: a clear error, never a silently wrong result.

NumPy only, so the grader may use it without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``; raise otherwise.

    Args:
        name: The argument's name, for the message.
        value: The value to check (a Python or NumPy integer; ``bool`` is refused).
        minimum: The smallest value allowed.

    Returns:
        ``int(value)``.

    Raises:
        ValueError: ``value`` is not an integer or is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number > 0; raise otherwise.

    Args:
        name: The argument's name, for the message.
        value: The value to check (``bool`` is refused).

    Returns:
        ``float(value)``.

    Raises:
        ValueError: ``value`` is not a number, not finite or not > 0.
    """
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_choice(name: str, value: object, options: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``options``; raise a ValueError listing them otherwise.

    Args:
        name: The argument's name, for the message.
        value: The value to check.
        options: The allowed values.

    Returns:
        ``value``.
    """
    if value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value  # type: ignore[return-value]
