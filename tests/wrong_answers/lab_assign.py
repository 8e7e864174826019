"""Wrong answers for the lab "The assignment, done right" (set ``lab_assign``).

The per-step measurements are TensorFlow tapes like a student's, each with one mistake; the
trained models are stand-ins with the right shapes that were never trained, or the wrong
shapes, or the right weights with a wrong reading of them.
"""

from __future__ import annotations

import numpy as np

from vgrad_course.backend import load_tensorflow

tf = load_tensorflow()  # quietly, before Keras
import keras  # noqa: E402

from vgrad_course.reference.time_steps import model_from_weights  # noqa: E402

# --- Part 1: the per-step measurement -----------------------------------------------------------


def _input_grads(cell, weights, x, y, *, reduce=tf.reduce_mean):
    model = model_from_weights(cell, weights)
    xt = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = model(xt, training=True)
        loss = reduce(keras.losses.binary_crossentropy(tf.constant(y, tf.float32), out))
    return tape.gradient(loss, xt).numpy()  # (batch, steps, features)


def norms_reversed(cell, weights, x, y):
    return np.linalg.norm(_input_grads(cell, weights, x, y), axis=-1).mean(axis=0)[::-1]


def norms_summed_over_batch(cell, weights, x, y):
    return np.linalg.norm(_input_grads(cell, weights, x, y), axis=-1).sum(axis=0)


def norms_of_summed_loss(cell, weights, x, y):
    g = _input_grads(cell, weights, x, y, reduce=tf.reduce_sum)
    return np.linalg.norm(g, axis=-1).mean(axis=0)


def norms_of_batch_gradient(cell, weights, x, y):  # the norm of the summed gradient
    return np.linalg.norm(_input_grads(cell, weights, x, y).sum(axis=0), axis=-1)


def norms_squared(cell, weights, x, y):
    return (np.linalg.norm(_input_grads(cell, weights, x, y), axis=-1) ** 2).mean(axis=0)


def norms_per_example(cell, weights, x, y):  # one row per sequence: not averaged
    return np.linalg.norm(_input_grads(cell, weights, x, y), axis=-1)


# --- Part 3: stand-ins for trained models -------------------------------------------------------


def _untrained(cell, *, units=10, seed=0):
    width = {"simple": 1, "lstm": 4, "gru": 3}[cell] * units
    rng = np.random.default_rng(seed)
    bias = (2, width) if cell == "gru" else (width,)
    shapes = [(1, width), (units, width), bias, (units, 1), (1,)]
    return [0.3 * rng.normal(size=s) for s in shapes]


_CELLS = ("simple", "lstm", "gru")
_UNTRAINED = [_untrained(c) for c in _CELLS]

WRONG = {
    "lab_assign.step_norms": [
        norms_reversed,
        norms_summed_over_batch,
        norms_of_summed_loss,
        norms_of_batch_gradient,
        norms_squared,
        norms_per_example,
    ],
    "lab_assign.init_share": [
        (0.5, 0.5, 0.5),  # a guess: half
        (0.2, 0.2, 0.2),  # 10 of 50 steps: as if every step got the same
        (0.05, 0.07, 0.005),  # the first 10 steps, not the last
        (0.926, 0.901, 0.5),  # the GRU guessed
    ],
    "lab_assign.after": [
        (_UNTRAINED, [1.0, 1.0, 1.0], ["simple", "lstm", "gru"]),  # never trained
        ([_untrained(c, units=8) for c in _CELLS], [0.2, 2.0, 1e-7], ["lstm"]),  # 8 units
        (_UNTRAINED[:2], [0.2, 2.0], ["lstm"]),  # the GRU left out
        (_UNTRAINED, [0.2, 2.0, 1e-7], "lstm"),  # keeps as a string
    ],
}
