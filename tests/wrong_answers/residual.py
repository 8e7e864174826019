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


def block_backward_no_skip(h, W, grad_out):
    return (grad_out * (1 - np.tanh(h @ W) ** 2)) @ W.T


def block_backward_untransposed(h, W, grad_out):
    return grad_out + (grad_out * (1 - np.tanh(h @ W) ** 2)) @ W


def block_backward_jacobian_times(h, W, grad_out):  # J g instead of J^T g
    return grad_out + (1 - np.tanh(h @ W) ** 2) * (grad_out @ W)


def block_backward_no_slope(h, W, grad_out):
    return grad_out + grad_out @ W.T


def block_backward_in_place(h, W, grad_out):
    skip = grad_out.copy()
    grad_out *= 1 - np.tanh(h @ W) ** 2
    return skip + grad_out @ W.T


def block_backward_batch_mean(h, W, grad_out):  # as if the loss were averaged again
    return (grad_out + (grad_out * (1 - np.tanh(h @ W) ** 2)) @ W.T) / len(h)


WRONG = {
    "residual.forward": [
        residual_forward_plain_always,
        lambda x, ws, r: x,
        residual_from_input,
    ],
    "residual.block_jacobian": [block_jac_transposed, lambda h, W: W],
    "residual.grad_ratio": ["a", "b"],
    "residual.block_backward": [
        block_backward_no_skip,
        block_backward_untransposed,
        block_backward_jacobian_times,
        block_backward_no_slope,
        block_backward_in_place,
        block_backward_batch_mean,
    ],
    "residual.he_growth": [
        [2**0.5, 2**2, 2**4.5],  # off by one block
        [4.0, 32.0, 1024.0],  # the second moment's growth, not the std's
        [3**1, 3**2.5, 3**5],  # forgot that ReLU keeps half the second moment
        [1.0, 1.0, 1.0],  # "the skip keeps the signal as it is"
    ],
    "residual.branch_stds": [
        [(2 / (64 * d)) ** 0.5 for d in (8, 16, 32)],  # the chapter's rule: safe, not largest
        [(2 / 64) ** 0.5] * 3,  # He's value for one layer
        [0.080, 0.053, 0.038],  # one step too far
        [0.077, 0.053, 0.037],  # the formula (1 + 32 s^2)^(d / 2) = 2, rounded
    ],
}
