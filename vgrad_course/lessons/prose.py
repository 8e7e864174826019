"""Put measured numbers into a chapter's prose with MyST-NB's ``glue``, one call for many."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from myst_nb import glue


def glue_values(values: Mapping[str, object], *, prefix: str = "") -> dict[str, int | float]:
    """Glue each value under ``prefix + name`` for ``{glue:text}`` roles, without displaying it.

    Integers (Python or NumPy) are glued as ``int``, every other number as ``float``, so the
    prose can format them (``{glue:text}`clip_norm0:.0f```) whatever type the computation
    returned.

    Args:
        values: Name -> measured number.
        prefix: Prepended to every name (a chapter's namespace, e.g. ``"clip_"``).

    Returns:
        The glued names and values, as glued.

    Raises:
        TypeError: If a value is not a real number (a string, an array, None).

    Used in: "Recurrent networks and backpropagation through time", "Diagnosing a network",
    "Gradient clipping", "Activation functions".
    """
    glued: dict[str, int | float] = {}
    for name, value in values.items():
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            raise TypeError(f"{name}: glue a real number, got {type(value).__name__}")
        number = int(value) if isinstance(value, int | np.integer) else float(value)
        glue(f"{prefix}{name}", number, display=False)
        glued[f"{prefix}{name}"] = number
    return glued
