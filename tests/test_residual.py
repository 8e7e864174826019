import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import models, probes, training
from vgrad_course.layers import ResidualBlock
from vgrad_course.lessons import residual


def test_block_jacobian_is_identity_plus_branch():
    block = ResidualBlock(6, initializer=0.3, seed=1)
    h = np.random.default_rng(0).standard_normal(6)
    block(h[None, :].astype(np.float32))
    w = block.dense.kernel.numpy().astype(np.float64)
    expected = np.eye(6) + w.T * (h > 0)[None, :]  # d out_i/d h_j = delta_ij + W[j, i] relu'(h_j)
    np.testing.assert_allclose(residual.layer_jacobian(block, h), expected, atol=1e-5)


def test_post_activation_block_jacobian():
    block = ResidualBlock(5, initializer=0.4, preactivation=False, seed=2)
    h = np.random.default_rng(1).standard_normal(5)
    block(h[None, :].astype(np.float32))
    w, b = (v.numpy().astype(np.float64) for v in (block.dense.kernel, block.dense.bias))
    z = h @ w + b
    expected = np.eye(5) + (z > 0)[:, None] * w.T  # d out_i/d h_j = delta_ij + relu'(z_i) W[j, i]
    np.testing.assert_allclose(residual.layer_jacobian(block, h), expected, atol=1e-5)


def test_layer_jacobian_matches_finite_differences():
    layer = keras.layers.Dense(3, activation="tanh")
    h = np.array([0.3, -0.2, 0.5, 0.1])
    layer(h[None, :].astype(np.float32))
    jac = residual.layer_jacobian(layer, h)
    eps = 1e-3
    for j in range(4):
        d = np.zeros(4)
        d[j] = eps
        up = layer((h + d)[None, :].astype(np.float32)).numpy()[0]
        down = layer((h - d)[None, :].astype(np.float32)).numpy()[0]
        np.testing.assert_allclose(jac[:, j], (up - down) / (2 * eps), atol=1e-3)
    with pytest.raises(ValueError, match="one vector"):
        residual.layer_jacobian(layer, h[None, :])


def test_singular_values_match_numpy():
    a = np.random.default_rng(0).standard_normal((5, 4))
    sv = residual.singular_values(a)
    np.testing.assert_allclose(sv**2, np.sort(np.linalg.eigvalsh(a.T @ a))[::-1], atol=1e-10)


def test_block_checks_its_width():
    with pytest.raises(ValueError, match="projection"):
        ResidualBlock(4)(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="width"):
        ResidualBlock(0)


def test_block_round_trips_through_its_config():
    block = ResidualBlock(4, initializer=keras.initializers.HeNormal(seed=3), batch_norm=True)
    block(np.ones((2, 4), np.float32))
    clone = ResidualBlock.from_config(block.get_config())
    clone(np.ones((2, 4), np.float32))
    assert clone.preactivation and clone.batch_norm and clone.norm is not None
    np.testing.assert_array_equal(clone.dense.kernel.numpy(), block.dense.kernel.numpy())


def test_residual_mlp_matches_a_numpy_forward_pass():
    # An independent reference: project, then h <- h + relu(h) @ W_i + b_i, then relu, output.
    model = models.build_mlp(3, 8, input_dim=5, output_dim=2, residual=True, bias_init=0.1)
    x = np.random.default_rng(0).standard_normal((16, 5))
    w = {v.path: v.numpy().astype(np.float64) for v in model.weights}
    h = x @ w["project/kernel"] + w["project/bias"]
    for i in (1, 2, 3):
        np.testing.assert_allclose(w[f"hidden_{i}/dense/bias"], 0.1, rtol=1e-6)
        h = h + np.maximum(h, 0) @ w[f"hidden_{i}/dense/kernel"] + w[f"hidden_{i}/dense/bias"]
    out = np.maximum(h, 0) @ w["output/kernel"] + w["output/bias"]
    np.testing.assert_allclose(model(x.astype(np.float32)).numpy(), out, rtol=1e-4, atol=1e-5)


def test_probes_read_the_branch_kernels_of_residual_blocks():
    model = models.build_mlp(3, 8, input_dim=5, output_dim=2, residual=True)
    x = np.random.default_rng(0).standard_normal((16, 5)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 2, 16)
    loss = training.classification_loss()
    norms = probes.hidden_kernel_norms(model, x, y, loss=loss)
    kernels = [model.get_layer(f"hidden_{i}").dense.kernel for i in (1, 2, 3)]
    with tf.GradientTape() as tape:  # an independent tape
        value = loss(y, model(x, training=True))
    grads = tape.gradient(value, kernels)
    np.testing.assert_allclose(norms, [np.linalg.norm(g.numpy()) for g in grads], rtol=1e-5)
