"""Wrong answers for the set "Exploding gradients"."""

from __future__ import annotations

import numpy as np


def _detector(*, window=5, reference=np.median, new_high=True, finite=True, shift=0, factor=10):
    """A detector with one thing changed from the chapter's (``shift``: report step + shift)."""

    def detect(norms):
        for step, value in enumerate(norms):
            if finite and not np.isfinite(value):
                return step + shift
            previous = norms[max(0, step - window) : step] if window else norms[:step]
            if step and value > factor * reference(previous):
                if not new_high or value > np.max(norms[:step]):
                    return step + shift
        return None

    return detect


def detect_with_current(norms):
    for step in range(1, len(norms)):
        if not np.isfinite(norms[step]):
            return step
        window = norms[max(0, step - 4) : step + 1]  # the value itself is in its reference
        if norms[step] > 10 * np.median(window) and norms[step] > np.max(norms[:step]):
            return step
    return None


WRONG = {
    "exploding.spectral_radius": [
        lambda W: float(np.max(np.real(np.linalg.eigvals(W)))),
        lambda W: float(np.linalg.norm(W, 2)),  # the spectral norm
    ],
    "exploding.growth": [1.1 * 50, 1.1**49],
    "exploding.critical_scale": [1.1, 0.9, 0.0],  # each misses on one side
    "exploding.detect": [
        _detector(new_high=False),  # fires on noise near the minimum
        _detector(window=0),  # the median of every earlier value: fires on a slow drift
        _detector(reference=np.mean),
        _detector(window=4),
        detect_with_current,
        _detector(finite=False),  # misses a NaN
        _detector(factor=9),
        _detector(shift=1),  # reports the step after
        lambda norms: None,  # never fires
    ],
    "exploding.chain_lrs": [
        (6.612, 1.439),  # the factor depth (one term per weight) forgotten
        (2.732, 0.1189),  # weight^(2 depth) instead of weight^(2 (depth - 1))
        (8.0, 8.0),  # 2 / x^2: a one-weight model at both depths
        (0.8264, 0.03597),  # x^2 forgotten
    ],
    # variance-preserving (shrinks at width 10), 1 + 1 / width, He's sqrt(2); each one-sided
    "exploding.gaussian_scale": [1.0, 1.1, 2**0.5, 0.95],
}
