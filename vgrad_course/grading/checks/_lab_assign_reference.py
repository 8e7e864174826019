"""Hidden cases of the lab "The assignment, done right", made in NumPy at check time.

Random weights of the assignment's three models (Keras' layouts: a ``SimpleRNN``, an ``LSTM``
or a ``GRU`` with ``reset_after=True``, then a one-unit head) and short batches of sequences.
The per-step norms themselves are measured by the reference worker
(``tests/test_lab_assign.py`` checks its measurement against finite differences).
"""

from __future__ import annotations

import numpy as np

#: Gates per cell: the width of its kernels is ``gates * units``.
GATES: dict[str, int] = {"simple": 1, "lstm": 4, "gru": 3}


def cell_weights(cell: str, seed: int, *, units: int, features: int) -> list[np.ndarray]:
    """Random weights of an assignment model: the cell's three arrays, then the head's two."""
    rng = np.random.default_rng(seed)
    width = GATES[cell] * units
    bias_shape = (2, width) if cell == "gru" else (width,)
    return [
        rng.normal(size=(features, width)) / np.sqrt(features),
        1.2 * rng.normal(size=(units, width)) / np.sqrt(units),
        0.2 * rng.normal(size=bias_shape),
        rng.normal(size=(units, 1)) / np.sqrt(units),
        0.1 * rng.normal(size=1),
    ]


def sequences(seed: int, *, batch: int, steps: int, features: int) -> tuple[np.ndarray, ...]:
    """A batch of Gaussian sequences and random 0/1 labels."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, steps, features))
    return x, rng.integers(0, 2, size=(batch, 1)).astype(np.float64)


def early_over_late(norms: np.ndarray, k: int = 10) -> float:
    """Mean of the first ``k`` per-step norms over the mean of the last ``k``."""
    return float(np.mean(norms[:k]) / np.mean(norms[-k:]))
