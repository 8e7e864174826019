"""The assignment's sequences, in NumPy: what lab 5 measures its models on (and the check too).

The source's assignment labels Gaussian sequences by the sign of their mean. The lab trains on
the chapter's data; its per-step measurements are taken on :func:`probe_sequences`, which the
check passes to the reference worker unchanged, so that the student's number and the grader's
come from the very same sequences. Like :mod:`vgrad_course.grading.labs`, the seeds are used
as given (``VGRAD_SEED_OFFSET`` does not shift them).
"""

from __future__ import annotations

import numpy as np

from vgrad_course.validation import check_int

#: The seed of the probe sequences of lab 5.
PROBE_SEED = 1705


def mean_sign_sequences(n: int, seq_len: int = 50, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian sequences labelled 1 when their mean is positive (the assignment's task).

    Args:
        n: Number of sequences.
        seq_len: Steps per sequence.
        seed: Seed of the NumPy generator (used as given).

    Returns:
        ``(x, y)``: ``x`` float32 ``(n, seq_len, 1)`` from N(0, 1), ``y`` float32 ``(n, 1)``.

    Used in: "Graded exercises".
    """
    n, seq_len = check_int("n", n), check_int("seq_len", seq_len)
    x = np.random.default_rng(seed).normal(size=(n, seq_len, 1)).astype(np.float32)
    return x, (x.mean(axis=(1, 2)) > 0).astype(np.float32)[:, None]


def probe_sequences() -> tuple[np.ndarray, np.ndarray]:
    """The 256 probe sequences of length 50 on which lab 5 measures per-step gradients.

    Returns:
        ``(x, y)`` as :func:`mean_sign_sequences` returns them.

    Used in: "Graded exercises".
    """
    return mean_sign_sequences(256, 50, seed=PROBE_SEED)
