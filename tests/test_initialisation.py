import keras
import numpy as np
import pytest
import tensorflow as tf

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
