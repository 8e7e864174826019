"""Batch norm's scale invariance: gradients, weight norms and the effective learning rate.

A kernel ``W`` followed by batch normalization (training mode) gives the same output for ``a W``
(``a > 0``): the batch standard deviation is scaled by ``a`` too. So ``<dL/dW, W> = 0`` and
``dL/dW at aW = (1/a) dL/dW at W``; under SGD ``|W_{t+1}|^2 = |W_t|^2 + lr^2 |g_t|^2`` and the
direction ``W/|W|`` moves with the *effective learning rate* ``lr / |W|^2``. Decoupled weight
decay is exactly a run without decay whose kernels follow ``lr (1 - lr wd)^(-2t-1)`` (Li & Arora
2020). All of it holds up to BN's ``epsilon`` (Keras: 1e-3).

:func:`train_runs` trains many (variant, seed) pairs of a ReLU MLP at once: their weights are
stacked and every SGD step of all of them is one compiled function, the step Keras' ``SGD``
takes with ``weight_decay`` restricted to the hidden kernels (the tests compare with Keras).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from vgrad_course import models, probes, training
from vgrad_course.lessons.clipping_runs import batch_indices
from vgrad_course.lessons.smoothness import accuracy, loss_and_grads
from vgrad_course.validation import check_int, check_positive


def scale_check(
    model: keras.Model,
    x: object,
    y: object,
    *,
    scales: Sequence[float] = (0.5, 2.0, 8.0),
    layer: str = "hidden_1",
) -> dict[str, np.ndarray]:
    """Multiply one hidden kernel by each scale; read the loss and its gradient with Keras.

    Training-mode cross-entropy on logits; the gradient from ``probes.kernel_gradients``.
    The kernel and the model's non-trainable state are restored afterwards.

    Args:
        model: A model from :func:`vgrad_course.models.build_mlp` with ``batch_norm=True``.
        x: A batch of inputs.
        y: Integer labels.
        scales: Factors ``a > 0``; the unscaled kernel (``a = 1``) is measured first.
        layer: The hidden layer whose kernel is scaled.

    Returns:
        ``{"scale": (1, *scales), "loss": L(aW), "grad_norm": |dL/dW at aW|,
        "cosine": cos(W, dL/dW at aW)}``, one entry per scale.

    Used in: "Batch norm's scale invariance, the effective learning rate, and weight decay".
    """
    factors = np.array([1.0] + [check_positive("scale", float(a)) for a in scales])
    kernel = model.get_layer(layer).kernel
    w0 = kernel.numpy()
    loss = training.classification_loss()
    saved = [v.numpy() for v in model.non_trainable_variables]
    rows = []
    try:
        for a in factors:
            kernel.assign(a * w0)
            g = probes.kernel_gradients(model, x, y, loss=loss)[layer].astype(np.float64)
            g_norm = np.sqrt(np.sum(g**2))
            value = float(loss(y, model(np.asarray(x), training=True)))
            rows.append((value, g_norm, np.sum(g * w0) / (g_norm * np.sqrt(np.sum(w0**2)))))
    finally:
        kernel.assign(w0)
        for v, value in zip(model.non_trainable_variables, saved, strict=True):
            v.assign(value)
    loss_, grad_norm, cosine = np.array(rows).T
    return {"scale": factors, "loss": loss_, "grad_norm": grad_norm, "cosine": cosine}


def kernel_lr_schedule(lr: float, steps: int, *, weight_decay: float) -> np.ndarray:
    """Return the kernel learning rates that make a run without decay equal one with decay.

    With ``W_t = c_t V_t``, ``c_t = (1 - lr wd)^t``, the decayed step ``W <- (1 - lr wd) W -
    lr g(W)`` and scale invariance (``g(c V) = g(V) / c``) give ``V <- V - lr_t g(V)`` with
    ``lr_t = lr (1 - lr wd)^(-2t-1)``; ``weight_decay=0`` gives the constant ``lr``.

    Args:
        lr: The constant learning rate of the decayed run.
        steps: Number of steps.
        weight_decay: The decoupled decay ``wd`` (Keras ``SGD(weight_decay=wd)``), ``lr wd < 1``.

    Returns:
        float64 array ``(steps,)``: the learning rate of step ``t = 0, 1, ...``.

    Used in: "Batch norm's scale invariance, the effective learning rate, and weight decay".
    """
    shrink = 1.0 - check_positive("lr", lr) * weight_decay
    if weight_decay < 0 or shrink <= 0:
        raise ValueError(f"need 0 <= lr * weight_decay < 1, got {lr} * {weight_decay}")
    return lr * shrink ** (-2.0 * np.arange(check_int("steps", steps)) - 1.0)


@dataclass(frozen=True, kw_only=True)
class Variant:
    """How one family of runs differs from plain SGD on the batch-normalised MLP.

    Attributes:
        batch_norm: Batch-normalise each hidden pre-activation (False: a Dense bias instead).
        weight_decay: Decoupled decay of the hidden kernels, ``W <- W - lr_k (wd W + g)``.
        schedule_of: Give the hidden kernels :func:`kernel_lr_schedule` of this decay (and no
            decay): the run that decay is equivalent to (0: a constant rate).
        kernel_lr_factor: Multiply the hidden kernels' learning rate ``lr_k`` by this.
    """

    batch_norm: bool = True
    weight_decay: float = 0.0
    schedule_of: float = 0.0
    kernel_lr_factor: float = 1.0

    def kernel_lrs(self, lr: float, steps: int) -> np.ndarray:
        """Return the hidden kernels' learning rate at every step, ``(steps,)``."""
        return self.kernel_lr_factor * kernel_lr_schedule(lr, steps, weight_decay=self.schedule_of)


@dataclass
class Runs:
    """What :func:`train_runs` recorded for one variant; axis 0 is the seed.

    Attributes:
        loss: Batch loss before each step, ``(seeds, steps)``.
        kernel_norm: ``|W|`` of each hidden kernel before each step and after the last,
            ``(seeds, steps + 1, depth)``.
        grad_norm: ``|dL/dW|`` of each hidden kernel at each step, ``(seeds, steps, depth)``.
        kernel_lr: The hidden kernels' learning rate of each step, ``(steps,)``.
        test_accuracy: Final accuracy on the evaluation data, ``(seeds,)``.
        weights: Final stacked weights (see :func:`to_keras`), each ``(seeds, ...)``.
        snapshots: ``{step: stacked weights before that step}``.
        batches: Example indices of every step, ``(steps, seeds, batch)``.
        batch_norm: Whether the network is batch-normalised.
    """

    loss: np.ndarray
    kernel_norm: np.ndarray
    grad_norm: np.ndarray
    kernel_lr: np.ndarray
    test_accuracy: np.ndarray
    weights: list[np.ndarray]
    snapshots: dict[int, list[np.ndarray]] = field(repr=False)
    batches: np.ndarray = field(repr=False)
    batch_norm: bool = True

    @property
    def effective_lr(self) -> np.ndarray:
        """``lr_k / |W|^2`` of each hidden kernel before each step, ``(seeds, steps, depth)``."""
        return self.kernel_lr[None, :, None] / self.kernel_norm[:, :-1] ** 2


def _slots(model: keras.Model, depth: int, batch_norm: bool) -> list[keras.Variable | None]:
    """Keras variables in :func:`train_runs`' order; None for a plain network's gammas."""
    get = model.get_layer
    idx = range(1, depth + 1)
    gammas = [get(f"bn_{i}").gamma if batch_norm else None for i in idx]
    shifts = [get(f"bn_{i}").beta if batch_norm else get(f"hidden_{i}").bias for i in idx]
    kernels = [get(f"hidden_{i}").kernel for i in idx]
    return kernels + gammas + shifts + [get("output").kernel, get("output").bias]


def to_keras(runs: Runs, seed_index: int) -> keras.Model:
    """Put one run's final weights into a :func:`vgrad_course.models.build_mlp` model.

    The BN moving statistics keep Keras' initial values: set them with chapter 10's
    ``normalization.recalibrate`` before using inference mode.

    Args:
        runs: A result of :func:`train_runs`.
        seed_index: Which seed (its position in ``seeds``).

    Returns:
        A ReLU model that computes, in training mode, what the stacked run computes.

    Used in: "Batch norm's scale invariance, the effective learning rate, and weight decay".
    """
    depth = runs.kernel_norm.shape[-1]
    arrays = [w[seed_index] for w in runs.weights]
    (input_dim, width), classes = arrays[0].shape, arrays[-1].size
    dims = {"input_dim": input_dim, "output_dim": classes, "activation": "relu"}
    model = models.build_mlp(depth, width, **dims, batch_norm=runs.batch_norm)
    for variable, value in zip(_slots(model, depth, runs.batch_norm), arrays, strict=True):
        if variable is not None:
            variable.assign(value)
    return model


@tf.function(reduce_retracing=True)
def _step(ws, bn, xb, yb, lr, kernel_lr, decay):  # noqa: ANN001, ANN202
    """One SGD step of every model; hidden kernels use ``kernel_lr`` and ``decay`` per model."""
    depth = (len(ws) - 2) // 3
    loss, grads = loss_and_grads(ws, bn, xb, yb)
    new, stats = [], []
    for k, (w, g) in enumerate(zip(ws, grads, strict=True)):
        if k >= depth:
            new.append(w - lr * g)
            continue
        stats.append([tf.norm(w, axis=[1, 2]), tf.norm(g, axis=[1, 2])])
        new.append(w - kernel_lr[:, None, None] * (decay[:, None, None] * w + g))
    return new, loss, [tf.stack(s, 1) for s in zip(*stats, strict=True)]


def _initial(seeds: list[int], flag: bool, depth: int, width: int, dims: dict) -> list:
    """Stacked initial weights of ``build_mlp(seed)`` for every seed (Keras' initializers)."""
    built = []
    for seed in seeds:
        model = models.build_mlp(depth, width, **dims, batch_norm=flag, seed=seed)
        slots = _slots(model, depth, flag)
        built.append([np.ones(width) if v is None else np.asarray(v) for v in slots])
    return [np.stack(arrays).astype(np.float32) for arrays in zip(*built, strict=True)]


def train_runs(
    x: np.ndarray,
    y: np.ndarray,
    variants: Mapping[str, Variant],
    *,
    seeds: Sequence[int],
    lr: float,
    steps: int,
    batch_size: int,
    eval_data: tuple[np.ndarray, np.ndarray],
    depth: int = 2,
    width: int = 64,
    snapshot_every: int | None = None,
) -> dict[str, Runs]:
    """Train a ReLU MLP with SGD for every (variant, seed) pair, all in one compiled step.

    The runs of a seed start from ``build_mlp(depth, width, activation="relu", seed=seed)``'s
    weights (with or without BN) and see ``clipping_runs.batch_indices`` for that seed; they
    differ only in what their :class:`Variant` changes. Biases, BN scales and shifts and the
    output layer always take plain SGD steps with ``lr``.

    Args:
        x: Training inputs ``(n, features)``.
        y: Integer labels ``(n,)``, ``0 .. classes - 1``.
        variants: ``{label: Variant}``.
        seeds: Seeds (each shifted by ``VGRAD_SEED_OFFSET`` where it is used).
        lr: Learning rate.
        steps: SGD steps per run.
        batch_size: Examples per step.
        eval_data: ``(x_test, y_test)`` for the final accuracy, with BN statistics of all of
            ``x`` (what chapter 10's ``normalization.recalibrate`` sets).
        depth: Hidden layers.
        width: Units per hidden layer.
        snapshot_every: Keep the weights before every this many steps (None: none).

    Returns:
        ``{label: Runs}`` in the order of ``variants``.

    Used in: "Batch norm's scale invariance, the effective learning rate, and weight decay".
    """
    labels, seeds = list(variants), [int(s) for s in seeds]
    if not labels or not seeds:
        raise ValueError("give at least one variant and one seed")
    specs = [variants[k] for k in labels]
    steps, n = check_int("steps", steps), len(seeds)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    dims = {"input_dim": x.shape[1], "output_dim": int(y.max()) + 1, "activation": "relu"}
    init = {f: _initial(seeds, f, depth, width, dims) for f in {v.batch_norm for v in specs}}
    ws = [
        tf.constant(np.concatenate([init[v.batch_norm][k] for v in specs]))
        for k in range(3 * depth + 2)
    ]
    per_model = lambda values: tf.constant(np.repeat(values, n), tf.float32)  # noqa: E731
    bn = per_model([float(v.batch_norm) for v in specs])
    decay = per_model([v.weight_decay for v in specs])
    kernel_lr = np.stack([v.kernel_lrs(lr, steps) for v in specs])  # (variants, steps)
    order = np.stack([batch_indices(len(x), steps, batch_size, seed=s) for s in seeds], axis=1)
    x_all, y_all, lr_t = tf.constant(x), tf.constant(y), tf.constant(lr, tf.float32)
    records, snapshots = [], {}
    for t, idx in enumerate(np.tile(order, (1, len(specs), 1))):
        if snapshot_every and t % snapshot_every == 0:
            snapshots[t] = [w.numpy() for w in ws]
        batch = (tf.gather(x_all, idx), tf.gather(y_all, idx))
        ws, loss, stats = _step(ws, bn, *batch, lr_t, per_model(kernel_lr[:, t]), decay)
        records.append([loss.numpy()] + [s.numpy() for s in stats])
    records = [np.stack(r, 1).astype(np.float64) for r in zip(*records, strict=True)]
    final = np.stack([np.linalg.norm(w.numpy(), axis=(1, 2)) for w in ws[:depth]], 1)
    recorded = {
        "loss": records[0],
        "kernel_norm": np.concatenate([records[1], final[:, None]], axis=1),
        "grad_norm": records[2],
        "test_accuracy": accuracy(ws, bn, x, eval_data),
    }
    out = {}
    for i, label in enumerate(labels):
        part = slice(i * n, (i + 1) * n)
        out[label] = Runs(
            **{name: values[part] for name, values in recorded.items()},
            kernel_lr=kernel_lr[i],
            weights=[w.numpy()[part] for w in ws],
            snapshots={t: [w[part] for w in s] for t, s in snapshots.items()},
            batches=order,
            batch_norm=specs[i].batch_norm,
        )
    return out
