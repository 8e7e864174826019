"""Wrong answers for the set "Gradient descent"."""

from __future__ import annotations

import numpy as np


def step_in_place(w, g, lr):
    w -= lr * g  # the prompt forbids it: the caller's weights change
    return w


def _batch_grad(p, x, y):
    r = p[0] * x + p[1] - y
    return np.array([np.mean(r * x), np.mean(r)])


def epoch_sum(params, x, y, lr, batch_size, order):
    p = np.array(params, dtype=float)
    for s in range(0, len(order), batch_size):
        i = order[s : s + batch_size]
        r = p[0] * x[i] + p[1] - y[i]
        p = p - lr * np.array([np.sum(r * x[i]), np.sum(r)])  # a sum, not a mean
    return p


def epoch_divides_by_batch_size(params, x, y, lr, batch_size, order):
    p = np.array(params, dtype=float)
    for s in range(0, len(order), batch_size):
        i = order[s : s + batch_size]
        r = p[0] * x[i] + p[1] - y[i]
        # the last, smaller batch is divided by batch_size, not by its own size
        p = p - lr * np.array([np.sum(r * x[i]), np.sum(r)]) / batch_size
    return p


def epoch_drops_last_batch(params, x, y, lr, batch_size, order):
    p = np.array(params, dtype=float)
    for s in range(0, len(order) - batch_size + 1, batch_size):
        p = p - lr * _batch_grad(p, x[order[s : s + batch_size]], y[order[s : s + batch_size]])
    return p


def epoch_ignores_order(params, x, y, lr, batch_size, order):
    p = np.array(params, dtype=float)
    for s in range(0, len(x), batch_size):
        p = p - lr * _batch_grad(p, x[s : s + batch_size], y[s : s + batch_size])
    return p


def epoch_one_step(params, x, y, lr, batch_size, order):
    return np.asarray(params) - lr * _batch_grad(np.asarray(params), x, y)  # full batch always


def epoch_in_place(params, x, y, lr, batch_size, order):
    for s in range(0, len(order), batch_size):
        i = order[s : s + batch_size]
        params -= lr * _batch_grad(params, x[i], y[i])  # changes the caller's parameters
    return params


WRONG = {
    "gd.step": [lambda w, g, lr: w + lr * g, lambda w, g, lr: w - g, step_in_place],
    "gd.max_lr": [1 / 4, 2.0, -0.5, 0.51],  # 0.51: the first diverging rate of the table
    "gd.one_step_lr": [0.5, 1 / 8],
    "gd.sgd_epoch": [
        epoch_sum,
        epoch_divides_by_batch_size,
        epoch_drops_last_batch,
        epoch_ignores_order,
        epoch_one_step,
        epoch_in_place,
    ],
    # 1 - 0.19 c without the absolute value; the shallow factor for both; 0.19 c; swapped
    "gd.valley_factors": [(0.81, -0.9), (0.81, 0.81), (0.19, 1.9), (0.9, 0.81), 0.9],
    # the chapter's 0.3 (jitters), too small to arrive, diverging, at the edge of seed 0 only
    "gd.sgd_lr": [0.3, 0.02, 5.0, 0.09],
}
