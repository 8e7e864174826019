"""The loss along the gradient direction, with and without batch norm (Santurkar et al. 2018).

Santurkar et al. measured, at points of a training run, how the loss and its gradient change
when the weights move along the negative gradient: the spread of ``L(w - s g)`` over a range
of step sizes ``s`` (the "loss landscape"), the largest ``|grad L(w - s g) - grad L(w)|``
(the gradient's "predictiveness") and its ratio to the distance moved, ``|s g|`` (an
"effective beta-smoothness"). They found all three smaller with batch norm.

This module holds the loss and gradients of a *stack* of small MLPs (many models evaluated in
one call, each on its own batch: the networks :mod:`vgrad_course.lessons.scale_invariance`
trains) and those measurements, taken at the snapshots of such a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from vgrad_course.validation import check_positive

if TYPE_CHECKING:  # only for the annotation: scale_invariance imports this module
    from vgrad_course.lessons.scale_invariance import Runs

#: Keras' BatchNormalization epsilon, added to the batch variance.
EPSILON = 1e-3


def _forward(
    ws: list[tf.Tensor], bn: tf.Tensor, xb: tf.Tensor, ref: tf.Tensor | None = None
) -> tf.Tensor:
    """Logits ``(models, batch, classes)``; BN statistics from ``ref`` if given, else the batch.

    ``ws`` holds, stacked over models: the hidden kernels, the BN scales (ignored by plain
    models), the shifts (BN beta or Dense bias), the output kernel and bias.
    """
    depth = (len(ws) - 2) // 3
    flag = bn[:, None, None]
    h, r = xb, ref
    for i in range(depth):
        gamma, shift = ws[depth + i][:, None], ws[2 * depth + i][:, None]
        zs = [tf.matmul(h, ws[i])] + ([] if r is None else [tf.matmul(r, ws[i])])
        mean, var = tf.nn.moments(zs[-1], axes=[1], keepdims=True)
        outs = [
            tf.nn.relu(flag * gamma * (z - mean) / tf.sqrt(var + EPSILON) + (1 - flag) * z + shift)
            for z in zs
        ]
        h, r = outs[0], (None if r is None else outs[1])
    return tf.matmul(h, ws[-2]) + ws[-1][:, None]


@tf.function(reduce_retracing=True)
def loss_and_grads(
    ws: list[tf.Tensor], bn: tf.Tensor, xb: tf.Tensor, yb: tf.Tensor
) -> tuple[tf.Tensor, list[tf.Tensor]]:
    """Return each stacked model's batch-mean loss ``(models,)`` and the gradients of ``ws``.

    Args:
        ws: Stacked weights (see :attr:`vgrad_course.lessons.scale_invariance.Runs.weights`),
            each of shape ``(models, ...)``.
        bn: 1.0 for a batch-normalised model, 0.0 for a plain one, shape ``(models,)``.
        xb: Each model's batch, ``(models, batch, features)``.
        yb: Its integer labels, ``(models, batch)``.

    Returns:
        ``(loss, grads)``: cross-entropy on logits with training-mode BN, as Keras computes
        it for ``build_mlp(..., activation="relu")``.

    Used in: "Batch norm's scale invariance, the effective learning rate, and weight decay".
    """
    with tf.GradientTape() as tape:
        tape.watch(ws)
        logits = _forward(ws, bn, xb)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, logits), axis=1)
        total = tf.reduce_sum(loss)  # model m's weights only see loss m
    return loss, tape.gradient(total, ws)


def accuracy(ws: list[tf.Tensor], bn: tf.Tensor, x: np.ndarray, data: tuple) -> np.ndarray:
    """Return each stacked model's accuracy on ``data``, BN statistics taken on all of ``x``.

    Args:
        ws: Stacked weights, as for :func:`loss_and_grads`.
        bn: 1.0 / 0.0 per model.
        x: The training inputs whose statistics BN uses (what chapter 10's
            ``normalization.recalibrate`` sets as moving statistics).
        data: ``(x_eval, y_eval)``.

    Returns:
        float64 array ``(models,)``.

    Used in: "Batch norm's scale invariance, the effective learning rate, and weight decay".
    """
    x_eval, y_eval = np.asarray(data[0], np.float32), np.asarray(data[1])
    m = int(bn.shape[0])
    tile = lambda a: tf.tile(tf.constant(a, tf.float32)[None], [m, 1, 1])  # noqa: E731
    logits = _forward(ws, bn, tile(x_eval), tile(x)).numpy()
    return np.mean(logits.argmax(-1) == y_eval[None], axis=1)


def _square_norm(tensors: Sequence[tf.Tensor]) -> tf.Tensor:
    """Sum of squares over every axis but the first (the model axis)."""
    return tf.add_n(
        [tf.reduce_sum(tf.square(t), axis=list(range(1, t.shape.rank))) for t in tensors]
    )


def along_gradient(runs: Runs, x: np.ndarray, y: np.ndarray, *, steps: Sequence[float]) -> dict:
    """At every snapshot of a run, move all weights along ``-g`` and measure loss and gradient.

    At the weights ``w`` kept before step ``t`` and on that step's batch, ``g = grad L(w)``;
    for each step size ``s``: ``L(w - s g)`` and ``|grad L(w - s g) - g|``.

    Args:
        runs: One variant of :func:`vgrad_course.lessons.scale_invariance.train_runs`, trained
            with ``snapshot_every``.
        x: The training inputs it was trained on.
        y: Their labels.
        steps: Step sizes ``s > 0``.

    Returns:
        ``{"step": (k,), "checkpoint": (c,), "loss": (seeds, c, k + 1)`` with ``s = 0``
        first, ``"grad_change": (seeds, c, k), "grad_norm": (seeds, c)}``.

    Used in: "Batch norm's scale invariance, the effective learning rate, and weight decay".
    """
    s = np.array([check_positive("step", float(v)) for v in steps], np.float32)
    checkpoints = sorted(runs.snapshots)
    if not checkpoints:
        raise ValueError("the run has no snapshots: train it with snapshot_every=...")
    x_all, y_all, k = tf.constant(x, tf.float32), tf.constant(y, tf.int64), len(s)
    loss, change, norm = [], [], []
    for t in checkpoints:
        ws = [tf.constant(w) for w in runs.snapshots[t]]
        m = int(ws[0].shape[0])
        bn = tf.fill([m], float(runs.batch_norm))
        xb, yb = tf.gather(x_all, runs.batches[t]), tf.gather(y_all, runs.batches[t])
        l0, g0 = loss_and_grads(ws, bn, xb, yb)
        rep = lambda v: tf.repeat(v, k, axis=0)  # noqa: E731
        size = tf.constant(np.tile(s, m))
        moved = [
            rep(w) - tf.reshape(size, [-1] + [1] * (w.shape.rank - 1)) * rep(g)
            for w, g in zip(ws, g0, strict=True)
        ]
        l1, g1 = loss_and_grads(moved, rep(bn), rep(xb), rep(yb))
        diff = _square_norm([a - rep(b) for a, b in zip(g1, g0, strict=True)])
        loss.append(np.concatenate([l0.numpy()[:, None], l1.numpy().reshape(m, k)], axis=1))
        change.append(np.sqrt(diff.numpy()).reshape(m, k))
        norm.append(np.sqrt(_square_norm(g0).numpy()))
    return {
        "step": s.astype(np.float64),
        "checkpoint": np.array(checkpoints),
        "loss": np.stack(loss, 1).astype(np.float64),
        "grad_change": np.stack(change, 1).astype(np.float64),
        "grad_norm": np.stack(norm, 1).astype(np.float64),
    }


def measures(profile: dict, *, up_to: float | None = None) -> dict[str, np.ndarray]:
    """Santurkar et al.'s three measures from :func:`along_gradient`, for steps ``s <= up_to``.

    Args:
        profile: A result of :func:`along_gradient`.
        up_to: The largest step size included (None: all).

    Returns:
        ``{"loss_variation": max - min of L(w - s g) over s = 0 and the steps,
        "grad_variation": max |grad L(w - s g) - g|, "beta": max |grad L(w - s g) - g| / |s g|}``,
        each of shape ``(seeds, checkpoints)``.

    Used in: "Batch norm's scale invariance, the effective learning rate, and weight decay".
    """
    keep = np.ones(profile["step"].shape, bool) if up_to is None else profile["step"] <= up_to
    if not keep.any():
        raise ValueError(f"no step size is <= up_to={up_to}: steps are {profile['step']}")
    loss = profile["loss"][..., np.concatenate([[True], keep])]
    change = profile["grad_change"][..., keep]
    distance = profile["step"][keep] * profile["grad_norm"][..., None]
    return {
        "loss_variation": loss.max(-1) - loss.min(-1),
        "grad_variation": change.max(-1),
        "beta": (change / distance).max(-1),
    }
