"""Wrong answers for the set "Diagnosing a network"."""

from __future__ import annotations

import numpy as np

WRONG = {
    "diagnosing.update_ratio": [
        lambda ws, us: np.array([np.std(u) / np.std(w) for w, u in zip(ws, us, strict=True)]),
        lambda ws, us: np.array(
            [np.log10(np.std(w) / np.std(u)) for w, u in zip(ws, us, strict=True)]
        ),
    ],
    "diagnosing.saturated_fraction": [
        lambda a: float(np.mean(a > 0.97)),
        lambda a: int(np.sum(np.abs(a) > 0.97)),
    ],
    "diagnosing.diagnosis": ["a", "c"],
}
