"""Wrong answers for the set "Activation functions"."""

from __future__ import annotations

import numpy as np


def dead_entries(h, W, b):  # inactive (example, unit) pairs, not dead units
    return np.mean(h @ W + b <= 0)


def dead_strict(h, W, b):  # misses units whose pre-activation is exactly 0
    return np.mean(np.all(h @ W + b < 0, axis=0))


def dead_no_bias(h, W, b):
    return np.mean(np.all(h @ W <= 0, axis=0))


def dead_any(h, W, b):  # silent on some example
    return np.mean(np.any(h @ W + b <= 0, axis=0))


def dead_examples(h, W, b):  # examples on which every unit is silent
    return np.mean(np.all(h @ W + b <= 0, axis=1))


def dead_count(h, W, b):  # a count, not a fraction
    return np.sum(np.all(h @ W + b <= 0, axis=0))


WRONG = {
    "activations.relu_derivative": [
        lambda z: np.maximum(z, 0),
        lambda z: (z >= 0)[:1],
        lambda z: (z >= 0).astype(float),  # 1 at z = 0
    ],
    "activations.ratio": [1.0, 2.0],
    "activations.most_flat": ["c", "a"],
    "activations.dead_fraction": [
        dead_entries,
        dead_strict,
        dead_no_bias,
        dead_any,
        dead_examples,
        dead_count,
    ],
    "activations.dead_biases": [
        [-2.5, -2.5, -2.5],  # the chapter's shift: past every threshold
        [-2.1, -1.2, -0.6],  # one step short: the top layer still lives
        [-2.3, -1.4, -0.8],  # dead, but not the least negative such bias
        [-2.2, -2.2, -2.2],  # the shallowest network's threshold for all depths
    ],
    "activations.layer_shrink": [
        [0.5, 0.5, 1.0],  # ReLU "halves" the std
        [1.0, 0.5, 1.0],  # ReLU's slope is 1 where it is active
        [2**-0.5, 1.0, 1.0],  # GELU taken for ReLU-like
        [2**-0.5, 0.5, 1.0507],  # SELU's lambda as its factor
    ],
}
