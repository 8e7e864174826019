"""Pictures of the loss landscape (Li et al. 2018) and the noise of minibatch gradients.

A *slice* of the landscape is the loss at ``theta + a d1 (+ b d2)`` on a grid of ``(a, b)``
for random *filter-normalised* directions ``d`` (each unit's incoming weights rescaled to the
norm of that unit's weights in ``theta``; biases and gates not moved). Every grid point is a
member of one model (:func:`vgrad_course.gated_residual.build_gated_resnet`): one forward pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.axes import Axes

from vgrad_course.gated_residual import build_gated_resnet, member_logits
from vgrad_course.lessons.deep_residual import member_scores
from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_int

Weights = dict[str, np.ndarray]


def member_weights(model: keras.Model, member: int) -> Weights:
    """Return the weights of one member: ``{variable path: array without the member axis}``.

    Args:
        model: A model from :func:`vgrad_course.gated_residual.build_gated_resnet`.
        member: The member's index.

    Returns:
        float64 arrays, e.g. ``"stack/kernel_1"`` of shape ``(depth, width, width)``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    return {v.path: np.asarray(v.numpy()[member], dtype=np.float64) for v in model.weights}


def replicas(
    model: keras.Model, member: int, weights: Sequence[Mapping[str, np.ndarray]]
) -> keras.Model:
    """Return a new model whose members are copies of ``member`` with the given weights.

    Args:
        model: A model from :func:`vgrad_course.gated_residual.build_gated_resnet`.
        member: The member whose architecture and scheme the copies take.
        weights: One weight dict (as from :func:`member_weights`) per copy.

    Returns:
        A built model with ``len(weights)`` members.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    stack = model.get_layer("stack")
    copies = build_gated_resnet(
        stack.depth,
        stack.width,
        schemes=[stack.schemes[member]] * len(weights),
        seeds=[0] * len(weights),
        input_dim=model.input_shape[-1],
        output_dim=model.get_layer("output").units,
    )
    for v in copies.weights:
        v.assign(np.stack([w[v.path] for w in weights]).astype(np.float32))
    return copies


def filter_normalised_direction(weights: Mapping[str, np.ndarray], *, seed: int = 0) -> Weights:
    """Return a random direction in weight space, filter-normalised as in Li et al. (2018).

    Kernels (paths containing ``kernel``, shape ``(..., fan_in, units)``) get a Gaussian
    direction whose column for each unit is rescaled to the norm of that unit's weights; every
    other variable (biases, gates) gets a zero direction.

    Args:
        weights: One member's weights (:func:`member_weights`).
        seed: Seed of the direction.

    Returns:
        A dict with the same keys and shapes.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    rng = make_rng(seed)
    out = {}
    for path, w in weights.items():
        if "kernel" not in path:
            out[path] = np.zeros_like(w)
            continue
        d = rng.standard_normal(w.shape)
        out[path] = d * (np.linalg.norm(w, axis=-2) / np.linalg.norm(d, axis=-2))[..., None, :]
    return out


def _moved(theta: Weights, d1: Weights, d2: Weights, coords: np.ndarray) -> list[Weights]:
    """Return ``theta + a d1 + b d2`` for each row ``(a, b)`` of ``coords``."""
    return [{k: w + a * d1[k] + b * d2[k] for k, w in theta.items()} for a, b in coords]


def loss_slices(
    model: keras.Model,
    members: Sequence[int],
    x: object,
    y: object,
    *,
    alphas: np.ndarray,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return 1-D slices of the loss through several members and a 2-D slice through the first.

    Through each member's weights ``theta`` go two filter-normalised directions ``d1, d2``
    (seeds ``seed + 2 i`` and ``seed + 2 i + 1`` for member ``i``): the 1-D slices are the
    losses at ``theta + a d1`` and ``theta + a d2``, the 2-D slice at ``theta + a d1 + b d2``
    for the first member (whose 1-D slices are its axes). One forward pass in all.

    Args:
        model: A trained model from :func:`vgrad_course.gated_residual.build_gated_resnet`.
        members: Members of one scheme, e.g. the seeds of one variant.
        x: The fixed evaluation batch.
        y: Its labels.
        alphas: The coordinates ``a`` (and ``b``), shape ``(n,)``.
        seed: Seed of the first direction.

    Returns:
        ``(lines, surface)``: ``lines`` ``(len(members), 2, n)``, ``surface`` ``(n, n)`` with
        ``surface[i, j]`` the loss at ``(a, b) = (alphas[j], alphas[i])``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    a = np.asarray(alphas, dtype=np.float64)
    schemes = {model.get_layer("stack").schemes[m] for m in members}
    if len(schemes) != 1:
        raise ValueError(f"members must share one scheme, got {sorted(schemes)}")
    n, zeros = len(a), np.zeros_like(a)
    if a.ndim != 1 or n % 2 == 0 or not np.allclose(a, -a[::-1]):
        raise ValueError(f"alphas must be an odd number of values symmetric around 0, got {a}")
    axes = np.concatenate([np.stack([a, zeros], 1), np.stack([zeros, a], 1)])
    grid = np.stack(np.meshgrid(a, a), axis=-1).reshape(-1, 2)  # rows: b, columns: a
    points = []
    for i, m in enumerate(members):
        theta = member_weights(model, m)
        dirs = [filter_normalised_direction(theta, seed=seed + 2 * i + j) for j in (0, 1)]
        points += _moved(theta, *dirs, grid if i == 0 else axes)
    losses = member_scores(replicas(model, members[0], points), x, y)["loss"]
    surface = losses[: n * n].reshape(n, n)
    first = np.stack([surface[n // 2], surface[:, n // 2]])[None]
    rest = losses[n * n :].reshape(len(members) - 1, 2, n)
    return np.concatenate([first, rest]), surface


def rise(losses: np.ndarray, alphas: np.ndarray, *, at: float) -> np.ndarray:
    """Return how far 1-D slices rise at ``|a| = at`` above their centre (mean of both sides).

    Args:
        losses: The loss along the slice(s), last axis over ``alphas``.
        alphas: The slices' coordinates, containing ``-at``, 0 and ``at``.
        at: The distance.

    Returns:
        ``(L(-at) + L(at)) / 2 - L(0)``, float64 of shape ``losses.shape[:-1]``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    a = np.asarray(alphas, dtype=np.float64)
    idx = [int(np.argmin(np.abs(a - v))) for v in (-at, 0.0, at)]
    if not np.allclose(a[idx], [-at, 0.0, at]):
        raise ValueError(f"alphas must contain -{at}, 0 and {at}")
    f = np.asarray(losses, dtype=np.float64)
    return (f[..., idx[0]] + f[..., idx[2]]) / 2 - f[..., idx[1]]


def roughness(losses: np.ndarray) -> np.ndarray:
    """Return the roughness index of 1-D slices: total variation over that of one valley.

    A slice that falls to its minimum and rises again (one valley, sampled) has total variation
    ``(f[0] - min) + (f[-1] - min)``; every extra local minimum adds to the total variation.
    The index is their ratio: exactly 1 for one valley, above 1 for a bumpy slice.

    Args:
        losses: Shape ``(..., points)``.

    Returns:
        float64 array of shape ``losses.shape[:-1]``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    f = np.asarray(losses, dtype=np.float64)
    if f.shape[-1] < 3:
        raise ValueError(f"a slice needs at least 3 points, got {f.shape[-1]}")
    low = f.min(axis=-1)
    valley = (f[..., 0] - low) + (f[..., -1] - low)
    return np.abs(np.diff(f, axis=-1)).sum(axis=-1) / valley


def _flat_gradients(copies: keras.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each member's gradient of its mean loss on its own batch ``x[m]``, flattened, float64."""
    with tf.GradientTape() as tape:
        logits = member_logits(copies, tf.constant(x, tf.float32))
        ce = keras.losses.sparse_categorical_crossentropy(
            tf.constant(y, tf.int32), logits, from_logits=True
        )
        loss = tf.reduce_sum(tf.reduce_mean(ce, axis=1))
    grads = tape.gradient(loss, copies.weights)
    return np.concatenate([g.numpy().reshape(len(x), -1) for g in grads], axis=1).astype(float)


def gradient_noise(
    model: keras.Model,
    member: int,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_sizes: Sequence[int],
    draws: int = 32,
    seed: int = 0,
) -> np.ndarray:
    """Return the mean squared distance of minibatch gradients from the full-batch gradient.

    For each batch size ``B``, ``draws`` minibatches are drawn from ``(x, y)`` without
    replacement, and ``E |g_B - g|^2`` over all weights of ``member`` is estimated by the mean
    over the draws. The draws are the members of one model (copies of ``member``), so each
    size costs one backward pass.

    Args:
        model: A model from :func:`vgrad_course.gated_residual.build_gated_resnet`.
        member: Which member.
        x: Training inputs (the full batch).
        y: Their labels.
        batch_sizes: The minibatch sizes (at most ``len(x)``).
        draws: Minibatches per size.
        seed: Seed of the draws.

    Returns:
        float64 array, one value per batch size.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    draws = check_int("draws", draws)
    xs, ys = np.asarray(x, np.float32), np.asarray(y)
    theta = member_weights(model, member)
    full = _flat_gradients(replicas(model, member, [theta]), xs[None], ys[None])[0]
    copies = replicas(model, member, [theta] * draws)
    rng = make_rng(seed)
    out = []
    for b in batch_sizes:
        b = check_int("batch size", b)
        if b > len(xs):
            raise ValueError(f"batch size {b} is larger than the {len(xs)} examples")
        idx = np.stack([rng.choice(len(xs), size=b, replace=False) for _ in range(draws)])
        g = _flat_gradients(copies, xs[idx], ys[idx])
        out.append(np.mean(np.sum((g - full) ** 2, axis=1)))
    return np.array(out)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Return the least-squares slope of ``log y`` against ``log x`` (a power law's exponent).

    Args:
        x: Positive values (e.g. batch sizes).
        y: Positive values (e.g. gradient noise).

    Returns:
        The slope: -1 for ``y`` proportional to ``1 / x``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def plot_surface(
    alphas: np.ndarray, losses: np.ndarray, *, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Draw a 2-D slice as filled contours of log10(loss), the centre marked.

    Args:
        alphas: The coordinates of both axes, shape ``(n,)``.
        losses: Shape ``(n, n)``, as the ``surface`` of :func:`loss_slices`.
        ax: Axes to draw on (a new figure if None).
        title: Title of the panel.

    Returns:
        The Axes.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    if ax is None:
        _, ax = plt.subplots()
    cs = ax.contourf(alphas, alphas, np.log10(losses), levels=12, cmap="viridis")
    ax.plot([0], [0], "w+", markersize=10)
    ax.figure.colorbar(cs, ax=ax, label="log10 loss")
    ax.set_xlabel("a (direction 1)")
    ax.set_ylabel("b (direction 2)")
    ax.set_aspect("equal")
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax
