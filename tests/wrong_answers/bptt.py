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


def _states(W, U, xs, h0):
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(hs[-1] @ W + x @ U))
    return hs


def terms_reversed(W, U, xs, h0, c):
    hs, g, out = _states(W, U, xs, h0), c, []
    for t in range(len(xs), 0, -1):  # the last step first, and never put back in order
        d = g * (1 - hs[t] ** 2)
        out.append(np.outer(hs[t - 1], d))
        g = d @ W.T
    return np.array(out)


def terms_transposed(W, U, xs, h0, c):
    return np.transpose(terms_reversed(W, U, xs, h0, c)[::-1], (0, 2, 1))


def terms_last_step_only(W, U, xs, h0, c):
    hs = _states(W, U, xs, h0)  # truncated BPTT with one step: earlier terms left at 0
    out = np.zeros((len(xs), *W.shape))
    out[-1] = np.outer(hs[-2], c * (1 - hs[-1] ** 2))
    return out


def terms_with_h_t(W, U, xs, h0, c):
    hs, g, out = _states(W, U, xs, h0), c, []
    for t in range(len(xs), 0, -1):
        d = g * (1 - hs[t] ** 2)
        out.append(np.outer(hs[t], d))  # off by one: the state after the step
        g = d @ W.T
    return np.array(out[::-1])


def terms_without_tanh_slope(W, U, xs, h0, c):
    hs, g, out = _states(W, U, xs, h0), c, []
    for t in range(len(xs), 0, -1):
        out.append(np.outer(hs[t - 1], g))
        g = g @ W.T
    return np.array(out[::-1])


_BOUND_W = np.array([[0.6, 0.9, 0.0], [0.0, -0.5, 0.7], [0.2, 0.0, 0.4]])

WRONG = {
    "bptt.rnn_forward": [
        rnn_forward_with_h0,
        lambda W, U, xs, h0: np.tanh(xs @ U),
        rnn_forward_transposed_w,
        rnn_forward_without_h0,
    ],
    "bptt.rnn_jacobian": [rnn_jac_transposed, lambda W, U, xs, h0: W],
    "bptt.decay": [0.5, 0.5**9],
    "bptt.step_terms": [
        terms_reversed,
        terms_transposed,
        terms_last_step_only,
        terms_with_h_t,
        terms_without_tanh_slope,
    ],
    "bptt.bound": [
        float(np.max(np.abs(np.linalg.eigvals(_BOUND_W)))) ** 20,  # spectral radius
        float(np.linalg.norm(_BOUND_W, 2)) ** 19,  # one step short
        float(np.linalg.norm(np.linalg.matrix_power(_BOUND_W, 20), 2)),  # the linear norm
        float(np.linalg.norm(_BOUND_W)) ** 20,  # Frobenius norm
    ],
    "bptt.input_scale": [
        (0.05, 0.1),  # both too small: more than 10% and 1% still survive at 1.1 x
        (0.3, 0.5),  # both too large
        (0.2, 0.105),  # swapped
        (0.105, 0.3),
    ],
}
