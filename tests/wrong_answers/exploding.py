"""Wrong answers for the set "Exploding gradients"."""

from __future__ import annotations

import numpy as np

WRONG = {
    "exploding.spectral_radius": [
        lambda W: float(np.max(np.real(np.linalg.eigvals(W)))),
        lambda W: float(np.linalg.norm(W, 2)),  # the spectral norm
    ],
    "exploding.growth": [1.1 * 50, 1.1**49],
    "exploding.critical_scale": [1.1, 0.9, 0.0],  # each misses on one side
}
