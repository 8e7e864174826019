"""Wrong answers for the lab "An LSTM cell, forward and backward, by hand"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import sigmoid
from vgrad_course.grading.checks import _lab_lstm_reference as ref
from vgrad_course.grading.labs import lstm_vs_rnn

# --- Part 1: one step -------------------------------------------------------------------------


def _gates(x, h, kernel, recurrent_kernel, bias, *, order="ifco", candidate=np.tanh):
    n = h.shape[-1]
    z = x @ kernel + h @ recurrent_kernel + bias
    blocks = dict(zip(order, (z[:, k * n : (k + 1) * n] for k in range(4)), strict=True))
    return sigmoid(blocks["i"]), sigmoid(blocks["f"]), candidate(blocks["c"]), sigmoid(blocks["o"])


def step_tf1_order(x, h, c, kernel, recurrent_kernel, bias):  # i, c~, f, o (TF1's i, j, f, o)
    i, f, g, o = _gates(x, h, kernel, recurrent_kernel, bias, order="icfo")
    c = f * c + i * g
    return o * np.tanh(c), c


def step_sigmoid_candidate(x, h, c, kernel, recurrent_kernel, bias):
    i, f, g, o = _gates(x, h, kernel, recurrent_kernel, bias, candidate=sigmoid)
    c = f * c + i * g
    return o * np.tanh(c), c


def step_old_cell(x, h, c, kernel, recurrent_kernel, bias):  # h_t from c_{t-1}
    i, f, g, o = _gates(x, h, kernel, recurrent_kernel, bias)
    return o * np.tanh(c), f * c + i * g


def step_no_tanh(x, h, c, kernel, recurrent_kernel, bias):  # h_t = o * c_t
    i, f, g, o = _gates(x, h, kernel, recurrent_kernel, bias)
    c = f * c + i * g
    return o * c, c


def step_extra_forget_bias(x, h, c, kernel, recurrent_kernel, bias):  # TF1's forget_bias=1.0
    n = h.shape[-1]
    shifted = bias.copy()
    shifted[n : 2 * n] += 1.0
    return lstm_step_right(x, h, c, kernel, recurrent_kernel, shifted)


def step_in_place(x, h, c, kernel, recurrent_kernel, bias):  # c *= f: the caller's c changes
    i, f, g, o = _gates(x, h, kernel, recurrent_kernel, bias)
    c *= f
    c += i * g
    return o * np.tanh(c), c.copy()


def step_naive_sigmoid(x, h, c, kernel, recurrent_kernel, bias):  # overflows for z < -709
    n = h.shape[-1]
    z = x @ kernel + h @ recurrent_kernel + bias
    s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    i, f, g, o = s(z[:, :n]), s(z[:, n : 2 * n]), np.tanh(z[:, 2 * n : 3 * n]), s(z[:, 3 * n :])
    c = f * c + i * g
    return o * np.tanh(c), c


def lstm_step_right(x, h, c, kernel, recurrent_kernel, bias):
    i, f, g, o = _gates(x, h, kernel, recurrent_kernel, bias)
    c = f * c + i * g
    return o * np.tanh(c), c


# --- Part 2: a sequence -----------------------------------------------------------------------


def _run(xs, h0, c0, kernel, recurrent_kernel, bias, step=lstm_step_right):
    h, c, hs, cs = h0, c0, [h0], [c0]
    for t in range(xs.shape[1]):
        h, c = step(xs[:, t], h, c, kernel, recurrent_kernel, bias)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


def forward_with_initial(xs, h0, c0, kernel, recurrent_kernel, bias):  # h_0 ... h_{T-1}
    hs, cs = _run(xs, h0, c0, kernel, recurrent_kernel, bias)
    return hs[:, :-1], cs[:, :-1]


def forward_time_major(xs, h0, c0, kernel, recurrent_kernel, bias):  # (T, batch, n)
    hs, cs = _run(xs, h0, c0, kernel, recurrent_kernel, bias)
    return hs[:, 1:].transpose(1, 0, 2), cs[:, 1:].transpose(1, 0, 2)


def forward_cell_not_carried(xs, h0, c0, kernel, recurrent_kernel, bias):  # c restarts at c0
    h, hs, cs = h0, [], []
    for t in range(xs.shape[1]):
        h, c = lstm_step_right(xs[:, t], h, c0, kernel, recurrent_kernel, bias)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


def forward_hidden_not_carried(xs, h0, c0, kernel, recurrent_kernel, bias):  # h restarts at h0
    c, hs, cs = c0, [], []
    for t in range(xs.shape[1]):
        h, c = lstm_step_right(xs[:, t], h0, c, kernel, recurrent_kernel, bias)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


def forward_in_place(xs, h0, c0, kernel, recurrent_kernel, bias):  # the state kept in h0, c0
    hs, cs = [], []
    for t in range(xs.shape[1]):
        h0[...], c0[...] = lstm_step_right(xs[:, t], h0, c0, kernel, recurrent_kernel, bias)
        hs.append(h0.copy())
        cs.append(c0.copy())
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


def forward_batch_as_time(xs, h0, c0, kernel, recurrent_kernel, bias):  # reads xs[t]
    h, c, hs, cs = h0, c0, [], []
    for t in range(xs.shape[0]):
        h, c = lstm_step_right(xs[t], h, c, kernel, recurrent_kernel, bias)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


# --- Part 3: backpropagation through time -----------------------------------------------------


def _backward(
    xs,
    h0,
    c0,
    kernel,
    recurrent_kernel,
    bias,
    grad_h,
    grad_c,
    *,
    cell_term=True,
    every_step=True,
    carry_cell=True,
    previous_state=True,
    in_place=False,
):
    n = h0.shape[1]
    h, c, cache = h0, c0, []
    for t in range(xs.shape[1]):
        i, f, g, o = _gates(xs[:, t], h, kernel, recurrent_kernel, bias)
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        cache.append((h if previous_state else h_new, c, i, f, g, o, np.tanh(c_new)))
        h, c = h_new, c_new
    d_kernel, d_recurrent = np.zeros_like(kernel), np.zeros_like(recurrent_kernel)
    d_bias = np.zeros_like(bias)
    dh = np.zeros_like(h0)
    if in_place:
        dc = grad_c  # no copy: the += below changes the caller's grad_c
    else:
        dc = grad_c.copy() if cell_term else np.zeros_like(grad_c)
    steps = xs.shape[1]
    for t in reversed(range(steps)):
        h_prev, c_prev, i, f, g, o, tc = cache[t]
        if every_step or t == steps - 1:
            dh = dh + grad_h[:, t]
        dc += dh * o * (1 - tc**2)
        dz = np.concatenate(
            [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g**2)]
            + [dh * tc * o * (1 - o)],
            axis=1,
        )
        d_kernel += xs[:, t].T @ dz
        d_recurrent += h_prev.T @ dz
        d_bias += dz.sum(axis=0)
        dh = dz @ recurrent_kernel.T
        dc = dc * f if carry_cell else np.zeros_like(dc)
    assert n == h0.shape[1]
    return d_kernel, d_recurrent, d_bias, dh, dc


def backward_without_cell_term(*args):  # forgets <grad_c, c_T>
    return _backward(*args, cell_term=False)


def backward_last_step_only(*args):  # only the loss on h_T
    return _backward(*args, every_step=False)


def backward_cell_not_carried(*args):  # truncated: dc_{t-1} gets nothing through f_t
    return _backward(*args, carry_cell=False)


def backward_state_off_by_one(*args):  # dW_h from h_t instead of h_{t-1}
    return _backward(*args, previous_state=False)


def backward_mean_over_batch(*args):  # a mean where the loss is a sum
    batch = args[0].shape[0]
    return tuple(g / batch for g in _backward(*args))


def backward_in_place(*args):  # dc = grad_c, then dc += ...: the caller's grad_c changes
    return _backward(*args, in_place=True)


def backward_kernel_transposed(*args):
    grads = list(_backward(*args))
    grads[0] = grads[0].T
    return tuple(grads)


# --- Part 4: the cell path --------------------------------------------------------------------


def _right_cell_path(xs, h0, c0, kernel, recurrent_kernel, bias):
    p = {"xs": xs, "h0": h0, "c0": c0, "kernel": kernel}
    p.update(recurrent_kernel=recurrent_kernel, bias=bias)
    return ref.full_jacobian(p), np.diag(ref.frozen_gate_jacobian(p))


def _forget_gates(xs, h0, c0, kernel, recurrent_kernel, bias):
    h, c, gates = h0, c0, []
    for t in range(xs.shape[1]):
        i, f, g, o = _gates(xs[:, t], h, kernel, recurrent_kernel, bias)
        gates.append(f[0])
        c = f * c + i * g
        h = o * np.tanh(c)
    return np.array(gates)


def cell_path_diagonal(*args):  # the gates held fixed, taken for the whole Jacobian
    direct = np.prod(_forget_gates(*args), axis=0)
    return np.diag(direct), direct


def cell_path_transposed(*args):
    full, direct = _right_cell_path(*args)
    return full.T, direct


def cell_path_one_gate_short(*args):  # f_1 ... f_{T-1}
    full, _ = _right_cell_path(*args)
    return full, np.prod(_forget_gates(*args)[:-1], axis=0)


def cell_path_sum_of_gates(*args):  # a sum where the chain rule multiplies
    full, _ = _right_cell_path(*args)
    return full, np.sum(_forget_gates(*args), axis=0)


def cell_path_coarse_differences(xs, h0, c0, kernel, recurrent_kernel, bias):  # eps = 1e-2
    n = h0.shape[1]
    full = np.zeros((n, n))
    for j in range(n):
        step = np.zeros_like(c0)
        step[0, j] = 1e-2
        up = _run(xs, h0, c0 + step, kernel, recurrent_kernel, bias)[1][0, -1]
        down = _run(xs, h0, c0 - step, kernel, recurrent_kernel, bias)[1][0, -1]
        full[:, j] = (up - down) / 2e-2
    return full, np.prod(_forget_gates(xs, h0, c0, kernel, recurrent_kernel, bias), axis=0)


# --- Part 5: the comparison -------------------------------------------------------------------


def _comparison_values() -> dict[str, float]:
    setup = lstm_vs_rnn(1.0)
    xs, h0, c0 = setup["xs"], setup["h0"], setup["c0"]
    full, direct = _right_cell_path(xs, h0, c0, *setup["lstm"])
    kernel, recurrent_kernel, bias = setup["rnn"]

    def final(h):
        for t in range(xs.shape[1]):
            h = np.tanh(xs[:, t] @ kernel + h @ recurrent_kernel + bias)
        return h

    return {
        "rnn_fro": float(np.linalg.norm(ref.complex_step(final, h0))),
        "lstm": float(np.linalg.norm(full, 2)),
        "lstm_fro": float(np.linalg.norm(full)),
        "direct": float(np.max(direct)),
        "rnn": ref.rnn_gain(),
    }


_V = _comparison_values()
_NAIVE = 4.3  # sigmoid(b)^50 >= 1/2 without the measurement
_RIGHT_BIAS = next(b / 10 for b in range(100) if ref.lstm_cell_gain(b / 10) >= 0.5)

WRONG = {
    "lab_lstm.step": [
        step_tf1_order,
        step_sigmoid_candidate,
        step_old_cell,
        step_no_tanh,
        step_extra_forget_bias,
        step_in_place,
        step_naive_sigmoid,
    ],
    "lab_lstm.forward": [
        forward_with_initial,
        forward_time_major,
        forward_cell_not_carried,
        forward_hidden_not_carried,
        forward_in_place,
        forward_batch_as_time,
    ],
    "lab_lstm.backward": [
        backward_without_cell_term,
        backward_last_step_only,
        backward_cell_not_carried,
        backward_state_off_by_one,
        backward_mean_over_batch,
        backward_in_place,
        backward_kernel_transposed,
    ],
    "lab_lstm.cell_path": [
        cell_path_diagonal,
        cell_path_transposed,
        cell_path_one_gate_short,
        cell_path_sum_of_gates,
        cell_path_coarse_differences,
    ],
    "lab_lstm.compare": [
        (_V["direct"], _V["rnn"], "a", _NAIVE),  # the product of the gates, the formula
        (_V["lstm_fro"], _V["rnn_fro"], "a", _RIGHT_BIAS),  # Frobenius norms
        (_V["lstm"], _V["rnn"], "b", _RIGHT_BIAS),  # "the LSTM is the highway"
        (_V["lstm"], _V["rnn"], "a", _RIGHT_BIAS + 0.1),  # not the smallest
        (_V["lstm"], _V["rnn"], "a", _RIGHT_BIAS - 0.1),  # too small
        (_V["lstm"], _V["rnn"], "a", 4.2),  # the gates held fixed (the direct path only)
        [_V["lstm"], _V["rnn"], "a"],  # three items
    ],
}
