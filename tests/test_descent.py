import numpy as np
import pytest

from vgrad_course.lessons import descent


def _finite_diff(fn, w, eps=1e-6):
    w = np.asarray(w, dtype=float)
    grad = np.zeros_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = eps
        grad[i] = (fn(w + e) - fn(w - e)) / (2 * eps)
    return grad


def test_quadratic_grad_matches_finite_differences():
    q = descent.Quadratic((1.0, 10.0), center=(0.5, -1.0))
    w = np.array([0.3, 0.7])
    np.testing.assert_allclose(q.grad(w), _finite_diff(q.loss, w), rtol=1e-6)
    assert q.max_stable_lr == pytest.approx(0.2)


def test_gradient_descent_matches_closed_form_on_a_quadratic():
    # On L = c w^2 / 2, each step multiplies w by (1 - lr c).
    q = descent.Quadratic((4.0,))
    for lr in (0.1, 0.45, 0.55):
        path = descent.gradient_descent(q.grad, 1.0, lr=lr, steps=20)
        np.testing.assert_allclose(path[:, 0], (1 - lr * 4.0) ** np.arange(21), rtol=1e-12)


def test_gradient_descent_diverges_quietly_to_inf():
    q = descent.Quadratic((1.0,))
    path = descent.gradient_descent(q.grad, 1.0, lr=5.0, steps=2000)
    assert not np.all(np.isfinite(path))


def test_line_fit_grad_and_solution():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    problem = descent.LineFit(x, y)
    p = np.array([0.3, -0.2])
    np.testing.assert_allclose(problem.grad(p), _finite_diff(problem.loss, p), rtol=1e-6)
    np.testing.assert_allclose(problem.solution(), np.polyfit(x, y, 1), rtol=1e-10)


def test_full_batch_sgd_equals_gradient_descent():
    rng = np.random.default_rng(1)
    problem = descent.LineFit(rng.normal(size=40), rng.normal(size=40))
    sgd = descent.minibatch_sgd(problem, (0.0, 0.0), lr=0.3, epochs=15)
    gd = descent.gradient_descent(problem.grad, (0.0, 0.0), lr=0.3, steps=15)
    np.testing.assert_allclose(sgd, gd, rtol=1e-12)
    mini = descent.minibatch_sgd(problem, (0.0, 0.0), lr=0.3, epochs=3, batch_size=8)
    assert mini.shape == (3 * 5 + 1, 2)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="curvatures"):
        descent.Quadratic((1.0, -2.0))
    with pytest.raises(ValueError, match="lr"):
        descent.gradient_descent(lambda w: w, 1.0, lr=0.0, steps=3)
    with pytest.raises(ValueError, match="same"):
        descent.LineFit(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        descent.minibatch_sgd(descent.LineFit([1.0], [1.0]), (0, 0), lr=0.1, epochs=1, batch_size=0)


def test_plots_return_axes():
    q = descent.Quadratic((1.0, 5.0))
    path = descent.gradient_descent(q.grad, (1.5, 1.0), lr=0.1, steps=10)
    ax = descent.plot_contours(q.loss, {"gd": path})
    assert ax.get_xlabel() == "$w_1$"
    assert len(ax.get_lines()) == 1
    q1 = descent.Quadratic((2.0,))
    ax = descent.plot_descent_1d(q1.loss, {"gd": path[:, :1]})
    assert ax.get_ylabel() == "loss L(w)"


def test_largest_convergent_lr_is_two_over_the_largest_curvature():
    q = descent.Quadratic((1.0, 10.0))
    lrs = np.linspace(0.01, 0.4, 40)  # step 0.01
    got = descent.largest_convergent_lr(q.grad, (1.0, 1.0), lrs, steps=300)
    assert got == pytest.approx(0.19)  # the last grid point below 2 / 10
    assert np.isnan(descent.largest_convergent_lr(q.grad, (1.0, 1.0), [0.5, 1.0]))
