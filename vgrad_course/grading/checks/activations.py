"""Checks for the exercise set "Activation functions"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import activate, derivative
from vgrad_course.grading.checks._cases import matches_measured, picks, slope_cases
from vgrad_course.grading.checks._helpers import as_array, as_float, near
from vgrad_course.grading.labs import mlp_probe
from vgrad_course.grading.labs_remedies import relu_dead_fractions
from vgrad_course.grading.registry import Fail, question


@question("activations.relu_derivative", answer="relu_derivative", kind="function")
def _relu(f: object) -> object:
    yield from slope_cases(
        f,
        lambda v: activate("relu", v),
        np.array([-3.0, -0.5, -1e-3, 1e-3, 0.7, 4.0]),
        name="matches finite differences away from 0",
        what="relu_derivative",
        rtol=1e-6,
        eps=1e-5,
        seed=2,
    )

    def at_zero() -> None:
        v = as_float(f(np.array([0.0])), what="relu_derivative(0)")
        if v != 0.0:
            raise Fail(
                f"at z = 0 the exercise asks for 0, the subgradient TensorFlow and PyTorch use; "
                f"got {v:g} (check your comparison: z > 0, not z >= 0)"
            )

    yield "returns 0 at z = 0, as the frameworks do", 1, at_zero


@question("activations.ratio", answer="tanh_over_sigmoid")
def _ratio(a: object) -> object:
    z = np.linspace(-6, 6, 120_001)
    ref = float(np.max(derivative("tanh", z)) / np.max(derivative("sigmoid", z)))
    yield (
        "matches the measured ratio of the peak derivatives",
        2,
        matches_measured(a, ref, what="tanh_over_sigmoid", rtol=0.01),
    )


@question("activations.most_flat", answer="most_flat")
def _most_flat(a: object) -> object:
    def flattest() -> str:
        z = np.random.default_rng(0).normal(scale=5.0, size=200_000)
        options = {"a": "sigmoid", "b": "tanh", "c": "relu"}
        frac = {k: float(np.mean(derivative(name, z) < 0.01)) for k, name in options.items()}
        return max(frac, key=lambda k: frac[k])

    hint = "measure the three fractions on samples of z ~ N(0, 5^2)"
    yield (
        "names the activation with the most near-zero derivatives",
        2,
        picks(a, flattest, hint=hint),
    )


def _dead_reference(h: np.ndarray, w: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.all(h @ w + b <= 0, axis=0)))


def _dead_case(f: object, h: np.ndarray, w: np.ndarray, b: np.ndarray) -> None:
    """``f`` gives the fraction of dead units of the ReLU layer ``(w, b)`` on the batch ``h``."""
    got = as_float(f(h.copy(), w.copy(), b.copy()), what="dead_fraction")
    ref = _dead_reference(h, w, b)
    if np.isclose(got, ref, rtol=0, atol=1e-9):
        return
    z = h @ w + b
    hints = [
        (np.mean(z <= 0), "you counted inactive (example, unit) pairs"),
        (np.mean(np.any(z <= 0, axis=0)), "a unit silent on some examples is only inactive there"),
        (np.mean(np.all(z <= 0, axis=1)), "you counted examples; count units (columns)"),
        (np.mean(np.all(z < 0, axis=0)), "ReLU outputs 0 at z = 0 too"),
        (np.mean(np.all(h @ w <= 0, axis=0)), "the bias is part of the pre-activation"),
    ]
    matches = [text for value, text in hints if np.isclose(got, value, atol=1e-9)]
    hint = matches[0] if len(matches) == 1 else ""
    if got > 1:
        hint = "return a fraction of the units, between 0 and 1"
    raise Fail(
        f"dead_fraction returned {got:.4g} for a layer with {w.shape[1]} units"
        + (f": {hint}" if hint else "")
        + " (a unit is dead when it outputs 0 for every example of the batch)"
    )


@question("activations.dead_fraction", answer="dead_fraction", kind="function")
def _dead_fraction(f: object) -> object:
    # 30 examples, 5 inputs, 8 units (non-square, so a transposed W fails): units 0-2 are
    # dead, units 3-4 fire on one example only, the rest fire on about half of them.
    rng = np.random.default_rng(7)
    h = rng.normal(size=(30, 5))
    w = rng.normal(size=(5, 8))
    b = np.zeros(8)
    b[:3] = -50.0
    w[:, 3:5] = 0.0
    w[0, 3], w[1, 4] = 1.0, -1.0
    b[3] = -np.sort(h[:, 0])[-2]  # only the largest h[:, 0] lifts unit 3 above 0
    b[4] = np.sort(h[:, 1])[1]  # only the smallest h[:, 1] lifts unit 4 above 0
    yield (
        "counts a unit dead only when it outputs 0 for every example",
        2,
        lambda: _dead_case(f, h, w, b),
    )
    # Unit 0 has zero weights and bias (its pre-activation is exactly 0: ReLU outputs 0).
    w0 = w.copy()
    w0[:, 0], b0 = 0.0, np.abs(b)
    b0[0] = 0.0
    yield (
        "a unit whose pre-activation is exactly 0 everywhere is dead",
        1,
        lambda: _dead_case(f, h, w0, b0),
    )
    wide = rng.normal(size=(30, 12))
    w_bias = rng.normal(size=(12, 20)) * 0.1
    b_bias = np.where(np.arange(20) % 4 == 0, -10.0, 0.5)
    yield (
        "a large negative bias alone kills a unit (the bias counts)",
        1,
        lambda: _dead_case(f, wide, w_bias, b_bias),
    )


@question("activations.dead_biases", answer="dead_biases")
def _dead_biases(a: object) -> object:
    def bracket(index: int, depth: int) -> None:
        bias = float(as_array(a, shape=(3,), what="dead_biases (three numbers)")[index])
        if relu_dead_fractions(bias, depth=depth)[-1] < 1.0:
            raise Fail(
                f"at bias {bias:.3g} the top layer of the {depth}-layer network still has live"
                " units: shift the biases further down"
            )
        if relu_dead_fractions(bias + 0.1, depth=depth)[-1] == 1.0:
            raise Fail(
                f"at bias {bias + 0.1:.3g} (0.1 higher) the top layer of the {depth}-layer"
                " network is already entirely dead: look for the least negative such bias"
            )

    for index, depth in enumerate((2, 3, 5)):
        yield (
            f"depth {depth}: the top layer is entirely dead at your bias, not at bias + 0.1",
            1,
            lambda index=index, depth=depth: bracket(index, depth),
        )


@question("activations.layer_shrink", answer="shrink")
def _layer_shrink(a: object) -> object:
    def measured(name: str) -> float:
        std = mlp_probe(20, 128, activation=name, weight_std=128**-0.5, batch=256)["act_std"]
        return float((std[-1] / std[9]) ** 0.1)

    def case(index: int, name: str) -> None:
        value = as_array(a, shape=(3,), what="shrink (three numbers)")[index]
        near(value, measured(name), what=f"shrink[{index}] ({name})", rtol=0.04)

    for index, name in enumerate(("relu", "gelu", "selu")):
        yield (
            f"{name}: matches the measured per-layer factor of the std (4%)",
            1,
            lambda index=index, name=name: case(index, name),
        )
