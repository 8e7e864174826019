"""Train one small network under several clipping rules and seeds, all at once.

An exploding run is chaotic: whether a threshold trains, or when the loss overflows, changes
with the seed and with the low bits of the arithmetic. A claim about clipping is therefore a
statistic over seeds. Training every (rule, seed) pair with ``model.fit`` would trace and run
one Keras model per pair; :func:`train_clipped` instead stacks the weights of all pairs and
takes every plain-SGD step of all of them in one compiled function. Two networks are
supported: the recurrent regressor of :func:`vgrad_course.models.build_rnn` (a ``SimpleRNN``
read by a ``Dense`` head) and the deep linear chain of
:func:`vgrad_course.lessons.jacobians.build_deep_linear` (bias-free linear ``Dense`` layers).
The step is Keras' ``SGD`` with its ``clipvalue`` / ``clipnorm`` / ``global_clipnorm``
options, and the tests check both networks against Keras.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_int

#: The clipping options of a Keras optimizer that :func:`train_clipped` reproduces.
CLIP_OPTIONS: tuple[str, ...] = ("clipvalue", "clipnorm", "global_clipnorm")
#: What :func:`train_clipped` records at every step of every run, in this order.
RECORDED: tuple[str, ...] = ("loss", "grad_norm", "clipped", "clipped_norm", "cosine")


def first_step_above(values: Sequence[float] | np.ndarray, limit: float = np.inf) -> int | None:
    """Return the first index whose value is above ``limit`` or not finite; None if there is none.

    ``np.argmax(~np.isfinite(v))`` is 0 both when the first value overflowed and when none
    did; this function tells the two apart.

    Args:
        values: A sequence of numbers, e.g. the gradient norm of every training step.
        limit: Values above it count as well (the default, ``inf``: only inf/NaN count).

    Returns:
        The index of the first such value, or None if every value is finite and ``<= limit``.

    Used in: "Gradient clipping".
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    bad = ~np.isfinite(v) | (v > limit)
    return int(np.argmax(bad)) if bad.any() else None


def epoch_loss(
    run: Mapping[str, np.ndarray], steps_per_epoch: int, *, epoch: int = -1
) -> np.ndarray:
    """Return the mean batch loss of one epoch for every seed, as Keras' history reports it.

    Args:
        run: One entry of :func:`train_clipped`'s result (``{"loss": (seeds, steps), ...}``).
        steps_per_epoch: Steps that make one epoch (training examples // batch size).
        epoch: Which epoch (``-1``: the last, ``0``: the first).

    Returns:
        An array with one loss per seed (NaN or inf where a run diverged).

    Used in: "Gradient clipping".
    """
    loss = np.asarray(run["loss"], dtype=np.float64)
    epochs = loss.shape[-1] // steps_per_epoch
    if steps_per_epoch < 1 or epochs < 1:
        raise ValueError(f"{loss.shape[-1]} steps hold no epoch of {steps_per_epoch} steps")
    if not -epochs <= epoch < epochs:
        raise ValueError(f"epoch {epoch} out of range for {epochs} epochs")
    start = (epoch % epochs) * steps_per_epoch
    return loss[..., start : start + steps_per_epoch].mean(axis=-1)


def _weights(model: keras.Model) -> tuple[list[np.ndarray], str]:
    """The weight arrays of a supported network and its kind: the RNN's activation or "linear"."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if layers and all(
        isinstance(layer, keras.layers.Dense)
        and not layer.use_bias
        and layer.activation is keras.activations.linear
        for layer in layers
    ):
        return [np.asarray(layer.kernel, dtype=np.float32) for layer in layers], "linear"
    names = {layer.name: layer for layer in layers}
    rnn, head = names.get("rnn"), names.get("head")
    if (
        not isinstance(rnn, keras.layers.SimpleRNN)
        or not isinstance(head, keras.layers.Dense)
        or head.activation is not keras.activations.linear
    ):
        raise ValueError(
            "train_clipped needs a SimpleRNN layer 'rnn' and a linear Dense 'head', "
            "or a chain of bias-free linear Dense layers"
        )
    activation = rnn.cell.activation.__name__
    if activation not in ("tanh", "relu"):
        raise ValueError(f"unsupported recurrent activation {activation!r}")
    cell = rnn.cell
    arrays = [cell.kernel, cell.recurrent_kernel, cell.bias, head.kernel, head.bias]
    return [np.asarray(w, dtype=np.float32) for w in arrays], activation


def _per_model(
    rules: Sequence[Mapping[str, float | Sequence[float]]], n_seeds: int
) -> dict[str, np.ndarray]:
    """One threshold per (rule, seed) pair and clipping kind; ``inf`` where a rule does not clip."""
    out = {}
    for kind in CLIP_OPTIONS:
        rows = []
        for rule in rules:
            value = np.asarray(rule.get(kind, np.inf), dtype=np.float32)
            if value.ndim > 1 or value.size not in (1, n_seeds):
                raise ValueError(f"{kind} must be one number or one per seed, got {value}")
            if not np.all(value > 0):
                raise ValueError(f"{kind} must be > 0, got {value}")
            rows.append(np.broadcast_to(value, (n_seeds,)))
        out[kind] = np.concatenate(rows)
    return out


def batch_indices(n: int, steps: int, batch_size: int, *, seed: int = 0) -> np.ndarray:
    """Return the example indices of every step: a new seeded permutation each epoch.

    Args:
        n: Number of training examples.
        steps: Number of SGD steps.
        batch_size: Examples per step (at most ``n``; an incomplete last batch is dropped).
        seed: Seed of the order (shifted by ``VGRAD_SEED_OFFSET``).

    Returns:
        An int array of shape ``(steps, batch_size)``.

    Used in: "Gradient clipping" (through :func:`train_clipped`).
    """
    if check_int("batch_size", batch_size) > n:
        raise ValueError(f"batch_size must be at most n={n}, got {batch_size}")
    rng = make_rng(seed)
    per_epoch = n // batch_size
    epochs = -(-steps // per_epoch)
    order = [rng.permutation(n)[: per_epoch * batch_size] for _ in range(epochs)]
    return np.concatenate(order).reshape(-1, batch_size)[:steps]


def train_clipped(
    build: Callable[[int], keras.Model],
    x: np.ndarray,
    y: np.ndarray,
    *,
    options: Mapping[str, Mapping[str, float | Sequence[float]]],
    seeds: Sequence[int],
    lr: float,
    steps: int,
    batch_size: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Train the network ``build(seed)`` with plain SGD under every clipping rule and seed.

    Each (rule, seed) pair starts from the weights of ``build(seed)`` and sees the batches of
    :func:`batch_indices` for that seed, so the rules of one seed differ only in how they clip.
    The loss is the mean squared error; a step is ``w -= lr * clip(g)`` exactly as Keras'
    ``SGD(learning_rate=lr, **rule)`` takes it.

    Args:
        build: ``seed -> uncompiled model``: :func:`vgrad_course.models.build_rnn` with cell
            ``"simple"`` or ``"irnn"`` and a linear head, or
            :func:`vgrad_course.lessons.jacobians.build_deep_linear`.
        x: Inputs of shape ``(n, seq_len, features)`` (RNN) or ``(n, features)`` (linear).
        y: Targets of shape ``(n, outputs)``.
        options: ``{label: rule}``, a rule being ``{}`` (no clipping) or one of
            ``{"clipvalue": c}``, ``{"clipnorm": c}``, ``{"global_clipnorm": c}``; ``c`` is one
            number or one per seed (e.g. a threshold read off each seed's own norms).
        seeds: The seeds (each shifted by ``VGRAD_SEED_OFFSET`` where it is used).
        lr: Learning rate.
        steps: SGD steps per run.
        batch_size: Examples per step.

    Returns:
        ``{label: {name: array of shape (len(seeds), steps)}}`` with, for every step: ``loss``,
        the batch loss before the step; ``grad_norm``, the global norm of the raw gradient;
        ``clipped``, whether the rule changed the gradient; ``clipped_norm``, the global norm
        of the gradient the step used; ``cosine``, the cosine between that gradient and the
        raw one (1: same direction).

    Used in: "Gradient clipping".
    """
    labels = list(options)
    rules = [dict(options[k]) for k in labels]
    for label, rule in zip(labels, rules, strict=True):
        unknown = sorted(set(rule) - set(CLIP_OPTIONS))
        if unknown or len(rule) > 1:
            raise ValueError(f"rule {label!r} must set at most one of {CLIP_OPTIONS}, got {rule}")
    seeds = [int(s) for s in seeds]
    if not labels or not seeds:
        raise ValueError("give at least one rule and one seed")
    built = [_weights(build(s)) for s in seeds]
    if len({(kind, tuple(w.shape for w in ws)) for ws, kind in built}) != 1:
        raise ValueError("every seed must build the same network")
    # Model m = (rule i, seed j) with m = i * len(seeds) + j.
    weights = [
        tf.constant(np.concatenate([np.stack([ws[k] for ws, _ in built])] * len(rules)))
        for k in range(len(built[0][0]))
    ]
    limits = [tf.constant(v) for v in _per_model(rules, len(seeds)).values()]
    order = np.stack([batch_indices(len(x), steps, batch_size, seed=s) for s in seeds], axis=1)
    order = np.tile(order, (1, len(rules), 1))  # (steps, models, batch)
    x_all, y_all = tf.constant(x, tf.float32), tf.constant(y, tf.float32)
    ranks = tuple(len(w.shape) for w in weights)
    step = _step_function(built[0][1], ranks, tuple(x_all.shape[1:]), y_all.shape[1])
    lr_t = tf.constant(lr, tf.float32)
    records = []
    for indices in order:
        weights, *stats = step(
            weights, limits, tf.gather(x_all, indices), tf.gather(y_all, indices), lr_t
        )
        records.append([v.numpy() for v in stats])
    shape = (len(rules), len(seeds), steps)
    out = {label: {} for label in labels}
    for k, name in enumerate(RECORDED):
        values = np.asarray([r[k] for r in records], bool if name == "clipped" else np.float64)
        for i, label in enumerate(labels):
            out[label][name] = values.T.reshape(shape)[i]
    return out


def _forward(kind: str, weights: list[tf.Tensor], xb: tf.Tensor) -> tf.Tensor:
    """The outputs ``(models, batch, outputs)`` of every stacked model on its own batch."""
    if kind == "linear":
        h = xb  # (models, batch, features)
        for kernel in weights:
            h = tf.matmul(h, kernel)
        return h
    act = tf.tanh if kind == "tanh" else tf.nn.relu
    kernel, recurrent, bias, head, head_bias = weights
    # The input part of every time step at once: (time, models, batch, units).
    z = tf.einsum("mbti,mij->tmbj", xb, kernel) + bias[:, None, :]
    h = act(z[0])  # the state before the first step is zero
    for z_t in tf.unstack(z)[1:]:
        h = act(z_t + tf.matmul(h, recurrent))
    return tf.einsum("mbj,mjo->mbo", h, head) + head_bias[:, None, :]


@functools.cache
def _step_function(
    kind: str, ranks: tuple[int, ...], example_shape: tuple[int, ...], outputs: int
) -> Callable:
    """Compile (once per network shape) one SGD step of every stacked model.

    The number of models, the widths and the batch size are left open, so one trace serves
    every call of :func:`train_clipped` with that network in a session. Inputs: the stacked
    weights, the three per-model limits (clipvalue, clipnorm, global_clipnorm), a batch per
    model and the learning rate; outputs: the updated weights and the :data:`RECORDED`
    statistics of each model.
    """
    spec = tf.TensorSpec
    signature = [
        [spec([None] * r, tf.float32) for r in ranks],  # stacked weights: (models, ...)
        [spec([None], tf.float32)] * 3,  # clipvalue, clipnorm, global_clipnorm per model
        spec([None, None, *example_shape], tf.float32),  # x: (models, batch, ...)
        spec([None, None, outputs], tf.float32),  # y: (models, batch, outputs)
        spec([], tf.float32),  # learning rate
    ]

    def expand(v: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
        return tf.reshape(v, [-1] + [1] * (like.shape.rank - 1))

    def per_model(t: tf.Tensor, reduce: Callable = tf.reduce_sum) -> tf.Tensor:
        return reduce(t, axis=list(range(1, t.shape.rank)))

    @tf.function(input_signature=signature, autograph=False)  # plain Python loops: no autograph
    def step(weights, limits, xb, yb, lr):  # noqa: ANN001, ANN202
        value, var_norm, glob = limits
        with tf.GradientTape() as tape:
            tape.watch(weights)
            out = _forward(kind, weights, xb)
            loss = tf.reduce_mean(tf.square(out - yb), axis=[1, 2])  # one loss per model
            total = tf.reduce_sum(loss)  # model m's weights only see loss m
        grads = tape.gradient(total, weights)
        squares = [per_model(tf.square(g)) for g in grads]
        norm = tf.sqrt(tf.add_n(squares))  # the raw global norm of each model
        scale = tf.where(norm > glob, glob / norm, tf.ones_like(norm))
        clipped, dot, used = norm > glob, tf.zeros_like(norm), tf.zeros_like(norm)
        new = []
        for w, g, sq in zip(weights, grads, squares, strict=True):
            var_scale = tf.where(sq > var_norm**2, var_norm / tf.sqrt(sq), tf.ones_like(sq))
            c = g * expand(scale * var_scale, g)
            cut = per_model(tf.abs(c) > expand(value, g), tf.reduce_any)
            clipped = clipped | (sq > var_norm**2) | cut
            c = tf.clip_by_value(c, -expand(value, g), expand(value, g))
            dot, used = dot + per_model(g * c), used + per_model(tf.square(c))
            new.append(w - lr * c)
        cosine = dot / (norm * tf.sqrt(used))
        return new, loss, norm, clipped, tf.sqrt(used), cosine

    return step
