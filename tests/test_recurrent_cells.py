import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course.recurrent_cells import LayerNormSimpleRNNCell

BATCH, STEPS, FEATURES, UNITS = 3, 6, 2, 5


def _numpy_forward(x, w, u, gamma, beta, *, eps=1e-3, activation=np.tanh):
    """The cell's formula, step by step in float64: the independent reference."""
    h = np.zeros((x.shape[0], u.shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ w + h @ u
        mu = a.mean(axis=-1, keepdims=True)
        sigma = np.sqrt(((a - mu) ** 2).mean(axis=-1, keepdims=True) + eps)
        h = activation(gamma * (a - mu) / sigma + beta)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.8, (FEATURES, UNITS))
    u = rng.normal(0, 0.5, (UNITS, UNITS))
    gamma = rng.uniform(0.5, 1.5, UNITS)
    beta = rng.normal(0, 0.3, UNITS)
    return w, u, gamma, beta


def _layer(weights, **options):
    rnn = keras.layers.RNN(LayerNormSimpleRNNCell(UNITS, **options), return_sequences=True)
    rnn.build((None, STEPS, FEATURES))
    rnn.set_weights([np.asarray(v, np.float32) for v in weights])
    return rnn


def _inputs(seed=1):
    return np.random.default_rng(seed).normal(size=(BATCH, STEPS, FEATURES))


def test_forward_pass_matches_the_numpy_formula():
    weights, x = _weights(), _inputs()
    out = _layer(weights)(x.astype(np.float32)).numpy()
    np.testing.assert_allclose(out, _numpy_forward(x, *weights), atol=2e-6)


def test_weights_are_named_and_shaped_like_keras_cells():
    rnn = _layer(_weights())
    shapes = {v.path.rsplit("/", 1)[-1]: tuple(v.shape) for v in rnn.weights}
    assert shapes == {
        "kernel": (FEATURES, UNITS),
        "recurrent_kernel": (UNITS, UNITS),
        "gamma": (UNITS,),
        "beta": (UNITS,),
    }


def test_gradients_match_finite_differences_of_the_numpy_formula():
    weights, x = _weights(2), _inputs(3)
    probe = np.random.default_rng(4).normal(size=(BATCH, STEPS, UNITS))  # L = sum(probe * h)
    rnn = _layer(weights)
    xt = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(probe.astype(np.float32) * rnn(xt))
    autodiff = tape.gradient(loss, [*rnn.weights, xt])

    def numpy_loss(values):
        *params, inputs = values
        return float((probe * _numpy_forward(inputs, *params)).sum())

    values = [np.array(v, np.float64) for v in (*weights, x)]
    eps = 1e-6
    for value, grad in zip(values, autodiff, strict=True):
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            saved = value[i]
            value[i] = saved + eps
            up = numpy_loss(values)
            value[i] = saved - eps
            down = numpy_loss(values)
            value[i] = saved
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-3, atol=1e-4)


def test_unit_gain_and_zero_shift_give_zero_mean_unit_std_before_the_tanh():
    w, u, _, _ = _weights(5)
    rnn = _layer((w, u, np.ones(UNITS), np.zeros(UNITS)), activation=None)
    z = rnn((10 * _inputs(6)).astype(np.float32)).numpy()  # the normalised pre-activation
    np.testing.assert_allclose(z.mean(axis=-1), 0.0, atol=1e-5)  # over units, each example
    np.testing.assert_allclose(z.std(axis=-1), 1.0, atol=1e-3)  # and step


def test_scaling_w_and_u_together_changes_nothing():
    # Ba et al.'s invariance: the normalised pre-activation ignores the weights' common scale
    # (exactly only without epsilon, which is set negligible here).
    w, u, gamma, beta = _weights(7)
    x = _inputs(8).astype(np.float32)
    out = _layer((w, u, gamma, beta), epsilon=1e-9)(x).numpy()
    scaled = _layer((5 * w, 5 * u, gamma, beta), epsilon=1e-9)(x).numpy()
    np.testing.assert_allclose(scaled, out, atol=1e-5)


def test_seeded_initializers_repeat_and_differ_by_seed():
    def initial(seed):
        rnn = keras.layers.RNN(LayerNormSimpleRNNCell(UNITS, seed=seed))
        rnn.build((None, STEPS, FEATURES))
        return [v.numpy() for v in rnn.weights]

    first, again, other = initial(3), initial(3), initial(4)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], other[0]) and not np.allclose(first[1], other[1])
    np.testing.assert_allclose(first[1] @ first[1].T, np.eye(UNITS), atol=1e-5)  # orthogonal
    np.testing.assert_array_equal(first[2], 1.0)
    np.testing.assert_array_equal(first[3], 0.0)


def test_config_round_trips_and_a_saved_model_reloads(tmp_path):
    init = keras.initializers.Orthogonal(gain=3.0, seed=9)
    cell = LayerNormSimpleRNNCell(UNITS, recurrent_initializer=init, epsilon=1e-5, seed=2)
    config = cell.get_config()
    assert config["units"] == UNITS and config["epsilon"] == 1e-5 and config["seed"] == 2
    clone = LayerNormSimpleRNNCell.from_config(config)
    assert clone.get_config() == config
    inputs = keras.Input((STEPS, FEATURES))
    model = keras.Model(inputs, keras.layers.RNN(cell)(inputs))
    path = tmp_path / "ln.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = _inputs(10).astype(np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)
    u = loaded.layers[-1].cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(u @ u.T, 9.0 * np.eye(UNITS), atol=1e-4)  # gain 3 survived


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"units": 1}, "units must be an integer >= 2"),
        ({"units": 4, "epsilon": 0.0}, "epsilon must be a positive number"),
        ({"units": 4, "kernel_initializer": "no_such_init"}, "unknown initializer"),
        ({"units": 4, "recurrent_initializer": -1.0}, "standard deviation must be > 0"),
    ],
)
def test_bad_options_raise_clear_errors(options, message):
    with pytest.raises(ValueError, match=message):
        LayerNormSimpleRNNCell(**options)


def test_unknown_feature_count_is_refused():
    with pytest.raises(ValueError, match="known number of input features"):
        LayerNormSimpleRNNCell(4).build((None, None))
