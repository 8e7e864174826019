"""Wrong answers for the set "Batch normalization"."""

from __future__ import annotations

import numpy as np


def bn_backward_no_stats(x, grad_out, gamma):
    return grad_out * gamma / np.sqrt(x.var(0) + 1e-5)


def bn_ddof1(x, gamma, beta):
    return gamma * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + 1e-5) + beta


WRONG = {
    "batch_norm.forward": [
        lambda x, g, b: g * (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True) + b,
        lambda x, g, b: (x - x.mean(0)) / x.std(0),
        bn_ddof1,
    ],
    "batch_norm.backward": [bn_backward_no_stats, lambda x, c, g: c],
    "batch_norm.weight_scale": [10.0, 1.0],
}
