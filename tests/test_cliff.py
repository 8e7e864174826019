import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from vgrad_course.lessons import cliff  # noqa: E402

#: Points away from the thin wall (where finite differences are accurate) and one on its shoulder.
POINTS = np.array([[2.0, 0.0], [5.0, -3.0], [-1.0, 1.0], [3.0, -1.5], [4.5, -2.2], [8.0, -4.0]])


def test_gradient_matches_central_finite_differences():
    loss, grad = cliff.loss_and_grad(POINTS[:, 0], POINTS[:, 1])
    h = 1e-6
    for k, unit in enumerate(np.eye(2)):
        plus = cliff.loss_and_grad(*(POINTS + h * unit).T)[0]
        minus = cliff.loss_and_grad(*(POINTS - h * unit).T)[0]
        np.testing.assert_allclose(grad[:, k], (plus - minus) / (2 * h), rtol=1e-5, atol=1e-10)
    assert loss.shape == (len(POINTS),) and grad.shape == (len(POINTS), 2)


def test_gradient_matches_tensorflow_autodiff_through_50_steps():
    w = tf.Variable(POINTS[:, 0], dtype=tf.float64)
    b = tf.Variable(POINTS[:, 1], dtype=tf.float64)
    with tf.GradientTape() as tape:
        x = tf.fill(w.shape, tf.constant(0.5, tf.float64))
        for _ in range(50):
            x = w * tf.sigmoid(x) + b
        loss = tf.reduce_sum((tf.sigmoid(x) - 0.7) ** 2)  # a sum: one gradient per point
    dw, db = tape.gradient(loss, [w, b])
    ours_loss, ours = cliff.loss_and_grad(POINTS[:, 0], POINTS[:, 1])
    np.testing.assert_allclose(ours_loss.sum(), loss.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours[:, 0], dw.numpy(), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(ours[:, 1], db.numpy(), rtol=1e-9, atol=1e-15)


def test_zero_recurrent_weight_has_a_closed_form():
    # With w = 0 the state is b from the first step on: E = (s - 0.7)^2 with s = sigmoid(b),
    # dE/db = 2 (s - 0.7) s (1 - s) and dE/dw = dE/db * s (x_t depends on w through w s).
    b = np.array([-2.0, 0.0, 1.5])
    s = 1 / (1 + np.exp(-b))
    loss, grad = cliff.loss_and_grad(0.0, b)
    np.testing.assert_allclose(loss, (s - 0.7) ** 2, rtol=1e-12)
    np.testing.assert_allclose(grad[:, 1], 2 * (s - 0.7) * s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(grad[:, 0], grad[:, 1] * s, rtol=1e-12)


def test_loss_broadcasts_over_a_grid_and_never_overflows():
    w, b = np.meshgrid(np.linspace(-50, 2000, 7), np.linspace(-3000, 50, 5))
    with np.errstate(all="raise"):
        loss, grad = cliff.loss_and_grad(w, b)
    assert loss.shape == (5, 7) and grad.shape == (5, 7, 2)
    assert np.all((loss >= 0) & (loss <= 0.49 + 1e-12))  # sigmoid(x_50) lies in [0, 1]


def test_descend_is_plain_gradient_descent_without_clipping():
    run = cliff.descend((4.0, -1.0), lr=0.3, steps=5)
    p = np.array([4.0, -1.0])
    for t in range(5):
        loss, grad = cliff.loss_and_grad(*p)
        assert run["loss"][t] == pytest.approx(float(loss))
        assert run["grad_norm"][t] == pytest.approx(float(np.linalg.norm(grad)))
        p = p - 0.3 * grad
        np.testing.assert_allclose(run["path"][t + 1], p)
    assert run["path"].shape == (6, 2) and run["loss"].shape == (6,)


def test_clipped_steps_are_never_longer_than_lr_times_the_threshold():
    starts = cliff.neighbourhood((5.0, -3.0), radius=0.2, n=3)
    plain = cliff.descend(starts, lr=0.1, steps=80)
    clipped = cliff.descend(starts, lr=0.1, steps=80, clip_norm=0.3)
    lengths = cliff.step_lengths(clipped["path"])
    assert lengths.shape == (80, 9)
    assert lengths.max() <= 0.1 * 0.3 * (1 + 1e-9)
    # The raw norm was recorded; where it is below the threshold the step is the plain one.
    small = clipped["grad_norm"] <= 0.3
    np.testing.assert_allclose(lengths[small], 0.1 * clipped["grad_norm"][small], rtol=1e-9)
    assert clipped["grad_norm"].max() > 3  # the wall was hit: clipping acted
    assert cliff.step_lengths(plain["path"]).max() > 10 * lengths.max()


def test_neighbourhood_and_step_lengths():
    grid = cliff.neighbourhood((1.0, 2.0), radius=0.5, n=3)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(grid.min(axis=0), [0.5, 1.5])
    np.testing.assert_allclose(grid.max(axis=0), [1.5, 2.5])
    np.testing.assert_allclose(cliff.step_lengths(np.array([[0, 0], [3, 4], [3, 5]])), [5, 1])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.0, "steps": 3},
        {"lr": 0.1, "steps": 0},
        {"lr": 0.1, "steps": 3, "clip_norm": -1.0},
    ],
)
def test_descend_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        cliff.descend((1.0, 1.0), **kwargs)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="start"):
        cliff.descend((1.0, 2.0, 3.0), lr=0.1, steps=2)
    with pytest.raises(ValueError, match="steps"):
        cliff.loss_and_grad(1.0, 1.0, steps=0)
    with pytest.raises(ValueError, match="radius"):
        cliff.neighbourhood((0.0, 0.0), radius=0.0)
    with pytest.raises(ValueError, match="resolution"):
        cliff.plot_surface(w_range=(0, 1), b_range=(0, 1), resolution=1)


def test_plot_surface_draws_the_log_error_over_the_window():
    ax = cliff.plot_surface(w_range=(3, 6), b_range=(-3, 0), resolution=20)
    assert ax.get_xlabel() == "recurrent weight w" and ax.get_xlim() == (3, 6)
    image = ax.get_images()[0].get_array()
    assert image.shape == (20, 20)
    np.testing.assert_allclose(image[0, 0], np.log10(cliff.loss_and_grad(3.0, -3.0)[0] + 1e-12))
    plt.close(ax.figure)


def test_a_run_thrown_off_the_window_is_named_at_its_edge():
    box = np.array([[4.0, -3.5], [6.0, -1.5]])
    text, xy = cliff._edge_note(np.array([9.3, 4.7]), box)
    assert text == "thrown to (9, 5)"
    np.testing.assert_allclose(xy, [6.0 - 0.06, -1.5 - 0.06])  # just inside the corner
    text, xy = cliff._edge_note(np.array([5.0, -2.0]), box)
    assert text == "" and np.allclose(xy, [5.0, -2.0])


def test_animation_is_an_offline_player_with_one_image_per_frame():
    runs = {
        "no clipping": cliff.descend((5.0, -3.0), lr=0.1, steps=80),
        "clipped": cliff.descend((5.0, -3.0), lr=0.1, steps=80, clip_norm=0.3),
    }
    html = cliff.animate_descent(runs, frames=3, w_range=(4, 6), b_range=(-3.5, -1.5)).data
    assert len(re.findall(r"data:image/png;base64", html)) == 3
    assert "http://" not in html and "https://" not in html
    with pytest.raises(ValueError, match="frames"):
        cliff.animate_descent(runs, frames=100, w_range=(4, 6), b_range=(-3.5, -1.5))
