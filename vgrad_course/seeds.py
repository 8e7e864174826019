"""Seeds: one rule for turning a seed into randomness, shifted by ``VGRAD_SEED_OFFSET``.

NumPy only (no TensorFlow), so every wing of the package may use it.
"""

from __future__ import annotations

import os

import numpy as np

#: Environment variable that shifts every seed the package uses (see :func:`seed_offset`).
SEED_OFFSET_VARIABLE = "VGRAD_SEED_OFFSET"


def seed_offset() -> int:
    """Return the seed offset set by ``VGRAD_SEED_OFFSET`` (0 when unset or empty).

    Every seed the package turns into randomness (NumPy generators, Keras initializers,
    :func:`reseed`, the MNIST-1D generator) is shifted by this offset, so a whole chapter can be
    re-run under other seeds without editing it: ``VGRAD_SEED_OFFSET=3 make test``.
    It is read at each use, so changing it inside a running kernel takes effect at once.

    Returns:
        The offset, an integer (may be negative).

    Raises:
        ValueError: If the variable is set to something that is not an integer.

    Used in: every chapter (through :func:`setup` and the package's seeded helpers).
    """
    raw = os.environ.get(SEED_OFFSET_VARIABLE, "").strip()
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"{SEED_OFFSET_VARIABLE} must be an integer, got {raw!r}; "
            f"unset it or use e.g. {SEED_OFFSET_VARIABLE}=1"
        ) from None


def effective_seed(seed: int) -> int:
    """Return ``seed`` shifted by :func:`seed_offset`: the seed actually used.

    Args:
        seed: The seed a chapter or helper asked for.

    Returns:
        ``seed + seed_offset()``, a non-negative integer.

    Raises:
        TypeError: If ``seed`` is not an integer.
        ValueError: If the shifted seed is negative (NumPy and Keras reject those).

    Used in: every seeded helper of the package; chapters that draw their own numbers use
    :func:`make_rng`.
    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    shifted = int(seed) + seed_offset()
    if shifted < 0:
        raise ValueError(
            f"seed {seed} shifted by {SEED_OFFSET_VARIABLE}={seed_offset()} is {shifted}; "
            "seeds must be >= 0"
        )
    return shifted


def make_rng(seed: int = 0) -> np.random.Generator:
    """Return a NumPy generator seeded with :func:`effective_seed` of ``seed``.

    Args:
        seed: The seed a chapter asks for (shifted by ``VGRAD_SEED_OFFSET``).

    Returns:
        A fresh ``np.random.Generator``.

    Used in: chapters that draw random inputs themselves (02, 05, 10, 11).
    """
    return np.random.default_rng(effective_seed(seed))


def layer_seed(seed: int, layer: int) -> int:
    """Return the seed of layer ``layer`` (1-based; output layer: depth + 1) of a model.

    Each layer of a model built from ``seed`` gets its own seed, ``seed * 1000 + layer``, so
    two layers never share initial weights and a deeper model's first layers match a
    shallower one's. Like every seed, the result is shifted by ``VGRAD_SEED_OFFSET`` where it
    becomes randomness (:func:`effective_seed`), not here.

    Args:
        seed: The model's seed.
        layer: The layer's position, from 1.

    Returns:
        The layer's seed.

    Used in: every model builder (``models``, ``lessons.jacobians``).
    """
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or layer < 0:
        raise ValueError(f"layer must be an integer >= 0, got {layer!r}")
    return int(seed) * 1000 + int(layer)
