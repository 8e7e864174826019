"""Checks for the exercise set "Recurrent networks and backpropagation through time"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import matches_measured
from vgrad_course.grading.checks._helpers import as_array, close, fd_jacobian, once
from vgrad_course.grading.registry import Fail, question


def rollout(w: np.ndarray, u: np.ndarray, xs: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """Reference tanh RNN ``h_t = tanh(h_{t-1} @ W + x_t @ U)``; returns ``(T, n)`` states."""
    h, hs = h0, []
    for x in xs:
        h = np.tanh(h @ w + x @ u)
        hs.append(h)
    return np.array(hs)


def _problem(seed: int, *, n: int = 4, m: int = 3, steps: int = 6) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(n, n)) * 0.9 / np.sqrt(n),
        rng.normal(size=(m, n)),
        rng.normal(size=(steps, m)),
        rng.normal(size=n) * 0.5,
    )


@question("bptt.rnn_forward", answer="rnn_forward", kind="function")
def _forward(f: object) -> object:
    w, u, xs, h0 = _problem(1)
    ref = rollout(w, u, xs, h0)
    out = once(lambda: as_array(f(w.copy(), u.copy(), xs.copy(), h0.copy()), what="rnn_forward"))

    def shape() -> None:
        if out().shape != ref.shape:
            raise Fail(
                f"rnn_forward returned shape {out().shape}; expected (T, n) = {ref.shape}"
                " (one state per input step, without h0)"
            )

    yield "returns one state per step, shape (T, n)", 1, shape

    def first() -> None:
        shape()
        close(out()[0], ref[0], what="the first state h_1")

    yield "first state h_1 = tanh(h0 @ W + x_1 @ U)", 1, first

    def all_states() -> None:
        shape()
        close(out(), ref, what="the states")

    yield "every state matches", 1, all_states


@question("bptt.rnn_jacobian", answer="rnn_jacobian", kind="function")
def _jacobian(f: object) -> object:
    for seed, steps in [(2, 1), (3, 8)]:
        w, u, xs, h0 = _problem(seed, steps=steps)
        ref = fd_jacobian(lambda h, w=w, u=u, xs=xs: rollout(w, u, xs, h)[-1], h0)
        yield (
            f"matches finite differences over T={steps} steps",
            1 + (steps > 1),
            (
                lambda w=w, u=u, xs=xs, h0=h0, ref=ref: close(
                    as_array(
                        f(w.copy(), u.copy(), xs.copy(), h0.copy()),
                        shape=ref.shape,
                        what="rnn_jacobian",
                    ),
                    ref,
                    what="dh_T/dh_0",
                    rtol=1e-4,
                    atol=1e-8,
                )
            ),
        )


@question("bptt.decay", answer="decay_10")
def _decay(a: object) -> object:
    n = 4
    w, u, xs = 0.5 * np.eye(n), np.zeros((1, n)), np.zeros((10, 1))
    jac = fd_jacobian(lambda h: rollout(w, u, xs, h)[-1], np.zeros(n))
    ref = float(np.linalg.norm(jac, 2))
    yield (
        "matches the measured ||dh_10/dh_0|| (2%)",
        2,
        matches_measured(a, ref, what="decay_10", rtol=0.02),
    )
