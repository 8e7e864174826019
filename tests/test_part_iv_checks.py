"""The references of the Part IV exercise set against independent computations.

Adam and layer normalisation against Keras itself, the batch-normalised unit's gradient against
finite differences, chi_1 against the gradient growth of a wide random tanh network, truncated
BPTT against TensorFlow's autodiff, and the minibatch noise against its formula.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course.grading.checks._helpers import fd_grad
from vgrad_course.grading.checks.part_iv import (
    adam_reference,
    chi1_reference,
    layer_norm_reference,
)
from vgrad_course.grading.labs_part_iv import (
    bn_unit_grad,
    direction_step,
    minibatch_noise,
    truncated_input_grads,
)


def test_adam_reference_matches_keras_step_for_step():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 4))
    # A tiny first gradient: there epsilon's place changes the step thirtyfold.
    grads = [rng.normal(size=(3, 4)) * scale for scale in (1e-8, 1.0, 1e-3, 2.0)]
    var = keras.Variable(w0.astype(np.float64), dtype="float64")
    opt = keras.optimizers.Adam(learning_rate=0.01)
    w, m, v = w0, np.zeros_like(w0), np.zeros_like(w0)
    for t, g in enumerate(grads, start=1):
        opt.apply_gradients([(tf.constant(g), var)])
        w, m, v = adam_reference(w, g, m, v, t, 0.01)
        # Keras keeps its hyperparameters in float32: agreement to 2e-5 of a step (0.01)
        np.testing.assert_allclose(var.numpy(), w, rtol=0, atol=2e-7 * t)


def test_layer_norm_reference_matches_keras():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 7)) * 3 + 1
    gamma, beta = rng.uniform(0.5, 2, size=7), rng.normal(size=7)
    layer = keras.layers.LayerNormalization(dtype="float64")
    layer.build(x.shape)
    layer.set_weights([gamma, beta])
    np.testing.assert_allclose(layer(x).numpy(), layer_norm_reference(x, gamma, beta), rtol=1e-10)


def test_bn_unit_gradient_matches_finite_differences_and_is_scale_invariant():
    rng = np.random.default_rng(2)
    w = rng.normal(size=6)

    def loss(v: np.ndarray) -> float:
        r = np.random.default_rng(0)
        x = r.normal(size=(64, 6)) + r.normal(size=6)
        y = np.tanh(x @ r.normal(size=6))
        a = x @ v
        z = (a - a.mean()) / a.std()
        return float(np.mean((z - y) ** 2))

    np.testing.assert_allclose(bn_unit_grad(w), fd_grad(loss, w), rtol=1e-5, atol=1e-8)
    assert abs(w @ bn_unit_grad(w)) < 1e-12  # orthogonal to w
    np.testing.assert_allclose(bn_unit_grad(3 * w), bn_unit_grad(w) / 3, rtol=1e-10)
    assert direction_step(3 * w, 1e-4) == pytest.approx(direction_step(w, 1e-4) / 9, rel=1e-3)


@pytest.mark.parametrize(("sigma_w", "sigma_b"), [(0.8, 0.1), (1.6, 0.3)])
def test_chi1_reference_predicts_the_gradient_growth_of_a_wide_tanh_network(sigma_w, sigma_b):
    rng = np.random.default_rng(3)
    width, depth = 1500, 40
    h = rng.normal(size=width)
    grads = []
    for _ in range(depth):  # forward to the fixed point, recording each layer's slope
        w = rng.normal(size=(width, width)) * sigma_w / np.sqrt(width)
        pre = h @ w + rng.normal(size=width) * sigma_b
        grads.append((w, 1 - np.tanh(pre) ** 2))
        h = np.tanh(pre)
    g = rng.normal(size=width)
    norms = [g @ g]
    for w, slope in reversed(grads[-20:]):
        g = (g * slope) @ w.T
        norms.append(g @ g)
    per_layer = np.exp(np.polyfit(np.arange(len(norms)), np.log(norms), 1)[0])
    assert per_layer == pytest.approx(chi1_reference(sigma_w, sigma_b), rel=0.05)


def test_truncated_input_grads_match_autodiff_and_stop_where_they_should():
    steps, units = 12, 8
    rng = np.random.default_rng(0)  # the same draws as the lab's seed 0
    w_x = rng.normal(size=(1, units)) / 2
    w_h = np.linalg.qr(rng.normal(size=(units, units)))[0]
    xs = tf.Variable(rng.normal(size=(steps, 1)))
    with tf.GradientTape() as tape:
        h = tf.zeros((1, units), dtype=tf.float64)
        for t in range(steps):
            h = tf.tanh(xs[t : t + 1] @ w_x + h @ w_h)
        loss = tf.reduce_sum(h)
    full = np.linalg.norm(tape.gradient(loss, xs).numpy(), axis=1)
    np.testing.assert_allclose(truncated_input_grads(steps, steps), full, rtol=1e-10)
    cut = truncated_input_grads(steps, 5)
    assert np.all(cut[:7] == 0) and np.all(cut[7:] > 0)
    np.testing.assert_allclose(cut[7:], full[7:], rtol=1e-10)


def test_minibatch_noise_falls_as_one_over_the_batch_size():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4096, 10))
    y = x @ rng.normal(size=10) + rng.normal(size=4096)
    per_example = -y[:, None] * x
    expected = np.trace(np.cov(per_example.T, bias=True))
    for b in (1, 16):
        assert minibatch_noise(b) == pytest.approx(expected / b, rel=0.08)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="k2"):
        truncated_input_grads(10, 0)
    with pytest.raises(ValueError, match="vector"):
        bn_unit_grad(np.ones((2, 2)))
