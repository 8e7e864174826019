import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import models
from vgrad_course.lessons import curvature


def _full_hessian(model, x, y):
    """The Hessian of the mean-squared error, formed entry by entry (independent reference)."""
    xt, yt = tf.constant(x, tf.float32), tf.constant(y, tf.float32)
    variables = model.trainable_variables
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape() as inner:
            value = tf.reduce_mean((model(xt) - yt) ** 2)
        flat = tf.concat([tf.reshape(g, [-1]) for g in inner.gradient(value, variables)], 0)
    rows = [tf.reshape(block, [flat.shape[0], -1]) for block in outer.jacobian(flat, variables)]
    del outer
    return tf.concat(rows, axis=1).numpy().astype(np.float64)


def test_sharpness_equals_the_largest_eigenvalue_of_the_full_hessian():
    model = models.build_mlp(2, 3, input_dim=2, output_dim=1, activation="tanh", seed=3)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 2)), rng.normal(size=(16, 1))
    expected = np.linalg.eigvalsh(_full_hessian(model, x, y)).max()
    got = curvature.sharpness(model, x, y, iters=500, tol=1e-7)
    assert got == pytest.approx(expected, rel=1e-3)


def test_sharpness_of_a_linear_least_squares_fit_is_twice_the_second_moment():
    single = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    x = np.linspace(-1, 1, 11)[:, None]
    # mse = mean((w x - y)^2) is quadratic in w with second derivative 2 mean(x^2)
    assert curvature.sharpness(single, x, 0 * x) == pytest.approx(2 * np.mean(x**2), rel=1e-4)


def test_sharpness_finds_the_largest_not_the_largest_magnitude_eigenvalue():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, use_bias=False)])
    x = np.eye(2)

    def saddle(y_true, y_pred):  # Hessian diag(1, 1, -5, -5) in the kernel entries
        return y_pred[:, 0] ** 2 - 5 * y_pred[:, 1] ** 2

    assert curvature.sharpness(model, x, x, loss=saddle, tol=1e-8) == pytest.approx(1.0, 1e-4)


def test_sharpness_rejects_bad_arguments():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="iters"):
        curvature.sharpness(model, np.ones((2, 1)), np.ones((2, 1)), iters=0)
    with pytest.raises(ValueError, match="loss"):
        curvature.sharpness(model, np.ones((2, 1)), np.ones((2, 1)), loss=3)
