"""Checks for the exercise set "LSTM, GRU and IRNN"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import sigmoid
from vgrad_course.grading.checks._cases import matches_measured, picks, shape_then_values
from vgrad_course.grading.checks._helpers import as_array, as_float, close, fd_jacobian, once
from vgrad_course.grading.labs import orthogonal
from vgrad_course.grading.labs_remedies import recurrent_gain
from vgrad_course.grading.registry import Fail, question


def _cells(c0: np.ndarray, forget: np.ndarray, inject: np.ndarray) -> np.ndarray:
    c = c0
    for f_t, i_t in zip(forget, inject, strict=True):
        c = f_t * c + i_t
    return c


@question("gated.cell_grad", answer="cell_state_grad", kind="function")
def _cell(f: object) -> object:
    rng = np.random.default_rng(41)
    forget = sigmoid(rng.normal(size=(12, 5)) + 2)
    inject = rng.normal(size=(12, 5))
    jac = fd_jacobian(lambda c: _cells(c, forget, inject), np.zeros(5))
    yield from shape_then_values(
        lambda: as_array(f(forget.copy()), what="cell_state_grad"),
        np.diag(jac),
        names=(
            "one factor per unit, shape (n,)",
            "matches finite differences of the cell recurrence",
        ),
        expected="one factor per unit",
        what="dc_T/dc_0",
        rtol=1e-5,
    )


@question("gated.forget_bias", answer="forget_bias")
def _bias(a: object) -> object:
    def smallest_enough() -> None:
        b = as_float(a, what="forget_bias")
        kept = float(sigmoid(b) ** 100)
        if not kept >= 0.5:
            raise Fail(f"sigmoid(b)^100 = {kept:.3g} < 0.5: the bias is too small")
        if sigmoid(b - 0.1) ** 100 >= 0.5:
            raise Fail("b - 0.1 keeps half the gradient too: look for the smallest such bias")

    yield "the smallest bias (to 0.1) that keeps half the cell-path gradient", 2, smallest_enough


@question("gated.irnn", answer="irnn_norm")
def _irnn(a: object) -> object:
    h0 = np.abs(np.random.default_rng(43).normal(size=6)) + 0.1

    def roll(h: np.ndarray) -> np.ndarray:
        for _ in range(100):
            h = np.maximum(h @ np.eye(6), 0.0)
        return h

    ref = float(np.linalg.norm(fd_jacobian(roll, h0), 2))
    yield (
        "matches the measured ||dh_100/dh_0|| (1%)",
        2,
        matches_measured(a, ref, what="irnn_norm", rtol=0.01),
    )


def _gru_final(h0: np.ndarray, update: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """``h_T`` of ``h_t = z_t h_{t-1} + (1 - z_t) c_t`` (Keras' convention: z = 1 keeps)."""
    h = h0
    for z, c in zip(update, candidates, strict=True):
        h = z * h + (1 - z) * c
    return h


@question("gated.gru_write", answer="gru_write_grads", kind="function")
def _gru_write(f: object) -> object:
    # T = 7 steps of n = 3 units (not square, so a transposed result shows); varied gates.
    rng = np.random.default_rng(44)
    update = sigmoid(2 * rng.normal(size=(7, 3)) + 1)
    candidates = rng.normal(size=(7, 3))

    def final(c: np.ndarray, t: int) -> np.ndarray:
        written = candidates.copy()
        written[t] = c
        return _gru_final(np.zeros(3), update, written)

    ref = np.array(
        [np.diag(fd_jacobian(lambda c, t=t: final(c, t), candidates[t])) for t in range(7)]
    )
    out = once(lambda: as_array(f(update.copy()), what="gru_write_grads"))
    yield from shape_then_values(
        out,
        ref,
        names=(
            "one factor per step and unit, shape (T, n)",
            "matches finite differences of the GRU recurrence",
        ),
        expected="one row per step t, one column per unit",
        what="dh_T/d(candidate t)",
        rtol=1e-5,
    )

    def convex() -> None:
        if out().shape != ref.shape:
            raise Fail(f"expected shape {ref.shape}, got {out().shape}")
        total = out().sum(0) + np.prod(update, axis=0)  # + the weight of h_0
        close(total, np.ones(3), what="the sum of the weights of h_0 and of all candidates")

    yield "h_T is a weighted average: the weights of h_0 and of the candidates sum to 1", 1, convex


#: The three recurrences of ``gated.recurrences``: (name, activation, recurrent matrix).
RECURRENCES = (
    ("ReLU, U = Q", "relu", orthogonal(32, seed=0)),
    ("tanh, U = Q", "tanh", orthogonal(32, seed=0)),
    ("ReLU, U = 1.05 I", "relu", 1.05 * np.eye(32)),
)


def _gain_letter(activation: str, recurrent: np.ndarray) -> str:
    """The option the measured ``||dh_100/dh_0||`` falls in."""
    gain = recurrent_gain(recurrent, activation=activation)
    if gain > 2:
        return "d"
    if gain >= 0.5:
        return "a"
    return "b" if gain >= 1e-4 else "c"


@question("gated.recurrences", answer="verdicts")
def _recurrences(a: object) -> object:
    def letters() -> list[object]:
        if isinstance(a, str) and len(a.strip()) == len(RECURRENCES):
            return list(a.strip())
        if not isinstance(a, list | tuple) or len(a) != len(RECURRENCES):
            raise Fail("verdicts should be three letters, one per recurrence, in order")
        return list(a)

    for index, (name, activation, recurrent) in enumerate(RECURRENCES):
        hint = (
            f"measure it: labs_remedies.recurrent_gain(U, activation={activation!r}) with the"
            " matrix U of this recurrence"
        )

        def case(
            index: int = index,
            activation: str = activation,
            u: np.ndarray = recurrent,
            hint: str = hint,
        ) -> None:
            picks(
                letters()[index],
                lambda: _gain_letter(activation, u),
                hint=hint,
                options=("a", "b", "c", "d"),
            )()

        yield f"{name}: predicts where ||dh_100/dh_0|| lands", 1, case


def _reach(bias: float, distance: int) -> float:
    """How much of a candidate written ``distance`` steps before the end reaches ``h_T``."""
    z = sigmoid(np.array([bias]))
    written = np.zeros((distance + 1, 1))
    written[0] = 1.0  # a unit candidate, then nothing
    return float(_gru_final(np.zeros(1), np.repeat(z[None], distance + 1, axis=0), written)[0])


@question("gated.update_biases", answer="update_biases")
def _update_biases(a: object) -> object:
    def peak(index: int, distance: int) -> None:
        bias = float(as_array(a, shape=(3,), what="update_biases (three numbers)")[index])
        here = _reach(bias, distance)
        if _reach(bias + 0.1, distance) > here:
            raise Fail(
                f"at bias {bias + 0.1:.3g} more of the candidate written {distance} steps back"
                " reaches h_T: your bias is too small (the gate forgets too fast)"
            )
        if _reach(bias - 0.1, distance) > here:
            raise Fail(
                f"at bias {bias - 0.1:.3g} more of the candidate written {distance} steps back"
                " reaches h_T: your bias is too large (the gate keeps, but writes too little)"
            )

    for index, distance in enumerate((10, 40, 100)):
        yield (
            f"d = {distance}: more reaches h_T at your bias than at bias +- 0.1",
            1,
            lambda index=index, distance=distance: peak(index, distance),
        )
