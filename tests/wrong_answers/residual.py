"""Wrong answers for the set "Residual connections"."""

from __future__ import annotations

import numpy as np


def residual_forward_plain_always(x, weights, residual):
    h = x
    for w in weights:
        h = np.tanh(h @ w)
    return h


def residual_from_input(x, weights, residual):
    h = x
    for w in weights:
        h = x + np.tanh(h @ w) if residual else np.tanh(h @ w)
    return h


def block_jac_transposed(h, W):
    d = 1 - np.tanh(h @ W) ** 2
    return np.eye(len(h)) + W * d


WRONG = {
    "residual.forward": [
        residual_forward_plain_always,
        lambda x, ws, r: x,
        residual_from_input,
    ],
    "residual.block_jacobian": [block_jac_transposed, lambda h, W: W],
    "residual.grad_ratio": ["a", "b"],
}
