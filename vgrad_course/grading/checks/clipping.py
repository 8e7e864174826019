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
