"""The experiment helpers of the exercise sets (labs_*.py) against independent references."""

from __future__ import annotations

import numpy as np
import pytest

from vgrad_course.grading import labs, labs_descent, labs_gradients, labs_recurrent, labs_remedies


@pytest.mark.parametrize("depth", [1, 2, 10])
def test_chain_sharpness_is_the_trace_of_the_rank_one_hessian(depth):
    # At an exact fit the Hessian is x^2 g g^T with g_k = prod_{j != k} w_j.
    expected = depth * 0.5**2 * 1.1 ** (2 * (depth - 1))
    assert np.isclose(labs_descent.chain_sharpness(depth, weight=1.1, x=0.5), expected, rtol=1e-7)


def test_adam_on_a_constant_gradient_steps_lr_g_over_g_plus_eps():
    g = np.array([1e-2, 2e-8, -3e-9])
    steps = labs_descent.adam_step_sizes(g, lr=1e-3, eps=1e-7, steps=7)
    np.testing.assert_allclose(steps, 1e-3 * np.abs(g) / (np.abs(g) + 1e-7), rtol=1e-6)


def test_line_fit_sgd_splits_its_distance_and_reports_divergence():
    run = labs_descent.line_fit_sgd(0.05, seed=3)
    assert np.isclose(run["rms"] ** 2, run["bias"] ** 2 + run["jitter"] ** 2)
    assert labs_descent.line_fit_sgd(0.001)["bias"] > 1  # still far away after 20 epochs
    assert labs_descent.line_fit_sgd(5.0)["rms"] == np.inf
    with pytest.raises(ValueError):
        labs_descent.line_fit_sgd(0.0)


def test_tiny_net_gradient_matches_the_complex_step():
    p = np.array(labs_gradients.TINY_PARAMS)
    step = 1e-30
    cs = [
        labs_gradients.tiny_net_loss(p + 1j * step * e, x=-0.7, y=0.3).imag / step
        for e in np.eye(p.size)
    ]
    np.testing.assert_allclose(labs_gradients.tiny_net_grad(p, x=-0.7, y=0.3), cs, rtol=1e-12)


def test_gradient_check_error_has_a_sweet_spot():
    err = labs_gradients.gradient_check_error
    assert err(1e-5) < 1e-10 < min(err(1e-3), err(1e-9))
    assert np.isclose(err(2e-3) / err(1e-3), 4, rtol=0.01)  # truncation: order eps^2


def test_gaussian_product_gain_scales_as_scale_to_the_depth():
    base = labs_gradients.gaussian_product_gain(1.0, width=6, depth=20, trials=30, seed=4)
    scaled = labs_gradients.gaussian_product_gain(1.3, width=6, depth=20, trials=30, seed=4)
    assert np.isclose(scaled / base, 1.3**20, rtol=1e-9)  # the same draws, scaled
    critical = 1 / labs_gradients.gaussian_product_gain(1.0, width=64, depth=50) ** (1 / 50)
    assert abs(critical - (1 + 1 / 128)) < 0.005  # the chapter's finite-width correction


def test_tanh_rnn_gain_is_the_norm_of_a_finite_difference_jacobian():
    n, steps, std = 6, 12, 0.7
    w = labs.orthogonal(n, seed=0)
    xs = np.random.default_rng(1).normal(0.0, std, size=(steps, n))

    def roll(h0):
        h = h0
        for x in xs:
            h = np.tanh(h @ w + x)
        return h

    eps = 1e-6
    jac = np.stack([(roll(eps * e) - roll(-eps * e)) / (2 * eps) for e in np.eye(n)], axis=1)
    gain = labs_recurrent.tanh_rnn_gain(std, n=n, steps=steps, seed=0)
    assert np.isclose(gain, np.linalg.norm(jac, 2), rtol=1e-6)
    assert labs_recurrent.tanh_rnn_gain(1e-6, n=n, steps=steps) == pytest.approx(1.0, rel=1e-6)


def test_recurrent_gain_is_the_norm_of_a_finite_difference_jacobian():
    u = np.random.default_rng(2).normal(size=(5, 5)) / np.sqrt(5)
    steps = 15
    h0 = np.random.default_rng(0).uniform(0.1, 1.0, size=5)  # the helper's h_0 for seed 0

    def roll(h):
        for _ in range(steps):
            h = np.tanh(h @ u)
        return h

    eps = 1e-6
    jac = np.stack([(roll(h0 + eps * e) - roll(h0 - eps * e)) / (2 * eps) for e in np.eye(5)])
    gain = labs_remedies.recurrent_gain(u, activation="tanh", steps=steps, seed=0)
    assert np.isclose(gain, np.linalg.norm(jac, 2), rtol=1e-6)
    # ReLU with the identity keeps a positive state: the gradient is carried unchanged.
    assert labs_remedies.recurrent_gain(np.eye(4), steps=100) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="square"):
        labs_remedies.recurrent_gain(np.ones((2, 3)))


def test_moving_variance_follows_its_closed_form():
    m, steps, v = 0.9, 30, 0.002
    expected = m**steps * 1.0 + (1 - m**steps) * v
    assert labs_remedies.moving_variance(m, steps=steps, batch_var=v) == pytest.approx(expected)
    with pytest.raises(ValueError, match="momentum"):
        labs_remedies.moving_variance(1.5, steps=3)


def test_dead_fractions_and_residual_stds_behave_at_their_limits():
    assert np.all(labs_remedies.relu_dead_fractions(-100.0, depth=2) == 1.0)  # all dead
    assert np.all(labs_remedies.relu_dead_fractions(0.0, depth=2, batch=512) < 0.05)
    stds = labs_remedies.residual_stack_stds(5, 16, branch_std=1e-9)
    np.testing.assert_allclose(stds, stds[0], rtol=1e-6)  # a vanishing branch: the identity
