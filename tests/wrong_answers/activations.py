"""Wrong answers for the set "Activation functions"."""

from __future__ import annotations

import numpy as np

WRONG = {
    "activations.relu_derivative": [
        lambda z: np.maximum(z, 0),
        lambda z: (z >= 0)[:1],
        lambda z: (z >= 0).astype(float),  # 1 at z = 0
    ],
    "activations.ratio": [1.0, 2.0],
    "activations.most_flat": ["c", "a"],
}
