"""The NumPy activation maths against Keras' activations and TensorFlow's autodiff."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import activations

Z = np.concatenate([np.linspace(-6, 6, 241), [-50.0, -1e-3, 1e-3, 50.0]])


@pytest.mark.parametrize("name", activations.ACTIVATIONS)
def test_values_and_slopes_match_keras(name):
    zt = tf.constant(Z, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        out = keras.activations.get(name)(zt)
    np.testing.assert_allclose(activations.activate(name, Z), out.numpy(), rtol=1e-6, atol=1e-8)
    slope = tape.gradient(out, zt).numpy()
    np.testing.assert_allclose(activations.derivative(name, Z), slope, rtol=1e-6, atol=1e-8)


def test_sigmoid_is_stable_at_large_inputs():
    with np.errstate(over="raise", invalid="raise"):
        s = activations.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(s, [0.0, 0.5, 1.0])


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="activation must be one of"):
        activations.derivative("swishy", Z)
