import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import models, training
from vgrad_course.lessons import initialisation


def test_glorot_and_he_std_match_keras_initialisers():
    # Keras' GlorotNormal/HeNormal draw from truncated normals with these target stds.
    w = keras.initializers.GlorotUniform(seed=0)((400, 200)).numpy()
    assert w.std() == pytest.approx(initialisation.glorot_std(400, 200), rel=0.02)
    w = keras.initializers.HeUniform(seed=0)((300, 100)).numpy()
    assert w.std() == pytest.approx(initialisation.he_std(300), rel=0.02)
    assert initialisation.init_std("naive", 3, 4) == initialisation.NAIVE_STD
    with pytest.raises(ValueError, match="scheme"):
        initialisation.init_std("lecun", 3, 3)
    with pytest.raises(ValueError, match="fan_in"):
        initialisation.he_std(0)


def test_forward_backward_matches_tensorflow():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 4))
    weights = [rng.standard_normal((4, 6)), rng.standard_normal((6, 3))]
    acts, grads = initialisation.forward_backward(x, weights, activation="tanh")
    g_top = np.random.default_rng(0).standard_normal((5, 3))
    ws = [tf.constant(w) for w in weights]
    with tf.GradientTape(persistent=True) as tape:
        h1 = tf.tanh(tf.constant(x) @ ws[0])
        tape.watch(h1)
        h2 = tf.tanh(h1 @ ws[1])
        loss = tf.reduce_sum(h2 * g_top)
    np.testing.assert_allclose(acts[0], h1.numpy(), atol=1e-12)
    np.testing.assert_allclose(grads[0], tape.gradient(loss, h1).numpy(), atol=1e-12)
    np.testing.assert_allclose(grads[1], g_top, atol=1e-12)
    with pytest.raises(ValueError, match="activation"):
        initialisation.forward_backward(x, weights, activation="swish")


def test_variance_is_preserved_by_the_matching_scheme():
    # Linear units with std 1/sqrt(n) and ReLU units with He keep the second moment;
    # a ReLU net with Glorot (square layers) halves it per layer: 2**-15 after 30 layers.
    he = initialisation.std_through_depth(30, 256, scheme="he", activation="relu")
    glorot = initialisation.std_through_depth(30, 256, scheme="glorot", activation="relu")
    assert 0.3 < he["activation_std"][-1] / he["activation_std"][0] < 3
    ratio = glorot["activation_std"][-1] / glorot["activation_std"][0]
    assert 2**-15 / 10 < ratio < 2**-15 * 10


def test_plot_std_through_depth_is_log_scale():
    r = {"he": initialisation.std_through_depth(3, 8)}
    ax = initialisation.plot_std_through_depth(r, key="gradient_std")
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="key"):
        initialisation.plot_std_through_depth(r, key="mean")


def test_dead_unit_fraction_counts_units_zero_on_every_input():
    model = models.build_mlp(2, 8, input_dim=3, activation="relu")
    x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    layer = model.get_layer("hidden_1")
    kernel, bias = layer.get_weights()
    bias[:3] = -100.0  # three units can never fire on these inputs
    layer.set_weights([kernel, bias])
    probe = keras.Model(model.inputs, model.get_layer("act_1").output)
    expected = np.all(probe(x).numpy() <= 0, axis=0).mean()
    dead = initialisation.dead_unit_fraction(model, x)
    assert dead.shape == (2,)
    assert dead[0] == pytest.approx(expected)
    assert dead[0] >= 3 / 8


def test_shift_biases_adds_a_constant_to_every_hidden_bias():
    model = models.build_mlp(2, 4, input_dim=3)
    before = [model.get_layer(f"hidden_{i}").bias.numpy() for i in (1, 2)]
    assert initialisation.shift_biases(model, -2.0) is model
    for i, b in zip((1, 2), before, strict=True):
        np.testing.assert_allclose(model.get_layer(f"hidden_{i}").bias.numpy(), b - 2.0)
    np.testing.assert_allclose(model.get_layer("output").bias.numpy(), 0.0)
    with pytest.raises(ValueError, match="biased"):
        initialisation.shift_biases(models.build_mlp(1, 4, batch_norm=True), 1.0)


def test_end_to_end_ratios_match_std_through_depth_and_homogeneity():
    r = initialisation.end_to_end_ratios(6, 16, scheme="he", seeds=[3, 4], batch=32)
    ref = initialisation.std_through_depth(6, 16, scheme="he", batch=32, seed=4)
    assert r["activation"].shape == r["gradient"].shape == (2,)
    assert r["activation"][1] == pytest.approx(ref["activation_std"][-1] / ref["activation_std"][0])
    assert r["gradient"][1] == pytest.approx(ref["gradient_std"][0] / ref["gradient_std"][-1])
    # ReLU is positively homogeneous: Glorot (square layers) = He scaled by 2**-0.5 per layer.
    g = initialisation.end_to_end_ratios(6, 16, scheme="glorot", seeds=[3, 4], batch=32)
    np.testing.assert_allclose(g["activation"] / r["activation"], 2.0**-2.5, rtol=1e-9)
    np.testing.assert_allclose(g["gradient"] / r["gradient"], 2.0**-2.5, rtol=1e-9)
    with pytest.raises(ValueError, match="seeds"):
        initialisation.end_to_end_ratios(3, 4, seeds=[])


def test_track_dead_units_keeps_first_layer_dead_units_frozen():
    # A first-layer unit silent on every input gets exactly zero gradient: under plain SGD its
    # weights do not move, so it is dead after every stage; the masks agree with the fractions.
    model = models.build_mlp(2, 8, input_dim=3, output_dim=2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    layer = model.get_layer("hidden_1")
    kernel, bias = layer.get_weights()
    bias[:3] = -100.0
    layer.set_weights([kernel, bias])
    masks = initialisation.dead_unit_masks(model, x)
    np.testing.assert_allclose(
        [m.mean() for m in masks], initialisation.dead_unit_fraction(model, x)
    )
    training.compile_model(model, loss=training.classification_loss(), optimizer="sgd", lr=0.5)
    track = initialisation.track_dead_units(model, x, y, epochs=(1, 2), batch_size=16)
    assert track.shape == (3, 2, 8) and track.dtype == bool
    np.testing.assert_array_equal(track[0], np.stack(masks))
    assert track[:, 0, :3].all()
    np.testing.assert_array_equal(layer.get_weights()[0][:, :3], kernel[:, :3])
    np.testing.assert_array_equal(track[-1], np.stack(initialisation.dead_unit_masks(model, x)))
