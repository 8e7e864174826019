"""Wrong answers for the lab "Clip it yourself" (set ``lab_clip``).

The clipping functions are NumPy; the training loops are TensorFlow loops like a student's,
each with one mistake.
"""

from __future__ import annotations

import numpy as np

from vgrad_course.backend import load_tensorflow

tf = load_tensorflow()  # quietly, before Keras

from vgrad_course.reference.clip_loop import rnn_from_weights  # noqa: E402

# --- Part 1: clipping by global norm ------------------------------------------------------------


def _norm(grads):
    return float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))


def clip_each(grads, max_norm):
    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads], _norm(grads)


def clip_value(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads], _norm(grads)


def clip_always(grads, max_norm):
    return [g * max_norm / _norm(grads) for g in grads], _norm(grads)


def clip_returns_new_norm(grads, max_norm):
    norm = _norm(grads)
    scale = min(1.0, max_norm / norm)
    return [g * scale for g in grads], norm * scale


def clip_in_place(grads, max_norm):
    norm = _norm(grads)
    for g in grads:
        g *= min(1.0, max_norm / norm)
    return grads, norm


def clip_rms(grads, max_norm):  # the root mean square entry is not the norm
    flat = np.concatenate([np.ravel(g) for g in grads])
    norm = float(np.sqrt(np.mean(flat**2)))
    return [g * min(1.0, max_norm / norm) for g in grads], norm


# --- Part 2: the training loop ------------------------------------------------------------------


def _loop(
    weights,
    x,
    y,
    lr,
    max_norm,
    batch_size,
    *,
    clip="global",
    record="raw",
    loss_after=False,
    reduce=tf.reduce_mean,
    order=1,
    extra_batch=False,
):
    model = rnn_from_weights(weights)
    variables = model.trainable_variables
    steps = len(x) // batch_size + (1 if extra_batch else 0)
    losses, norms = [], []
    for k in list(range(steps))[::order]:
        xb = tf.constant(x[k * batch_size : (k + 1) * batch_size], tf.float32)
        yb = tf.constant(y[k * batch_size : (k + 1) * batch_size], tf.float32)
        with tf.GradientTape() as tape:
            loss = reduce(tf.square(model(xb) - yb))
        grads = tape.gradient(loss, variables)
        norm = float(tf.linalg.global_norm(grads))
        if clip == "global":
            grads, _ = tf.clip_by_global_norm(grads, max_norm)
        elif clip == "each":
            grads = [tf.clip_by_norm(g, max_norm) for g in grads]
        for v, g in zip(variables, grads, strict=True):
            v.assign_sub(lr * g)
        if loss_after:
            loss = reduce(tf.square(model(xb) - yb))
        losses.append(float(loss))
        norms.append(min(norm, max_norm) if record == "clipped" else norm)
    norms = np.array(norms)
    return np.array(losses), norms, norms > max_norm, [v.numpy() for v in variables]


def loop_clips_each(*args):
    return _loop(*args, clip="each")


def loop_records_clipped_norm(*args):
    return _loop(*args, record="clipped")


def loop_never_clips(*args):
    return _loop(*args, clip="none")


def loop_loss_after_step(*args):
    return _loop(*args, loss_after=True)


def loop_summed_loss(*args):
    return _loop(*args, reduce=tf.reduce_sum)


def loop_backwards(*args):  # the batches in reverse order
    return _loop(*args, order=-1)


def loop_keeps_last_batch(*args):  # an incomplete last batch is one step too many
    return _loop(*args, extra_batch=True)


def loop_in_place(weights, *args):
    out = _loop(weights, *args)
    for w, final in zip(weights, out[3], strict=True):
        w[...] = final  # "updates the model's weights", the arguments included
    return out


WRONG = {
    "lab_clip.clip_global": [
        clip_each,
        clip_value,
        clip_always,
        clip_returns_new_norm,
        clip_in_place,
        clip_rms,
    ],
    "lab_clip.train_clipped": [
        loop_clips_each,
        loop_records_clipped_norm,
        loop_never_clips,
        loop_loss_after_step,
        loop_summed_loss,
        loop_backwards,
        loop_keeps_last_batch,
        loop_in_place,
    ],
    "lab_clip.first_step": [
        (1.0, 0.727),  # the norm after clipping to 1
        (116.5 * 25, 0.727),  # the summed squared error, not its mean
        (116.5, 0.534),  # the share of the norm, not of its square
        (116.5, 0.054),  # the (input) kernel, not the recurrent one
        (116.5**2, 0.727),  # the squared norm
    ],
    "lab_clip.clip_run": [
        (100.0, 0.88),  # the explosions get through
        (0.001, 1.0),  # every step too short
        (2.0, 0.0),  # the fraction of unclipped steps
        (np.inf, 0.0),  # no clipping at all
    ],
}
