"""Reproducible, quiet set-up for every notebook (used in the first cell of each chapter)."""

from __future__ import annotations

import logging
import os
import random
import warnings

import numpy as np

#: Colour-blind-safe cycle (Okabe & Ito) that reads on both light and dark pages.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # green
    "#CC79A7",  # purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)


def _configure_plotting() -> None:
    """Apply a plotting style legible on light and dark book themes."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            # An opaque white card with dark ink is readable on a light or a dark page.
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "text.color": "#222222",
            "axes.labelcolor": "#222222",
            "axes.edgecolor": "#444444",
            "xtick.color": "#444444",
            "ytick.color": "#444444",
            "axes.prop_cycle": cycler(color=list(PALETTE)),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "font.size": 10,
            "legend.frameon": False,
            "lines.linewidth": 1.8,
        }
    )


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


def reseed(seed: int = 0) -> None:
    """Seed Python, NumPy, TensorFlow and Keras; call before building each model in a comparison.

    The seed is shifted by ``VGRAD_SEED_OFFSET`` (see :func:`seed_offset`).

    Args:
        seed: The seed for every random number generator.

    Used in: every chapter (through :func:`setup`) and before each model of a comparison.
    """
    import keras

    seed = effective_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def setup(seed: int = 0) -> None:
    """Prepare a notebook: quiet logs, seeds, deterministic ops, number printing and plot style.

    Idempotent: calling it again reseeds and changes nothing else.

    Args:
        seed: The seed for Python, NumPy, TensorFlow and Keras (shifted by
            ``VGRAD_SEED_OFFSET``, like every seed of the package: see :func:`seed_offset`).

    TensorFlow keeps its default thread pools (one thread per core): they are fixed by the
    first operation, which ``import vgrad_course`` already runs. To change them, set
    ``TF_NUM_INTRAOP_THREADS`` and ``TF_NUM_INTEROP_THREADS`` before starting Python.

    Used in: the first cell of every chapter.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    tf.get_logger().setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"keras(\..*)?")
    tf.config.experimental.enable_op_determinism()
    # NumPy 2 writes scalars as ``np.float64(0.5)``; the 1.x style (``0.5``) keeps printed dicts
    # readable and lets MyST-NB's glue format a glued NumPy scalar (``{glue:text}`x:.2f```).
    np.set_printoptions(legacy="1.25")
    _configure_plotting()
    reseed(seed)
