"""Wrong answers for the set "Weight initialisation"."""

from __future__ import annotations

import numpy as np


def gains_swapped(widths, stds):
    forward = backward = 1.0
    for n_in, n_out, s in zip(widths[:-1], widths[1:], stds, strict=True):
        forward *= n_out * s**2 / 2  # fan-out forward, fan-in backward
        backward *= n_in * s**2 / 2
    return forward, backward


def gains_without_relu_half(widths, stds):
    forward = backward = 1.0
    for n_in, n_out, s in zip(widths[:-1], widths[1:], stds, strict=True):
        forward *= n_in * s**2
        backward *= n_out * s**2
    return forward, backward


def gains_of_the_std(widths, stds):
    forward = backward = 1.0
    for n_in, n_out, s in zip(widths[:-1], widths[1:], stds, strict=True):
        forward *= np.sqrt(n_in / 2) * s  # the std's gain, not the second moment's
        backward *= np.sqrt(n_out / 2) * s
    return forward, backward


def gains_fan_in_both_ways(widths, stds):
    forward = float(np.prod([n * s**2 / 2 for n, s in zip(widths[:-1], stds, strict=True)]))
    return forward, forward


WRONG = {
    "init.he_std": [lambda n: np.sqrt(1 / n), lambda n: 2 / n],
    "init.glorot_std": [lambda i, o: np.sqrt(1 / i), lambda i, o: np.sqrt(1 / (i + o))],
    "init.gain": [1.0, 2.0],
    "init.gains": [
        gains_swapped,
        gains_without_relu_half,
        gains_of_the_std,
        gains_fan_in_both_ways,
    ],
    "init.naive": [
        (0.02 * np.sqrt(200), 19 * np.log10(0.02 * np.sqrt(200))),  # the ReLU's 1/2 forgotten
        (0.2, 20 * np.log10(0.2)),  # 20 factors between layer 1 and layer 20
        (0.2, 18 * np.log10(0.2)),
        (0.04, 19 * np.log10(0.04)),  # the variance's factor, not the std's
        (0.2, 0.2**19),  # the ratio itself, not its log10
    ],
    "init.typical_gain": [np.sqrt(2), 1.6, 1.0, 2.0],
}
