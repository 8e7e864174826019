"""Checks for the exercise set "Residual connections"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import picks
from vgrad_course.grading.checks._helpers import as_array, close, fd_jacobian
from vgrad_course.grading.labs import mlp_probe
from vgrad_course.grading.registry import question


def _reference(x: np.ndarray, weights: list[np.ndarray], residual: bool) -> np.ndarray:
    h = x
    for w in weights:
        h = h + np.tanh(h @ w) if residual else np.tanh(h @ w)
    return h


@question("residual.forward", answer="mlp_forward", kind="function")
def _forward(f: object) -> object:
    rng = np.random.default_rng(31)
    x = rng.normal(size=(5, 4))
    weights = [rng.normal(size=(4, 4)) for _ in range(3)]
    for residual in (False, True):
        ref = _reference(x, weights, residual)
        yield (
            f"matches the reference (residual={residual})",
            1,
            (
                lambda residual=residual, ref=ref: close(
                    as_array(
                        f(x.copy(), [w.copy() for w in weights], residual),
                        shape=ref.shape,
                        what="mlp_forward",
                    ),
                    ref,
                    what=f"the output (residual={residual})",
                )
            ),
        )
    # A zero-weight layer between two others must pass on the hidden state h it receives, not
    # the network's input x: the skip connection adds a layer's own input.
    middle_zero = [weights[0], np.zeros((4, 4)), weights[2]]
    ref_zero = _reference(x, middle_zero, True)
    yield (
        "a zero-weight layer in the middle passes its own input on unchanged",
        1,
        lambda: close(
            as_array(
                f(x.copy(), [w.copy() for w in middle_zero], True),
                shape=x.shape,
                what="mlp_forward",
            ),
            ref_zero,
            what="the output with the middle layer's weights zero",
        ),
    )


@question("residual.block_jacobian", answer="block_jacobian", kind="function")
def _jacobian(f: object) -> object:
    rng = np.random.default_rng(32)
    h, w = rng.normal(size=4), rng.normal(size=(4, 4))
    ref = fd_jacobian(lambda v: v + np.tanh(v @ w), h)
    yield (
        "matches finite differences",
        2,
        lambda: close(
            as_array(f(h.copy(), w.copy()), shape=(4, 4), what="block_jacobian"),
            ref,
            what="the Jacobian",
            rtol=1e-5,
            atol=1e-8,
        ),
    )
    yield (
        "is the identity when W = 0",
        1,
        lambda: close(
            as_array(f(h.copy(), np.zeros((4, 4))), shape=(4, 4), what="block_jacobian"),
            np.eye(4),
            what="the Jacobian with W = 0",
        ),
    )


@question("residual.grad_ratio", answer="grad_ratio")
def _ratio(a: object) -> object:
    def measured() -> str:
        g = {
            res: mlp_probe(
                50, 32, activation="tanh", weight_std=0.5 / np.sqrt(32), residual=res, seed=0
            )["input_grad_norm"][0]
            for res in (False, True)
        }
        r = g[True] / g[False]
        return "a" if r < 0.5 else ("c" if r > 100 else "b")

    hint = "measure both with mlp_probe(..., residual=...)['input_grad_norm'][0]"
    yield "predicts the residual / plain input-gradient ratio", 2, picks(a, measured, hint=hint)
