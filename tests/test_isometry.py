import numpy as np
import pytest
import tensorflow as tf

from vgrad_course.lessons import init_sanity as isan
from vgrad_course.lessons import isometry as iso
from vgrad_course.seeds import make_rng


def test_chi1_is_the_weight_variance_at_zero_and_one_on_the_critical_line():
    assert float(iso.chi1(0.0, 1.3)) == pytest.approx(1.3**2)
    q_star = np.array([0.01, 0.3, 1.0, 4.0])
    sigma_w, sigma_b = iso.critical_point(q_star)
    np.testing.assert_allclose(iso.chi1(q_star, sigma_w), 1.0, rtol=1e-12)
    np.testing.assert_allclose(isan.fixed_point(sigma_w, sigma_b), q_star, rtol=1e-6)
    assert np.all(np.diff(sigma_w) > 0) and np.all(np.diff(sigma_b) > 0)
    with pytest.raises(ValueError, match="q_star"):
        iso.critical_point(0.0)


def test_spread_theory_for_linear_networks():
    depths = np.array([1, 4, 16])
    np.testing.assert_allclose(iso.spread_theory(depths, 0.0, kind="gaussian"), depths)
    np.testing.assert_allclose(iso.spread_theory(depths, 0.0, kind="orthogonal"), 0.0)
    assert iso.spread_theory(8, 1.0, kind="orthogonal") > 0
    with pytest.raises(ValueError, match="kind"):
        iso.spread_theory(3, 0.0, kind="uniform")


def test_weight_matrices_are_rotations_or_gaussian_and_seeded():
    orth = iso.weight_matrices(3, 32, kind="orthogonal", seed=1)
    for w in orth:
        np.testing.assert_allclose(w @ w.T, np.eye(32), atol=1e-5)
    gauss = iso.weight_matrices(20, 64, kind="gaussian", seed=1)
    assert gauss.std() == pytest.approx(1 / 8, rel=0.02)
    np.testing.assert_array_equal(gauss, iso.weight_matrices(20, 64, kind="gaussian", seed=1))
    assert not np.allclose(gauss[0], gauss[1])
    with pytest.raises(ValueError, match="kind"):
        iso.weight_matrices(2, 4, kind="identity")


def _reference_jacobian(weights, depth, sigma_w, sigma_b, seed):
    """The same network in TensorFlow, differentiated by the tape (input and biases redrawn)."""
    width = weights.shape[-1]
    rng = make_rng(seed)
    z = rng.standard_normal(width)
    x = tf.constant(np.tanh(np.sqrt(float(isan.fixed_point(sigma_w, sigma_b))) * z)[None, :])
    biases = [sigma_b * rng.standard_normal(width) for _ in range(depth)]
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = x
        for w, b in zip(weights[:depth], biases, strict=True):
            h = tf.tanh(h @ (sigma_w * w) + b)
    return tape.batch_jacobian(h, x)[0].numpy()


def test_jacobian_spectra_match_autodiff():
    weights = iso.weight_matrices(6, 12, kind="gaussian", seed=2)
    sigma_w, sigma_b = 1.4, 0.3
    got = iso.jacobian_spectra(weights, [3, 6], sigma_w=sigma_w, sigma_b=sigma_b, seed=4)
    for k, depth in enumerate([3, 6]):
        jac = _reference_jacobian(weights, depth, sigma_w, sigma_b, seed=4)
        lam = np.linalg.svd(jac, compute_uv=False) ** 2
        assert got["mean"][k] == pytest.approx(lam.mean(), rel=1e-9)
        assert got["spread"][k] == pytest.approx(lam.var() / lam.mean() ** 2, rel=1e-7)
    np.testing.assert_allclose(got["singular_values"], np.sqrt(lam)[: len(lam)], rtol=1e-8)


def test_linear_jacobians_are_products_of_kernels():
    orth = iso.weight_matrices(8, 16, kind="orthogonal")
    r = iso.jacobian_spectra(orth, [1, 8], activation="linear", sigma_w=0.9)
    np.testing.assert_allclose(r["singular_values"], 0.9**8, rtol=1e-5)
    np.testing.assert_allclose(r["spread"], 0.0, atol=1e-9)
    gauss = iso.weight_matrices(1, 16, kind="gaussian")
    r = iso.jacobian_spectra(gauss, [1], activation="linear")
    np.testing.assert_allclose(r["singular_values"], np.linalg.svd(gauss[0], compute_uv=False))
    with pytest.raises(ValueError, match="depths"):
        iso.jacobian_spectra(gauss, [2])
    with pytest.raises(ValueError, match="activation"):
        iso.jacobian_spectra(gauss, [1], activation="relu")


def test_measured_chi_matches_a_loop_over_one_network():
    weights = iso.weight_matrices(5, 10, kind="gaussian", seed=3)
    got = iso.measured_chi(np.array([0.7, 2.0]), np.array([0.0, 0.5]), weights, burn_in=2, batch=3)
    for i, sigma_w in enumerate((0.7, 2.0)):
        for j, sigma_b in enumerate((0.0, 0.5)):
            rng = make_rng(0)
            x = rng.standard_normal((3, 10))
            chis = []
            for layer, w in enumerate(weights):
                h = sigma_w * x @ w + sigma_b * rng.standard_normal(10)
                x = np.tanh(h)
                if layer >= 2:
                    for row in h:  # ||diag(tanh') (sigma_w W)^T||_F^2 / width, per input
                        jac = (1 - np.tanh(row)[:, None] ** 2) * (sigma_w * w).T
                        chis.append(np.sum(jac**2) / 10)
            assert got[i, j] == pytest.approx(np.log(np.mean(chis)), rel=1e-10)
    with pytest.raises(ValueError, match="burn_in"):
        iso.measured_chi(np.ones(1), np.zeros(1), weights, burn_in=5)


def test_critical_sigma_w_interpolates_the_first_upward_crossing():
    sigma_w = np.array([0.5, 1.0, 1.5, 2.0])
    log_chi = np.array([[-1.0, -2.0], [-0.5, -1.5], [0.5, -1.0], [1.0, -0.5]])
    np.testing.assert_allclose(iso.critical_sigma_w(sigma_w, log_chi), [1.25, np.nan])


def test_plot_phase_diagram_labels_both_phases():
    sw, sb = np.linspace(0.5, 3, 6), np.linspace(0, 1, 3)
    lc = np.log(sw)[:, None] - sb[None, :]
    ax = iso.plot_phase_diagram(sw, sb, lc, line=(sw, sw - 1), marks={"a": (1.0, 0.0)})
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "ordered" in texts and "chaotic" in texts
    assert ax.get_xlabel().startswith("weight") and ax.get_ylabel().startswith("bias")
