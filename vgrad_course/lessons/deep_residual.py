"""Very deep residual networks without normalisation: signal scales and shattered gradients.

Member by member (:func:`vgrad_course.gated_residual.build_gated_resnet`): the signal and the
gradient at every block, loss and accuracy, and how fast the gradient with respect to the
input decorrelates along a line of inputs (Balduzzi et al. 2017).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.axes import Axes

from vgrad_course.gated_residual import build_gated_resnet, member_logits
from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_int, check_positive

#: How the chapter names the schemes of :data:`vgrad_course.gated_residual.SCHEMES`.
LABELS: dict[str, str] = {
    "he": "He",
    "scaled": "scaled",
    "rezero": "SkipInit/ReZero",
    "fixup": "Fixup",
    "noskip": "no skips",
}


def by_scheme(values: np.ndarray, schemes: Sequence[str]) -> dict[str, np.ndarray]:
    """Group per-member values by the members' schemes.

    Args:
        values: An array whose first axis is over members.
        schemes: The scheme of each member, in order (as given to the model builder).

    Returns:
        ``{scheme: values of its members}``, schemes in order of first appearance.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    v = np.asarray(values)
    if len(v) != len(schemes):
        raise ValueError(f"{len(v)} values for {len(schemes)} members")
    keys = list(dict.fromkeys(schemes))
    return {k: v[[i for i, s in enumerate(schemes) if s == k]] for k in keys}


def _member_losses(logits: tf.Tensor, y: object) -> tf.Tensor:
    """Return the batch-mean cross-entropy of each member, shape (members,)."""
    labels = tf.broadcast_to(tf.cast(tf.reshape(y, (1, -1)), tf.int32), tf.shape(logits)[:2])
    losses = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    return tf.reduce_mean(losses, axis=1)


def block_scales(model: keras.Model, x: object, y: object) -> dict[str, np.ndarray]:
    """Return the size of the signal ``h_l`` and of the gradient ``dL_m/dh_l`` at every block.

    ``h_0`` is the projected input, ``h_l`` block ``l``'s output, ``L_m`` member ``m``'s loss.

    Args:
        model: A model from :func:`vgrad_course.gated_residual.build_gated_resnet`.
        x: A batch of inputs ``(batch, features)``.
        y: Their integer labels.

    Returns:
        ``{"signal": rms of h_l, "gradient": ||dL_m/dh_l||}``, each float64 of shape
        ``(members, depth + 1)``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    stack = model.get_layer("stack")
    with tf.GradientTape() as tape:
        states = [model.get_layer("project")(tf.constant(x, tf.float32))]
        for index in range(stack.depth):
            tape.watch(states[-1])
            states.append(stack.block(states[-1], index))
        tape.watch(states[-1])
        logits = model.get_layer("output")(keras.ops.relu(states[-1]))
        loss = tf.reduce_sum(_member_losses(logits, y))  # members do not mix: dL/dh_m = dL_m/dh_m
    grads = tape.gradient(loss, states)
    signal = [tf.sqrt(tf.reduce_mean(tf.square(h), axis=(1, 2))) for h in states]
    gradient = [tf.norm(g, axis=(1, 2)) for g in grads]
    return {
        "signal": np.stack([s.numpy() for s in signal], axis=1).astype(np.float64),
        "gradient": np.stack([g.numpy() for g in gradient], axis=1).astype(np.float64),
    }


def member_scores(model: keras.Model, x: object, y: object) -> dict[str, np.ndarray]:
    """Return each member's mean cross-entropy and accuracy on ``(x, y)``.

    Args:
        model: A model from :func:`vgrad_course.gated_residual.build_gated_resnet`.
        x: Inputs ``(batch, features)``.
        y: Integer labels.

    Returns:
        ``{"loss": ..., "accuracy": ...}``, float64 arrays of shape ``(members,)``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    logits = member_logits(model, tf.constant(x, tf.float32))
    hits = np.argmax(logits.numpy(), axis=-1) == np.reshape(y, (1, -1))
    loss = _member_losses(logits, y).numpy().astype(np.float64)
    return {"loss": loss, "accuracy": hits.mean(axis=1, dtype=np.float64)}


def input_line(x0: np.ndarray, *, n: int = 256, seed: int = 0) -> tuple[np.ndarray, float]:
    """Return ``n`` inputs evenly spaced on ``x0 + t d``, ``t`` in [-1, 1], ``d`` as long as ``x0``.

    Args:
        x0: The centre, one input vector.
        n: Number of points (>= 2).
        seed: Seed of the direction.

    Returns:
        ``(xs, spacing)``: float32 inputs ``(n, features)`` and the distance between neighbours.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    n = check_int("n", n, minimum=2)
    center = np.asarray(x0, dtype=np.float64)
    if center.ndim != 1:
        raise ValueError(f"x0 must be one input vector, got shape {center.shape}")
    d = make_rng(seed).standard_normal(center.shape)
    d *= np.linalg.norm(center) / np.linalg.norm(d)
    t = np.linspace(-1.0, 1.0, n)[:, None]
    return (center + t * d).astype(np.float32), float(2 * np.linalg.norm(d) / (n - 1))


def input_gradients(model: keras.Model, x: object, *, output: int = 0) -> np.ndarray:
    """Return the gradient of one logit of every member with respect to each input.

    Args:
        model: A model from :func:`vgrad_course.gated_residual.build_gated_resnet`.
        x: Inputs ``(batch, features)``.
        output: Which logit.

    Returns:
        float64 array ``(members, batch, features)``: row ``[m, i]`` is d logit_m(x_i) / d x_i.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    members = len(model.get_layer("stack").schemes)
    xm = tf.tile(tf.constant(x, tf.float32)[None], (members, 1, 1))
    with tf.GradientTape() as tape:
        tape.watch(xm)
        logit = tf.reduce_sum(member_logits(model, xm)[..., output])
    return tape.gradient(logit, xm).numpy().astype(np.float64)


def gradient_autocorrelation(grads: np.ndarray, *, max_lag: int) -> np.ndarray:
    """Return the correlation of gradients ``k`` steps apart along a line, for ``k = 0..max_lag``.

    Per member, with the gradients ``g_i`` centred (their mean over the line subtracted),
    ``rho(k) = sum_i <g_i, g_{i+k}> / sqrt(sum_i |g_i|^2 sum_i |g_{i+k}|^2)``: 1 for a gradient
    that does not change along the line, about 0 at every ``k >= 1`` for white noise.

    Args:
        grads: Shape ``(members, points, features)``.
        max_lag: The largest ``k``.

    Returns:
        float64 array ``(members, max_lag + 1)``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    g = np.asarray(grads, dtype=np.float64)
    if g.ndim != 3:
        raise ValueError(f"grads must be (members, points, features), got shape {g.shape}")
    max_lag = check_int("max_lag", max_lag, minimum=0)
    if max_lag >= g.shape[1] - 1:
        raise ValueError(f"max_lag must be below points - 1 = {g.shape[1] - 1}, got {max_lag}")
    g = g - g.mean(axis=1, keepdims=True)
    rho = np.empty((g.shape[0], max_lag + 1))
    for k in range(max_lag + 1):
        a, b = g[:, : g.shape[1] - k], g[:, k:]
        norm = np.sqrt(np.sum(a * a, axis=(1, 2)) * np.sum(b * b, axis=(1, 2)))
        rho[:, k] = np.sum(a * b, axis=(1, 2)) / norm
    return rho


def correlation_length(rho: np.ndarray, spacing: float, *, level: float = 0.5) -> float:
    """Return the distance at which a correlation curve first falls to ``level`` (interpolated).

    Args:
        rho: Correlation at lags 0, 1, 2, ... (``rho[0] = 1``).
        spacing: Distance between neighbouring points.
        level: The level, in (0, 1).

    Returns:
        The distance; ``inf`` if ``rho`` stays above ``level``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    r = np.asarray(rho, dtype=np.float64)
    spacing = check_positive("spacing", spacing)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    below = np.flatnonzero(r <= level)
    if below.size == 0:
        return float("inf")
    k = int(below[0])
    if k == 0:
        return 0.0
    frac = (r[k - 1] - level) / (r[k - 1] - r[k])
    return float((k - 1 + frac) * spacing)


def correlations_at_init(
    nets: Mapping[str, tuple[int, str]],
    x: np.ndarray,
    *,
    width: int,
    seeds: Sequence[int],
    max_lag: int,
) -> dict[str, np.ndarray]:
    """Return, per network, the gradient correlation along ``x`` averaged over initialisations.

    Args:
        nets: ``{name: (depth, scheme)}``.
        x: Inputs along a line (:func:`input_line`).
        width: Units per block.
        seeds: One member per seed: the initialisations averaged.
        max_lag: The largest lag.

    Returns:
        ``{name: mean rho(0 .. max_lag)}`` of the first logit's input gradient.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    out = {}
    for name, (depth, scheme) in nets.items():
        model = build_gated_resnet(depth, width, schemes=[scheme] * len(seeds), seeds=seeds)
        rho = gradient_autocorrelation(input_gradients(model, x), max_lag=max_lag)
        out[name] = rho.mean(axis=0)
    return out


def plot_by_block(values: Mapping[str, np.ndarray], *, ax: Axes | None = None, ylabel: str) -> Axes:
    """Plot the median over seeds of a per-block quantity for each scheme, on a log axis.

    Args:
        values: ``{scheme: array (seeds, depth + 1)}``, e.g. from :func:`by_scheme`.
        ax: Axes to draw on (a new figure if None).
        ylabel: Label of the y axis.

    Returns:
        The Axes.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    if ax is None:
        _, ax = plt.subplots()
    for scheme, v in values.items():
        ax.plot(np.median(v, axis=0), label=LABELS.get(scheme, scheme))
    ax.set(yscale="log", xlabel="block ℓ (0: after the projection)", ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax


def plot_by_member(
    values: np.ndarray, schemes: Sequence[str], *, ax: Axes | None = None, ylabel: str
) -> Axes:
    """Plot one dot per member, one column per scheme (e.g. each seed's final loss).

    Args:
        values: One value per member.
        schemes: The members' schemes.
        ax: Axes to draw on (a new figure if None).
        ylabel: Label of the y axis.

    Returns:
        The Axes.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    if ax is None:
        _, ax = plt.subplots()
    groups = by_scheme(values, schemes)
    for i, v in enumerate(groups.values()):
        ax.plot([i] * len(v), v, "o", alpha=0.8)
    ax.set_xticks(range(len(groups)), [LABELS.get(k, k) for k in groups], fontsize=8)
    ax.set_ylabel(ylabel)
    return ax
