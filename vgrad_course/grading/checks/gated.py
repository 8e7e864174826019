"""Checks for the exercise set "LSTM, GRU and IRNN"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import sigmoid
from vgrad_course.grading.checks._cases import matches_measured, shape_then_values
from vgrad_course.grading.checks._helpers import as_array, as_float, fd_jacobian
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
