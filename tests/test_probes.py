"""Probes against independent references: finite differences and hand-written tapes.

Every probe runs the model in training mode and must (1) count the regularisation losses, as a
training step does, and (2) leave the model's non-trainable state (batch-norm statistics,
dropout seeds) byte for byte as it found it.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import data, models, probes, training


def _tiny_mlp(loss="mse"):
    model = models.build_mlp(2, 5, input_dim=3, output_dim=2, activation="tanh", seed=1)
    model.compile(optimizer="sgd", loss=loss)
    return model


def _batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(n, 2)).astype(np.float32)


def _loss_value(model, x, y):
    return float(keras.ops.mean(keras.losses.mean_squared_error(y, model(x, training=True))))


def test_layer_grad_norms_match_finite_differences():
    model = _tiny_mlp()
    x, y = _batch()
    norms = probes.layer_grad_norms(model, x, y)
    assert list(norms) == [v.path for v in model.trainable_variables]
    eps = 1e-2
    for v in model.trainable_variables:
        base = v.numpy().astype(np.float64)
        fd = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            for sign in (+1, -1):
                w = base.copy()
                w[idx] += sign * eps
                v.assign(w.astype(np.float32))
                fd[idx] += sign * _loss_value(model, x, y) / (2 * eps)
        v.assign(base.astype(np.float32))
        assert norms[v.path] == pytest.approx(np.linalg.norm(fd), rel=2e-3, abs=1e-5), v.path


def test_layer_grad_norms_match_analytic_linear_regression():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, name="lin")])
    x, _ = _batch()
    y = np.ones((len(x), 1), np.float32)
    w, b = model.get_layer("lin").get_weights()
    residual = x @ w + b - y
    grad_w = 2 * x.T @ residual / len(x)
    grad_b = 2 * residual.mean(axis=0)
    norms = probes.layer_grad_norms(model, x, y, loss="mse")
    layer = model.get_layer("lin")
    assert norms[layer.kernel.path] == pytest.approx(np.linalg.norm(grad_w), rel=1e-5)
    assert norms[layer.bias.path] == pytest.approx(np.linalg.norm(grad_b), rel=1e-5)


def test_layer_grad_norms_use_training_mode_and_regularisation():
    # Dropout is active in training mode: the probe must differ from inference-mode grads.
    inputs = keras.Input((3,))
    h = keras.layers.Dense(
        4, kernel_regularizer=keras.regularizers.L2(10.0), name="d", kernel_initializer="ones"
    )(inputs)
    out = keras.layers.Dense(1, name="o")(h)
    model = keras.Model(inputs, out)
    model.compile(optimizer="sgd", loss="mse")
    x, _ = _batch()
    y = np.zeros((len(x), 1), np.float32)
    with tf.GradientTape() as tape:
        pred = model(x, training=True)
        loss = keras.ops.mean(keras.losses.mean_squared_error(y, pred)) + keras.ops.sum(
            model.losses
        )
    ref = tape.gradient(loss, model.trainable_variables)
    norms = probes.layer_grad_norms(model, x, y)
    for v, g in zip(model.trainable_variables, ref, strict=True):
        assert norms[v.path] == pytest.approx(float(tf.norm(g)), rel=1e-5)
    assert norms["d/kernel"] > 10  # the L2 penalty dominates: it was included


def test_layer_grad_norms_without_loss_raises_clear_error():
    model = models.build_mlp(1, 4, input_dim=3, output_dim=2)
    x, y = _batch()
    with pytest.raises(ValueError, match="compile"):
        probes.layer_grad_norms(model, x, y)
    assert probes.layer_grad_norms(model, x, y, loss="mse")


def test_layer_grad_norms_batch_mismatch_raises():
    model = _tiny_mlp()
    x, y = _batch()
    with pytest.raises(ValueError, match="batch size"):
        probes.layer_grad_norms(model, x, y[:3])


def _tiny_rnn():
    model = models.build_rnn("simple", 4, seq_len=6, input_dim=2, seed=3)
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_input_grad_norms_match_finite_differences():
    model = _tiny_rnn()
    x, y = data.adding_problem(3, 6, seed=0)
    norms = probes.input_grad_norms(model, x, y)
    assert norms.shape == (6,)

    def loss_at(xv):
        pred = model(xv, training=True)
        return float(keras.ops.mean(keras.losses.mean_squared_error(y, pred)))

    eps = 1e-2
    fd = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        for sign in (+1, -1):
            xp = x.astype(np.float64).copy()
            xp[idx] += sign * eps
            fd[idx] += sign * loss_at(xp.astype(np.float32)) / (2 * eps)
    expected = np.linalg.norm(fd, axis=-1).mean(axis=0)
    np.testing.assert_allclose(norms, expected, rtol=5e-3, atol=1e-6)


def test_input_grad_norms_equal_per_step_loop():
    model = _tiny_rnn()
    x, y = data.adding_problem(16, 6, seed=1)
    ours = probes.input_grad_norms(model, x, y)
    # Independent reference: the naive method, one tape per time step.
    naive = []
    for t in range(x.shape[1]):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = keras.ops.mean(keras.losses.mean_squared_error(y, model(xt, training=True)))
        g = tape.gradient(loss, xt)[:, t, :]
        naive.append(float(tf.reduce_mean(tf.norm(g, axis=-1))))
    np.testing.assert_allclose(ours, naive, rtol=1e-5)


def test_input_grad_norms_rejects_non_sequences():
    model = _tiny_mlp()
    x, y = _batch()
    with pytest.raises(ValueError, match=r"\(batch, seq_len, features\)"):
        probes.input_grad_norms(model, x, y)


def test_activation_stats_against_numpy():
    model = models.build_mlp(3, 16, input_dim=3, output_dim=2, activation="tanh", seed=0)
    x, _ = _batch(64)
    stats = probes.activation_stats(model, x)
    assert list(stats) == ["act_1", "act_2", "act_3"]
    feats = keras.Model(model.inputs, model.get_layer("act_2").output)(x).numpy()
    assert stats["act_2"].mean == pytest.approx(feats.mean(), abs=1e-6)
    assert stats["act_2"].std == pytest.approx(feats.std(), rel=1e-5)
    assert stats["act_2"].saturated == pytest.approx((np.abs(feats) > 0.97).mean())


def test_saturation_mask_definitions():
    a = np.array([-0.99, -0.5, 0.0, 0.98])
    np.testing.assert_array_equal(probes.saturation_mask(a, "tanh"), [True, False, False, True])
    s = np.array([0.01, 0.5, 0.99])
    np.testing.assert_array_equal(probes.saturation_mask(s, "sigmoid"), [True, False, True])
    r = np.array([0.0, 0.0, 2.0])
    assert not probes.saturation_mask(r, "relu").any()  # switched off is not saturated
    assert not probes.saturation_mask(r, "linear").any()


def test_relu_layers_report_inactive_and_dead_units_not_saturation():
    model = models.build_mlp(2, 16, input_dim=3, output_dim=2, activation="relu", seed=0)
    x, _ = _batch(64)
    stats = probes.activation_stats(model, x)
    feats = keras.Model(model.inputs, model.get_layer("act_1").output)(x).numpy()
    assert stats["act_1"].saturated == 0.0
    assert stats["act_1"].inactive == pytest.approx((feats <= 0).mean())
    assert stats["act_1"].dead == pytest.approx((feats <= 0).all(axis=0).mean())
    assert 0.2 < stats["act_1"].inactive < 0.8  # a healthy ReLU layer: about half switched off
    tanh = probes.activation_stats(
        models.build_mlp(1, 8, input_dim=3, output_dim=2, activation="tanh"), x
    )
    assert tanh["act_1"].inactive == tanh["act_1"].dead == 0.0


def test_saturated_sigmoid_network_is_detected():
    model = models.build_mlp(
        2, 32, input_dim=3, output_dim=2, activation="sigmoid", initializer=5.0
    )
    x, _ = _batch(128)
    stats = probes.activation_stats(model, 10 * x)
    assert stats["act_1"].saturated > 0.5


def test_hidden_kernel_norms_follow_depth_and_match_a_tape():
    # 11 layers: hidden_10 and hidden_11 come after hidden_9, not after hidden_1
    model = models.build_mlp(11, 4, input_dim=3, output_dim=2, activation="sigmoid")
    x, _ = _batch(32)
    y = np.zeros(32, np.int64)
    loss = training.classification_loss()
    grads = probes.kernel_gradients(model, x, y, loss=loss)
    assert list(grads) == [f"hidden_{i}" for i in range(1, 12)]
    with tf.GradientTape() as tape:
        value = loss(y, model(x, training=True))
    kernels = [model.get_layer(name).kernel for name in grads]
    reference = tape.gradient(value, kernels)
    for got, ref in zip(grads.values(), reference, strict=True):
        np.testing.assert_allclose(got, ref.numpy(), rtol=1e-5, atol=1e-12)
    norms = probes.hidden_kernel_norms(model, x, y, loss=loss)
    np.testing.assert_allclose(norms, [np.linalg.norm(r.numpy()) for r in reference], rtol=1e-5)


def test_repeated_probes_use_the_compiled_path_and_agree():
    model = _tiny_rnn()
    x, y = data.adding_problem(16, 6, seed=2)
    first = probes.input_grad_norms(model, x, y)
    again = probes.input_grad_norms(model, x, y)  # compiled from the second call on
    np.testing.assert_allclose(first, again, rtol=1e-5)
    n1 = probes.layer_grad_norms(model, x, y)
    n2 = probes.layer_grad_norms(model, x, y)
    for k in n1:
        assert n1[k] == pytest.approx(n2[k], rel=1e-5)
    x2, y2 = data.adding_problem(9, 6, seed=3)  # another batch size: no stale shapes
    assert probes.input_grad_norms(model, x2, y2).shape == (6,)


def _regularised_mlp(strength):
    """hidden_1 (L2 on its kernel when strength > 0), hidden_2, output; fixed initial weights."""
    inputs = keras.Input((3,))
    reg = keras.regularizers.L2(strength) if strength else None
    h = keras.layers.Dense(4, activation="tanh", kernel_regularizer=reg, name="hidden_1")(inputs)
    h = keras.layers.Dense(4, activation="tanh", name="hidden_2")(h)
    model = keras.Model(inputs, keras.layers.Dense(2, name="output")(h))
    rng = np.random.default_rng(5)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("loss", [None, "mse"], ids=["compiled loss", "explicit loss"])
def test_a_kernel_regulariser_adds_exactly_its_gradient(loss):
    strength = 0.3
    plain, regularised = _regularised_mlp(0.0), _regularised_mlp(strength)
    for model in (plain, regularised):
        model.compile(optimizer="sgd", loss="mse")
    x, y = _batch()
    g_plain = probes.kernel_gradients(plain, x, y, loss=loss)
    g_reg = probes.kernel_gradients(regularised, x, y, loss=loss)
    w1 = regularised.get_layer("hidden_1").kernel.numpy()
    # d/dW of strength * sum(W^2) is 2 * strength * W, on hidden_1 only
    np.testing.assert_allclose(
        g_reg["hidden_1"] - g_plain["hidden_1"], 2 * strength * w1, atol=1e-6
    )
    np.testing.assert_allclose(g_reg["hidden_2"], g_plain["hidden_2"], rtol=1e-6, atol=1e-7)
    norms = probes.layer_grad_norms(regularised, x, y, loss=loss)
    expected = np.linalg.norm(g_plain["hidden_1"] + 2 * strength * w1)
    assert norms["hidden_1/kernel"] == pytest.approx(expected, rel=1e-5)


def test_input_grad_norms_count_an_activity_regulariser():
    # An activity regulariser depends on x, so it changes dL/dx: the probe must include it.
    inputs = keras.Input((6, 2))
    h = keras.layers.Dense(4, activity_regularizer=keras.regularizers.L2(1.0))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.SimpleRNN(4)(h)))
    model.compile(optimizer="sgd", loss="mse")
    x, y = data.adding_problem(8, 6, seed=4)
    xt = tf.constant(x)
    per_step = {}
    for with_penalty in (True, False):
        with tf.GradientTape() as tape:
            tape.watch(xt)
            pred = model(xt, training=True)
            value = keras.ops.mean(keras.losses.mean_squared_error(y, pred))
            if with_penalty:
                value = value + sum(model.losses)
        grad = tape.gradient(value, xt).numpy()
        per_step[with_penalty] = np.linalg.norm(grad, axis=-1).mean(axis=0)
    assert model.losses  # the penalty exists
    ours = probes.input_grad_norms(model, x, y)
    np.testing.assert_allclose(ours, per_step[True], rtol=1e-5)
    assert np.abs(per_step[True] - per_step[False]).max() > 0.1 * per_step[False].max()


def _bn_dropout_mlp():
    inputs = keras.Input((3,))
    h = keras.layers.Dense(8, name="hidden_1")(inputs)
    h = keras.layers.BatchNormalization(name="bn_1")(h)
    h = keras.layers.Dropout(0.5, seed=1)(keras.layers.Activation("tanh", name="act_1")(h))
    h = keras.layers.Activation("tanh", name="act_2")(keras.layers.Dense(8, name="hidden_2")(h))
    model = keras.Model(inputs, keras.layers.Dense(2, name="output")(h))
    model.compile(optimizer="sgd", loss="mse")
    return model


def _bn_rnn():
    inputs = keras.Input((6, 2))
    h = keras.layers.BatchNormalization()(inputs)
    h = keras.layers.Dropout(0.5)(keras.layers.SimpleRNN(4)(h))
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(optimizer="sgd", loss="mse")
    return model


def _state(model):
    return [v.numpy().tobytes() for v in model.non_trainable_variables]


PROBES = {
    "layer_grad_norms": (_bn_dropout_mlp, probes.layer_grad_norms),
    "kernel_gradients": (_bn_dropout_mlp, probes.kernel_gradients),
    "hidden_kernel_norms": (_bn_dropout_mlp, probes.hidden_kernel_norms),
    "input_grad_norms": (_bn_rnn, probes.input_grad_norms),
    "activation_stats": (_bn_dropout_mlp, lambda m, x, y: probes.activation_stats(m, x)),
    "layer_outputs": (_bn_dropout_mlp, lambda m, x, y: probes.layer_outputs(m, x)),
}


@pytest.mark.parametrize("name", PROBES)
def test_every_probe_leaves_batch_norm_and_dropout_state_byte_identical(name):
    build, probe = PROBES[name]
    model = build()
    if name == "input_grad_norms":
        x, y = data.adding_problem(16, 6, seed=0)
        x = x + 5.0
    else:
        x, y = _batch(32)
        x = x + 5.0  # far from the moving mean 0: a training-mode pass would move it
    before = _state(model)
    for _ in range(2):  # eager, then compiled
        probe(model, x, y)
    assert _state(model) == before
    model(x, training=True)  # the reference: training mode does change this state
    assert _state(model) != before
