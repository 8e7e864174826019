import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import data, models, training
from vgrad_course.lessons import clipping_runs


def _build(seed=0, cell="simple", units=8):
    return models.build_rnn(cell, units, seq_len=6, input_dim=2, recurrent_scale=1.5, seed=seed)


def _data():
    return data.adding_problem(40, 6, seed=0)


@pytest.mark.parametrize(
    "values,limit,expected",
    [
        ([1.0, 2.0, np.inf], np.inf, 2),
        ([1.0, 2.0, 3.0], np.inf, None),
        ([1.0, np.nan, np.inf], np.inf, 1),
        ([np.nan], np.inf, 0),
        ([1.0, 5.0, 2.0], 4.0, 1),
        ([], np.inf, None),
    ],
)
def test_first_step_above_tells_never_from_step_zero(values, limit, expected):
    assert clipping_runs.first_step_above(values, limit) == expected


def test_batch_indices_are_seeded_permutations_per_epoch(monkeypatch):
    order = clipping_runs.batch_indices(10, 7, 3, seed=4)
    assert order.shape == (7, 3)
    for epoch in (order[:3], order[3:6]):  # 3 full batches per epoch of 10 examples
        assert len(set(epoch.ravel())) == 9
    np.testing.assert_array_equal(order, clipping_runs.batch_indices(10, 7, 3, seed=4))
    monkeypatch.setenv("VGRAD_SEED_OFFSET", "1")
    np.testing.assert_array_equal(order, clipping_runs.batch_indices(10, 7, 3, seed=3))
    for bad in (11, 0, 2.5):
        with pytest.raises(ValueError, match="batch_size"):
            clipping_runs.batch_indices(10, 7, bad)


def _keras_run(seed, rule, x, y, *, lr, steps, batch_size, cell="simple"):
    """The reference: a Keras model and optimizer, one train_on_batch per step."""
    model = _build(seed, cell)
    training.compile_model(model, loss="mse", optimizer="sgd", lr=lr, **rule)
    losses, norms = [], []
    for idx in clipping_runs.batch_indices(len(x), steps, batch_size, seed=seed):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.mean_squared_error(y[idx], model(x[idx])))
        grads = tape.gradient(loss, model.trainable_variables)
        norms.append(float(tf.linalg.global_norm(grads)))
        losses.append(float(model.train_on_batch(x[idx], y[idx])))
    return np.array(losses), np.array(norms)


@pytest.mark.parametrize("cell", ["simple", "irnn"])
def test_train_clipped_matches_keras_sgd_with_each_clipping_option(cell):
    x, y = _data()
    options = {
        "none": {},
        "value": {"clipvalue": 0.02},
        "norm": {"clipnorm": 0.1},
        "global": {"global_clipnorm": 0.1},
    }
    runs = clipping_runs.train_clipped(
        lambda s: _build(s, cell),
        x,
        y,
        options=options,
        seeds=[0, 1],
        lr=0.1,
        steps=5,
        batch_size=8,
    )
    for label, rule in options.items():
        assert runs[label]["loss"].shape == (2, 5)
        for j, seed in enumerate([0, 1]):
            ref_loss, ref_norm = _keras_run(
                seed, rule, x, y, lr=0.1, steps=5, batch_size=8, cell=cell
            )
            np.testing.assert_allclose(runs[label]["loss"][j], ref_loss, rtol=2e-4)
            np.testing.assert_allclose(runs[label]["grad_norm"][j], ref_norm, rtol=2e-4)
    # The thresholds were active, so the rules really took different steps.
    assert runs["global"]["grad_norm"].max() > 0.1
    assert not np.allclose(runs["none"]["loss"][:, -1], runs["global"]["loss"][:, -1])


def test_per_seed_thresholds_equal_separate_runs_and_runs_are_independent():
    x, y = _data()
    kw = {"lr": 0.5, "steps": 4, "batch_size": 8}
    both = clipping_runs.train_clipped(
        _build, x, y, options={"r": {"global_clipnorm": [0.05, 0.2]}}, seeds=[0, 1], **kw
    )
    for j, (seed, tau) in enumerate([(0, 0.05), (1, 0.2)]):
        alone = clipping_runs.train_clipped(
            _build, x, y, options={"r": {"global_clipnorm": tau}}, seeds=[seed], **kw
        )
        np.testing.assert_allclose(both["r"]["loss"][j], alone["r"]["loss"][0], rtol=1e-5)


@pytest.mark.parametrize(
    "rule",
    [
        {"clipnorm": 1.0, "clipvalue": 1.0},
        {"momentum": 0.9},
        {"global_clipnorm": [1.0, 2.0, 3.0]},
        {"global_clipnorm": 0.0},
    ],
)
def test_bad_rules_raise(rule):
    x, y = _data()
    with pytest.raises(ValueError):
        clipping_runs.train_clipped(
            _build, x, y, options={"bad": rule}, seeds=[0, 1], lr=0.1, steps=1, batch_size=4
        )


def test_unsupported_network_raises():
    x, y = _data()

    def lstm(seed):
        return models.build_rnn("lstm", 4, seq_len=6, input_dim=2, seed=seed)

    with pytest.raises(ValueError, match="SimpleRNN"):
        clipping_runs.train_clipped(
            lstm, x, y, options={"a": {}}, seeds=[0], lr=0.1, steps=1, batch_size=4
        )


def test_epoch_loss_averages_the_steps_of_one_epoch():
    run = {"loss": np.array([[1.0, 3.0, 5.0, 7.0, 100.0], [0.0, 0.0, np.nan, 2.0, 0.0]])}
    np.testing.assert_allclose(clipping_runs.epoch_loss(run, 2, epoch=0), [2.0, 0.0])
    last = clipping_runs.epoch_loss(run, 2)  # the incomplete 5th step is no epoch
    assert last[0] == 6.0 and np.isnan(last[1])
    with pytest.raises(ValueError):
        clipping_runs.epoch_loss(run, 2, epoch=2)
    with pytest.raises(ValueError):
        clipping_runs.epoch_loss(run, 6)
