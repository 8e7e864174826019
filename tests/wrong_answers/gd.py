"""Wrong answers for the set "Gradient descent"."""

from __future__ import annotations


def step_in_place(w, g, lr):
    w -= lr * g  # the prompt forbids it: the caller's weights change
    return w


WRONG = {
    "gd.step": [lambda w, g, lr: w + lr * g, lambda w, g, lr: w - g, step_in_place],
    "gd.max_lr": [1 / 4, 2.0, -0.5, 0.51],  # 0.51: the first diverging rate of the table
    "gd.one_step_lr": [0.5, 1 / 8],
}
