"""Checks for the exercise set "Vanishing gradients in deep networks"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import derivative
from vgrad_course.grading.checks._cases import matches_measured, picks
from vgrad_course.grading.checks._helpers import as_float, close
from vgrad_course.grading.labs import mlp_probe
from vgrad_course.grading.registry import Fail, question


def _complex_step(h0: float, w: float, depth: int) -> float:
    """dh_depth/dh_0 by the complex-step method (exact to rounding, unlike finite differences)."""
    step = 1e-30
    h = complex(h0, step)
    for _ in range(depth):
        h = 1 / (1 + np.exp(-w * h))
    return h.imag / step


@question("vanishing.chain_grad", answer="sigmoid_chain_grad", kind="function")
def _chain_grad(f: object) -> object:
    for h0, w, depth in [(0.5, 1.0, 1), (0.1, 2.0, 5), (-0.3, 4.0, 10)]:
        ref = _complex_step(h0, w, depth)
        yield (
            f"matches the complex-step derivative (h0={h0}, w={w}, depth={depth})",
            1,
            (
                lambda h0=h0, w=w, depth=depth, ref=ref: close(
                    np.asarray(as_float(f(h0, w, depth), what="sigmoid_chain_grad")),
                    np.asarray(ref),
                    what=f"sigmoid_chain_grad({h0}, {w}, {depth})",
                    rtol=1e-6,
                    atol=0.0,
                )
            ),
        )


@question("vanishing.bound", answer="bound_20")
def _bound(a: object) -> object:
    z = np.linspace(-5, 5, 100_001)
    best = float(np.max(derivative("sigmoid", z))) ** 20
    starts = np.linspace(-2, 2, 9)
    # The complex step, not finite differences: those return exactly 0 for a gradient ~1e-13.
    measured = max(abs(_complex_step(float(s), 1.0, 20)) for s in starts)

    def upper() -> None:
        if not as_float(a, what="bound_20") >= measured:
            raise Fail("a chain you can measure has a larger gradient: this is not an upper bound")

    tightest = matches_measured(a, best, what="bound_20", rtol=0.05, of="the tightest bound")
    yield "bounds every measured 20-layer chain gradient (w = 1)", 1, upper
    yield "is the tightest such bound (within 5%)", 1, tightest


@question("vanishing.smallest_layer", answer="smallest_layer")
def _smallest(a: object) -> object:
    hint = "measure it: labs.mlp_probe(...)['weight_grad_norm'] per layer"

    def smallest() -> str:
        probe = mlp_probe(10, 32, activation="sigmoid", weight_std=32**-0.5, seed=0)
        k = int(np.argmin(probe["weight_grad_norm"]))
        return "a" if k == 0 else ("c" if k == len(probe["weight_grad_norm"]) - 1 else "b")

    yield (
        "names the layer whose weights get the smallest gradient",
        2,
        picks(a, smallest, hint=hint),
    )
