"""Checks for the exercise set "Recurrent networks and backpropagation through time"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import matches_measured
from vgrad_course.grading.checks._helpers import (
    as_array,
    as_float,
    close,
    fd_grad,
    fd_jacobian,
    once,
)
from vgrad_course.grading.labs_recurrent import tanh_rnn_gain
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


def _loss_with_step_copies(
    w: np.ndarray, u: np.ndarray, xs: np.ndarray, h0: np.ndarray, c: np.ndarray, extra: np.ndarray
) -> float:
    """``h_T . c`` when step ``t`` uses its own copy ``W + extra[t]`` of the recurrent matrix."""
    h = h0
    for x, e in zip(xs, extra, strict=True):
        h = np.tanh(h @ (w + e) + x @ u)
    return float(h @ c)


def _fd_step_terms(
    w: np.ndarray, u: np.ndarray, xs: np.ndarray, h0: np.ndarray, c: np.ndarray
) -> np.ndarray:
    """Each step's term of dL/dW: the finite-difference gradient of step ``t``'s own copy."""
    zero = np.zeros((len(xs), *w.shape))
    terms = []
    for t in range(len(xs)):

        def loss(e: np.ndarray, t: int = t) -> float:
            extra = zero.copy()
            extra[t] = e
            return _loss_with_step_copies(w, u, xs, h0, c, extra)

        terms.append(fd_grad(loss, np.zeros_like(w)))
    return np.array(terms)


@question("bptt.step_terms", answer="weight_grad_terms", kind="function")
def _step_terms(f: object) -> object:
    # n = 4 units, m = 3 inputs, T = 6 steps; W is not symmetric, so a transposed term shows.
    w, u, xs, h0 = _problem(7)
    c = np.random.default_rng(8).normal(size=4)
    ref = _fd_step_terms(w, u, xs, h0, c)
    full = fd_grad(lambda v: _loss_with_step_copies(v, u, xs, h0, c, np.zeros_like(ref)), w)
    out = once(
        lambda: as_array(
            f(w.copy(), u.copy(), xs.copy(), h0.copy(), c.copy()), what="weight_grad_terms"
        )
    )

    def shape() -> None:
        if out().shape != ref.shape:
            raise Fail(
                f"weight_grad_terms returned shape {out().shape}; expected (T, n, n) ="
                f" {ref.shape}: one n x n term per time step, the first step first"
            )

    yield "one n x n term per step, shape (T, n, n)", 1, shape

    def total() -> None:
        shape()
        close(out().sum(axis=0), full, what="the sum of the terms (dL/dW)", rtol=1e-4, atol=1e-8)

    yield "the terms add up to dL/dW (finite differences)", 2, total

    def each() -> None:
        shape()
        for t in range(len(ref)):
            if not np.allclose(out()[t], ref[t], rtol=1e-4, atol=1e-8):
                hint = (
                    " Your terms are in reverse order: the first step comes first."
                    if np.allclose(out()[::-1], ref, rtol=1e-4, atol=1e-8)
                    else ""
                )
                raise Fail(
                    f"the term of step t = {t + 1} is not that step's contribution (give step"
                    f" t its own copy of W and differentiate with respect to it).{hint}"
                )

    yield "term t is step t's own contribution (a copy of W used at step t only)", 2, each


#: A non-normal recurrent matrix: its largest singular value is above 1, its spectral radius
#: below 1 (the bound of Pascanu et al. grows with T while the gradient itself vanishes).
BOUND_W = np.array([[0.6, 0.9, 0.0], [0.0, -0.5, 0.7], [0.2, 0.0, 0.4]])


def _measured_norms(steps: int, *, sequences: int = 8) -> np.ndarray:
    """``||dh_T/dh_0||`` of the tanh RNN with ``BOUND_W``: zero inputs from 0, then random ones."""
    rng = np.random.default_rng(21)
    norms = []
    for k in range(sequences + 1):
        xs = rng.normal(size=(steps, 3)) * (k > 0)
        h0 = rng.normal(size=3) * 0.5 * (k > 0)
        jac = fd_jacobian(lambda h, xs=xs: rollout(BOUND_W, np.eye(3), xs, h)[-1], h0)
        norms.append(np.linalg.norm(jac, 2))
    return np.array(norms)


@question("bptt.bound", answer="bound_20")
def _bound(a: object) -> object:
    steps = 20
    bound = float(np.linalg.norm(BOUND_W, 2)) ** steps  # gamma = 1 for tanh
    yield (
        "equals the bound that the norms of the per-step Jacobians give (1%)",
        2,
        matches_measured(
            a, bound, what="bound_20", rtol=0.01, of="the bound the per-step norms give"
        ),
    )

    def above() -> None:
        largest = float(_measured_norms(steps).max())
        if not as_float(a, what="bound_20") >= largest * (1 - 1e-6):
            raise Fail(
                "a sequence you can measure has a larger ||dh_20/dh_0||: this is not an upper"
                " bound (a bound must hold for every input sequence and every step, also the"
                " first ones, where a non-normal W can make the gradient grow)"
            )

    yield "lies above every measured ||dh_20/dh_0|| (zero and random inputs)", 1, above


def _input_bracket(a: object, *, index: int, kept: float) -> None:
    """The surviving gradient crosses ``kept`` between ``input_std`` and 1.1 x it (seed 0)."""
    std = float(as_array(a, shape=(2,), what="input_stds (two numbers)")[index])
    if std <= 0:
        raise Fail(f"input_stds[{index}] should be positive")
    if not tanh_rnn_gain(std) >= kept:
        raise Fail(
            f"with inputs of std {std:.3g} less than {kept:.0%} of the gradient survives the"
            " 50 steps: the inputs are already too large"
        )
    if not tanh_rnn_gain(1.1 * std) < kept:
        raise Fail(
            f"with inputs 1.1 x as large ({1.1 * std:.3g}) still {kept:.0%} or more of the"
            " gradient survives: look for a larger std"
        )


@question("bptt.input_scale", answer="input_stds")
def _input_scale(a: object) -> object:
    for index, kept, points in [(0, 0.1, 2), (1, 0.01, 2)]:
        yield (
            f"input std at which the gradient over 50 steps falls to {kept:.0%}"
            " (it keeps that at your std, not at 1.1 x it)",
            points,
            lambda index=index, kept=kept: _input_bracket(a, index=index, kept=kept),
        )
