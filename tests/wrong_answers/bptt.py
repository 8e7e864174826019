"""Wrong answers for the set "Recurrent networks and backpropagation through time"."""

from __future__ import annotations

import numpy as np


def rnn_forward_with_h0(W, U, xs, h0):
    h, hs = h0, [h0]
    for x in xs:
        h = np.tanh(h @ W + x @ U)
        hs.append(h)
    return np.array(hs)


def rnn_forward_transposed_w(W, U, xs, h0):
    h, hs = h0, []
    for x in xs:
        h = np.tanh(h @ W.T + x @ U)
        hs.append(h)
    return np.array(hs)


def rnn_forward_without_h0(W, U, xs, h0):
    return rnn_forward_with_h0(W, U, xs, np.zeros_like(h0))[1:]


def rnn_jac_transposed(W, U, xs, h0):
    h, jac = h0, np.eye(len(h0))
    for x in xs:
        h = np.tanh(h @ W + x @ U)
        jac = np.diag(1 - h**2) @ W.T @ jac
    return jac.T


WRONG = {
    "bptt.rnn_forward": [
        rnn_forward_with_h0,
        lambda W, U, xs, h0: np.tanh(xs @ U),
        rnn_forward_transposed_w,
        rnn_forward_without_h0,
    ],
    "bptt.rnn_jacobian": [rnn_jac_transposed, lambda W, U, xs, h0: W],
    "bptt.decay": [0.5, 0.5**9],
}
