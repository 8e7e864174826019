"""The NumPy normalisations, classifier and residual stacks of chapter 21, against Keras.

Every forward value and gradient is compared with the same network built from Keras layers (in
float64) and differentiated by TensorFlow; Adam against ``keras.optimizers.Adam``; batch norm's
moving averages against a Keras ``BatchNormalization`` layer fed the same batches.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course.lessons import norm_axes as na
from vgrad_course.lessons import norm_placement as npl

F64 = {"dtype": "float64"}


def _keras_norm(norm):
    layers = {
        "batch": keras.layers.BatchNormalization,
        "layer": keras.layers.LayerNormalization,
        "rms": keras.layers.RMSNormalization,
    }
    return layers[norm](**F64)


def _data(n=12, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, features)), rng.integers(0, classes, n)


@pytest.mark.parametrize("norm", ["batch", "layer", "rms"])
def test_norm_forward_and_backward_match_keras_layers(norm):
    rng = np.random.default_rng(1)
    z = 2.0 * rng.normal(size=(7, 5)) + np.arange(7)[:, None]
    w = rng.normal(size=z.shape)  # L = sum(w * z_hat)
    layer = _keras_norm(norm)
    zt = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        out = layer(zt, training=True)
        loss = tf.reduce_sum(w * out)
    z_hat, cache = na.norm_forward(z, norm)
    np.testing.assert_allclose(z_hat, out.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        na.norm_backward(w, cache), tape.gradient(loss, zt).numpy(), rtol=1e-8, atol=1e-10
    )
    assert layer.epsilon == na.EPSILON[norm]


def test_two_examples_batch_norm_to_a_sign():
    z = np.array([[0.0, 5.0, 1.0], [2.0, -1.0, 1.01]])
    d = z[0] - z[1]
    z_hat = na.norm_forward(z, "batch")[0]
    np.testing.assert_allclose(z_hat[0], d / np.sqrt(d**2 + 4 * na.EPSILON["batch"]))
    np.testing.assert_allclose(z_hat[1], -z_hat[0])


def _keras_mlp(mlp, input_dim):
    """The same classifier from Keras layers, with the NumPy network's weights."""
    inputs = keras.Input((input_dim,), dtype="float64")
    h, weights = inputs, []
    for i in range(1, mlp.depth + 1):
        p = mlp.params
        dense = keras.layers.Dense(p[f"kernel_{i}"].shape[1], use_bias=f"bias_{i}" in p, **F64)
        h = dense(h)
        weights.append((dense, [p[f"kernel_{i}"]] + ([p[f"bias_{i}"]] if f"bias_{i}" in p else [])))
        if mlp.norm != "none":
            norm = _keras_norm(mlp.norm)
            h = norm(h)
            values = [p[f"gamma_{i}"]] + ([p[f"beta_{i}"]] if f"beta_{i}" in p else [])
            if mlp.norm == "batch":
                values += [mlp.moving[f"mean_{i}"], mlp.moving[f"variance_{i}"]]
            weights.append((norm, values))
        h = keras.layers.Activation(mlp.activation, **F64)(h)
    out = keras.layers.Dense(mlp.params["output_bias"].size, **F64)
    model = keras.Model(inputs, out(h))
    weights.append((out, [mlp.params["output_kernel"], mlp.params["output_bias"]]))
    for layer, values in weights:
        layer.set_weights(values)
    return model, weights


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("norm", na.NORMS)
def test_mlp_loss_and_gradients_match_keras(norm, activation):
    x, y = _data()
    mlp = na.init_mlp(2, 4, norm=norm, activation=activation, input_dim=5, output_dim=3, seed=2)
    model, weights = _keras_mlp(mlp, 5)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    variables = [v for layer, _ in weights for v in layer.trainable_weights]
    expected = [g.numpy() for g in tape.gradient(loss, variables)]
    value, grads, _ = na.loss_and_grads(mlp, x, y)
    assert value == pytest.approx(float(loss), rel=1e-10)
    names = []
    for i in range(1, mlp.depth + 1):
        names += [n for n in (f"kernel_{i}", f"bias_{i}") if n in mlp.params]
        names += [n for n in (f"gamma_{i}", f"beta_{i}") if n in mlp.params]
    names += ["output_kernel", "output_bias"]
    assert sorted(names) == sorted(grads) == sorted(mlp.params)
    for name, g in zip(names, expected, strict=True):
        np.testing.assert_allclose(grads[name], g, rtol=1e-7, atol=1e-12, err_msg=name)
    norms = na.kernel_grad_norms(mlp, x, y)
    np.testing.assert_allclose(norms, [np.linalg.norm(grads[f"kernel_{i}"]) for i in (1, 2)])


def test_training_updates_moving_averages_as_keras_batch_norm_does():
    x, y = _data(n=20)
    mlp = na.init_mlp(1, 4, norm="batch", input_dim=5, output_dim=3, seed=0)
    kernel = mlp.params["kernel_1"].copy()
    na.train_mlp(mlp, x, y, batch_size=4, steps=7, lr=1e-12, seed=3)  # weights ~frozen
    layer = keras.layers.BatchNormalization(**F64)
    for idx in na.batch_order(len(x), 7, 4, seed=3):
        layer(tf.constant(x[idx] @ kernel), training=True)
    np.testing.assert_allclose(mlp.moving["mean_1"], layer.moving_mean.numpy(), rtol=1e-8)
    np.testing.assert_allclose(mlp.moving["variance_1"], layer.moving_variance.numpy(), rtol=1e-8)
    model, _ = _keras_mlp(mlp, 5)  # inference mode reads the moving averages
    keras_acc = np.mean(model(x, training=False).numpy().argmax(-1) == y)
    assert na.accuracy(mlp, x, y) == pytest.approx(keras_acc)


@pytest.mark.parametrize("scale", [1.0, 1e-7])  # 1e-7: Adam's epsilon matters
def test_adam_update_matches_keras_adam(scale):
    rng = np.random.default_rng(4)
    w0 = rng.normal(size=(3, 2))
    params, state = {"w": w0.copy()}, {}
    var = keras.Variable(w0.copy(), dtype="float64")
    opt = keras.optimizers.Adam(learning_rate=0.01)
    for k in range(4):
        g = scale * rng.normal(size=(3, 2)) * 10.0 ** (k % 2)
        na.adam_update(params, {"w": g}, state, lr=0.01)
        opt.apply_gradients([(tf.constant(g), var)])
    # Keras keeps its beta powers in float32: agreement to about 1e-5 of a step.
    np.testing.assert_allclose(params["w"] - w0, var.numpy() - w0, rtol=1e-4)


def test_batch_order_reads_shuffled_epochs():
    order = na.batch_order(10, 7, 3, seed=0)
    assert order.shape == (7, 3)
    flat = order.ravel()
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:20]) == list(range(10))
    assert not np.array_equal(order, na.batch_order(10, 7, 3, seed=1))
    np.testing.assert_array_equal(order, na.batch_order(10, 7, 3, seed=0))


def test_shared_fraction_is_one_when_all_examples_are_equal():
    mlp = na.init_mlp(3, 8, norm="layer", activation="sigmoid", input_dim=5, seed=0)
    x = np.tile(np.random.default_rng(0).normal(size=(1, 5)), (6, 1))
    np.testing.assert_allclose(na.shared_fraction(mlp, x), 1.0)
    assert na.shared_fraction(mlp, _data()[0]).max() < 1


def _keras_stack(params, placement, depth, input_dim):
    """The residual stack from Keras layers; returns the model and (layer, parameter names)."""
    inputs = keras.Input((input_dim,), dtype="float64")
    named = []

    def add(layer, names, h):
        named.append((layer, names))
        return layer(h)

    def dense(kernel, bias, h, activation=None):
        layer = keras.layers.Dense(params[bias].size, activation=activation, **F64)
        return add(layer, [kernel, bias], h)

    def ln(i, h):
        return add(keras.layers.LayerNormalization(**F64), [f"gamma_{i}", f"beta_{i}"], h)

    h = dense("project_kernel", "project_bias", inputs)
    for i in range(1, depth + 1):
        u = ln(i, h) if placement == "pre" else h
        a = dense(f"kernel_in_{i}", f"bias_in_{i}", u, "relu")
        h = keras.layers.Add(**F64)([h, dense(f"kernel_out_{i}", f"bias_out_{i}", a)])
        h = h if placement == "pre" else ln(i, h)
    if placement == "pre":
        h = ln("final", h)
    model = keras.Model(inputs, dense("output_kernel", "output_bias", h))
    for layer, names in named:
        layer.set_weights([params[n] for n in names])
    return model, named


@pytest.mark.parametrize("placement", npl.PLACEMENTS)
def test_stack_loss_and_gradients_match_keras(placement):
    x, y = _data(n=10, features=6, classes=4, seed=5)
    params = npl.init_stack(3, 5, input_dim=6, output_dim=4, seed=1)
    rng = np.random.default_rng(7)
    for name in params:  # leave the symmetric start: perturb scales, shifts and biases
        if not name.endswith("kernel"):
            params[name] = params[name] + 0.1 * rng.normal(size=params[name].shape)
    model, named = _keras_stack(params, placement, 3, 6)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    value, grads, stream = npl.stack_loss_and_grads(params, x, y, placement=placement)
    assert value == pytest.approx(float(loss), rel=1e-10)
    names = [n for _, layer_names in named for n in layer_names]
    variables = [v for layer, _ in named for v in layer.trainable_weights]
    assert sorted(names) == sorted(grads)
    for name, g in zip(names, tape.gradient(loss, variables), strict=True):
        np.testing.assert_allclose(grads[name], g.numpy(), rtol=1e-7, atol=1e-12, err_msg=name)
    assert len(stream) == 4 and stream[0].shape == (10, 5)
    np.testing.assert_allclose(stream[0].sum(axis=0), grads["project_bias"])
    if placement == "pre":  # the stream after block l is what its output bias sees
        for i in (1, 2, 3):
            np.testing.assert_allclose(stream[i].sum(axis=0), grads[f"bias_out_{i}"])
    assert ("gamma_final" in grads) == (placement == "pre")


def test_gradient_profiles_equal_one_full_batch_backward_pass():
    x, y = _data(n=npl.CHUNK + 36, features=40, classes=10, seed=2)
    profiles = npl.gradient_profiles(x, y, depths=(2, 3), seeds=(0, 4), width=6)
    assert set(profiles) == {(p, d) for p in npl.PLACEMENTS for d in (2, 3)}
    for (placement, depth), rows in profiles.items():
        assert rows.shape == (2, depth)
        params = npl.init_stack(depth, 6, seed=4)
        grads = npl.stack_loss_and_grads(params, x, y, placement=placement)[1]
        np.testing.assert_allclose(rows[1], npl.branch_grad_norms(params, grads), rtol=1e-10)


def test_train_stack_starts_from_init_and_warms_up():
    x, y = _data(n=40, features=40, classes=10, seed=3)
    budget = {"placement": "post", "depth": 2, "steps": 3, "batch_size": 8, "width": 6}
    losses = npl.train_stack(x, y, lr=0.05, warmup=4, seed=1, **budget)
    first = na.batch_order(40, 3, 8, seed=1)
    params = npl.init_stack(2, 6, seed=1)
    state = {}
    for t, idx in enumerate(first, start=1):
        loss, grads, _ = npl.stack_loss_and_grads(params, x[idx], y[idx], placement="post")
        assert losses[t - 1] == pytest.approx(loss, rel=1e-12)
        na.adam_update(params, grads, state, lr=0.05 * t / 4)
    again = npl.train_stack(x, y, lr=0.05, warmup=4, seed=1, **budget)
    np.testing.assert_array_equal(losses, again)
    assert not np.allclose(losses, npl.train_stack(x, y, lr=0.05, seed=1, **budget))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: na.norm_forward(np.ones((2, 3)), "group"), "norm must be one of"),
        (lambda: na.norm_forward(np.ones(3), "layer"), "shape"),
        (lambda: na.init_mlp(2, 4, norm="none", activation="relu"), "activation"),
        (lambda: na.init_mlp(0, 4, norm="none"), "depth"),
        (lambda: na.init_mlp(2, 4, norm="none", initializer=-1.0), "initializer"),
        (lambda: na.batch_order(5, 2, 6, seed=0), "exceeds"),
        (
            lambda: na.train_mlp(
                na.init_mlp(1, 2, norm="none"), *_data(features=40), batch_size=2, steps=1, lr=0
            ),
            "lr",
        ),
        (
            lambda: npl.stack_loss_and_grads(
                npl.init_stack(1, 2), *_data(features=40), placement="mid"
            ),
            "placement",
        ),
        (lambda: npl.gradient_profiles(*_data(features=40), depths=()), "at least one"),
        (
            lambda: npl.train_stack(
                *_data(features=40), placement="pre", depth=1, lr=0.1, steps=1, warmup=-1
            ),
            "warmup",
        ),
        (lambda: npl.init_stack(2, 0), "width"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
