import numpy as np
import pytest

from vgrad_course.lessons import backprop

PARAMS = {
    "w1": np.array([0.5, -1.0]),
    "b1": np.array([0.0, 0.5]),
    "w2": np.array([1.0, 2.0]),
    "b2": np.array(0.0),
}


def test_forward_values_by_hand():
    cache = backprop.forward(PARAMS, 1.0, 1.0)
    np.testing.assert_allclose(cache["z"], [0.5, -0.5])
    np.testing.assert_allclose(cache["h"], np.tanh([0.5, -0.5]))
    y_hat = -np.tanh(0.5)
    assert cache["y_hat"] == pytest.approx(y_hat)
    assert cache["loss"] == pytest.approx(0.5 * (y_hat - 1.0) ** 2)


def test_backward_matches_tape_and_finite_differences():
    rng = np.random.default_rng(3)
    params = {k: rng.normal(size=np.shape(v)) for k, v in PARAMS.items()}
    grads = backprop.backward(params, backprop.forward(params, 0.7, -0.3))
    hand = {k: grads[k] for k in backprop.PARAMS}
    tape = backprop.tape_gradients(params, 0.7, -0.3)
    numeric = backprop.numerical_gradients(lambda p: backprop.forward(p, 0.7, -0.3)["loss"], params)
    assert backprop.max_relative_error(hand, tape) < 1e-10
    assert backprop.max_relative_error(hand, numeric) < 1e-7


def test_max_relative_error_detects_a_difference():
    a = {"w": np.array([1.0, 2.0])}
    assert backprop.max_relative_error(a, {"w": np.array([1.0, 2.0])}) == 0.0
    assert backprop.max_relative_error(a, {"w": np.array([1.0, 2.2])}) == pytest.approx(0.2 / 4.2)


def test_bad_params_raise():
    with pytest.raises(ValueError, match="keys"):
        backprop.forward({"w1": np.zeros(2)}, 1.0, 1.0)
    with pytest.raises(ValueError, match="shape"):
        backprop.forward({**PARAMS, "w2": np.zeros(3)}, 1.0, 1.0)
    for eps in (0.0, -1e-6, float("nan")):
        with pytest.raises(ValueError, match="eps"):
            backprop.numerical_gradients(lambda p: 0.0, PARAMS, eps=eps)


def test_plot_graph_shows_every_node():
    cache = backprop.forward(PARAMS, 1.0, 1.0)
    ax = backprop.plot_graph(cache, backprop.backward(PARAMS, cache))
    texts = [t.get_text() for t in ax.texts]
    assert sum("∂L/∂" in t for t in texts) == 6
