"""Wrong answers for the set "LSTM, GRU and IRNN"."""

from __future__ import annotations

import numpy as np


def write_own_gate(update):  # prod_{s >= t} z_s: the step's own gate keeps, nothing writes
    return np.cumprod(update[::-1], axis=0)[::-1]


def write_no_own_gate(update):  # prod_{s > t} z_s, without the write weight 1 - z_t
    later = np.vstack([np.cumprod(update[::-1], axis=0)[::-1][1:], np.ones(update.shape[1])])
    return later


def write_swapped(update):  # the other texts' convention: z writes, 1 - z keeps
    keep = 1 - update
    later = np.vstack([np.cumprod(keep[::-1], axis=0)[::-1][1:], np.ones(update.shape[1])])
    return update * later


def write_from_start(update):  # (1 - z_t) prod_{s < t} z_s: the products run the wrong way
    earlier = np.vstack([np.ones(update.shape[1]), np.cumprod(update, axis=0)[:-1]])
    return (1 - update) * earlier


def write_off_by_one(update):  # (1 - z_t) prod_{s >= t} z_s
    return (1 - update) * np.cumprod(update[::-1], axis=0)[::-1]


def write_transposed(update):
    return (
        (1 - update)
        * np.vstack([np.cumprod(update[::-1], axis=0)[::-1][1:], np.ones(update.shape[1])])
    ).T


WRONG = {
    "gated.cell_grad": [lambda f: np.sum(f, axis=0), lambda f: np.prod(f)],
    "gated.forget_bias": [1.0, 8.0],
    "gated.irnn": [0.0, 100.0],
    "gated.gru_write": [
        write_own_gate,
        write_no_own_gate,
        write_swapped,
        write_from_start,
        write_off_by_one,
        write_transposed,
    ],
    "gated.recurrences": [
        ("a", "a", "a"),  # "an orthogonal U preserves norms"
        ("a", "b", "d"),  # the rotation taken for the identity
        ("b", "c", "d"),  # tanh taken for the worse one
        ("c", "b", "a"),  # a 5% gain taken as harmless
    ],
    "gated.update_biases": [
        [5.0, 5.0, 5.0],  # keep everything: then nothing is written
        [0.0, 0.0, 0.0],
        [-2.3, -3.7, -4.6],  # the other convention (z writes)
        [2.4, 3.7, 4.6],  # log(d + 1)
        [2.7, 4.1, 5.0],  # keep half, sigmoid(b)^d >= 1/2: the write weight forgotten
    ],
}
