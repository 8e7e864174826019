"""The lab "Clip it yourself": the worker's loop against a NumPy one, the hidden cases' margins,
and the exploding RNN's behaviour with and without clipping.

The NumPy loop below is written from the chain rule (a tanh RNN, a linear head, the mean
squared error, backpropagation through time, clipping by the global norm), independently of
TensorFlow; the worker's loop uses Keras and ``tf.clip_by_global_norm``.
"""

from __future__ import annotations

import numpy as np
import pytest

from vgrad_course.grading.checks import lab_clip
from vgrad_course.grading.reference_worker import ask
from vgrad_course.grading.registry import Fail
from vgrad_course.reference import InvalidInput, clip_loop


def _numpy_loop(weights, x, y, lr, max_norm, batch_size):
    w_x, w_h, b, w_o, b_o = (np.array(w, dtype=np.float64) for w in weights)
    losses, norms = [], []
    for k in range(len(x) // batch_size):
        xb, yb = x[k * batch_size : (k + 1) * batch_size], y[k * batch_size : (k + 1) * batch_size]
        hs = [np.zeros((len(xb), w_h.shape[0]))]
        for t in range(xb.shape[1]):
            hs.append(np.tanh(xb[:, t] @ w_x + hs[-1] @ w_h + b))
        out = hs[-1] @ w_o + b_o
        losses.append(np.mean((out - yb) ** 2))
        d_out = 2 * (out - yb) / out.size
        grads = [np.zeros_like(w_x), np.zeros_like(w_h), np.zeros_like(b), hs[-1].T @ d_out]
        grads.append(d_out.sum(axis=0))
        dh = d_out @ w_o.T
        for t in reversed(range(xb.shape[1])):
            delta = dh * (1 - hs[t + 1] ** 2)
            grads[0] += xb[:, t].T @ delta
            grads[1] += hs[t].T @ delta
            grads[2] += delta.sum(axis=0)
            dh = delta @ w_h.T
        norm = np.sqrt(sum(np.sum(g**2) for g in grads))
        norms.append(norm)
        scale = min(1.0, max_norm / norm)
        w_x, w_h, b, w_o, b_o = (
            w - lr * scale * g for w, g in zip((w_x, w_h, b, w_o, b_o), grads, strict=True)
        )
    return np.array(losses), np.array(norms), [w_x, w_h, b, w_o, b_o]


@pytest.mark.parametrize("index", [0, 1])
def test_the_workers_loop_matches_a_numpy_loop(index):
    weights, x, y, lr, max_norm, batch = lab_clip.TRAIN[index]
    ref = lab_clip._reference(lab_clip.TRAIN[index])
    losses, norms, final = _numpy_loop(weights, x, y, lr, max_norm, batch)
    np.testing.assert_allclose(ref["loss"], losses, rtol=1e-4)
    np.testing.assert_allclose(ref["norm"], norms, rtol=1e-4)
    assert ref["clipped"].tolist() == (norms > max_norm).tolist()
    for ours, theirs in zip(ref["weights"], final, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-5)


def test_every_threshold_lies_well_away_from_every_norm():
    for index, case in enumerate(lab_clip.TRAIN):
        norms, max_norm = lab_clip._reference(case)["norm"], case[4]
        assert np.min(np.abs(norms / max_norm - 1)) > 0.05, (index, norms)
    flags = lab_clip._reference(lab_clip.TRAIN[0])["clipped"]
    assert 0 < flags.sum() < len(flags)  # both kinds of step, not all at the start
    assert flags.tolist() != sorted(flags.tolist(), reverse=True)


def test_the_clipping_reference_is_the_documented_formula():
    for max_norm in lab_clip.THRESHOLDS.values():
        clipped, norm = lab_clip._tf_clip(max_norm)
        expected = np.sqrt(sum(np.sum(g**2) for g in lab_clip.GRADS))
        assert norm == pytest.approx(expected, rel=1e-12)
        for c, g in zip(clipped, lab_clip.GRADS, strict=True):
            np.testing.assert_allclose(c, g * min(1.0, max_norm / expected), rtol=1e-12)


def test_the_exploding_rnn_blows_up_without_clipping_and_trains_with_it():
    unclipped = clip_loop.exploding_run(float("inf"), seeds=lab_clip.SEEDS)["norm"][:, 0]
    assert np.all(np.max(np.where(np.isfinite(unclipped), unclipped, np.inf), axis=1) > 1e6)
    clipped = lab_clip._runs(2.0)  # the solution's threshold
    last = clipped["loss"][:, -lab_clip.PER_EPOCH :].mean(axis=1)
    assert np.all(np.isfinite(clipped["loss"])) and np.median(last) < lab_clip.TRAINED
    assert clipped["clipped"].mean() > 0.5  # the threshold is at work most of the time
    run = clip_loop.exploding_run(2.0, seeds=(lab_clip.SEEDS[1],))["norm"][0, 0]
    np.testing.assert_array_equal(clipped["norm"][lab_clip.REPLICAS], run)  # seed-major order
    squares = clip_loop.first_gradient(lab_clip.SEED)
    assert squares[1] / squares.sum() > 0.5  # chapter 07: the recurrent kernel dominates
    np.testing.assert_allclose(np.sqrt(squares.sum()), clipped["norm"][0, 0], rtol=1e-5)


def test_bad_weights_are_refused_with_a_message():
    weights = clip_loop.exploding_problem(0)[0]
    with pytest.raises(InvalidInput, match="do not make a SimpleRNN"):
        clip_loop.rnn_from_weights(weights[:4])
    arrays = {f"w{i}": w for i, w in enumerate(weights[::-1])}
    arrays |= {"x": np.zeros((4, 3, 2)), "y": np.zeros((4, 1))}
    with pytest.raises(Fail, match="do not make a SimpleRNN"):
        ask("clip.train", {"lr": 0.1, "max_norm": 1.0, "batch_size": 2}, arrays)
