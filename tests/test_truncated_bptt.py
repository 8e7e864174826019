"""The BPTT sum term by term, and truncated BPTT, against independent references.

Keras' own gradient (``tf.GradientTape`` on the model) checks that the NumPy pair terms add up;
chapter 17's per-step copies of the weight (``bptt_contributions.step_contributions``, run on a
last-state model reading the first ``t`` steps) check each loss term's pairs one by one; the
pair terms then check the truncated pass, window by window; ``probes.input_grad_norms`` checks
the input gradients of the unrolled, cut network.
"""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import data, models, probes
from vgrad_course.lessons import bptt_contributions as bptt
from vgrad_course.lessons import bptt_distance as bd
from vgrad_course.lessons import truncated_bptt as tb

T, UNITS, BATCH = 8, 5, 6


@pytest.fixture
def per_step():
    model = bd.build_per_step_rnn(UNITS, recurrent_scale=1.3, seed=3)
    return model, *bd.running_sums(BATCH, T, seed=4)


def _keras_gradients(model, x, y):
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(keras.losses.mean_squared_error(y, model(x, training=True)))
    return [g.numpy() for g in tape.gradient(loss, model.trainable_variables)]


@pytest.mark.parametrize("index, weight", [(0, "kernel"), (1, "recurrent_kernel"), (2, "bias")])
def test_pair_terms_add_up_to_keras_gradient(per_step, index, weight):
    model, x, y = per_step
    pairs = bd.pair_terms(model, x, y, weight=weight)
    assert pairs.shape == (T, T, *model.trainable_variables[index].shape)
    assert np.all(pairs[np.triu_indices(T, k=1)] == 0)  # a loss never reaches a later step
    keras_grad = _keras_gradients(model, x, y)[index]
    np.testing.assert_allclose(pairs.sum(axis=(0, 1)), keras_grad, rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(bd.by_distance(pairs).sum(axis=0), keras_grad, rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("t", [3, T])
def test_each_loss_terms_pairs_match_chapter_17s_per_step_copies(per_step, t):
    model, x, y = per_step
    last = models.build_rnn("simple", UNITS, input_dim=2)  # reads x[:, :t], predicts y_t
    last.set_weights(model.get_weights())
    steps = bptt.step_contributions(last, x[:, :t], y[:, t - 1], loss="mse")
    pairs = bd.pair_terms(model, x, y)
    # Keras' loss is the mean over T steps: L_t carries a factor 1/T.
    np.testing.assert_allclose(pairs[t - 1, :t] * T, steps, rtol=1e-4, atol=1e-8)


def test_by_distance_adds_up_the_diagonals():
    pairs = np.tril(np.arange(16.0).reshape(4, 4))
    np.testing.assert_array_equal(bd.by_distance(pairs), [0 + 5 + 10 + 15, 4 + 9 + 14, 8 + 13, 12])
    with pytest.raises(ValueError, match="seq_len, seq_len"):
        bd.by_distance(np.zeros((3, 4)))


def test_the_schedule_and_the_kept_pairs():
    assert bd.schedule(7, k1=3, k2=4) == [(0, 1, 3), (2, 4, 6), (3, 7, 7)]
    assert bd.schedule(4, k1=4, k2=4) == [(0, 1, 4)]
    t, k = np.indices((7, 7))
    np.testing.assert_array_equal(bd.kept_pairs(7, k1=7, k2=7), k <= t)  # full BPTT
    np.testing.assert_array_equal(bd.kept_pairs(7, k1=1, k2=3), (k <= t) & (t - k < 3))
    chunks = (k <= t) & (t // 3 == k // 3)  # BPTT(3, 3): chunks of 3 steps
    np.testing.assert_array_equal(bd.kept_pairs(6, k1=3, k2=3), chunks[:6, :6])
    with pytest.raises(ValueError, match="k2 must be >= k1"):
        bd.schedule(7, k1=3, k2=2)
    with pytest.raises(ValueError, match="k1 must be a positive integer"):
        bd.schedule(7, k1=0, k2=2)


@pytest.mark.parametrize("k1, k2", [(T, T), (1, 3), (3, 5), (4, 4)])
def test_truncated_gradients_add_up_the_kept_pairs(per_step, k1, k2):
    model, x, y = per_step
    grads, taped = tb.truncated_gradients(model, x, y, k1=k1, k2=k2)
    kept = bd.kept_pairs(T, k1=k1, k2=k2)
    for index, weight in enumerate(bd.RNN_WEIGHTS):
        pairs = bd.pair_terms(model, x, y, weight=weight)
        expected = (pairs * kept.reshape(T, T, *[1] * (pairs.ndim - 2))).sum(axis=(0, 1))
        np.testing.assert_allclose(grads[index], expected, rtol=2e-5, atol=1e-7)
    assert taped == [end - start for start, _, end in bd.schedule(T, k1=k1, k2=k2)]


def test_truncated_gradients_work_for_any_cell():
    inputs = keras.Input(shape=(T, 2))
    states = keras.layers.GRU(UNITS, return_sequences=True, name="rnn")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(states))
    x, y = bd.running_sums(BATCH, T, seed=2)
    grads, _ = tb.truncated_gradients(model, x, y, k1=T, k2=T)
    for ours, theirs in zip(grads, _keras_gradients(model, x, y), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="return_sequences=True"):
        tb.truncated_gradients(models.build_rnn("gru", 3, input_dim=2), x, y, k1=2, k2=2)


def test_input_gradients_are_exactly_zero_before_the_window_and_full_inside():
    model = models.build_rnn("gru", UNITS, seq_len=T, input_dim=2, seed=1)
    x, y = tb.adding_markers_within(BATCH, T, seed=5)
    full = tb.input_gradients(model, x, y, k2=None)
    cut = tb.input_gradients(model, x, y, k2=3)
    assert np.all(cut[:, : T - 3] == 0) and np.all(full[:, : T - 3] != 0)
    np.testing.assert_allclose(cut[:, T - 3 :], full[:, T - 3 :], rtol=1e-5, atol=1e-9)
    reference = probes.input_grad_norms(model, x, y, loss="mse")
    np.testing.assert_allclose(np.linalg.norm(full, axis=2).mean(axis=0), reference, rtol=1e-5)


def test_peak_memory_needs_the_bfc_allocator():
    # The test process starts TensorFlow without TF_CPU_ALLOCATOR_USE_BFC: a clear error.
    model = models.build_rnn("gru", 3, seq_len=T, input_dim=2)
    x, y = tb.adding_markers_within(2, T)
    with pytest.raises(RuntimeError, match="TF_CPU_ALLOCATOR_USE_BFC=true"):
        tb.peak_gradient_bytes(model, x, y, k2=3)
    with pytest.raises(ValueError, match="cut must be one of"):
        tb.peak_gradient_bytes(model, x, y, k2=3, cut="middle")
    with pytest.raises(ValueError, match="at most seq_len"):
        tb.peak_gradient_bytes(model, x, y, k2=T + 1)


def test_the_data_put_the_markers_where_they_say():
    x, y = tb.adding_markers_within(50, 12, within=5, seed=1)
    assert x.shape == (50, 12, 2) and y.shape == (50, 1)
    assert np.all(x[:, :5, 1].sum(axis=1) == 2) and np.all(x[:, 5:, 1] == 0)
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * x[..., 1]).sum(axis=1), rtol=1e-6)
    assert np.all((x[:, 5:, 0] >= 0) & (x[:, 5:, 0] <= 1))
    for got, expected in zip(
        tb.adding_markers_within(7, 9, seed=2), data.adding_problem(7, 9, seed=2), strict=True
    ):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="at most seq_len"):
        tb.adding_markers_within(3, 5, within=6)
    xs, ys = bd.running_sums(20, 9, seed=3)
    np.testing.assert_allclose(ys[:, -1], data.adding_problem(20, 9, seed=3)[1], rtol=1e-6)
    assert np.all(np.diff(ys[..., 0], axis=1) >= 0) and ys.shape == (20, 9, 1)


def test_pair_terms_refuse_other_models(per_step):
    model, x, y = per_step
    with pytest.raises(ValueError, match="weight must be one of"):
        bd.pair_terms(model, x, y, weight="gamma")
    with pytest.raises(ValueError, match="tanh SimpleRNN"):
        bd.pair_terms(models.build_rnn("gru", 3, input_dim=2), x, y)
    with pytest.raises(ValueError, match="x must be"):
        bd.pair_terms(model, x[..., :1], y)


def test_split_before_after_and_train_adding_run_small(monkeypatch, per_step):
    monkeypatch.delenv("VGRAD_SEED_OFFSET", raising=False)
    _, x, y = per_step
    runs = bd.split_before_after({"g": 1.3}, (x, y), seeds=[3], units=UNITS, steps=2)
    assert set(runs) == {("g", "at init"), ("g", "trained")}
    fresh = bd.build_per_step_rnn(UNITS, recurrent_scale=1.3, seed=3)
    np.testing.assert_allclose(runs["g", "at init"][0], bd.pair_terms(fresh, x, y))
    assert not np.allclose(runs["g", "trained"][0], runs["g", "at init"][0])
    mse = tb.train_adding({"a": (4, None), "b": (4, 2)}, 6, seeds=[0], units=3, steps=2)
    assert set(mse) == {"a", "b"} and all(
        v.shape == (1,) and np.isfinite(v).all() for v in mse.values()
    )
    ax = bd.plot_pairs(runs["g", "at init"][0], kept=bd.kept_pairs(T, k1=2, k2=3))
    assert ax.get_xlabel() == "reached step k"
    plt.close("all")
