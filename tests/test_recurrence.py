"""Jacobian products through time against TensorFlow autodiff and closed forms."""

import numpy as np
import pytest
import tensorflow as tf

from vgrad_course.lessons import recurrence


def _orthogonal(n, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return q


def test_spectral_radius_of_a_diagonal_matrix():
    assert recurrence.spectral_radius(np.diag([0.3, -1.7, 1.2])) == pytest.approx(1.7)


@pytest.mark.parametrize("rho", [0.5, 1.0, 1.5])
def test_recurrent_matrix_has_the_requested_radius(rho):
    w = recurrence.recurrent_matrix(16, rho, seed=3)
    assert max(abs(np.linalg.eigvals(w))) == pytest.approx(rho)


def test_run_recurrence_matches_a_loop():
    rng = np.random.default_rng(0)
    w, u = rng.normal(size=(4, 4)) / 2, rng.normal(size=(6, 4))
    pre, h = recurrence.run_recurrence(w, u, activation="tanh")
    state = np.zeros(4)
    for t in range(6):
        state = np.tanh(w @ state + u[t])
        np.testing.assert_allclose(h[t], state)
        np.testing.assert_allclose(np.tanh(pre[t]), state)


@pytest.mark.parametrize("activation", ["linear", "tanh"])
def test_jacobian_norms_match_tensorflow(activation):
    rng = np.random.default_rng(1)
    n, seq_len = 5, 7
    w = rng.normal(size=(n, n)) * 0.6
    u = rng.normal(size=(seq_len, n))
    h0 = rng.normal(size=n) * 0.1
    norms = recurrence.jacobian_norms(w, u, activation=activation, h0=h0)
    _, states = recurrence.run_recurrence(w, u, activation=activation, h0=h0)
    phi = tf.tanh if activation == "tanh" else tf.identity
    wt = tf.constant(w)
    for k in range(seq_len + 1):
        start = h0 if k == seq_len else states[seq_len - k - 1]
        h_start = tf.Variable(start[None, :])
        with tf.GradientTape() as tape:
            h = h_start
            for t in range(seq_len - k, seq_len):
                h = phi(h @ tf.transpose(wt) + u[t][None, :])
        jac = tape.jacobian(h, h_start).numpy().reshape(n, n)
        assert norms[k] == pytest.approx(np.linalg.norm(jac, ord=2), rel=1e-6)


def test_linear_norms_are_powers_of_rho_for_a_scaled_orthogonal_matrix():
    rho = 0.9
    norms = recurrence.jacobian_norms(rho * _orthogonal(8), np.zeros((20, 8)), activation="linear")
    np.testing.assert_allclose(norms, rho ** np.arange(21), rtol=1e-9)


def test_sweep_equals_last_jacobian_norm_and_grows_with_rho():
    rhos = [0.8, 1.0, 1.2]
    sweep = recurrence.spectral_radius_sweep(rhos, seq_len=10, units=6, activation="linear")
    u = np.random.default_rng(1).normal(0, 1.0, size=(10, 6))
    for rho, value in zip(rhos, sweep, strict=True):
        w = recurrence.recurrent_matrix(6, rho, seed=0)
        assert value == pytest.approx(recurrence.jacobian_norms(w, u, activation="linear")[-1])
    assert np.all(np.diff(sweep) > 0)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="square"):
        recurrence.spectral_radius(np.ones((2, 3)))
    with pytest.raises(ValueError, match="rho"):
        recurrence.recurrent_matrix(4, 0.0)
    with pytest.raises(ValueError, match="activation"):
        recurrence.run_recurrence(np.eye(2), np.zeros((3, 2)), activation="relu")
    with pytest.raises(ValueError, match="shape"):
        recurrence.run_recurrence(np.eye(2), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="seq_len"):
        recurrence.spectral_radius_sweep([1.0], seq_len=0)


def test_sweeps_stack_one_sweep_per_seed():
    rhos = [0.7, 1.3]
    rows = recurrence.spectral_radius_sweeps(
        rhos, n_matrices=3, seq_len=8, units=5, activation="tanh", input_scale=0.5, seed=2
    )
    assert rows.shape == (3, 2)
    for i, row in enumerate(rows):
        one = recurrence.spectral_radius_sweep(
            rhos, seq_len=8, units=5, activation="tanh", input_scale=0.5, seed=2 + i
        )
        np.testing.assert_array_equal(row, one)
    assert not np.allclose(rows[0], rows[1])  # different matrices


def test_linear_norm_is_at_least_rho_to_the_t():
    # ||W^T|| >= rho(W)^T for every matrix (the spectral norm bounds the spectral radius)
    rhos = np.array([0.5, 1.0, 1.5])
    rows = recurrence.spectral_radius_sweeps(rhos, n_matrices=4, seq_len=12, activation="linear")
    assert np.all(rows >= rhos**12 * (1 - 1e-9))
    with pytest.raises(ValueError, match="n_matrices"):
        recurrence.spectral_radius_sweeps(rhos, n_matrices=0)
