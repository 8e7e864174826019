import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import models
from vgrad_course.lessons import init_sanity as isan


def _net(seed=0, width=16, depth=2):
    return models.build_mlp(depth, width, input_dim=5, output_dim=4, activation="tanh", seed=seed)


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 5)).astype(np.float32), rng.integers(0, 4, n)


def test_cross_entropy_matches_keras_and_survives_huge_logits():
    rng = np.random.default_rng(0)
    z, y = 3 * rng.standard_normal((50, 7)), rng.integers(0, 7, 50)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, z)
    assert isan.cross_entropy(z, y) == pytest.approx(float(keras_loss), rel=1e-5)
    assert isan.cross_entropy(np.zeros((3, 10)), [0, 1, 2]) == pytest.approx(np.log(10))
    huge = np.array([[1000.0, 0.0], [0.0, 1000.0]])
    assert isan.cross_entropy(huge, [1, 1]) == pytest.approx(500.0)


def test_best_temperature_is_a_minimum_and_leaves_constant_logits_alone():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 400)
    z = 8 * (np.eye(5)[y] + rng.standard_normal((400, 5)))  # informative but over-confident
    t, loss = isan.best_temperature(z, y)
    assert t > 1 and loss < isan.cross_entropy(z, y)
    for other in (t * 0.9, t * 1.1):
        assert isan.cross_entropy(z / other, y) >= loss - 1e-9
    assert loss == pytest.approx(isan.cross_entropy(z / t, y))
    assert isan.best_temperature(np.ones((4, 3)), [0, 1, 2, 0]) == (1.0, pytest.approx(np.log(3)))


def test_mlp_logits_match_the_keras_model():
    model, (x, _) = _net(depth=3), _data(250)  # more rows than one block of the product
    np.testing.assert_allclose(
        isan.mlp_logits(model.get_weights(), x), model(x).numpy(), rtol=1e-4, atol=1e-5
    )


def test_gradients_match_keras_autodiff():
    model, (x, y) = _net(), _data()
    loss, grads = isan._loss_and_grads([w.astype(np.float64) for w in model.get_weights()], x, y)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        value = loss_fn(y, model(x))
    reference = tape.gradient(value, model.trainable_variables)
    assert loss == pytest.approx(float(value), rel=1e-5)
    for g, r in zip(grads, reference, strict=True):
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-3, atol=1e-6)


def test_one_sgd_step_is_keras_sgd():
    model, (x, y) = _net(seed=3), _data(50, seed=2)
    run = isan.train_sgd(
        model.get_weights(), x, y, lr=0.5, steps=2, batch_size=50, eval_data=(x, y), eval_every=1
    )
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        before = loss_fn(y, model(x))
    grads = tape.gradient(before, model.trainable_variables)
    pairs = zip(grads, model.trainable_variables, strict=True)
    keras.optimizers.SGD(learning_rate=0.5).apply_gradients(pairs)
    after = float(loss_fn(y, model(x)))  # the whole set is one batch: the order does not matter
    assert run["loss"][0] == pytest.approx(float(before), rel=1e-5)
    assert run["loss"][1] == pytest.approx(after, rel=1e-4)
    assert run["eval_loss"][1] == pytest.approx(after, rel=1e-4)
    np.testing.assert_array_equal(run["eval_step"], [0, 1, 2])
    assert set(isan.EVAL_RECORDS) < set(run)


def test_train_sgd_rejects_bad_options():
    weights, (x, y) = _net().get_weights(), _data()
    options = dict(lr=0.1, steps=5, batch_size=10, eval_data=(x, y))
    with pytest.raises(ValueError, match="batch_size"):
        isan.train_sgd(weights, x, y, **{**options, "batch_size": 41})
    with pytest.raises(ValueError, match="eval_every"):
        isan.train_sgd(weights, x, y, **options, eval_every=6)
    with pytest.raises(ValueError, match="lr"):
        isan.train_sgd(weights, x, y, **{**options, "lr": 0.0})


def test_tanh_through_depth_uses_keras_variance_scaling_and_matches_mean_field():
    r = isan.tanh_through_depth(8, 128, gain=5 / 3)
    theory = isan.tanh_mean_field(8, gain=5 / 3)
    np.testing.assert_allclose(r["activation_std"], theory["activation_std"], rtol=0.05)
    np.testing.assert_allclose(r["saturated"], theory["saturated"], atol=0.02)
    measured = r["gradient_std"][0] / r["gradient_std"][-1]
    assert measured == pytest.approx(theory["gradient_ratio"], rel=0.3)
    kernel = keras.initializers.VarianceScaling(
        (5 / 3) ** 2, mode="fan_in", distribution="untruncated_normal", seed=0
    )((400, 300))
    assert float(np.std(kernel)) == pytest.approx((5 / 3) / np.sqrt(400), rel=0.01)
    with pytest.raises(ValueError, match="gain"):
        isan.tanh_through_depth(3, 8, gain=0.0)


def test_gaussian_average_against_closed_forms():
    q = np.array([0.0, 0.5, 2.0])
    np.testing.assert_allclose(isan.gaussian_average(np.square, q), q, atol=1e-12)
    np.testing.assert_allclose(isan.gaussian_average(np.cos, q), np.exp(-q / 2), atol=1e-12)
    z = np.random.default_rng(0).standard_normal(400_000)
    mc = np.mean(np.tanh(np.sqrt(2.0) * z) ** 2)
    assert isan.gaussian_average(lambda h: np.tanh(h) ** 2, 2.0) == pytest.approx(mc, abs=3e-3)
    with pytest.raises(ValueError, match="q"):
        isan.gaussian_average(np.cos, -1.0)


def test_length_map_and_its_fixed_point():
    q = isan.preactivation_variances(5, sigma_w=1.5, sigma_b=0.3)
    assert q[0] == pytest.approx(1.5**2 + 0.3**2)
    step = 1.5**2 * isan.gaussian_average(lambda h: np.tanh(h) ** 2, q[2]) + 0.09
    assert q[3] == pytest.approx(step)
    star = isan.fixed_point(1.5, 0.3)
    again = 1.5**2 * isan.gaussian_average(lambda h: np.tanh(h) ** 2, star) + 0.09
    assert again == pytest.approx(star, rel=1e-10)
    assert isan.fixed_point(0.8) < 1e-6  # ordered, no bias: the signal dies
    grid = isan.fixed_point(np.array([[1.5], [2.0]]), np.array([0.3, 0.5]))
    assert grid.shape == (2, 2) and grid[0, 0] == pytest.approx(star)


def test_tanh_mean_field_in_closed_cases():
    # Layer 1 sees q = gain^2; its saturated fraction is P(|z| > artanh(0.97) / gain).
    theory = isan.tanh_mean_field(3, gain=2.0)
    z = np.random.default_rng(0).standard_normal(400_000)
    assert theory["saturated"][0] == pytest.approx(np.mean(np.abs(np.tanh(2 * z)) > 0.97), abs=3e-3)
    assert theory["activation_std"][0] == pytest.approx(np.tanh(2 * z).std(), rel=3e-3)
    # A gain far below 1 is almost linear: chi ~ gain^2 per layer.
    small = isan.tanh_mean_field(5, gain=0.1)
    assert small["gradient_ratio"] == pytest.approx(0.1**4, rel=1e-3)
