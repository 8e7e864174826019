"""Wrong answers for the set "Batch normalization"."""

from __future__ import annotations

import numpy as np


def bn_backward_no_stats(x, grad_out, gamma):
    return grad_out * gamma / np.sqrt(x.var(0) + 1e-5)


def bn_ddof1(x, gamma, beta):
    return gamma * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + 1e-5) + beta


def ln_over_batch(x, gamma, beta):  # batch normalization
    return gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) + beta


def ln_ddof1(x, gamma, beta):
    mean, var = x.mean(1, keepdims=True), x.var(1, ddof=1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + 1e-5) + beta


def ln_no_keepdims(x, gamma, beta):  # broadcasts (B,) against (B, features)
    return gamma * (x - x.mean(1)) / np.sqrt(x.var(1) + 1e-5) + beta


def ln_all_entries(x, gamma, beta):  # one mean and variance for the whole batch
    return gamma * (x - x.mean()) / np.sqrt(x.var() + 1e-5) + beta


def ln_swapped(x, gamma, beta):  # beta scales, gamma shifts
    xhat = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)
    return beta * xhat + gamma


WRONG = {
    "batch_norm.forward": [
        lambda x, g, b: g * (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True) + b,
        lambda x, g, b: (x - x.mean(0)) / x.std(0),
        bn_ddof1,
    ],
    "batch_norm.backward": [bn_backward_no_stats, lambda x, c, g: c],
    "batch_norm.weight_scale": [10.0, 1.0],
    "batch_norm.layer_norm": [
        ln_over_batch,
        ln_ddof1,
        ln_no_keepdims,
        ln_all_entries,
        ln_swapped,
    ],
    "batch_norm.lr_factors": [
        [2.0, 1 / 3, 0.1],  # the gradient's factor 1/c, not the ratio's
        [1.0, 1.0, 1.0],  # "BN makes the scale irrelevant"
        [0.25, 9.0, 100.0],  # inverted: c^2
        [4.0, 1 / 9, 0.1],  # one slip
    ],
    "batch_norm.momentum": [
        [0.99, 0.99, 0.99],  # Keras' default for every budget
        [0.1, 0.04, 0.01],  # momentum taken as the weight of the new batch
        [0.89, 0.95, 0.98],  # catch up, but not the largest
        [0.91, 0.97, 1.0],  # one step too far
    ],
}
