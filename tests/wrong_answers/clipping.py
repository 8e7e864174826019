"""Wrong answers for the set "Gradient clipping"."""

from __future__ import annotations

import numpy as np


def clip_value(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads]


def clip_each(grads, max_norm):
    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]


def clip_always(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * max_norm / norm for g in grads]  # rescales up, too


WRONG = {
    "clipping.clip_global": [clip_value, clip_each, lambda g, m: g, clip_always],
    "clipping.predict_component": [1.0, 0.6, 3.0],
    "clipping.threshold": [0.1, 1000.0, -1.0],
}
