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


def jacobian_transposed(x, w, b):
    return w * (1 - np.tanh(x @ w + b) ** 2)  # (n, m): columns are outputs


def jacobian_no_slope(x, w, b):
    return w.T  # forgot tanh'(z)


def jacobian_slope_without_bias(x, w, b):
    return (1 - np.tanh(x @ w) ** 2)[:, None] * w.T  # z without b


def jacobian_slope_on_columns(x, w, b):
    # tanh'(z) of each unit times W itself, reshaped: the slope lands on the wrong entries
    return (w * (1 - np.tanh(x @ w + b) ** 2)).reshape(w.shape[1], w.shape[0])


def jacobian_sigmoid_slope(x, w, b):
    s = 1 / (1 + np.exp(-(x @ w + b)))
    return (s * (1 - s))[:, None] * w.T  # the sigmoid's slope, not tanh's


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
    "backprop.layer_jacobian": [
        jacobian_transposed,
        jacobian_no_slope,
        jacobian_slope_without_bias,
        jacobian_slope_on_columns,
        jacobian_sigmoid_slope,
    ],
    "backprop.saturated": [
        (-1.593, -6.076e-4),  # dL/dy_hat of the chapter's network, not recomputed
        (-3.463, -6.926),  # tanh' forgotten: the saturated unit looks as alive as the other
        (-1.206, -4.602e-4),  # the factor x forgotten
        (1.809, 6.903e-4),  # the sign of dL/dy_hat flipped
        -6.903e-4,  # one number only
    ],
    # the rule-of-thumb-era 1e-3 and 1e-4 (truncation), 1e-8 and 1e-12 (round-off)
    "backprop.fd_eps": [1e-3, 1e-4, 1e-8, 1e-12],
}
