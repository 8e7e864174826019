"""Checks for the exercise set "Vanishing gradients in deep networks"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import derivative, sigmoid
from vgrad_course.grading.checks._cases import (
    band_case,
    matches_measured,
    picks,
)
from vgrad_course.grading.checks._helpers import (
    as_array,
    as_float,
    as_positive,
    close,
    fd_grad,
    near,
    once,
)
from vgrad_course.grading.labs import mlp_probe
from vgrad_course.grading.labs_descent import adam_step_sizes
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


def _sigmoid_stack_loss(x: np.ndarray, weights: list[np.ndarray], grad_out: np.ndarray) -> float:
    """``sum(grad_out * h_L)`` for ``h_k = sigmoid(h_{k-1} @ W_k)``, ``h_0 = x``."""
    h = x
    for w in weights:
        h = sigmoid(h @ w)
    return float(np.sum(grad_out * h))


def _fd_layer_norms(x: np.ndarray, weights: list[np.ndarray], grad_out: np.ndarray) -> np.ndarray:
    """``||dL/dW_k||`` per layer, each gradient by finite differences (the reference)."""
    norms = []
    for k in range(len(weights)):

        def loss(v: np.ndarray, k: int = k) -> float:
            return _sigmoid_stack_loss(x, [*weights[:k], v, *weights[k + 1 :]], grad_out)

        norms.append(np.linalg.norm(fd_grad(loss, weights[k])))
    return np.array(norms)


@question("vanishing.layer_norms", answer="layer_grad_norms", kind="function")
def _layer_norms(f: object) -> object:
    # Widths 3 -> 5 -> 4 -> 2 (a transpose fails) and a batch of 4 (a mean is not the sum).
    rng = np.random.default_rng(23)
    x = rng.normal(size=(4, 3))
    weights = [rng.normal(size=s) for s in [(3, 5), (5, 4), (4, 2)]]
    grad_out = rng.normal(size=(4, 2))
    ref = _fd_layer_norms(x, weights, grad_out)

    def call(xs: np.ndarray, ws: list[np.ndarray], g: np.ndarray) -> np.ndarray:
        out = f(xs.copy(), [w.copy() for w in ws], g.copy())
        return as_array(out, what="layer_grad_norms").reshape(-1)

    out = once(lambda: call(x, weights, grad_out))

    def shape() -> None:
        if out().shape != ref.shape:
            raise Fail(f"expected one norm per weight matrix, shape {ref.shape}, got {out().shape}")

    def values() -> None:
        shape()
        if not np.allclose(ref, ref[::-1]) and np.allclose(out(), ref[::-1], rtol=1e-5):
            raise Fail("the norms are in reverse order: list the first layer (the input's) first")
        close(out(), ref, what="the array of norms", rtol=1e-5)

    yield "one norm per layer", 1, shape
    yield "||dL/dW_k|| per layer, first layer first", 2, values
    deep_rng = np.random.default_rng(29)
    deep = [deep_rng.normal(size=(4, 4)) * 2 for _ in range(6)]
    xd, gd = deep_rng.normal(size=(3, 4)), deep_rng.normal(size=(3, 4))
    yield (
        "a 6-layer stack of square 4 x 4 weights (where a missing transpose still runs)",
        1,
        lambda: close(
            call(xd, deep, gd),
            _fd_layer_norms(xd, deep, gd),
            what="the array of norms of the 6-layer stack",
            rtol=1e-5,
        ),
    )


@question("vanishing.adam_steps", answer="adam_steps")
def _adam_steps(a: object) -> object:
    measured = once(lambda: adam_step_sizes(np.array([1e-2, 2e-8]), lr=1e-3, eps=1e-7))
    pair = once(lambda: as_array(a, shape=(2,), what="adam_steps (two numbers)"))
    layers = [("the layer with gradient 1e-2", 1), ("the layer with gradient 2e-8", 2)]
    for i, (which, points) in enumerate(layers):
        yield (
            f"the step size of {which}",
            points,
            lambda i=i, which=which: near(
                float(pair()[i]), float(measured()[i]), what=f"your step for {which}", rtol=0.02
            ),
        )


def _layer1_log_ratio(a: object, seed: int) -> float:
    """log10 of layer 1's update-to-data ratio after one SGD step at rate ``a``."""
    lr = as_positive(a, what="update_lr")
    probe = mlp_probe(10, 32, activation="sigmoid", weight_std=32**-0.5, seed=seed)
    return float(np.log10(lr * probe["weight_grad_norm"][0] / probe["weight_norm"][0]))


@question("vanishing.update_lr", answer="update_lr")
def _update_lr(a: object) -> object:
    for seed, points in [(0, 2), (1, 1)]:
        yield band_case(
            lambda seed=seed: _layer1_log_ratio(a, seed),
            low=-3.5,
            high=-2.5,
            name=f"layer 1's log10 update ratio within half a decade of -3 (seed {seed})",
            vanish=f"seed {seed}: layer 1's log10 update ratio is {{factor:.2f}}, below -3.5: "
            "the rate is too small",
            explode=f"seed {seed}: layer 1's log10 update ratio is {{factor:.2f}}, above -2.5: "
            "the rate is too large",
            points=points,
        )
