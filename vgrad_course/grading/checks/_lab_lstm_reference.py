"""References of the lab "An LSTM cell, forward and backward, by hand", computed at check time.

A NumPy LSTM in Keras' convention (row vectors, the batch first, gates ``i, f, c~, o`` in that
order in the columns of ``kernel`` ``(n_in, 4n)``, ``recurrent_kernel`` ``(n, 4n)`` and ``bias``
``(4n,)``), and its derivatives by the complex step, exact to rounding because the LSTM's
sigmoid and tanh are analytic: no backward pass is written here. ``tests/test_lab_lstm.py``
checks the forward pass against Keras' ``LSTM`` layer and the derivatives against
TensorFlow's tape and central differences. The problems are the hidden cases' inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgrad_course.activations import sigmoid
from vgrad_course.grading.labs import lstm_vs_rnn

#: Arguments of ``lstm_step``, ``lstm_forward`` and ``lstm_backward``, in order.
STEP_ARGS = ("x", "h", "c", "kernel", "recurrent_kernel", "bias")
SEQ_ARGS = ("xs", "h0", "c0", "kernel", "recurrent_kernel", "bias")
BACK_ARGS = (*SEQ_ARGS, "grad_h", "grad_c")
#: What ``lstm_backward`` returns, in order, and the arguments they are gradients for.
GRADIENTS = ("d_kernel", "d_recurrent_kernel", "d_bias", "d_h0", "d_c0")
WITH_RESPECT_TO = ("kernel", "recurrent_kernel", "bias", "h0", "c0")

Problem = dict[str, np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic sigmoid; the plain formula for complex inputs (the complex step)."""
    return 1.0 / (1.0 + np.exp(-z)) if np.iscomplexobj(z) else sigmoid(z)


def lstm_gates(x, h, kernel, recurrent_kernel, bias) -> tuple[np.ndarray, ...]:  # noqa: ANN001
    """The gates ``(i, f, c~, o)`` of one step, each ``(batch, n)`` (real or complex)."""
    n = h.shape[-1]
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f = _sigmoid(z[:, :n]), _sigmoid(z[:, n : 2 * n])
    return i, f, np.tanh(z[:, 2 * n : 3 * n]), _sigmoid(z[:, 3 * n :])


def lstm_step(x, h, c, kernel, recurrent_kernel, bias) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """One LSTM step: ``(h_t, c_t)``."""
    i, f, g, o = lstm_gates(x, h, kernel, recurrent_kernel, bias)
    c = f * c + i * g
    return o * np.tanh(c), c


def lstm_forward(xs, h0, c0, kernel, recurrent_kernel, bias) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """All states ``(hs, cs)``, each ``(batch, T, n)``, without ``h_0, c_0``."""
    h, c, hs, cs = h0, c0, [], []
    for t in range(xs.shape[1]):
        h, c = lstm_step(xs[:, t], h, c, kernel, recurrent_kernel, bias)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


def complex_step(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Jacobian ``J[k, j] = d fn(x)_k / d x_j`` (both raveled) by the complex step."""
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for j in range(x.size):
        step = np.zeros(x.shape, dtype=np.complex128)
        step.flat[j] = 1e-30j
        cols.append(np.ravel(np.imag(fn(x + step))) / 1e-30)
    return np.stack(cols, axis=1)


def problem(
    seed: int, batch: int, steps: int, n_in: int, units: int, *, recurrent: float = 1.0
) -> Problem:
    """A random LSTM and batch of sequences, with gates spread over (0, 1)."""
    rng = np.random.default_rng(seed)
    return {
        "xs": rng.normal(size=(batch, steps, n_in)),
        "h0": 0.5 * rng.normal(size=(batch, units)),
        "c0": rng.normal(size=(batch, units)),
        "kernel": rng.normal(size=(n_in, 4 * units)) / np.sqrt(n_in),
        "recurrent_kernel": recurrent * rng.normal(size=(units, 4 * units)) / np.sqrt(units),
        "bias": 0.5 * rng.normal(size=4 * units),
    }


def step_problem(seed: int, batch: int, n_in: int, units: int) -> Problem:
    """The arguments of one step (:data:`STEP_ARGS`)."""
    p = problem(seed, batch, 1, n_in, units)
    p["x"], p["h"], p["c"] = p.pop("xs")[:, 0], p.pop("h0"), p.pop("c0")
    return p


def back_problem(seed: int, batch: int, steps: int, n_in: int, units: int) -> Problem:
    """A problem with the gradients ``grad_h`` and ``grad_c`` that arrive from above."""
    p = problem(seed, batch, steps, n_in, units)
    rng = np.random.default_rng(seed + 1)
    p["grad_h"] = rng.normal(size=(batch, steps, units))
    p["grad_c"] = rng.normal(size=(batch, units))
    return p


def cell_problem(seed: int, steps: int, n_in: int, units: int, *, forget: float) -> Problem:
    """A batch of one sequence; ``forget`` is added to the forget-gate biases."""
    p = problem(seed, 1, steps, n_in, units, recurrent=1.5)
    p["bias"][units : 2 * units] += forget
    return p


def lstm_loss(p: Problem) -> np.ndarray:
    """``L = sum(grad_h * hs) + sum(grad_c * c_T)``, summed over the batch too."""
    hs, cs = lstm_forward(*(p[k] for k in SEQ_ARGS))
    return np.sum(p["grad_h"] * hs) + np.sum(p["grad_c"] * cs[:, -1])


def reference_gradients(p: Problem) -> list[np.ndarray]:
    """The gradients of :func:`lstm_loss` (:data:`GRADIENTS`), by the complex step."""
    grads = []
    for name in WITH_RESPECT_TO:

        def loss(v: np.ndarray, name: str = name) -> np.ndarray:
            return lstm_loss({**p, name: v})

        grads.append(complex_step(loss, p[name]).reshape(p[name].shape))
    return grads


def frozen_gate_jacobian(p: Problem) -> np.ndarray:
    """``dc_T/dc_0`` with every gate held at its value in the forward pass."""
    h, c, frozen = p["h0"], p["c0"], []
    for t in range(p["xs"].shape[1]):
        i, f, g, o = lstm_gates(p["xs"][:, t], h, p["kernel"], p["recurrent_kernel"], p["bias"])
        frozen.append((f, i * g))
        c = f * c + i * g
        h = o * np.tanh(c)

    def cells(c: np.ndarray) -> np.ndarray:
        for f, written in frozen:
            c = f * c + written
        return c

    return complex_step(cells, p["c0"])


def full_jacobian(p: Problem) -> np.ndarray:
    """The whole ``dc_T/dc_0`` of a batch of one: every path, through h and the gates too."""

    def final_cell(c0: np.ndarray) -> np.ndarray:
        return lstm_forward(*({**p, "c0": c0}[k] for k in SEQ_ARGS))[1][:, -1]

    return complex_step(final_cell, p["c0"])


def lstm_cell_gain(forget_bias: float) -> float:
    """``||dc_T/dc_0||_2`` of the lab's LSTM (:func:`~vgrad_course.grading.labs.lstm_vs_rnn`)."""
    setup = lstm_vs_rnn(forget_bias)
    p = {k: setup[k] for k in ("xs", "h0", "c0")}
    p.update(zip(("kernel", "recurrent_kernel", "bias"), setup["lstm"], strict=True))
    return float(np.linalg.norm(full_jacobian(p), 2))


def rnn_gain() -> float:
    """``||dh_T/dh_0||_2`` of the lab's tanh RNN ``h_t = tanh(x_t W + h_{t-1} U + b)``."""
    setup = lstm_vs_rnn()
    kernel, recurrent_kernel, bias = setup["rnn"]

    def final(h: np.ndarray) -> np.ndarray:
        for t in range(setup["xs"].shape[1]):
            h = np.tanh(setup["xs"][:, t] @ kernel + h @ recurrent_kernel + bias)
        return h

    return float(np.linalg.norm(complex_step(final, setup["h0"]), 2))


def faster(lstm: float, rnn: float) -> str:
    """(a) the LSTM's norm is over 10x smaller, (b) the RNN's is, (c) within a factor of 10."""
    if lstm < rnn / 10:
        return "a"
    return "b" if rnn < lstm / 10 else "c"
