import keras
import numpy as np
import pytest

from vgrad_course import models
from vgrad_course.lessons import normalization


def test_batch_normalize_matches_keras_training_mode():
    z = np.random.default_rng(0).normal(5.0, 3.0, size=(64, 4)).astype(np.float32)
    layer = keras.layers.BatchNormalization()
    out = layer(z, training=True).numpy()
    np.testing.assert_allclose(normalization.batch_normalize(z), out, atol=1e-4)
    scaled = normalization.batch_normalize(z, gamma=2.0, beta=1.0)
    np.testing.assert_allclose(scaled.mean(axis=0), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="batch"):
        normalization.batch_normalize(z[:1])


def _bn_model():
    return models.build_mlp(2, 5, input_dim=3, batch_norm=True, activation="tanh")


def test_recalibrate_sets_exact_statistics_and_closes_the_gap():
    model = _bn_model()
    x = np.random.default_rng(1).normal(2.0, 4.0, size=(200, 3)).astype(np.float32)
    assert abs(normalization.moving_variance_gap(model, x)[0] - 1.0) > 0.5
    normalization.recalibrate(model, x)
    np.testing.assert_allclose(normalization.moving_variance_gap(model, x), 1.0, rtol=1e-4)
    z = x @ model.get_layer("hidden_1").kernel.numpy()  # hidden layers have no bias with BN
    np.testing.assert_allclose(model.get_layer("bn_1").moving_mean.numpy(), z.mean(0), rtol=1e-4)
    # Inference mode now equals training mode on the same full batch.
    np.testing.assert_allclose(
        model(x, training=False).numpy(), model(x, training=True).numpy(), atol=1e-2
    )


def test_accuracy_matches_argmax_and_leaves_the_model_unchanged():
    model = _bn_model()
    x = np.random.default_rng(2).standard_normal((50, 3)).astype(np.float32)
    y = np.random.default_rng(3).integers(0, 10, 50)
    before = [v.numpy().copy() for v in model.non_trainable_variables]
    acc = normalization.accuracy(model, x, y, training=True)
    for v, b in zip(model.non_trainable_variables, before, strict=True):
        np.testing.assert_array_equal(v.numpy(), b)
    expected = np.mean(model(x, training=False).numpy().argmax(-1) == y)
    assert normalization.accuracy(model, x, y) == pytest.approx(expected)
    assert 0.0 <= acc <= 1.0
    with pytest.raises(ValueError, match="BatchNormalization"):
        normalization.recalibrate(models.build_mlp(1, 4), x)
