import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from vgrad_course import (
    models,
    plotting,
    probes,  # noqa: E402
)


def teardown_function():
    plt.close("all")


def test_plot_curves_returns_axes_and_draws_each_series():
    ax = plotting.plot_curves({"a": [1, 2, 3], "b": [3, 2, 1]}, baseline=1.5, logy=True)
    assert isinstance(ax, Axes)
    assert len(ax.lines) == 3 and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"


def test_plot_curves_uses_given_axes_and_x():
    _, ax = plt.subplots()
    out = plotting.plot_curves({"a": [1, 2]}, x=[10, 20], ax=ax)
    assert out is ax
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [10, 20])
    with pytest.raises(ValueError):
        plotting.plot_curves({"a": [1, 2]}, x=[1, 2, 3])


def test_layer_step_and_histogram_plots():
    assert plotting.plot_layer_values({"m": [1e-3, 1e-2]}).get_yscale() == "log"
    ax = plotting.plot_per_step({"rnn": np.array([0.0, 1e-3, 1e-2])})
    assert ax.get_xlabel() == "time step t"
    assert isinstance(plotting.plot_histograms({"l1": np.random.randn(100)}), Axes)


def test_plot_activation_stats():
    model = models.build_mlp(3, 8, input_dim=4, output_dim=2, activation="tanh")
    stats = probes.activation_stats(model, np.random.randn(32, 4).astype(np.float32))
    ax = plotting.plot_activation_stats(stats)
    assert isinstance(ax, Axes)
