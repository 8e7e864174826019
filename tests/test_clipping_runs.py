import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import clipping, data, models, training
from vgrad_course.lessons import clipping_runs, jacobians


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


def _linear(seed=0):
    return jacobians.build_deep_linear(3, 4, gain=1.5, seed=seed)


def _keras_clip(grads, rule):
    """The gradients a rule lets through, by TensorFlow's own clipping functions."""
    if "global_clipnorm" in rule:
        return tf.clip_by_global_norm(grads, rule["global_clipnorm"])[0]
    if "clipnorm" in rule:
        return [tf.clip_by_norm(g, rule["clipnorm"]) for g in grads]
    if "clipvalue" in rule:
        return [tf.clip_by_value(g, -rule["clipvalue"], rule["clipvalue"]) for g in grads]
    return grads


def _changed(grads, rule):
    """Whether the rule's threshold is exceeded (by the global norm, a variable's, an entry)."""
    if "global_clipnorm" in rule:
        return clipping.global_norm(grads) > rule["global_clipnorm"]
    if "clipnorm" in rule:
        return any(clipping.global_norm([g]) > rule["clipnorm"] for g in grads)
    if "clipvalue" in rule:
        return any(np.abs(g).max() > rule["clipvalue"] for g in grads)
    return False


def _keras_run(build, seed, rule, x, y, *, lr, steps, batch_size):
    """The reference: a Keras model and optimizer, one train_on_batch per step."""
    model = build(seed)
    training.compile_model(model, loss="mse", optimizer="sgd", lr=lr, **rule)
    out = {name: [] for name in clipping_runs.RECORDED}
    for idx in clipping_runs.batch_indices(len(x), steps, batch_size, seed=seed):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.mean_squared_error(y[idx], model(x[idx])))
        grads = tape.gradient(loss, model.trainable_variables)
        used = _keras_clip(grads, rule)
        out["grad_norm"].append(clipping.global_norm(grads))
        out["clipped"].append(_changed(grads, rule))
        out["clipped_norm"].append(clipping.global_norm(used))
        out["cosine"].append(clipping.cosine_similarity(grads, used))
        out["loss"].append(float(model.train_on_batch(x[idx], y[idx])))
    return {name: np.array(v) for name, v in out.items()}


OPTIONS = {
    "none": {},
    "value": {"clipvalue": 0.02},
    "norm": {"clipnorm": 0.1},
    "global": {"global_clipnorm": 0.1},
}


def _check_against_keras(build, x, y, **kw):
    runs = clipping_runs.train_clipped(build, x, y, options=OPTIONS, seeds=[0, 1], **kw)
    for label, rule in OPTIONS.items():
        assert set(runs[label]) == set(clipping_runs.RECORDED)
        for j, seed in enumerate([0, 1]):
            ref = _keras_run(build, seed, rule, x, y, **kw)
            for name in ("loss", "grad_norm", "clipped_norm", "cosine"):
                np.testing.assert_allclose(runs[label][name][j], ref[name], rtol=2e-4, atol=1e-6)
            np.testing.assert_array_equal(runs[label]["clipped"][j], ref["clipped"])
    return runs


@pytest.mark.parametrize("cell", ["simple", "irnn"])
def test_train_clipped_matches_keras_sgd_with_each_clipping_option(cell):
    x, y = _data()
    kw = {"lr": 0.1, "steps": 5, "batch_size": 8}
    runs = _check_against_keras(lambda s: _build(s, cell), x, y, **kw)
    assert runs["none"]["loss"].shape == (2, 5)
    # The thresholds were active, so the rules really took different steps.
    assert runs["global"]["grad_norm"].max() > 0.1
    assert not np.allclose(runs["none"]["loss"][:, -1], runs["global"]["loss"][:, -1])


def test_train_clipped_matches_keras_on_a_deep_linear_network():
    x, y = data.regression_line(40, intercept=0.0, seed=0)
    runs = _check_against_keras(_linear, x, y, lr=0.05, steps=4, batch_size=8)
    for label in ("value", "norm", "global"):  # every rule acted, so the checks are not empty
        assert runs[label]["clipped"].any()
        assert runs[label]["cosine"].min() < 1 or label == "global"
    np.testing.assert_allclose(runs["global"]["cosine"], 1.0, atol=1e-6)  # keeps the direction
    assert runs["global"]["clipped_norm"].max() <= 0.1 * (1 + 1e-5)


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


def test_a_dense_chain_with_biases_or_other_shapes_per_seed_is_refused():
    x, y = data.regression_line(16, intercept=0.0, seed=0)
    kw = {"options": {"a": {}}, "lr": 0.1, "steps": 1, "batch_size": 4}

    def with_bias(seed):
        return models.build_mlp(2, 4, input_dim=1, output_dim=1, activation="linear", seed=seed)

    with pytest.raises(ValueError, match="bias-free linear Dense"):
        clipping_runs.train_clipped(with_bias, x, y, seeds=[0], **kw)

    def deeper_each_seed(seed):
        return jacobians.build_deep_linear(2 + seed, 4, seed=seed)

    with pytest.raises(ValueError, match="same network"):
        clipping_runs.train_clipped(deeper_each_seed, x, y, seeds=[0, 1], **kw)


def test_epoch_loss_averages_the_steps_of_one_epoch():
    run = {"loss": np.array([[1.0, 3.0, 5.0, 7.0, 100.0], [0.0, 0.0, np.nan, 2.0, 0.0]])}
    np.testing.assert_allclose(clipping_runs.epoch_loss(run, 2, epoch=0), [2.0, 0.0])
    last = clipping_runs.epoch_loss(run, 2)  # the incomplete 5th step is no epoch
    assert last[0] == 6.0 and np.isnan(last[1])
    with pytest.raises(ValueError):
        clipping_runs.epoch_loss(run, 2, epoch=2)
    with pytest.raises(ValueError):
        clipping_runs.epoch_loss(run, 6)
