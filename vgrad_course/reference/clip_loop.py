"""Lab 4, "Clip it yourself": a training loop that clips by global norm, and the exploding RNN.

The loop is plain SGD on a tanh RNN read by a linear head (mean squared error), one batch after
another in the order of the data, each gradient clipped by its global norm with
``tf.clip_by_global_norm`` (Pascanu, Mikolov & Bengio 2013). The lab's students write the same
loop themselves; the reference worker runs this one on the same weights and data and compares
them step by step. The exploding RNN is chapter 07's: 64 tanh units with recurrent gain 1.5 on
the adding problem, SGD with rate 0.05, 3 epochs of batches of 25.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from vgrad_course import data, models
from vgrad_course.reference import InvalidInput
from vgrad_course.seeds import make_rng

#: The exploding RNN's problem: sequences, their length, units, gain, rate, batch, epochs.
EXPLODING: dict[str, float] = {
    "n": 500,
    "seq_len": 50,
    "units": 64,
    "recurrent_scale": 1.5,
    "lr": 0.05,
    "batch_size": 25,
    "epochs": 3,
}


def rnn_from_weights(weights: Sequence[np.ndarray]) -> keras.Model:
    """A ``SimpleRNN`` (tanh) read by a linear ``Dense`` head, holding the given weights.

    Args:
        weights: ``[kernel (features, units), recurrent_kernel (units, units), bias (units,),
            head kernel (units, outputs), head bias (outputs,)]``, Keras' order.

    Returns:
        The model; it reads ``(batch, steps, features)`` for any number of steps.

    Raises:
        InvalidInput: If the shapes do not fit together.

    Used in: "Graded exercises" (lab 4).
    """
    w = [np.asarray(a, dtype=np.float32) for a in weights]
    shapes = [a.shape for a in w]
    if (
        len(w) != 5
        or [len(s) for s in shapes] != [2, 2, 1, 2, 1]
        or shapes[1] != (shapes[0][1],) * 2
        or shapes[2] != (shapes[0][1],)
        or shapes[3][0] != shapes[0][1]
        or shapes[4] != (shapes[3][1],)
    ):
        raise InvalidInput(f"weights of shapes {shapes} do not make a SimpleRNN and a head")
    inputs = keras.Input(shape=(None, shapes[0][0]))
    state = keras.layers.SimpleRNN(shapes[0][1], name="rnn")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(shapes[3][1], name="head")(state))
    model.set_weights(w)
    return model


def clip_reference(grads: Sequence[np.ndarray], max_norm: float) -> tuple[list[np.ndarray], float]:
    """Clip gradients by their global norm with ``tf.clip_by_global_norm``.

    Args:
        grads: The gradient arrays.
        max_norm: The threshold (> 0).

    Returns:
        ``(clipped arrays, global norm before clipping)``.

    Used in: the reference worker, for the checks of lab 4 (graded exercises).
    """
    tensors = [tf.constant(g, dtype=tf.float64) for g in grads]
    clipped, norm = tf.clip_by_global_norm(tensors, max_norm)
    return [c.numpy() for c in clipped], float(norm)


#: One model and one compiled step per weight shapes, reused by every run of those shapes.
_COMPILED: dict[tuple, tuple[keras.Model, Callable]] = {}


def _compiled(shapes: tuple[tuple[int, ...], ...]) -> tuple[keras.Model, Callable]:
    """The model of ``shapes`` and its SGD step clipped by global norm, traced once."""
    if shapes not in _COMPILED:
        model = rnn_from_weights([np.zeros(s) for s in shapes])
        features, outputs = shapes[0][0], shapes[4][0]
        spec = tf.TensorSpec

        @tf.function(
            input_signature=[
                spec([None, None, features], tf.float32),
                spec([None, outputs], tf.float32),
                spec([], tf.float32),
                spec([], tf.float32),
            ]
        )
        def step(xb, yb, lr, limit):  # noqa: ANN001, ANN202
            variables = model.trainable_variables
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(xb, training=True) - yb))
            grads = tape.gradient(loss, variables)
            norm = tf.linalg.global_norm(grads)
            if_inf = tf.where(tf.math.is_inf(limit), norm, limit)  # inf: no clipping
            clipped, _ = tf.clip_by_global_norm(grads, if_inf)
            for v, g in zip(variables, clipped, strict=True):
                v.assign_sub(lr * g)
            return loss, norm

        _COMPILED[shapes] = (model, step)
    return _COMPILED[shapes]


def train_reference(
    weights: Sequence[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    lr: float,
    max_norm: float,
    batch_size: int,
) -> dict[str, object]:
    """Train :func:`rnn_from_weights` with SGD, clipping every gradient by its global norm.

    Step ``k`` uses examples ``k * batch_size`` to ``(k + 1) * batch_size - 1`` (an incomplete
    last batch is dropped); its loss is the batch's mean squared error before the step.

    Args:
        weights: The initial weights (see :func:`rnn_from_weights`).
        x: Inputs ``(n, steps, features)``.
        y: Targets ``(n, outputs)``.
        lr: The learning rate.
        max_norm: The clipping threshold (``inf``: no clipping).
        batch_size: Examples per step.

    Returns:
        ``loss``, ``norm`` (the global norm of the raw gradient) and ``clipped`` (whether
        that norm was above ``max_norm``), one per step, and the final ``weights``.

    Used in: the reference worker, for the checks of lab 4 (graded exercises).
    """
    if not (max_norm > 0 and lr > 0 and batch_size >= 1):
        raise InvalidInput("max_norm, lr and batch_size must be positive")
    rnn_from_weights(weights)  # checks the shapes
    model, step = _compiled(tuple(np.shape(w) for w in weights))
    model.set_weights([np.asarray(w, np.float32) for w in weights])
    x32, y32 = np.asarray(x, np.float32), np.asarray(y, np.float32)
    rate, limit = tf.constant(lr, tf.float32), tf.constant(max_norm, tf.float32)
    losses, norms = [], []
    for k in range(len(x32) // batch_size):
        rows = slice(k * batch_size, (k + 1) * batch_size)
        loss, norm = step(tf.constant(x32[rows]), tf.constant(y32[rows]), rate, limit)
        losses.append(float(loss))
        norms.append(float(norm))
    norm_array = np.asarray(norms)
    return {
        "loss": np.asarray(losses),
        "norm": norm_array,
        "clipped": norm_array > max_norm,
        "weights": [np.asarray(w, dtype=np.float64) for w in model.get_weights()],
    }


def exploding_problem(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Chapter 07's exploding RNN and its data, batches in the order of training.

    Args:
        seed: The seed of the initialisation, the data and the batch order (each shifted by
            ``VGRAD_SEED_OFFSET``).

    Returns:
        ``(weights, x, y)``: the initial weights (Keras' order), and the adding problem's
        ``n`` sequences repeated once per epoch, each epoch in a new seeded order, so that
        one pass of the loop with the budget's batch size is the whole training run.

    Used in: "Graded exercises" (lab 4).
    """
    p = EXPLODING
    n, seq_len = int(p["n"]), int(p["seq_len"])
    x, y = data.adding_problem(n, seq_len, seed=seed)
    model = models.build_rnn(
        "simple",
        int(p["units"]),
        seq_len=seq_len,
        input_dim=2,
        recurrent_scale=p["recurrent_scale"],
        seed=seed,
    )
    rng = make_rng(seed)
    order = np.concatenate([rng.permutation(n) for _ in range(int(p["epochs"]))])
    return [np.asarray(w) for w in model.get_weights()], x[order], y[order]


def first_gradient(seed: int = 0) -> np.ndarray:
    """The squared norm of each variable's raw gradient at the exploding RNN's first step.

    Args:
        seed: As for :func:`exploding_problem`.

    Returns:
        float64 array, one squared norm per weight array (Keras' order): the mean squared
        error of the first batch, before any update.

    Used in: the reference worker, for the checks of lab 4 (graded exercises).
    """
    weights, x, y = exploding_problem(seed)
    model = rnn_from_weights(weights)
    batch = int(EXPLODING["batch_size"])
    with tf.GradientTape() as tape:
        out = model(tf.constant(x[:batch], tf.float32), training=True)
        loss = tf.reduce_mean(tf.square(out - tf.constant(y[:batch], tf.float32)))
    grads = tape.gradient(loss, model.trainable_variables)
    return np.array([float(tf.reduce_sum(tf.square(g))) for g in grads])


def exploding_run(
    max_norm: float, *, seeds: Sequence[int] = (0,), replicas: int = 1
) -> dict[str, np.ndarray]:
    """Train the exploding RNN of :func:`exploding_problem` from each seed, clipped to ``max_norm``.

    Clipped or not, a run is chaotic: a difference in the last bit of a weight (a sum taken
    in another order) grows until two runs clip at different steps. A statistic of these runs
    is therefore taken over seeds; and besides each seed's run, ``replicas - 1`` runs start
    from its initial weights perturbed by a relative ``1e-6`` (fixed Gaussian noise), so that
    the statistic's spread under rounding alone can be seen.

    Args:
        max_norm: The clipping threshold (``inf``: no clipping).
        seeds: The seeds of :func:`exploding_problem`.
        replicas: Runs per seed (the first one unperturbed).

    Returns:
        ``loss``, ``norm`` and ``clipped`` (see :func:`train_reference`), each of shape
        ``(seeds, replicas, steps)``.

    Used in: the reference worker, for the checks of lab 4 (graded exercises).
    """
    noise = np.random.default_rng(2013)
    runs = []
    for seed in seeds:
        weights, x, y = exploding_problem(seed)
        for r in range(replicas):
            start = [w * (1 + 1e-6 * noise.normal(size=w.shape)) if r else w for w in weights]
            run = train_reference(
                start,
                x,
                y,
                lr=EXPLODING["lr"],
                max_norm=max_norm,
                batch_size=int(EXPLODING["batch_size"]),
            )
            runs.append([np.asarray(run[k]) for k in ("loss", "norm", "clipped")])
    shape = (len(seeds), replicas, -1)
    return {
        k: np.stack([run[i] for run in runs]).reshape(shape)
        for i, k in enumerate(("loss", "norm", "clipped"))
    }
