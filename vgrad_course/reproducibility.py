"""Reproducible, quiet set-up for every notebook (used in the first cell of each chapter)."""

from __future__ import annotations

import logging
import random
import sys
import warnings

import numpy as np

from vgrad_course.backend import load_tensorflow
from vgrad_course.seeds import effective_seed


def reseed(seed: int = 0) -> None:
    """Seed Python, NumPy, TensorFlow and Keras; call before building each model in a comparison.

    The seed is shifted by ``VGRAD_SEED_OFFSET`` (see :func:`vgrad_course.seeds.seed_offset`).
    TensorFlow and Keras are seeded when TensorFlow has been started (by :func:`setup`, as in
    every chapter); after ``setup(tensorflow=False)`` only Python and NumPy are.

    Args:
        seed: The seed for every random number generator.

    Used in: every chapter (through :func:`setup`) and before each model of a comparison.
    """
    seed = effective_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "tensorflow" in sys.modules:
        import keras  # TensorFlow is running: Keras costs nothing more

        keras.utils.set_random_seed(seed)


def setup(seed: int = 0, *, tensorflow: bool = True) -> None:
    """Prepare a notebook: start TensorFlow quietly, seed, deterministic ops, printing, plots.

    Call it first, before importing Keras, TensorFlow or a module of the package that uses them:
    it starts TensorFlow with the course's settings (:func:`vgrad_course.backend.load_tensorflow`:
    oneDNN kernels off unless ``TF_ENABLE_ONEDNN_OPTS`` says otherwise, start-up messages
    muted), which TensorFlow reads only once. Idempotent: calling it again reseeds and changes
    nothing else.

    Args:
        seed: The seed for Python, NumPy, TensorFlow and Keras (shifted by
            ``VGRAD_SEED_OFFSET``, like every seed of the package: see
            :func:`vgrad_course.seeds.seed_offset`).
        tensorflow: Start TensorFlow. ``False`` is for notebooks that use NumPy only (the
            exercise sets): their kernel is ready in about a second instead of four, and only
            Python and NumPy are seeded. A later ``setup()`` starts TensorFlow as usual.

    TensorFlow keeps its default thread pools (one thread per core): they are fixed by the
    first operation, which this function runs. To change them, set
    ``TF_NUM_INTRAOP_THREADS`` and ``TF_NUM_INTEROP_THREADS`` before starting Python.

    Used in: the first cell of every chapter.
    """
    if tensorflow:
        tf = load_tensorflow()
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        tf.get_logger().setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module=r"keras(\..*)?")
        tf.config.experimental.enable_op_determinism()
    from vgrad_course.plotting import use_course_style  # matplotlib: only once it is needed

    # NumPy 2 writes scalars as ``np.float64(0.5)``; the 1.x style (``0.5``) keeps printed dicts
    # readable and lets MyST-NB's glue format a glued NumPy scalar (``{glue:text}`x:.2f```).
    np.set_printoptions(legacy="1.25")
    use_course_style()
    reseed(seed)
