"""Gradient clipping by global norm (Pascanu, Mikolov & Bengio 2013) and by value (Mikolov 2012)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from vgrad_course.validation import check_positive

TensorLike = tf.Tensor | np.ndarray


def _as_tensors(grads: Sequence[TensorLike | None], name: str) -> list[tf.Tensor | None]:
    """Convert a list of gradients to float tensors (None entries stay None)."""
    if isinstance(grads, tf.Tensor | np.ndarray) or not isinstance(grads, Sequence):
        raise TypeError(f"{name} expects a list of gradient arrays, got {type(grads).__name__}")
    out = []
    for g in grads:
        if g is None:
            out.append(None)
            continue
        t = tf.convert_to_tensor(g)
        if not t.dtype.is_floating:
            t = tf.cast(t, tf.float32)
        out.append(t)
    return out


def global_norm(grads: Sequence[TensorLike | None]) -> float:
    """Return sqrt(sum_i ||g_i||^2) over all gradients (None entries are skipped).

    Args:
        grads: A list of gradient arrays.

    Returns:
        The global L2 norm as a Python float.

    Used in: "Gradient clipping".
    """
    tensors = [t for t in _as_tensors(grads, "global_norm") if t is not None]
    if not tensors:
        return 0.0
    return float(
        tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(tf.cast(t, tf.float64))) for t in tensors]))
    )


def clip_by_norm(grads: Sequence[TensorLike | None], max_norm: float) -> list[tf.Tensor | None]:
    """Rescale all gradients together so their global norm is at most ``max_norm``.

    The direction of the full gradient is kept: every entry is multiplied by the same
    factor ``min(1, max_norm / global_norm)``.

    Args:
        grads: A list of gradient arrays (None entries are passed through).
        max_norm: The largest allowed global norm (> 0).

    Returns:
        A new list of tensors; the input is not modified.

    Used in: "Gradient clipping".
    """
    max_norm = check_positive("max_norm", max_norm)
    tensors = _as_tensors(grads, "clip_by_norm")
    norm = global_norm(tensors)
    if not np.isfinite(norm):
        raise ValueError(
            "the global norm of the gradients is not finite (NaN/inf): clipping cannot "
            "repair it; lower the learning rate or find where the NaN first appears"
        )
    scale = 1.0 if norm <= max_norm else max_norm / norm
    return [None if t is None else t * tf.cast(scale, t.dtype) for t in tensors]


def clip_by_value(grads: Sequence[TensorLike | None], limit: float) -> list[tf.Tensor | None]:
    """Clip every gradient entry to ``[-limit, limit]`` (this can change the direction).

    Each entry is clamped on its own, so a gradient with a few large entries changes
    direction towards the sign pattern of its entries.

    Args:
        grads: Gradient arrays; None entries stay None.
        limit: The largest absolute value an entry may keep (> 0).

    Returns:
        The clamped gradients as new tensors (``grads`` is left as it was).

    Used in: "Gradient clipping".
    """
    limit = check_positive("limit", limit)
    clipped = []
    for t in _as_tensors(grads, "clip_by_value"):
        bound = None if t is None else tf.cast(limit, t.dtype)
        clipped.append(None if t is None else tf.clip_by_value(t, -bound, bound))
    return clipped


def cosine_similarity(a: Sequence[object], b: Sequence[object]) -> float:
    """Return the cosine of the angle between two gradients given as lists of arrays.

    Each list is flattened and concatenated into one vector, so the cosine compares the
    full update directions (1 = same direction).

    Args:
        a: A list of arrays (e.g. the gradients of every variable).
        b: A list of arrays with the same shapes.

    Returns:
        The cosine in ``[-1, 1]``.

    Used in: "Gradient clipping".
    """
    if len(a) != len(b):
        raise ValueError(f"a and b hold {len(a)} and {len(b)} arrays")
    va = np.concatenate([np.ravel(np.asarray(t, dtype=np.float64)) for t in a])
    vb = np.concatenate([np.ravel(np.asarray(t, dtype=np.float64)) for t in b])
    if va.shape != vb.shape:
        raise ValueError(f"a and b have {va.size} and {vb.size} entries")
    denom = np.linalg.norm(va) * np.linalg.norm(vb)
    if denom == 0:
        raise ValueError("the cosine is undefined for a zero vector")
    return float(va @ vb / denom)
