"""Checks for the exercise set "Gradient clipping"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._helpers import as_array, as_float, as_positive, close, near, once
from vgrad_course.grading.labs import quartic_descent
from vgrad_course.grading.registry import Fail, question


def _global(grads: list[np.ndarray]) -> float:
    return float(np.sqrt(sum(np.sum(g**2) for g in grads)))


def reference_clip(grads: list[np.ndarray], max_norm: float) -> list[np.ndarray]:
    """Clip by global norm as ``tf.clip_by_global_norm`` documents it (the check's reference).

    Every tensor is multiplied by ``max_norm / max(global_norm, max_norm)``. Written here in
    NumPy (the grader starts no TensorFlow); ``tests/test_checker.py`` checks it against
    TensorFlow itself.

    Args:
        grads: The gradients.
        max_norm: The largest global norm allowed.

    Returns:
        The clipped gradients.
    """
    scale = max_norm / max(_global(grads), max_norm)
    return [np.asarray(g, dtype=np.float64) * scale for g in grads]


@question("clipping.clip_global", answer="clip_by_global_norm", kind="function")
def _clip(f: object) -> object:
    rng = np.random.default_rng(12)
    grads = [rng.normal(size=(3, 4)) * 5, rng.normal(size=(4,)) * 0.1, rng.normal(size=(2, 2))]
    max_norm = 1.0

    def call(gs: list[np.ndarray], m: float) -> list[np.ndarray]:
        out = f([g.copy() for g in gs], m)
        if not isinstance(out, list | tuple) or len(out) != len(gs):
            raise Fail(
                f"return a list with one array per gradient ({len(gs)}), got {type(out).__name__}"
            )
        return [
            as_array(o, shape=s, what=f"clipped gradient {i}")
            for i, (o, s) in enumerate(zip(out, [g.shape for g in gs], strict=True))
        ]

    out = once(lambda: call(grads, max_norm))

    def norm() -> None:
        n = _global(out())
        if not np.isclose(n, max_norm, rtol=1e-5):
            raise Fail(f"the global norm after clipping is {n:.4g}, it should equal max_norm")

    yield "the clipped global norm equals max_norm", 1, norm

    def direction() -> None:
        ratios = [o / g for o, g in zip(out(), grads, strict=True)]
        flat = np.concatenate([r.ravel() for r in ratios])
        if not np.allclose(flat, flat[0], rtol=1e-5):
            raise Fail(
                "the tensors were not all scaled by one common factor: clipping by value,"
                " or clipping each tensor separately, changes the gradient's direction"
            )

    yield "keeps the direction: one common factor for all tensors", 1, direction
    small = [g * 0.01 / _global(grads) for g in grads]
    yield (
        "leaves gradients below max_norm unchanged",
        1,
        lambda: [
            close(o, g, what="a gradient below the threshold")
            for o, g in zip(call(small, max_norm), small, strict=True)
        ],
    )
    # Thresholds on both sides of the gradient's norm: a rule that always rescales to
    # max_norm, or never clips, or clips each tensor separately, disagrees on one of them.
    for factor in (0.8, 1.25):
        m = factor * _global(grads)
        yield (
            f"agrees with an independent clip by global norm (max_norm = {factor} x the norm)",
            1,
            lambda m=m: close(
                np.concatenate([o.ravel() for o in call(grads, m)]),
                np.concatenate([r.ravel() for r in reference_clip(grads, m)]),
                what="the clipped gradients (all tensors, flattened)",
            ),
        )


@question("clipping.predict_component", answer="clipped_first")
def _predict(a: object) -> object:
    value = float(reference_clip([np.array([3.0, 4.0]), np.array([12.0])], 1.0)[0][0])

    def matches() -> None:
        v = as_float(a, what="clipped_first")
        if np.isclose(v, 1.0):
            raise Fail("1.0 is what clipping each component by value gives, not the global norm")
        if np.isclose(v, 0.6):
            raise Fail("0.6 clips each tensor by its own norm; use the norm of all of them")
        near(v, value, what="clipped_first", rtol=1e-3)

    yield "matches tf.clip_by_global_norm", 2, matches


@question("clipping.threshold", answer="threshold")
def _threshold(a: object) -> object:
    path = once(lambda: quartic_descent(as_positive(a, what="threshold")))

    def trains() -> None:
        p = path()
        if not np.all(np.isfinite(p)) or np.abs(p).max() > 1e3:
            raise Fail("the run diverged")
        if np.linalg.norm(p[-1]) > 3.0:
            raise Fail("the run is stuck bouncing from wall to wall: the threshold is too large")
        if np.linalg.norm(p[-1]) >= 0.3:
            raise Fail(
                f"the run stays finite, but after 100 steps |w| = {np.linalg.norm(p[-1]):.3g}"
                " >= 0.3: the steps are too short, the threshold is too small"
            )

    yield "the run stays finite and reaches |w| < 0.3 within 100 steps", 2, trains


def reference_clip_each(grads: list[np.ndarray], max_norm: float) -> list[np.ndarray]:
    """Clip every tensor to norm ``max_norm`` separately, as ``tf.clip_by_norm`` documents it.

    Keras' ``clipnorm`` option applies it to each variable's gradient: every tensor is
    multiplied by ``max_norm / max(||g_i||, max_norm)``.

    Args:
        grads: The gradients.
        max_norm: The largest norm allowed for each tensor.

    Returns:
        The clipped gradients.
    """
    return [
        np.asarray(g, dtype=np.float64) * (max_norm / max(_global([g]), max_norm)) for g in grads
    ]


@question("clipping.per_variable", answer="clip_per_variable", kind="function")
def _per_variable(f: object) -> object:
    # Norms 4, 0.5 and 2.5: with max_norm = 1 two tensors are clipped and one is not; with
    # max_norm = 3 only the first is (thresholds on both sides of each tensor's norm).
    rng = np.random.default_rng(31)
    shapes, norms = [(3, 4), (5,), (2, 2)], [4.0, 0.5, 2.5]
    grads = [n * g / np.linalg.norm(g) for g, n in zip(map(rng.normal, shapes), norms, strict=True)]

    def call(gs: list[np.ndarray], m: float) -> list[np.ndarray]:
        out = f(gs, m)
        if not isinstance(out, list | tuple) or len(out) != len(gs):
            raise Fail(
                f"return a list with one array per gradient ({len(gs)}), got {type(out).__name__}"
            )
        return [
            as_array(o, shape=g.shape, what=f"clipped gradient {i}")
            for i, (o, g) in enumerate(zip(out, gs, strict=True))
        ]

    out = once(lambda: call([g.copy() for g in grads], 1.0))

    def norms_capped() -> None:
        for i, (o, n) in enumerate(zip(out(), norms, strict=True)):
            got = _global([o])
            if not np.isclose(got, min(n, 1.0), rtol=1e-6):
                side = "above" if n > 1.0 else "below"
                raise Fail(
                    f"gradient {i} (norm {n:g}, {side} max_norm = 1) ends with norm {got:.4g}:"
                    " each tensor is clipped by its own norm (not the norm of all of them together)"
                    " and left alone when that is below max_norm"
                )

    yield (
        "each tensor above max_norm ends at norm max_norm; those below keep theirs",
        1,
        norms_capped,
    )

    def directions() -> None:
        for i, (o, g) in enumerate(zip(out(), grads, strict=True)):
            ratio = o / g
            if not np.allclose(ratio, ratio.flat[0], rtol=1e-6):
                raise Fail(
                    f"the entries of gradient {i} were not scaled by one common factor: clipping"
                    " entry by entry changes its direction"
                )

    yield "keeps each tensor's direction (one factor per tensor)", 1, directions
    yield (
        "agrees with tf.clip_by_norm applied to each variable (max_norm = 1 and 3)",
        1,
        lambda: [
            close(
                np.concatenate([o.ravel() for o in call([g.copy() for g in grads], m)]),
                np.concatenate([r.ravel() for r in reference_clip_each(grads, m)]),
                what=f"the clipped gradients at max_norm = {m:g} (all tensors, flattened)",
            )
            for m in (1.0, 3.0)
        ],
    )

    def leaves_inputs() -> None:
        mine = [g.copy() for g in grads]
        clipped = call(mine, 1.0)
        if not all(np.array_equal(a, b) for a, b in zip(mine, grads, strict=True)):
            raise Fail(
                "clip_per_variable changed the gradients it was given in place: return new"
                " arrays (the optimizer may still need the raw gradients, e.g. to log their norm)"
            )
        close(
            np.concatenate([o.ravel() for o in clipped]),
            np.concatenate([r.ravel() for r in reference_clip_each(grads, 1.0)]),
            what="the clipped gradients",
        )

    yield "returns new arrays, leaving the caller's gradients unchanged", 1, leaves_inputs


def _cosine(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    flat_a = np.concatenate([np.ravel(x) for x in a])
    flat_b = np.concatenate([np.ravel(x) for x in b])
    return float(flat_a @ flat_b / (np.linalg.norm(flat_a) * np.linalg.norm(flat_b)))


@question("clipping.value_direction", answer="norm_and_cosine")
def _value_direction(a: object) -> object:
    grads = [np.array([2.0, -0.5]), np.array([0.2, 3.0, -1.0])]
    clipped = [np.clip(g, -1.0, 1.0) for g in grads]
    pair = once(lambda: as_array(a, shape=(2,), what="norm_and_cosine (two numbers)"))
    yield (
        "the global norm after clipping by value (0.1%)",
        1,
        lambda: near(float(pair()[0]), _global(clipped), what="your norm", rtol=1e-3),
    )

    def cosine() -> None:
        value = float(pair()[1])
        if np.isclose(value, 1.0):
            raise Fail("a cosine of 1 keeps the direction: that is clipping by norm, not by value")
        near(value, _cosine(grads, clipped), what="your cosine", rtol=1e-3)

    yield "the cosine between the raw and the clipped gradient (0.1%)", 2, cosine


def _settles(lr: float, threshold: float) -> tuple[bool, bool]:
    """Clipped descent on the bowl with quartic walls: (ends within 1e-3, ever moved away).

    A run that neither settles nor ever moves away from the minimum is still on its way (the
    rate is too small); one that moves away at some step overshoots it (too large).
    """
    path = quartic_descent(threshold, lr=lr, steps=1000, curvature=(5.0, 1.0))
    if not np.all(np.isfinite(path)):
        return False, True
    dist = np.linalg.norm(path, axis=1)
    return bool(dist[-1] < 1e-3), bool(np.any(np.diff(dist) > 1e-12))


def _largest_rate(a: object, thresholds: tuple[float, ...]) -> None:
    lr = as_positive(a, what="max_lr_clipped")
    for threshold in thresholds:
        settled, overshoots = _settles(0.98 * lr, threshold)
        if not settled:
            if overshoots:
                raise Fail(
                    f"threshold {threshold:g}: at 0.98 x your rate the run reaches the minimum"
                    " but overshoots it and bounces around without settling: the rate is too large"
                )
            raise Fail(
                f"threshold {threshold:g}: at 0.98 x your rate the run is still on its way"
                " after 1000 steps (each step is at most lr x threshold long, and smaller"
                " near the minimum): the rate is too small"
            )
        if _settles(1.02 * lr, threshold)[0]:
            raise Fail(
                f"threshold {threshold:g}: the run still settles at 1.02 x your rate: look for"
                " a larger rate"
            )


@question("clipping.max_lr", answer="max_lr_clipped")
def _max_lr(a: object) -> object:
    yield (
        "threshold 1: the run settles at 0.98 x your rate, not at 1.02 x it",
        2,
        lambda: _largest_rate(a, (1.0,)),
    )
    yield (
        "the same largest rate with threshold 0.1 (and 1)",
        1,
        lambda: _largest_rate(a, (1.0, 0.1)),
    )
