import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from vgrad_course import gated_residual as gr  # noqa: E402
from vgrad_course.lessons import deep_residual as dr  # noqa: E402
from vgrad_course.lessons import landscape as ls  # noqa: E402


@pytest.fixture(scope="module")
def small():
    schemes = ["fixup", "noskip", "fixup"]
    model = gr.build_gated_resnet(2, 4, schemes=schemes, seeds=[0, 1, 2], input_dim=3, output_dim=3)
    rng = np.random.default_rng(0)
    for v in model.weights:
        v.assign(rng.normal(0, 0.5, v.shape).astype(np.float32))
    x = rng.normal(size=(16, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=16)
    return model, x, y


def test_replicas_of_a_member_compute_what_it_computes(small):
    model, x, y = small
    theta = ls.member_weights(model, 1)
    assert theta["stack/kernel_1"].shape == (2, 4, 4) and theta["stack/gate"].shape == (2,)
    copies = ls.replicas(model, 1, [theta, theta])
    np.testing.assert_allclose(copies(x).numpy()[:, 0], model(x).numpy()[:, 1], rtol=1e-6)
    np.testing.assert_allclose(copies(x).numpy()[:, 1], model(x).numpy()[:, 1], rtol=1e-6)


def test_filter_normalised_direction(small):
    model, _, _ = small
    theta = ls.member_weights(model, 0)
    d = ls.filter_normalised_direction(theta, seed=4)
    for path, w in theta.items():
        if "kernel" in path:  # each unit's incoming weights: the norm of theta's
            np.testing.assert_allclose(
                np.linalg.norm(d[path], axis=-2), np.linalg.norm(w, axis=-2), rtol=1e-10
            )
            assert not np.allclose(d[path], w)
        else:
            assert np.all(d[path] == 0)  # biases and gates are not moved
    again = ls.filter_normalised_direction(theta, seed=4)
    assert all(np.array_equal(d[k], again[k]) for k in d)


def test_loss_slices_against_direct_evaluation(small):
    model, x, y = small
    alphas = np.array([-0.5, 0.0, 0.5])
    lines, surface = ls.loss_slices(model, [0, 2], x, y, alphas=alphas, seed=10)
    assert lines.shape == (2, 2, 3) and surface.shape == (3, 3)
    centre = dr.member_scores(model, x, y)["loss"]
    assert surface[1, 1] == pytest.approx(centre[0], rel=1e-5)
    np.testing.assert_allclose(lines[1, :, 1], centre[2], rtol=1e-5)
    np.testing.assert_allclose(lines[0, 0], surface[1], rtol=1e-6)  # axes of the surface
    np.testing.assert_allclose(lines[0, 1], surface[:, 1], rtol=1e-6)
    # an independent evaluation of one corner: (a, b) = (0.5, -0.5) through member 0
    theta = ls.member_weights(model, 0)
    d1, d2 = (ls.filter_normalised_direction(theta, seed=s) for s in (10, 11))
    moved = {k: theta[k] + 0.5 * d1[k] - 0.5 * d2[k] for k in theta}
    logits = ls.replicas(model, 0, [moved])(x).numpy()[:, 0].astype(np.float64)
    z = logits - logits.max(1, keepdims=True)
    ce = -(z - np.log(np.exp(z).sum(1, keepdims=True)))[np.arange(len(y)), y].mean()
    assert surface[0, 2] == pytest.approx(ce, rel=1e-5)
    with pytest.raises(ValueError, match="one scheme"):
        ls.loss_slices(model, [0, 1], x, y, alphas=alphas)
    with pytest.raises(ValueError, match="symmetric around 0"):
        ls.loss_slices(model, [0], x, y, alphas=np.array([0.0, 0.5]))


def test_rise_and_roughness():
    a = np.linspace(-1, 1, 11)
    assert ls.rise(a**2, a, at=0.2) == pytest.approx(0.04)
    np.testing.assert_allclose(ls.rise(np.stack([a**2, 3 * a**2 + a]), a, at=1.0), [1, 3])
    with pytest.raises(ValueError, match="must contain"):
        ls.rise(a**2, a, at=0.25)
    assert ls.roughness(a**2 + a) == pytest.approx(1.0)  # one valley, off centre
    assert ls.roughness(np.array([3.0, 1.0, 2.0, 1.0, 3.0])) == pytest.approx(6 / 4)
    np.testing.assert_allclose(ls.roughness(np.stack([a**2, np.abs(a)])), [1.0, 1.0])
    with pytest.raises(ValueError, match="at least 3 points"):
        ls.roughness(np.ones(2))


def test_gradient_noise_matches_the_sampling_formula(small):
    model, x, y = small
    # Per-example gradients, one tape each: the reference for E|g_B - g|^2.
    per_example = []
    copy = ls.replicas(model, 1, [ls.member_weights(model, 1)])
    for i in range(16):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(gr.member_crossentropy(y[i : i + 1], copy(x[i : i + 1])))
        per_example.append(
            np.concatenate([g.numpy().ravel() for g in tape.gradient(loss, copy.weights)])
        )
    g = np.array(per_example, dtype=np.float64)
    trace = np.sum((g - g.mean(0)) ** 2) / 16  # tr(Sigma), population covariance
    expected = [trace / b * (16 - b) / (16 - 1) for b in (2, 4)]
    measured = ls.gradient_noise(model, 1, x, y, batch_sizes=(2, 4, 16), draws=400, seed=0)
    np.testing.assert_allclose(measured[:2], expected, rtol=0.15)
    assert measured[2] < 1e-9 * measured[0]  # the whole set: no noise
    with pytest.raises(ValueError, match="larger than the 16 examples"):
        ls.gradient_noise(model, 1, x, y, batch_sizes=(32,), draws=2)


def test_loglog_slope_and_plot():
    b = np.array([8.0, 16, 32, 64])
    assert ls.loglog_slope(b, 3 / b) == pytest.approx(-1.0)
    a = np.linspace(-1, 1, 5)
    ax = ls.plot_surface(a, 1 + np.add.outer(a**2, a**2), title="t")
    assert ax.get_title() == "t" and ax.get_xlabel().startswith("a")
    plt.close("all")
