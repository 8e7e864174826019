"""TensorFlow, started once and quietly, with the course's numerical defaults.

TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL`` and ``TF_ENABLE_ONEDNN_OPTS`` once, when it is first
imported, and its CPU wheel prints absl lines ("Could not find cuda drivers...") and a CPU
feature banner on the C-level stderr, which no environment variable silences and which Jupyter
shows in the first cell's output. :func:`load_tensorflow` is the one place that sets those
variables (unless the caller already has: ``TF_ENABLE_ONEDNN_OPTS=1`` selects the oneDNN
kernels, as ``make robust`` does) and starts TensorFlow with fd 2 muted.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

#: Environment defaults read by TensorFlow at import (see FACTS: either alone is not enough).
TF_ENVIRONMENT: dict[str, str] = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "KERAS_BACKEND": "tensorflow",
}


def load_tensorflow() -> ModuleType:
    """Import TensorFlow with the course's defaults and its start-up chatter muted.

    Does nothing but return the module when TensorFlow is already imported (its settings are
    then fixed). Python exceptions are unaffected by the muting.

    Returns:
        The ``tensorflow`` module.

    Used in: every chapter, through :func:`vgrad_course.setup`.
    """
    if "tensorflow" not in sys.modules:
        for name, value in TF_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
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
    return sys.modules["tensorflow"]
