"""vgrad_course: the companion package of the course on vanishing and exploding gradients.

Import this package before TensorFlow: it sets the environment variables that keep
TensorFlow's start-up chatter out of notebook outputs. Every notebook starts with::

    import vgrad_course as vg
    vg.setup(seed=0)
"""

from __future__ import annotations

import os

# These must be set before TensorFlow is first imported (see FACTS: either alone is not enough).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with the C-level stderr muted.

    The CPU wheel prints absl lines ("Could not find cuda drivers...") before its logging
    is configured, which no environment variable silences; in Jupyter they would land in
    every notebook's first output. Python exceptions are unaffected.
    """
    import sys

    if "tensorflow" in sys.modules:
        return
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.constant(0.0).numpy()  # the first op prints a CPU-feature banner
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_tensorflow_quietly()

from vgrad_course.reproducibility import (  # noqa: E402
    effective_seed,
    make_rng,
    reseed,
    seed_offset,
    setup,
)

__all__ = ["effective_seed", "make_rng", "reseed", "seed_offset", "setup"]
__version__ = "0.1.0"
