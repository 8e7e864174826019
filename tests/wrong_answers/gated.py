"""Wrong answers for the set "LSTM, GRU and IRNN"."""

from __future__ import annotations

import numpy as np

WRONG = {
    "gated.cell_grad": [lambda f: np.sum(f, axis=0), lambda f: np.prod(f)],
    "gated.forget_bias": [1.0, 8.0],
    "gated.irnn": [0.0, 100.0],
}
