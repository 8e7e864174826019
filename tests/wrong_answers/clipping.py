"""Wrong answers for the set "Gradient clipping"."""

from __future__ import annotations

import numpy as np


def clip_value(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads]


def clip_each(grads, max_norm):
    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]


def clip_global(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * min(1.0, max_norm / norm) for g in grads]


def clip_always(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * max_norm / norm for g in grads]  # rescales up, too


def clip_each_always(grads, max_norm):
    return [g * max_norm / np.linalg.norm(g) for g in grads]  # rescales small tensors up


def clip_each_in_place(grads, max_norm):
    for g in grads:
        g *= min(1.0, max_norm / np.linalg.norm(g))  # the caller's arrays change too
    return grads


_G = [np.array([2.0, -0.5]), np.array([0.2, 3.0, -1.0])]
_C = [np.clip(g, -1.0, 1.0) for g in _G]
_FLAT_G, _FLAT_C = np.concatenate(_G), np.concatenate(_C)
_COS = float(_FLAT_G @ _FLAT_C / (np.linalg.norm(_FLAT_G) * np.linalg.norm(_FLAT_C)))
_COS_EACH = [
    float(g @ c / (np.linalg.norm(g) * np.linalg.norm(c))) for g, c in zip(_G, _C, strict=True)
]

WRONG = {
    "clipping.clip_global": [clip_value, clip_each, lambda g, m: g, clip_always],
    "clipping.predict_component": [1.0, 0.6, 3.0],
    "clipping.threshold": [0.1, 1000.0, -1.0],
    "clipping.per_variable": [
        lambda g, m: clip_global([x.copy() for x in g], m),  # the global norm
        clip_value,
        clip_each_always,
        clip_each_in_place,
        lambda g, m: g,
    ],
    "clipping.value_direction": [
        (1.0, 1.0),  # as if clipped by norm
        (float(np.linalg.norm(_FLAT_C)), 1.0),  # the direction assumed kept
        (float(np.linalg.norm(_FLAT_C)), float(np.mean(_COS_EACH))),  # cosines per tensor
        (float(np.linalg.norm(_FLAT_G)), _COS),  # the norm before clipping
        (float(np.sum([np.linalg.norm(c) for c in _C])), _COS),  # norms added, not squares
    ],
    "clipping.max_lr": [
        0.5,  # 2 / 4, a different curvature
        0.2,  # 1 / curvature: stable, but not the largest
        1.0,  # clipping does not make every rate safe
        0.39,  # the largest on a coarse grid that settles with threshold 1
        2.0,  # 2 / the small curvature
    ],
}
