import keras
import numpy as np
import pytest

from vgrad_course import probes, training
from vgrad_course.lessons import residual


def test_block_jacobian_is_identity_plus_branch():
    block = residual.ResidualBlock(6, branch_std=0.3, seed=1)
    h = np.random.default_rng(0).standard_normal(6)
    block(h[None, :].astype(np.float32))
    w = block.dense.kernel.numpy().astype(np.float64)
    expected = np.eye(6) + w.T * (h > 0)[None, :]  # d out_i/d h_j = delta_ij + W[j, i] relu'(h_j)
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


def test_residual_mlp_shapes_names_and_probe():
    model = residual.build_residual_mlp(3, 8, input_dim=5, output_dim=2)
    x = np.random.default_rng(0).standard_normal((16, 5)).astype(np.float32)
    y = np.zeros(16, dtype=np.int64)
    assert model(x).shape == (16, 2)
    norms = probes.hidden_kernel_norms(model, x, y, loss=training.classification_loss())
    assert norms.shape == (3,) and np.all(norms > 0)
    with pytest.raises(ValueError, match="projection"):
        residual.ResidualBlock(4)(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="width"):
        residual.ResidualBlock(0)
