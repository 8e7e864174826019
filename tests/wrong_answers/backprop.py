"""Wrong answers for the set "Backpropagation"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import sigmoid


def naive_sigmoid_derivative(z):
    s = 1 / (1 + np.exp(-z))  # overflows for z < -709
    return s * (1 - s)


def layer_backward_b_mean(x, w, b, c):
    d = c * (1 - np.tanh(x @ w + b) ** 2)
    return d @ w.T, x.T @ d, d.mean(0)


def layer_backward_w_transposed(x, w, b, c):
    d = c * (1 - np.tanh(x @ w + b) ** 2)
    return d @ w.T, (x.T @ d).T, d.sum(0)


WRONG = {
    "backprop.sigmoid_derivative": [
        lambda z: sigmoid(z),
        lambda z: np.exp(-z) / (1 + np.exp(-z)),
        naive_sigmoid_derivative,
    ],
    "backprop.layer_backward": [
        lambda x, W, b, c: (c @ W.T, x.T @ c, c.sum(0)),  # forgot tanh'
        lambda x, W, b, c: (c, W, b),
        layer_backward_b_mean,
        layer_backward_w_transposed,
    ],
    "backprop.chain": [0.25, 0.0625],
}
