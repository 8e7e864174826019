"""Hidden cases of the lab "Clip it yourself", made in NumPy at check time.

Lists of gradients for clipping, and small recurrent problems (weights in Keras' order, data,
rate, threshold, batch size) for the training loop. The references themselves are measured by
the reference worker with ``tf.clip_by_global_norm``; ``tests/test_lab_clip.py`` checks that
each threshold lies well away from every step's norm, so that float rounding cannot flip a
clipping decision.
"""

from __future__ import annotations

import numpy as np

#: A training case: ``(weights, x, y, lr, max_norm, batch_size)``.
TrainCase = tuple[list[np.ndarray], np.ndarray, np.ndarray, float, float, int]


def gradients(seed: int, scale: float) -> list[np.ndarray]:
    """Three gradient arrays of different shapes (a kernel, a bias, a head), times ``scale``."""
    rng = np.random.default_rng(seed)
    return [scale * rng.normal(size=s) for s in ((3, 5), (5,), (5, 2))]


def train_case(
    seed: int,
    *,
    features: int,
    units: int,
    outputs: int,
    steps: int,
    n: int,
    batch_size: int,
    lr: float,
    max_norm: float,
    gain: float = 1.3,
) -> TrainCase:
    """A small tanh RNN with a linear head, its data, and the loop's settings."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(size=(features, units)) / np.sqrt(features),
        gain * rng.normal(size=(units, units)) / np.sqrt(units),
        0.1 * rng.normal(size=units),
        rng.normal(size=(units, outputs)) / np.sqrt(units),
        0.1 * rng.normal(size=outputs),
    ]
    x = rng.normal(size=(n, steps, features))
    y = rng.normal(size=(n, outputs))
    return weights, x, y, lr, max_norm, batch_size
