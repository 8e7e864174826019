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


def reseed(seed: int = 0) -> None:
    """Seed Python, NumPy, TensorFlow and Keras; call before building each model in a comparison.

    Args:
        seed: The seed for every random number generator.

    Used in: every chapter (through :func:`setup`) and before each model of a comparison.
    """
    import keras

    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(int(seed))


def setup(seed: int = 0) -> None:
    """Prepare a notebook: quiet logs, seeds, deterministic ops and plot style.

    Idempotent: calling it again reseeds and changes nothing else.

    Args:
        seed: The seed for Python, NumPy, TensorFlow and Keras.

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
    _configure_plotting()
    reseed(seed)
