import numpy as np
import pytest

from vgrad_course import data


def test_adding_problem_shapes_and_dtypes():
    x, y = data.adding_problem(200, 30, seed=1)
    assert x.shape == (200, 30, 2) and x.dtype == np.float32
    assert y.shape == (200, 1) and y.dtype == np.float32


@pytest.mark.parametrize("seq_len", [2, 3, 17, 50])
def test_adding_problem_two_markers_one_per_half(seq_len):
    x, y = data.adding_problem(500, seq_len, seed=2)
    values, markers = x[..., 0], x[..., 1]
    assert set(np.unique(markers)) <= {0.0, 1.0}
    assert np.all(markers.sum(axis=1) == 2)
    half = seq_len // 2
    assert np.all(markers[:, :half].sum(axis=1) == 1)
    assert np.all(markers[:, half:].sum(axis=1) == 1)
    assert np.all((values >= 0) & (values <= 1))
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=1), rtol=1e-6)


def test_adding_problem_baseline_is_one_sixth():
    _, y = data.adding_problem(20000, 20, seed=3)
    # Predicting the mean of the sum of two U[0,1] has MSE Var = 2 * 1/12 = 1/6.
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.01


def test_adding_problem_is_deterministic_per_seed():
    a = data.adding_problem(50, 10, seed=7)
    b = data.adding_problem(50, 10, seed=7)
    c = data.adding_problem(50, 10, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("n,seq_len", [(0, 10), (-1, 10), (5, 1), (5, 0), (2.5, 10), (5, "10")])
def test_adding_problem_rejects_bad_sizes(n, seq_len):
    with pytest.raises(ValueError):
        data.adding_problem(n, seq_len)


def test_sign_recall_label_is_sign_of_first_step():
    x, y = data.sign_recall(300, 25, seed=0)
    assert x.shape == (300, 25, 1) and y.shape == (300, 1)
    np.testing.assert_array_equal(y[:, 0], (x[:, 0, 0] > 0).astype(np.float32))
    assert 0.4 < y.mean() < 0.6
    np.testing.assert_array_equal(x, data.sign_recall(300, 25, seed=0)[0])


def test_mnist1d_offline_shapes_and_standardisation():
    (x, y), (xt, yt) = data.mnist1d()
    assert x.shape == (4000, 40) and xt.shape == (1000, 40)
    assert set(np.unique(y)) == set(range(10))
    assert abs(x.mean()) < 1e-4 and abs(x.std() - 1) < 1e-4
    (x2, _), _ = data.mnist1d()
    np.testing.assert_array_equal(x, x2)
    x2[0, 0] = 99.0  # callers get copies: mutating one must not corrupt the cache
    assert data.mnist1d()[0][0][0, 0] != 99.0


def test_regression_line_recovers_slope():
    x, y = data.regression_line(2000, slope=3.0, intercept=0.5, noise=0.1, seed=0)
    slope, intercept = np.polyfit(x[:, 0], y[:, 0], 1)
    assert abs(slope - 3.0) < 0.05 and abs(intercept - 0.5) < 0.05
