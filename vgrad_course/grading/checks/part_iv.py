"""Checks for the exercise set "Gradient flow in depth (Part IV)".

One question per chapter of Part IV: truncated BPTT (19), Adam as Keras computes it (20), layer
normalisation (21), batch norm's scale invariance (22), the edge of chaos (23) and minibatch
gradient noise (24). References are computed here, at check time, never stored.
"""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import each_matches, matches_measured
from vgrad_course.grading.checks._helpers import as_array, as_float, as_parts, close, near
from vgrad_course.grading.labs_part_iv import (
    bn_unit_grad,
    direction_step,
    minibatch_noise,
    truncated_input_grads,
)
from vgrad_course.grading.registry import Fail, question

#: Keras' Adam defaults (keras.optimizers.Adam) and LayerNormalization's epsilon.
BETA_1, BETA_2, ADAM_EPS, LN_EPS = 0.9, 0.999, 1e-7, 1e-3


@question("part_iv.k2_needed", answer="k2_needed")
def _k2_needed(a: object) -> object:
    def reaches() -> None:
        k2 = as_float(a, what="k2_needed")
        if k2 != int(k2) or k2 < 1:
            raise Fail("k2_needed should be a whole number of steps, at least 1")
        if truncated_input_grads(30, int(k2))[12] == 0:
            raise Fail("with your k2 the gradient does not reach x_12: count the states again")
        if k2 > 1 and truncated_input_grads(30, int(k2) - 1)[12] > 0:
            raise Fail("one step fewer already reaches x_12: your k2 is not the smallest")

    yield "the gradient reaches x_12 with your k2, not with one step fewer", 3, reaches


def adam_reference(
    w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, lr: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of keras.optimizers.Adam (epsilon beside sqrt(v), bias correction in alpha)."""
    m = m + (1 - BETA_1) * (g - m)
    v = v + (1 - BETA_2) * (g**2 - v)
    alpha = lr * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
    return w - alpha * m / (np.sqrt(v) + ADAM_EPS), m, v


def _adam_out(f: object, args: tuple, shape: tuple[int, ...]) -> list[np.ndarray]:
    parts = as_parts(f(*[a.copy() if isinstance(a, np.ndarray) else a for a in args]), 3)
    return [
        as_array(p, shape=shape, what=f"adam_step's new {n}")
        for p, n in zip(parts, "wmv", strict=True)
    ]


@question("part_iv.adam_step", answer="adam_step", kind="function")
def _adam_step(f: object) -> object:
    rng = np.random.default_rng(2020)
    shape = (3, 5)
    w, g = rng.normal(size=shape), rng.normal(size=shape)
    zero = np.zeros(shape)

    def first() -> None:
        got = _adam_out(f, (w, g, zero, zero, 1, 0.01), shape)
        ref = adam_reference(w, g, zero, zero, 1, 0.01)
        for name, a, e in zip(("w", "m", "v"), got, ref, strict=True):
            close(a, e, what=f"the new {name} after the first step", rtol=1e-6, atol=1e-12)

    yield "the first step from zero moments (t = 1)", 1, first

    grads = [rng.normal(size=shape) for _ in range(5)]

    def several() -> None:
        state = ref = (w, zero, zero)
        for t, grad in enumerate(grads, start=1):
            state = _adam_out(f, (state[0], grad, state[1], state[2], t, 0.01), shape)
            ref = adam_reference(ref[0], grad, ref[1], ref[2], t, 0.01)
            close(state[0], ref[0], what=f"w after step {t}", rtol=1e-6, atol=1e-12)

    yield "five steps in a row, t = 1 .. 5, each fed the previous step's m and v", 1, several

    def tiny() -> None:
        small = 1e-8 * g
        for t in (1, 50):
            got = _adam_out(f, (w, small, zero, zero, t, 0.01), shape)[0]
            ref = adam_reference(w, small, zero, zero, t, 0.01)[0]
            if not np.allclose(got - w, ref - w, rtol=1e-4, atol=0):
                raise Fail(
                    f"with gradients of size 1e-8 (t = {t}) your step differs from Keras': "
                    "check where epsilon goes (next to sqrt(v), and which v) and the bias "
                    "correction"
                )

    yield "gradients of size 1e-8, where epsilon decides the step (t = 1 and 50)", 2, tiny

    def leaves() -> None:
        given = {"w": w, "g": g, "m": g / 3, "v": g**2}
        copies = {name: a.copy() for name, a in given.items()}
        new_w = as_array(as_parts(f(*copies.values(), 4, 0.01), 3)[0], shape=shape, what="w")
        for name, before in given.items():
            if not np.array_equal(before, copies[name]):
                raise Fail(f"adam_step changed {name} in place: return new arrays")
        close(new_w, adam_reference(*given.values(), 4, 0.01)[0], what="the new w", rtol=1e-6)

    yield "returns new arrays, leaving w, g, m and v unchanged", 1, leaves


def layer_norm_reference(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """keras.layers.LayerNormalization(axis=-1, epsilon=1e-3) on a batch of rows."""
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * gamma + beta


@question("part_iv.layer_norm", answer="layer_norm", kind="function")
def _layer_norm(f: object) -> object:
    rng = np.random.default_rng(2016)
    x = 3 * rng.normal(size=(4, 7)) + rng.normal(size=7) * 5
    gamma, beta = rng.uniform(0.5, 2, size=7), rng.normal(size=7)

    def out(batch: np.ndarray) -> np.ndarray:
        return as_array(
            f(batch.copy(), gamma.copy(), beta.copy()), shape=batch.shape, what="layer_norm"
        )

    yield (
        "matches the reference on a batch of 4 rows of 7 features",
        1,
        lambda: close(out(x), layer_norm_reference(x, gamma, beta), what="the output", rtol=1e-6),
    )

    def per_row() -> None:
        single = out(x[:1])
        other = x.copy()
        other[1:] = rng_rows
        if not np.allclose(out(other)[0], single[0], rtol=1e-9, atol=1e-12):
            raise Fail("a row's output changed when the other rows changed: normalise each row")
        close(single, layer_norm_reference(x[:1], gamma, beta), what="a batch of one row")

    rng_rows = rng.normal(size=(3, 7)) * 10
    yield "each row is normalised on its own (a batch of one row works too)", 1, per_row

    flat = 2.0 + 1e-2 * rng.normal(size=(2, 7))  # a tiny variance: where epsilon goes shows
    yield (
        "rows with a tiny variance (where epsilon goes matters)",
        2,
        lambda: close(
            out(flat), layer_norm_reference(flat, gamma, beta), what="the output", rtol=1e-5
        ),
    )


@question("part_iv.bn_factors", answer="bn_factors")
def _bn_factors(a: object) -> object:
    rng = np.random.default_rng(2018)
    w = rng.normal(size=6)

    def measured() -> np.ndarray:
        from_grads = np.linalg.norm(bn_unit_grad(4 * w)) / np.linalg.norm(bn_unit_grad(w))
        turn = direction_step(4 * w, 1e-3) / direction_step(w, 1e-3)
        return np.array([from_grads, turn])

    items = [
        ("the factor by which |dL/dw| changes (measured)", "the gradient factor", 2),
        ("the factor by which one SGD step's turn of w changes (measured)", "the turn factor", 2),
    ]
    yield from each_matches(a, measured, items, what="bn_factors", rtol=0.05)


def chi1_reference(sigma_w: float, sigma_b: float) -> float:
    """chi_1 of a deep tanh network at its fixed point q*, by Gauss-Hermite quadrature."""
    z, weights = np.polynomial.hermite_e.hermegauss(201)
    weights = weights / weights.sum()
    q = 1.0
    for _ in range(2000):
        q_new = sigma_w**2 * np.sum(weights * np.tanh(np.sqrt(q) * z) ** 2) + sigma_b**2
        if abs(q_new - q) < 1e-14:
            break
        q = q_new
    slope = 1 - np.tanh(np.sqrt(q) * z) ** 2
    return float(sigma_w**2 * np.sum(weights * slope**2))


@question("part_iv.chi1", answer="chi1", kind="function")
def _chi1(f: object) -> object:
    points = {
        "ordered (sigma_w = 0.6, sigma_b = 0.2)": (0.6, 0.2, 1),
        "chaotic (sigma_w = 2.5, sigma_b = 0.4)": (2.5, 0.4, 1),
        "near the edge (sigma_w = 1.3, sigma_b = 0.3)": (1.3, 0.3, 2),
    }
    for name, (sw, sb, pts) in points.items():
        yield (
            name,
            pts,
            lambda sw=sw, sb=sb: near(
                as_float(f(sw, sb), what="chi1"),
                chi1_reference(sw, sb),
                what=f"chi1({sw}, {sb})",
                rtol=0.01,
                of="the mean-field value",
            ),
        )


@question("part_iv.noise_ratio", answer="noise_ratio")
def _noise_ratio(a: object) -> object:
    yield (
        "the factor by which the variance shrinks from B = 8 to B = 128 (measured)",
        3,
        lambda: matches_measured(
            a, minibatch_noise(8) / minibatch_noise(128), what="noise_ratio", rtol=0.15
        )(),
    )
