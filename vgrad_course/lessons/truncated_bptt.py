"""Truncated backpropagation through time, BPTT(k1, k2), for Keras recurrent cells.

Williams & Peng (1990): every ``k1`` steps of a stream, backpropagate the losses of those steps
through the last ``k2 >= k1`` steps only (their BPTT(h; h'), h = k2, h' = k1; k1, k2 are
Sutskever's names, 2013). :func:`truncated_gradients` runs it with a loss at every step, the
steps before each window outside the tape. With one loss at the last step (the adding
problem) it is one update per sequence reaching ``k2`` steps back: :func:`train_adding` swaps
the state entering step ``T - k2`` for its ``tf.stop_gradient`` copy, so earlier steps get
exactly zero gradient (computed, not skipped). :func:`peak_gradient_bytes` weighs both cuts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from vgrad_course import data, models
from vgrad_course.lessons.bptt_distance import schedule
from vgrad_course.lessons.sequence_training import VALIDATION_SEED_SHIFT
from vgrad_course.seeds import effective_seed
from vgrad_course.validation import check_choice, check_int, check_positive

#: Where :func:`peak_gradient_bytes` cuts: before the tape starts, or under it.
CUTS: tuple[str, ...] = ("outside", "inside")


def _unroll(
    cell: keras.layers.Layer, x: tf.Tensor, states: list, cut: tf.Tensor | None = None
) -> tuple[list[tf.Tensor], list]:
    """Run ``cell`` over ``x[:, t]``; where ``cut[t]``, the state entering step t is a constant."""
    outputs = []
    for t in range(x.shape[1]):
        if cut is not None:
            states = [tf.where(cut[t], tf.stop_gradient(s), s) for s in states]
        out, states = cell(x[:, t], states, training=True)
        states = list(states) if isinstance(states, list | tuple) else [states]
        outputs.append(out)
    return outputs, states


def _split(model: keras.Model, return_sequences: bool) -> tuple[keras.layers.Layer, list]:
    """The cell of layer ``rnn`` and the layers after it, or a clear error."""
    names = [layer.name for layer in model.layers]
    if "rnn" not in names or not isinstance(model.get_layer("rnn"), keras.layers.RNN):
        raise ValueError(f"model needs a recurrent layer named 'rnn', got layers {names}")
    rnn = model.get_layer("rnn")
    if rnn.return_sequences != return_sequences:
        raise ValueError(f"layer 'rnn' must have return_sequences={return_sequences}")
    return rnn.cell, model.layers[names.index("rnn") + 1 :]


def _apply(layers: list, h: tf.Tensor) -> tf.Tensor:
    """Apply the layers after the recurrent one (the read-out)."""
    for layer in layers:
        h = layer(h, training=True)
    return h


def _last_step_loss(
    model: keras.Model, x: tf.Tensor, y: tf.Tensor, states: list | None, cut: tf.Tensor | None
) -> tf.Tensor:
    """The batch-mean squared error of the prediction read from the last state."""
    cell, head = _split(model, return_sequences=False)
    if states is None:
        states = list(cell.get_initial_state(batch_size=x.shape[0]))
    outputs, _ = _unroll(cell, x, states, cut)
    return keras.ops.mean(keras.losses.mean_squared_error(y, _apply(head, outputs[-1])))


def _cuts(seq_len: int, k2: int | None) -> tf.Tensor:
    """``cut[t]``: the state entering step ``t`` (0-based) is a constant (``T - k2``, or none)."""
    return tf.constant(np.arange(seq_len) == (-1 if k2 is None else seq_len - check_int("k2", k2)))


def truncated_gradients(
    model: keras.Model, x: np.ndarray, y: np.ndarray, *, k1: int, k2: int
) -> tuple[list[np.ndarray], list[int]]:
    """Run BPTT(k1, k2) over a batch of sequences and add up the gradients of its updates.

    The weights are held fixed over the pass (training would apply each update as it comes),
    so the sum compares with the full gradient of Keras' mean squared error.

    Args:
        model: A model whose layer ``rnn`` returns every state, then a read-out (e.g.
            :func:`~.bptt_distance.build_per_step_rnn`).
        x: Inputs ``(batch, seq_len, features)``.
        y: Targets ``(batch, seq_len, outputs)``.
        k1: Steps between updates.
        k2: Steps each update reaches back.

    Returns:
        ``(grads, taped)``: the summed gradients (float64, in the order of
        ``model.trainable_variables``) and, per update, the steps run under the tape.

    Used in: "The full BPTT sum, and truncating it".
    """
    cell, head = _split(model, return_sequences=True)
    xt, yt = tf.constant(x, tf.float32), tf.constant(y, tf.float32)
    if xt.shape.rank != 3 or yt.shape[:2] != xt.shape[:2]:
        raise ValueError(
            f"need x (batch, T, features), y (batch, T, outputs): {x.shape}, {y.shape}"
        )
    seq_len = xt.shape[1]
    kept = deque([list(cell.get_initial_state(batch_size=xt.shape[0]))], maxlen=k2 + 1)
    grads = [np.zeros(v.shape) for v in model.trainable_variables]
    taped, done = [], 0
    for start, first, end in schedule(seq_len, k1=k1, k2=k2):
        for t in range(done, end):  # the stream: states only, no tape
            kept.append(_unroll(cell, xt[:, t : t + 1], kept[-1])[1])
        done = end
        with tf.GradientTape() as tape:
            states = [tf.stop_gradient(s) for s in kept[start - end - 1]]  # h_start
            outputs, _ = _unroll(cell, xt[:, start:end], states)
            pred = _apply(head, tf.stack(outputs[first - start - 1 :], axis=1))
            error = keras.ops.mean(keras.losses.mean_squared_error(yt[:, first - 1 : end], pred))
            loss = error * (end - first + 1) / seq_len  # these steps' share of the mean
        taped.append(end - start)
        for total, g in zip(grads, tape.gradient(loss, model.trainable_variables), strict=True):
            total += np.asarray(g, dtype=np.float64)
    return grads, taped


def peak_gradient_bytes(
    model: keras.Model, x: np.ndarray, y: np.ndarray, *, k2: int, cut: str = "outside"
) -> int:
    """Measure the peak memory of one gradient of a last-step loss truncated ``k2`` steps back.

    Eager mode. TensorFlow counts CPU memory only with its BFC allocator: set
    ``TF_CPU_ALLOCATOR_USE_BFC=true`` before TensorFlow starts (before ``vg.setup``).

    Args:
        model: A model whose layer ``rnn`` returns its last state, then a read-out (e.g.
            :func:`vgrad_course.models.build_rnn`); the loss is the mean squared error.
        x: Inputs ``(batch, seq_len, features)``.
        y: Targets ``(batch, outputs)``.
        k2: Steps the gradient reaches back.
        cut: ``"outside"``: the earlier steps run before the tape starts; ``"inside"``: under
            the tape, the state entering the window swapped for its ``stop_gradient`` copy.

    Returns:
        The peak bytes allocated, forward and backward, above those held before.

    Raises:
        RuntimeError: If TensorFlow does not count CPU memory (the allocator is not BFC).

    Used in: "The full BPTT sum, and truncating it".
    """
    check_choice("cut", cut, CUTS)
    cell, _ = _split(model, return_sequences=False)
    xt, yt = tf.constant(x, tf.float32), tf.constant(y, tf.float32)
    start = xt.shape[1] - check_int("k2", k2)
    if start < 0:
        raise ValueError(f"k2 must be at most seq_len ({xt.shape[1]}), got {k2}")
    try:
        tf.config.experimental.reset_memory_stats("CPU:0")
        before = tf.config.experimental.get_memory_info("CPU:0")["current"]
    except ValueError as error:
        raise RuntimeError(
            "TensorFlow does not count CPU memory: set TF_CPU_ALLOCATOR_USE_BFC=true "
            "before vg.setup() starts TensorFlow"
        ) from error
    if cut == "outside":
        states = _unroll(cell, xt[:, :start], list(cell.get_initial_state(batch_size=len(x))))[1]
        with tf.GradientTape() as tape:
            loss = _last_step_loss(model, xt[:, start:], yt, states, None)
    else:
        with tf.GradientTape() as tape:
            loss = _last_step_loss(model, xt, yt, None, _cuts(xt.shape[1], k2))
    grads = tape.gradient(loss, model.trainable_variables)
    peak = tf.config.experimental.get_memory_info("CPU:0")["peak"]
    del tape, grads
    return int(peak - before)


def adding_markers_within(
    n: int, seq_len: int, *, within: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem with both markers among the first ``within`` steps.

    The first ``within`` steps are :func:`vgrad_course.data.adding_problem` of that length;
    the others carry values but no marker, so every marker is ``> seq_len - within`` steps
    before the end.

    Args:
        n: Number of sequences.
        seq_len: Length of each sequence.
        within: Steps that may hold a marker (2..seq_len); None: all (the adding problem).
        seed: Seed of the data.

    Returns:
        ``(x, y)``, float32 ``(n, seq_len, 2)`` and ``(n, 1)``.

    Used in: "The full BPTT sum, and truncating it".
    """
    seq_len = check_int("seq_len", seq_len, minimum=2)
    within = seq_len if within is None else check_int("within", within, minimum=2)
    if within > seq_len:
        raise ValueError(f"within must be at most seq_len ({seq_len}), got {within}")
    x, y = data.adding_problem(n, within, seed=seed)
    rng = np.random.default_rng([effective_seed(seed), 1])  # a stream of its own
    rest = np.zeros((x.shape[0], seq_len - within, 2), dtype=np.float32)
    rest[..., 0] = rng.uniform(0.0, 1.0, size=rest.shape[:2])
    return np.concatenate([x, rest], axis=1), y


def input_gradients(
    model: keras.Model, x: np.ndarray, y: np.ndarray, *, k2: int | None
) -> np.ndarray:
    """Return ``dL/dx`` of a last-step loss truncated ``k2`` steps back, as in training.

    Args:
        model: A model whose layer ``rnn`` returns its last state, then a read-out.
        x: Inputs ``(batch, seq_len, features)``.
        y: Targets ``(batch, outputs)``; the loss is the batch-mean squared error.
        k2: Steps the gradient reaches back (None: full BPTT).

    Returns:
        float64 array of the shape of ``x``.

    Used in: "The full BPTT sum, and truncating it".
    """
    xt, yt = tf.constant(x, tf.float32), tf.constant(y, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = _last_step_loss(model, xt, yt, None, _cuts(xt.shape[1], k2))
    return tape.gradient(loss, xt).numpy().astype(np.float64)


def train_adding(
    tasks: Mapping[str, tuple[int | None, int | None]],
    seq_len: int,
    *,
    seeds: Sequence[int] = (0, 1, 2, 3),
    cell: str = "gru",
    units: int = 16,
    steps: int = 100,
    batch_size: int = 64,
    lr: float = 3e-2,
    n_val: int = 1000,
) -> dict[str, np.ndarray]:
    """Train a recurrent model per task and seed on the adding problem, truncated or not.

    Each run starts from its seed's initialisation with a fresh Adam (global norm clipped to
    1) and a fresh batch of its seed's data at every step. One model and one compiled step
    serve all runs: the truncation is an input of the step.

    Args:
        tasks: ``{label: (within, k2)}``: the markers' steps (see
            :func:`adding_markers_within`) and the steps the gradient reaches back (None: all).
        seq_len: Sequence length T.
        seeds: One run per seed (data and initialisation).
        cell: A cell of :func:`vgrad_course.models.build_rnn`.
        units: Hidden units.
        steps: Adam steps per run.
        batch_size: Sequences per step.
        lr: Adam's learning rate.
        n_val: Validation sequences (seed ``s + VALIDATION_SEED_SHIFT``).

    Returns:
        ``{label: validation MSE after training, one per seed}``.

    Used in: "The full BPTT sum, and truncating it".
    """
    steps, batch_size = check_int("steps", steps), check_int("batch_size", batch_size)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    build = {"seq_len": seq_len, "input_dim": 2}
    model = models.build_rnn(cell, check_int("units", units), seed=seeds[0], **build)
    optimizer = keras.optimizers.Adam(check_positive("lr", lr), global_clipnorm=1.0)
    optimizer.build(model.trainable_variables)
    fresh = [v.numpy() for v in optimizer.variables]

    @tf.function(autograph=False)
    def train_step(x: tf.Tensor, y: tf.Tensor, cut: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            loss = _last_step_loss(model, x, y, None, cut)
        variables = model.trainable_variables
        optimizer.apply(tape.gradient(loss, variables), variables)

    results = {}
    for label, (within, k2) in tasks.items():
        cut, mse = _cuts(seq_len, k2), []
        for seed in seeds:
            model.set_weights(models.build_rnn(cell, units, seed=seed, **build).get_weights())
            for variable, value in zip(optimizer.variables, fresh, strict=True):
                variable.assign(value)
            x, y = adding_markers_within(steps * batch_size, seq_len, within=within, seed=seed)
            for i in range(0, len(x), batch_size):
                train_step(x[i : i + batch_size], y[i : i + batch_size], cut)
            x_val, y_val = adding_markers_within(
                n_val, seq_len, within=within, seed=seed + VALIDATION_SEED_SHIFT
            )
            pred = np.asarray(model(x_val, training=False))
            mse.append(float(np.mean((pred - y_val) ** 2)))
        results[label] = np.asarray(mse)
    return results
