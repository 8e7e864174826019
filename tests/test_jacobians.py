import numpy as np
import pytest

from vgrad_course import models
from vgrad_course.lessons import jacobians


def test_random_product_norms_follow_the_scale():
    norms = jacobians.random_product_norms(30, 128, scale=1.5, trials=10)
    assert norms[0] == pytest.approx(1.0)
    # E log ||W v|| per layer = log(scale) - O(1/width)
    assert jacobians.growth_per_layer(norms) == pytest.approx(1.5, rel=0.02)
    orth = jacobians.random_product_norms(30, 16, scale=0.9, kind="orthogonal", trials=2)
    np.testing.assert_allclose(orth, 0.9 ** np.arange(31), rtol=1e-10)


def test_critical_scale_matches_the_chi_square_formula():
    # E log(chi2_n / n) = digamma(n/2) + log(2/n); critical gain = exp(-that / 2).
    n = 8
    digamma = -0.5772156649 + sum(1 / k for k in range(1, n // 2))  # digamma(4)
    expected = np.exp(-(digamma + np.log(2 / n)) / 2)
    got = jacobians.critical_scale(n, depth=200, trials=50)
    assert got == pytest.approx(expected, rel=0.01)


def test_deep_linear_net_is_a_product_of_its_kernels():
    model = jacobians.build_deep_linear(5, 4, gain=1.3, input_dim=2)
    x = np.array([[0.3, -1.2]], dtype=np.float32)
    product = np.eye(2)
    for w in model.get_weights():
        product = product @ w
    np.testing.assert_allclose(model(x).numpy(), x @ product, rtol=1e-5)
    assert [v.path for v in model.trainable_variables][0] == "hidden_1/kernel"


def test_deep_linear_layers_are_seeded_per_layer_like_build_mlp():
    # layer_seed(seed, i): a deeper network starts with the same layers as a shallower one
    shallow = jacobians.build_deep_linear(3, 4, input_dim=2, seed=1)
    deep = jacobians.build_deep_linear(5, 4, input_dim=2, seed=1)
    for i in (1, 2, 3):
        np.testing.assert_array_equal(
            shallow.get_layer(f"hidden_{i}").kernel.numpy(),
            deep.get_layer(f"hidden_{i}").kernel.numpy(),
        )
    other = jacobians.build_deep_linear(3, 4, input_dim=2, seed=2)
    assert not np.allclose(shallow.get_weights()[0], other.get_weights()[0])


def test_chain_rule_grads_equal_the_tape():
    model = models.build_mlp(3, 4, input_dim=2, output_dim=1, activation="tanh", seed=1)
    x, y = np.array([0.5, -0.4]), np.array([1.0])
    jacs = jacobians.layer_jacobians(model, x)
    assert len(jacs) == 7  # 3 x (Dense, Activation) + output
    out = model(x[None].astype(np.float32)).numpy()[0]
    chained = jacobians.chain_rule_grads(jacs, 2 * (out - y))  # d mse / d y_hat
    tape = jacobians.tape_layer_grads(model, x, y)
    assert len(chained) == len(tape) == 8
    for a, b in zip(chained, tape, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="kind"):
        jacobians.random_product_norms(3, 3, kind="uniform")
    with pytest.raises(ValueError, match="gain"):
        jacobians.build_deep_linear(3, 3, gain=0.0)
    with pytest.raises(ValueError, match="cannot follow"):
        jacobians.chain_rule_grads([np.zeros((3, 2))], np.zeros(2))
