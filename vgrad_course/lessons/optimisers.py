"""How the optimiser sets the scale of each layer's step: SGD, momentum, RMSprop and Adam.

In Keras' conventions, with ``t`` counting steps from 1 (defaults: the constants below):
SGD ``w -= lr g``; momentum ``u = mu u - lr g; w += u``; RMSprop ``v = rho v + (1 - rho) g**2;
w -= lr g / sqrt(v + eps)``; Adam ``m += (1 - b1)(g - m); v += (1 - b2)(g**2 - v);
w -= lr sqrt(1 - b2**t) / (1 - b1**t) m / (sqrt(v) + eps)``. SGD and momentum scale the step
with the gradient; RMSprop and Adam divide it by the gradient's running root mean square, down
to a floor that ``eps`` sets (``sqrt(eps)`` for RMSprop). :func:`train_optimisers` trains one
plain MLP under several optimisers and seeds at once: like
:mod:`vgrad_course.lessons.clipping_runs`, it stacks the weights of every (optimiser, seed)
pair into one compiled step, traced once; the tests check it against Keras' optimizers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from vgrad_course import probes, training
from vgrad_course.lessons.clipping_runs import batch_indices
from vgrad_course.validation import check_choice, check_int, check_positive

#: Keras' defaults (``make_optimizer`` uses momentum 0.9): SGD's momentum, RMSprop's ``rho``,
#: Adam's ``beta_1`` and ``beta_2``, and the ``epsilon`` of RMSprop and Adam.
MOMENTUM, RHO, BETA_1, BETA_2, EPSILON = 0.9, 0.9, 0.9, 0.999, 1e-7
_ACTIVATIONS = {"sigmoid": tf.sigmoid, "tanh": tf.tanh, "relu": tf.nn.relu}
Schedule = keras.optimizers.schedules.LearningRateSchedule


@dataclass(frozen=True, kw_only=True)
class Optimiser:
    """One optimiser of the comparison: a Keras rule, its learning rate and its ``epsilon``.

    Attributes:
        name: ``"sgd"``, ``"momentum"``, ``"rmsprop"`` or ``"adam"`` (as in
            :func:`vgrad_course.training.make_optimizer`).
        lr: A learning rate, or a Keras schedule such as
            :class:`vgrad_course.lessons.warmup.LinearWarmup`.
        epsilon: For ``"rmsprop"`` and ``"adam"``: the constant of the denominator.
        frozen: Hidden layers (counted from 1) whose weights and biases are not updated.

    Used in: "How the optimiser sets the scale".
    """

    name: str
    lr: float | Schedule
    epsilon: float = EPSILON
    frozen: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_choice("name", self.name, training.OPTIMIZERS)
        if not isinstance(self.lr, Schedule):
            check_positive("lr", self.lr)
        check_positive("epsilon", self.epsilon)
        for layer in self.frozen:
            check_int("frozen layer", layer)

    def lr_at(self, steps: int) -> np.ndarray:
        """Return the learning rates of the first ``steps`` steps, shape ``(steps,)``, float32.

        A schedule is called with the step counts 0, 1, ..., as Keras calls it.
        """
        count = np.arange(check_int("steps", steps))
        if isinstance(self.lr, Schedule):
            return np.asarray(self.lr(count), dtype=np.float32)
        return np.full(len(count), self.lr, dtype=np.float32)

    def keras(self) -> keras.optimizers.Optimizer:
        """Return a new Keras optimizer (``make_optimizer``) that takes this rule's steps."""
        fixed = isinstance(self.lr, float | int)
        eps = self.epsilon if self.name in ("rmsprop", "adam") else None
        optimizer = training.make_optimizer(self.name, self.lr if fixed else 1.0, epsilon=eps)
        if not fixed:
            optimizer.learning_rate = self.lr
        return optimizer


def step_response(optimiser: Optimiser, grads: np.ndarray, *, steps: int) -> np.ndarray:
    """Let Keras' optimizer step on constant gradients; return its last step over the rate.

    Args:
        optimiser: The rule (its ``keras()`` optimizer takes the steps).
        grads: One constant gradient per parameter (1-D).
        steps: Number of steps (the last one is returned).

    Returns:
        ``|step| / lr`` of each parameter at step ``steps``.

    Used in: "How the optimiser sets the scale".
    """
    g = tf.constant(np.asarray(grads, dtype=np.float32))
    w, opt = keras.Variable(tf.zeros_like(g)), optimiser.keras()
    for _ in range(check_int("steps", steps)):
        before = w.numpy()
        opt.apply_gradients([(g, w)])
    lr = optimiser.lr_at(steps)[-1]
    return np.abs(w.numpy().astype(np.float64) - before) / lr


@dataclass(frozen=True)
class Runs:
    """What :func:`train_optimisers` recorded for one optimiser: one row per seed.

    Attributes:
        loss: ``(seeds, steps)``: the batch loss before each step.
        update_ratio: ``(seeds, steps, layers)``: ``log10(||dW|| / ||W||)`` of each hidden
            kernel, as :class:`vgrad_course.probes.UpdateRatioTracker` records it.
        step: ``(seeds, steps, layers)``: RMS of a hidden kernel's step over the learning rate.
        floor_ratio: ``(seeds, probes, layers)``: after each of ``probe_steps``, the mean over
            a hidden kernel's entries of ``log10(sqrt(v) / eps)`` (Adam) or ``log10(sqrt(v /
            eps))`` (RMSprop): below 0, ``eps`` outweighs the gradient's scale. NaN for SGD.
        floor_share: ``(seeds, probes, layers)``: the fraction of entries below 0 there.
        probe_steps: The steps (from 1) after which the floor was probed.
        weights: The final kernel and bias of each layer, each ``(seeds, ...)``.
    """

    loss: np.ndarray
    update_ratio: np.ndarray
    step: np.ndarray
    floor_ratio: np.ndarray
    floor_share: np.ndarray
    probe_steps: tuple[int, ...]
    weights: list[np.ndarray]


def _weights(model: keras.Model) -> tuple[list[np.ndarray], str]:
    """The kernels and biases of a plain MLP (output layer last) and its hidden activation."""
    hidden = probes.hidden_layers(model)
    acts = {a.activation.__name__ for a in probes.hidden_layers(model, prefix="act_")}
    output = model.get_layer("output")
    plain = all(isinstance(layer, keras.layers.Dense) and layer.use_bias for layer in hidden)
    if not plain or len(acts) != 1 or output.activation is not keras.activations.linear:
        raise ValueError("train_optimisers needs a plain build_mlp MLP (no batch norm, residual)")
    activation = check_choice("activation", acts.pop(), tuple(_ACTIVATIONS))
    arrays = [w for layer in [*hidden, output] for w in (layer.kernel, layer.bias)]
    return [np.asarray(w, dtype=np.float32) for w in arrays], activation


def train_optimisers(
    build: Callable[[int], keras.Model],
    x: np.ndarray,
    y: np.ndarray,
    *,
    optimisers: Mapping[str, Optimiser],
    seeds: Sequence[int],
    steps: int,
    batch_size: int,
    probe_steps: Sequence[int] = (),
) -> dict[str, Runs]:
    """Train the MLP ``build(seed)`` under every optimiser and seed, all in one compiled step.

    Every (optimiser, seed) pair starts from the weights of ``build(seed)`` and sees the
    batches of :func:`vgrad_course.lessons.clipping_runs.batch_indices` for that seed, so the
    optimisers of one seed differ only in how they step. The loss is the cross-entropy of the
    logits, averaged over the batch, as :func:`vgrad_course.training.classification_loss`.

    Args:
        build: ``seed -> uncompiled plain MLP`` from :func:`vgrad_course.models.build_mlp`.
        x: Training inputs, ``(n, features)``.
        y: Integer labels, ``(n,)``.
        optimisers: ``{label: Optimiser}``.
        seeds: The seeds (each shifted by ``VGRAD_SEED_OFFSET`` where it is used).
        steps: Steps per run.
        batch_size: Examples per step.
        probe_steps: Steps (from 1) after which to compare RMSprop's and Adam's running
            squared gradient with the floor ``eps`` sets.

    Returns:
        ``{label: Runs}``.

    Used in: "How the optimiser sets the scale".
    """
    labels, seeds = list(optimisers), [int(s) for s in seeds]
    if not labels or not seeds:
        raise ValueError("give at least one optimiser and one seed")
    steps, opts = check_int("steps", steps), [optimisers[k] for k in labels]
    if not all(isinstance(o, Optimiser) for o in opts):
        raise TypeError("optimisers must map labels to optimisers.Optimiser(...) instances")
    probe_steps = tuple(check_int("probe step", p) for p in probe_steps)
    if any(p > steps for p in probe_steps):
        raise ValueError(f"probe_steps must lie in 1..{steps}, got {probe_steps}")
    built = [_weights(build(s)) for s in seeds]
    if len({(act, tuple(w.shape for w in ws)) for ws, act in built}) != 1:
        raise ValueError("every seed must build the same network")
    depth, n = len(built[0][0]) // 2 - 1, len(seeds)
    # Model m = (optimiser i, seed j) with m = i * n + j.
    weights = [
        tf.constant(np.concatenate([np.stack([ws[k] for ws, _ in built])] * len(opts)))
        for k in range(2 * depth + 2)
    ]
    first, second = [tf.zeros_like(w) for w in weights], [tf.zeros_like(w) for w in weights]
    fixed, per_step, floor = zip(*(_coefficients(o, depth, steps) for o in opts), strict=True)
    fixed = tf.constant(np.repeat(np.array(fixed, np.float32), n, axis=0))
    per_step = np.repeat(np.stack(per_step, axis=1).astype(np.float32), n, axis=1)
    log_floor = np.repeat(np.log10(floor), n)[:, None]
    order = np.stack([batch_indices(len(x), steps, batch_size, seed=s) for s in seeds], axis=1)
    order = np.tile(order, (1, len(opts), 1))  # (steps, models, batch)
    x_all, y_all = tf.constant(x, tf.float32), tf.constant(y, tf.int64)
    step = _step_function(built[0][1], depth)
    records, floors = [], []
    for t, indices in enumerate(order, start=1):
        xb, yb = tf.gather(x_all, indices), tf.gather(y_all, indices)
        weights, first, second, *stats = step(
            weights, first, second, xb, yb, per_step[t - 1], fixed
        )
        records.append([s.numpy() for s in stats])
        for v in second[: 2 * depth : 2] if t in probe_steps else ():  # hidden kernels
            v = v.numpy().reshape(len(log_floor), -1).astype(np.float64)
            ratio = 0.5 * np.log10(v + 1e-60) - log_floor  # log10(sqrt(v) / floor)
            floors.append([ratio.mean(axis=1), (ratio < 0).mean(axis=1)])
    loss, d_norm, w_norm = (np.moveaxis(np.array(r), 0, 1) for r in zip(*records, strict=True))
    floors = np.reshape(floors, (len(probe_steps), depth, 2, len(log_floor))).transpose(3, 0, 1, 2)
    sizes = np.array([w.shape[1] * w.shape[2] for w in weights[: 2 * depth : 2]])
    out = {}
    for i, (label, opt) in enumerate(zip(labels, opts, strict=True)):
        rows = slice(i * n, (i + 1) * n)
        adaptive = 1.0 if opt.name in ("rmsprop", "adam") else np.nan
        out[label] = Runs(
            loss=loss[rows],
            update_ratio=np.log10(np.maximum(d_norm[rows] / w_norm[rows], 1e-30)),
            step=d_norm[rows] / np.sqrt(sizes) / opt.lr_at(steps)[:, None],
            floor_ratio=adaptive * floors[rows, ..., 0],
            floor_share=adaptive * floors[rows, ..., 1],
            probe_steps=probe_steps,
            weights=[w.numpy()[rows] for w in weights],
        )
    return out


def _coefficients(opt: Optimiser, depth: int, steps: int) -> tuple[list, np.ndarray, float]:
    """``opt`` as :func:`_step_function`'s coefficients, ``(c2, s)`` per step and layer, floor."""
    rate = opt.lr_at(steps).astype(np.float64)[:, None] * np.array(
        [i not in opt.frozen for i in range(1, depth + 2)]
    )  # (steps, layers): 0 where frozen
    ones = np.ones_like(rate)
    if opt.name in ("sgd", "momentum"):
        mu = MOMENTUM if opt.name == "momentum" else 0.0
        return [mu, 0.0, 0.0, 1.0, 0.0], np.stack([-rate, ones], axis=-1), 1.0
    eps = opt.epsilon
    if opt.name == "rmsprop":
        return [0.0, RHO, 1 - RHO, eps, 0.0], np.stack([ones, -rate], -1), np.sqrt(eps)
    t = np.arange(1, steps + 1, dtype=np.float64)[:, None]
    s = -rate * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
    return [BETA_1, BETA_2, 1 - BETA_2, 0.0, eps], np.stack([(1 - BETA_1) * ones, s], -1), eps


@functools.cache
def _step_function(activation: str, depth: int) -> Callable:
    """Compile (once per activation and depth) one step of every stacked model.

    The four rules are one update with per-model coefficients: ``a <- c1 a + c2 g``,
    ``v <- c3 v + c4 g**2``, ``w <- w + s a / (sqrt(v + eps_in) + eps_out)``. SGD and
    momentum: ``c2 = -lr, s = 1, v = 0, eps_in = 1``; RMSprop: ``a = g, s = -lr, eps_in = eps``;
    Adam: ``s = -lr sqrt(1 - b2**t) / (1 - b1**t), eps_out = eps``. Inputs: the stacked
    weights and two state slots, lists of ``(models, ...)`` tensors; a batch per model;
    ``(c2, s)`` per model and layer; ``(c1, c3, c4, eps_in, eps_out)`` per model.
    """
    spec = tf.TensorSpec
    state = [spec([None] * r, tf.float32) for _ in range(depth + 1) for r in (3, 2)]
    batch = [spec([None, None, None], tf.float32), spec([None, None], tf.int64)]
    coefficients = [spec([None, depth + 1, 2], tf.float32), spec([None, 5], tf.float32)]
    act = _ACTIVATIONS[activation]

    @tf.function(input_signature=[state] * 3 + batch + coefficients, autograph=False)
    def step(weights, first, second, xb, yb, per_layer, fixed):  # noqa: ANN001, ANN202
        with tf.GradientTape() as tape:
            tape.watch(weights)
            h = xb
            for k in range(0, 2 * depth, 2):
                h = act(tf.matmul(h, weights[k]) + weights[k + 1][:, None, :])
            logits = tf.matmul(h, weights[-2]) + weights[-1][:, None, :]
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(yb, logits)
            loss = tf.reduce_mean(ce, axis=1)  # one loss per model
            total = tf.reduce_sum(loss)  # model m's weights see loss m only
        grads = tape.gradient(total, weights)
        new, new_first, new_second, d_norm, w_norm = [], [], [], [], []
        for k, (w, a, v, g) in enumerate(zip(weights, first, second, grads, strict=True)):
            shape = [-1] + [1] * (g.shape.rank - 1)
            c1, c3, c4, eps_in, eps_out = tf.unstack(tf.reshape(fixed, [-1, 5, *shape[1:]]), axis=1)
            c2, s = tf.unstack(tf.reshape(per_layer[:, k // 2], [-1, 2, *shape[1:]]), axis=1)
            new_first.append(c1 * a + c2 * g)
            new_second.append(c3 * v + c4 * tf.square(g))
            delta = (s * new_first[-1]) / (tf.sqrt(new_second[-1] + eps_in) + eps_out)
            new.append(w + delta)
            if k % 2 == 0 and k < 2 * depth:  # the hidden kernels
                d_norm.append(tf.norm(delta, axis=[1, 2]))
                w_norm.append(tf.norm(w, axis=[1, 2]))
        return new, new_first, new_second, loss, tf.stack(d_norm, 1), tf.stack(w_norm, 1)

    return step
