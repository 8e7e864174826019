"""Checks for the exercise set "Residual connections"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import picks
from vgrad_course.grading.checks._helpers import as_array, close, fd_grad, fd_jacobian, near, once
from vgrad_course.grading.labs import mlp_probe
from vgrad_course.grading.labs_remedies import residual_stack_stds
from vgrad_course.grading.registry import Fail, question


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


@question("residual.block_backward", answer="block_backward", kind="function")
def _block_backward(f: object) -> object:
    # A batch of 3 examples of width 4; W is not symmetric, so a transposed W shows.
    rng = np.random.default_rng(33)
    h, w, g = rng.normal(size=(3, 4)), rng.normal(size=(4, 4)), rng.normal(size=(3, 4))
    ref = fd_grad(lambda v: float(np.sum(g * (v + np.tanh(v @ w)))), h)

    def run(hh: np.ndarray, ww: np.ndarray, gg: np.ndarray) -> np.ndarray:
        return as_array(f(hh, ww, gg), shape=hh.shape, what="block_backward")

    def matches() -> None:
        got = run(h.copy(), w.copy(), g.copy())
        slope = 1 - np.tanh(h @ w) ** 2
        hints = [
            (ref - g, "the skip connection's own term is missing (y depends on h directly)"),
            (g + (g * slope) @ w, "check the orientation of W in the backward pass"),
            (g + slope * (g @ w), "that is J grad_out; the backward pass needs J^T grad_out"),
            (g + g @ w.T, "the slope of tanh is missing"),
        ]
        for wrong, hint in hints:
            if np.allclose(got, wrong, rtol=1e-4, atol=1e-7):
                raise Fail(f"grad_h is wrong: {hint}")
        close(got, ref, what="grad_h", rtol=1e-4, atol=1e-7)

    yield "matches finite differences (a batch of 3, W not symmetric)", 2, matches

    def identity_path() -> None:
        if not np.allclose(run(h.copy(), np.zeros((4, 4)), g.copy()), g, rtol=1e-6, atol=1e-9):
            raise Fail(
                "with W = 0 the block is y = h + tanh(0) = h, the identity: grad_h should be"
                " grad_out itself"
            )

    yield "with W = 0 the gradient passes through unchanged (the identity path)", 1, identity_path

    def leaves_inputs() -> None:
        hh, ww, gg = h.copy(), w.copy(), g.copy()
        got = run(hh, ww, gg)
        for name, before, after in (("h", h, hh), ("W", w, ww), ("grad_out", g, gg)):
            if not np.array_equal(before, after):
                raise Fail(
                    f"block_backward changed {name} in place: return a new array and leave"
                    " the caller's arrays as they were (the backward pass still needs them)"
                )
        close(got, ref, what="grad_h", rtol=1e-4, atol=1e-7)

    yield "returns a new array, leaving h, W and grad_out unchanged", 1, leaves_inputs


def _growth(depth: int, width: int, branch_std: float) -> float:
    """How many times the std of h grows through ``depth`` pre-activation blocks."""
    stds = residual_stack_stds(depth, width, branch_std=branch_std)
    return float(stds[-1] / stds[0])


@question("residual.he_growth", answer="growth")
def _he_growth(a: object) -> object:
    stds = once(lambda: residual_stack_stds(10, 256, branch_std=np.sqrt(2 / 256)))

    def case(index: int, blocks: int) -> None:
        value = as_array(a, shape=(3,), what="growth (three numbers)")[index]
        measured = float(stds()[blocks] / stds()[0])
        near(value, measured, what=f"growth[{index}] ({blocks} blocks)", rtol=0.1)

    for index, blocks in enumerate((2, 5, 10)):
        yield (
            f"{blocks} blocks: matches the measured growth of the std (10%)",
            1,
            lambda index=index, blocks=blocks: case(index, blocks),
        )


@question("residual.branch_stds", answer="branch_stds")
def _branch_stds(a: object) -> object:
    def bracket(index: int, depth: int) -> None:
        std = float(as_array(a, shape=(3,), what="branch_stds (three numbers)")[index])
        if std <= 0:
            raise Fail(f"branch_stds[{index}] should be positive")
        growth = _growth(depth, 64, std)
        if growth > 2:
            raise Fail(
                f"with branch std {std:.4g} the std of h grows {growth:.4g}x through {depth}"
                " blocks, more than twice: the branches are too large"
            )
        if _growth(depth, 64, std + 0.001) <= 2:
            raise Fail(
                f"branch std {std + 0.001:.4g} (0.001 larger) still keeps the growth through"
                f" {depth} blocks within 2x: look for the largest such std"
            )

    for index, depth in enumerate((8, 16, 32)):
        yield (
            f"{depth} blocks: the std at most doubles at your branch std, not at + 0.001",
            1,
            lambda index=index, depth=depth: bracket(index, depth),
        )
