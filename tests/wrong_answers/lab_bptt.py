"""Wrong answers for the lab "Backprop through time by hand" (set ``lab_bptt``)."""

from __future__ import annotations

import numpy as np


def _states(xs, h0, W_x, W_h, b):
    h, hs = h0, []
    for x in xs:
        h = np.tanh(x @ W_x + h @ W_h + b)
        hs.append(h)
    return np.array(hs)


# --- Part 1: the forward pass ---------------------------------------------------------------


def forward_with_h0(xs, h0, W_x, W_h, b):
    return np.vstack([h0, _states(xs, h0, W_x, W_h, b)])


def forward_transposed(xs, h0, W_x, W_h, b):
    return _states(xs, h0, W_x, W_h.T, b)  # W_h h_{t-1} with a column-vector habit


def forward_without_bias(xs, h0, W_x, W_h, b):
    return _states(xs, h0, W_x, W_h, 0.0 * b)


def forward_from_zero(xs, h0, W_x, W_h, b):
    return _states(xs, np.zeros_like(h0), W_x, W_h, b)


def forward_linear_recurrence(xs, h0, W_x, W_h, b):
    h, hs = h0, []
    for x in xs:
        h = np.tanh(x @ W_x + b) + h @ W_h  # tanh of the input only
        hs.append(h)
    return np.array(hs)


def forward_in_place(xs, h0, W_x, W_h, b):
    h, hs = h0, []  # h is h0 itself, and the loop overwrites it
    for x in xs:
        h[:] = np.tanh(x @ W_x + h @ W_h + b)
        hs.append(h.copy())
    return np.array(hs)


# --- Part 2: full BPTT ----------------------------------------------------------------------


def _backward(xs, h0, W_x, W_h, b, cs, *, carry=True, slope_of_prev=False, last_only=False):
    hs = _states(xs, h0, W_x, W_h, b)
    prev = np.vstack([h0, hs[:-1]])
    dW_x, dW_h, db, g = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(b), 0 * h0
    for t in reversed(range(len(xs))):
        c = cs[t] if (t == len(xs) - 1 or not last_only) else 0 * cs[t]
        slope = 1 - (prev[t] if slope_of_prev else hs[t]) ** 2
        delta = (c + (g if carry else 0)) * slope
        dW_x, dW_h, db = dW_x + np.outer(xs[t], delta), dW_h + np.outer(prev[t], delta), db + delta
        g = delta @ W_h.T
    return dW_x, dW_h, db, g


def backward_transposed(xs, h0, W_x, W_h, b, cs):
    dW_x, dW_h, db, dh0 = _backward(xs, h0, W_x, W_h, b, cs)
    return dW_x, dW_h.T, db, dh0


def backward_no_carry(xs, h0, W_x, W_h, b, cs):
    return _backward(xs, h0, W_x, W_h, b, cs, carry=False)


def backward_slope_off_by_one(xs, h0, W_x, W_h, b, cs):
    return _backward(xs, h0, W_x, W_h, b, cs, slope_of_prev=True)


def backward_last_term_only(xs, h0, W_x, W_h, b, cs):
    return _backward(xs, h0, W_x, W_h, b, cs, last_only=True)


def backward_mean_over_time(xs, h0, W_x, W_h, b, cs):
    return tuple(g / len(xs) for g in _backward(xs, h0, W_x, W_h, b, cs))


def backward_dh0_without_w(xs, h0, W_x, W_h, b, cs):
    dW_x, dW_h, db, dh0 = _backward(xs, h0, W_x, W_h, b, cs)
    return dW_x, dW_h, db, dh0 @ np.linalg.inv(W_h.T)  # delta_1 itself


def backward_in_place(xs, h0, W_x, W_h, b, cs):
    hs = _states(xs, h0, W_x, W_h, b)
    prev = np.vstack([h0, hs[:-1]])
    dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(b)
    for t in reversed(range(len(xs))):
        delta = cs[t] * (1 - hs[t] ** 2)
        dW_x, dW_h, db = dW_x + np.outer(xs[t], delta), dW_h + np.outer(prev[t], delta), db + delta
        if t > 0:
            cs[t - 1] += delta @ W_h.T  # right numbers, but the caller's cs is changed
    return dW_x, dW_h, db, delta @ W_h.T


# --- Part 3: truncated BPTT -----------------------------------------------------------------


def _windowed(xs, h0, W_x, W_h, b, cs, keep):
    """Backpropagate l_t through the steps s with keep(t, s) (a contiguous run ending at t)."""
    hs = _states(xs, h0, W_x, W_h, b)
    prev = np.vstack([h0, hs[:-1]])
    dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(b)
    for t in range(len(xs)):
        g = cs[t]
        for s in range(t, -1, -1):
            if not keep(t, s):
                break
            delta = g * (1 - hs[s] ** 2)
            dW_x, dW_h, db = (
                dW_x + np.outer(xs[s], delta),
                dW_h + np.outer(prev[s], delta),
                db + delta,
            )
            g = delta @ W_h.T
    return dW_x, dW_h, db


def truncated_one_too_long(xs, h0, W_x, W_h, b, cs, k):
    return _windowed(xs, h0, W_x, W_h, b, cs, lambda t, s: t - s <= k)


def truncated_one_too_short(xs, h0, W_x, W_h, b, cs, k):
    return _windowed(xs, h0, W_x, W_h, b, cs, lambda t, s: t - s < k - 1)


def truncated_chunks(xs, h0, W_x, W_h, b, cs, k):
    return _windowed(xs, h0, W_x, W_h, b, cs, lambda t, s: t // k == s // k)


def truncated_chunks_from_the_end(xs, h0, W_x, W_h, b, cs, k):
    end = len(xs) - 1  # one backward pass that drops the carried gradient every k steps
    return _windowed(xs, h0, W_x, W_h, b, cs, lambda t, s: (end - t) // k == (end - s) // k)


def truncated_ignores_k(xs, h0, W_x, W_h, b, cs, k):
    return _windowed(xs, h0, W_x, W_h, b, cs, lambda t, s: True)


def truncated_last_k_steps(xs, h0, W_x, W_h, b, cs, k):
    return _windowed(xs, h0, W_x, W_h, b, cs, lambda t, s: s >= len(xs) - k)


# --- Part 4: the Jacobian product -----------------------------------------------------------


def _norms(xs, h0, W_x, W_h, b, *, norm=2, newest_right=False, slope_of_prev=False, tr=True):
    hs = _states(xs, h0, W_x, W_h, b)
    prev = np.vstack([h0, hs[:-1]])
    jac, out = np.eye(len(h0)), []
    for h, p in zip(hs, prev, strict=True):
        step = np.diag(1 - (p if slope_of_prev else h) ** 2) @ (W_h.T if tr else W_h)
        jac = jac @ step if newest_right else step @ jac
        out.append(np.linalg.norm(jac, norm))
    return np.array(out)


def norms_per_step_bound(xs, h0, W_x, W_h, b):
    hs = _states(xs, h0, W_x, W_h, b)
    return np.cumprod([np.linalg.norm(np.diag(1 - h**2) @ W_h.T, 2) for h in hs])


def norms_linear(xs, h0, W_x, W_h, b):
    return np.array(
        [np.linalg.norm(np.linalg.matrix_power(W_h, t), 2) for t in range(1, len(xs) + 1)]
    )


WRONG = {
    "lab_bptt.forward": [
        forward_with_h0,
        forward_transposed,
        forward_without_bias,
        forward_from_zero,
        forward_linear_recurrence,
        forward_in_place,
    ],
    "lab_bptt.backward": [
        backward_transposed,
        backward_no_carry,
        backward_slope_off_by_one,
        backward_last_term_only,
        backward_mean_over_time,
        backward_dh0_without_w,
        backward_in_place,
    ],
    "lab_bptt.truncated": [
        truncated_one_too_long,
        truncated_one_too_short,
        truncated_chunks,
        truncated_chunks_from_the_end,
        truncated_ignores_k,
        truncated_last_k_steps,
    ],
    "lab_bptt.jacobian_product": [
        lambda *p: _norms(*p, norm="fro"),
        norms_per_step_bound,
        lambda *p: _norms(*p, newest_right=True),
        lambda *p: _norms(*p, slope_of_prev=True),
        lambda *p: _norms(*p, tr=False),
        norms_linear,
        lambda *p: np.concatenate([[1.0], _norms(*p)]),  # t = 0 included
    ],
    "lab_bptt.decay": [
        (0.1 ** (1 / 50), 0.1 ** (1 / 50)),  # the linear prediction, rho^50 = 0.1
        (1.555, 1.057),  # swapped
        (1.09, 1.60),  # both 3% too large: not the smallest
        (1.035, 1.52),  # both 2% too small
        (1.05, 1.555),  # the first from Frobenius norms
        (1.124, 1.5445),  # W_h not transposed in the Jacobian product
    ],
}
