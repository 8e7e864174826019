"""References of the lab "Backprop through time by hand", computed at check time.

They are written independently of the lab's algorithms: a forward pass, the complex step of
each loss term with respect to each step's own copy of the weights (so truncated BPTT is a
sum over a window of these terms, with no backward pass), and the product of the per-step
Jacobians (checked against finite differences in ``tests/test_lab_bptt.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgrad_course.grading.checks._helpers import fd_grad
from vgrad_course.grading.labs import bptt_decay_problem

Problem = tuple[np.ndarray, ...]  # (xs, h0, w_x, w_h, b)


def rnn_states(xs, h0, w_x, w_h, b) -> np.ndarray:  # noqa: ANN001 (real or complex arrays)
    """Reference ``h_t = tanh(x_t W_x + h_{t-1} W_h + b)``; the states ``(T, n)`` without h0."""
    h, hs = h0, []
    for x in xs:
        h = np.tanh(x @ w_x + h @ w_h + b)
        hs.append(h)
    return np.array(hs)


def problem(seed: int, steps: int, n_in: int, n: int, *, scale: float = 1.2) -> Problem:
    """A hidden problem: Gaussian inputs, a non-symmetric ``W_h`` of norm about ``scale``."""
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(steps, n_in)),
        0.5 * rng.normal(size=n),
        rng.normal(size=(n_in, n)) / np.sqrt(n_in),
        scale * rng.normal(size=(n, n)) / np.sqrt(n),
        0.3 * rng.normal(size=n),
    )


def copies(p: Problem) -> Problem:
    """Fresh copies of a problem's arrays (student code gets these, never the originals)."""
    return tuple(a.copy() for a in p)


def loss(p: Problem, cs: np.ndarray) -> float:
    """The lab's loss ``L = sum_t <c_t, h_t>``."""
    return float(np.sum(cs * rnn_states(*p)))


def fd_gradients(p: Problem, cs: np.ndarray) -> list[np.ndarray]:
    """Finite-difference ``dL/dW_x, dL/dW_h, dL/db, dL/dh0`` of ``L = sum_t <c_t, h_t>``."""

    def at(i: int) -> Callable[[np.ndarray], float]:
        return lambda v: loss(tuple(v if j == i else a for j, a in enumerate(p)), cs)

    return [fd_grad(at(i), p[i]) for i in (2, 3, 4, 1)]  # W_x, W_h, b, h0 in the tuple


def step_terms(p: Problem, cs: np.ndarray) -> list[np.ndarray]:
    """``G[t, s] = d l_t / d theta_s`` for ``theta`` = W_x, W_h, b (complex step).

    Step ``s`` gets its own copy ``theta_s`` of each weight, so ``G[t, s]`` is the part of the
    gradient of the loss term ``l_t = <c_t, h_t>`` that flows through step ``s`` (zero for
    ``s > t``). Returns one array per weight, shape ``(T, T, *theta.shape)``.
    """
    xs, h0 = p[0], p[1]
    weights = [np.asarray(a, dtype=complex) for a in p[2:]]
    steps, tiny, out = len(xs), 1e-30, []
    for which, weight in enumerate(weights):
        g = np.zeros((steps, steps, *weight.shape))
        for s in range(steps):
            for idx in np.ndindex(weight.shape):
                bumped = [a.copy() for a in weights]
                bumped[which][idx] += 1j * tiny
                h = h0.astype(complex)
                for t, x in enumerate(xs):
                    w_x, w_h, b = bumped if t == s else weights
                    h = np.tanh(x @ w_x + h @ w_h + b)
                    g[(t, s, *idx)] = np.sum(cs[t] * h).imag / tiny
        out.append(g)
    return out


def truncated_reference(terms: list[np.ndarray], k: int) -> list[np.ndarray]:
    """Williams & Peng's truncation: each ``l_t`` reaches back through steps ``t-k+1 .. t``."""
    steps = terms[0].shape[0]
    t, s = np.meshgrid(np.arange(steps), np.arange(steps), indexing="ij")
    window = (s <= t) & (t - s < k)
    return [np.tensordot(window, g, axes=([0, 1], [0, 1])) for g in terms]


def chunked_reference(terms: list[np.ndarray], k: int) -> list[np.ndarray]:
    """A different algorithm: backpropagate inside non-overlapping chunks of ``k`` steps."""
    steps = terms[0].shape[0]
    t, s = np.meshgrid(np.arange(steps), np.arange(steps), indexing="ij")
    window = (s <= t) & (t // k == s // k)
    return [np.tensordot(window, g, axes=([0, 1], [0, 1])) for g in terms]


def jacobian_norms(p: Problem) -> np.ndarray:
    """``||dh_t/dh_0||_2`` for ``t = 1..T``: the product of ``diag(1 - h_t^2) W_h^T``."""
    w_h = p[3]
    jac, norms = np.eye(len(p[1])), []
    for h in rnn_states(*p):
        jac = (1 - h**2)[:, None] * (w_h.T @ jac)
        norms.append(np.linalg.norm(jac, 2))
    return np.array(norms)


def wrong_norms(p: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Two wrong answers to :func:`jacobian_norms`: Frobenius norms, and the per-step bound."""
    w_h = p[3]
    fro, bound, jac, running = [], [], np.eye(len(p[1])), 1.0
    for h in rnn_states(*p):
        step = (1 - h**2)[:, None] * w_h.T
        jac, running = step @ jac, running * np.linalg.norm(step, 2)
        fro.append(np.linalg.norm(jac))
        bound.append(running)
    return np.array(fro), np.array(bound)


def decay_floor(rho: float, input_std: float) -> float:
    """``min_t ||dh_t/dh_0||_2`` over the 50 steps of the lab's RNN with ``W_h = rho Q``."""
    xs, h0, w_x, q, b = bptt_decay_problem(input_std)
    return float(jacobian_norms((xs, h0, w_x, rho * q, b)).min())
