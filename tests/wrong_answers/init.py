"""Wrong answers for the set "Weight initialisation"."""

from __future__ import annotations

import numpy as np

WRONG = {
    "init.he_std": [lambda n: np.sqrt(1 / n), lambda n: 2 / n],
    "init.glorot_std": [lambda i, o: np.sqrt(1 / i), lambda i, o: np.sqrt(1 / (i + o))],
    "init.gain": [1.0, 2.0],
}
