import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import gated_residual as gr

SCHEMES = ["he", "scaled", "rezero", "fixup", "noskip"]


def numpy_logits(weights, schemes, x):
    """An independent reference: the members' forward pass, one by one, in float64."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    out = []
    for m, scheme in enumerate(schemes):
        h = x @ w["project/kernel"][m] + w["project/bias"][m]
        for i in range(w["stack/kernel_1"].shape[1]):
            z = np.maximum(h, 0) @ w["stack/kernel_1"][m, i] + w["stack/bias_1"][m, i]
            f = np.maximum(z, 0) @ w["stack/kernel_2"][m, i] + w["stack/bias_2"][m, i]
            g = w["stack/gate"][m, i] if scheme in ("rezero", "fixup") else 1.0
            h = (0.0 if scheme == "noskip" else 1.0) * h + g * f
        out.append(np.maximum(h, 0) @ w["output/kernel"][m] + w["output/bias"][m])
    return np.stack(out, axis=1)  # (batch, members, classes)


def randomised(model, seed=0):
    """Give every weight (gates and biases too) random values, so nothing is trivially zero."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.normal(0, 0.4, v.shape).astype(np.float32))
    return {v.path: v.numpy() for v in model.weights}


def test_forward_pass_matches_numpy_for_every_scheme():
    model = gr.build_gated_resnet(3, 5, schemes=SCHEMES, seeds=range(5), input_dim=4, output_dim=3)
    weights = randomised(model)
    x = np.random.default_rng(1).normal(size=(7, 4)).astype(np.float32)
    expected = numpy_logits(weights, SCHEMES, x)
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-4, atol=1e-5)
    per_member = np.broadcast_to(x, (5, 7, 4))  # each member its own (here equal) inputs
    np.testing.assert_allclose(
        gr.member_logits(model, per_member).numpy(),
        expected.transpose(1, 0, 2),
        rtol=1e-4,
        atol=1e-5,
    )


def test_block_by_block_equals_the_scan():
    model = gr.build_gated_resnet(4, 6, schemes=SCHEMES, seeds=range(5), input_dim=3)
    randomised(model, seed=2)
    stack = model.get_layer("stack")
    h0 = tf.random.normal((5, 8, 6), seed=1)
    h = h0
    for i in range(4):
        h = stack.block(h, i)
    np.testing.assert_allclose(h.numpy(), stack(h0).numpy(), rtol=1e-5, atol=1e-5)


def test_initial_weights_follow_each_scheme():
    depth, width = 16, 256
    model = gr.build_gated_resnet(depth, width, schemes=SCHEMES, seeds=[0] * 5)
    w = {v.path: v.numpy() for v in model.weights}
    he = np.sqrt(2 / width)
    k1, k2, gate = w["stack/kernel_1"], w["stack/kernel_2"], w["stack/gate"]
    for m, scale in ((0, 1.0), (1, depth**-0.25), (2, 1.0), (4, 1.0)):
        assert k1[m].std() == pytest.approx(he * scale, rel=0.02)
        assert k2[m].std() == pytest.approx(he * scale, rel=0.02)
    assert k1[3].std() == pytest.approx(he / np.sqrt(depth), rel=0.02)  # Fixup: L^(-1/2)
    assert np.all(k2[3] == 0) and np.all(w["output/kernel"][3] == 0)  # Fixup's zeros
    np.testing.assert_array_equal(gate[2], 0.0)  # ReZero starts at 0
    np.testing.assert_array_equal(gate[[0, 1, 3, 4]], 1.0)
    limit = np.sqrt(6 / (40 + width))  # Glorot uniform
    assert np.abs(w["project/kernel"]).max() <= limit
    assert np.abs(w["project/kernel"]).max() > 0.95 * limit
    for name in ("project/bias", "stack/bias_1", "stack/bias_2", "output/bias"):
        assert np.all(w[name] == 0)
    np.testing.assert_array_equal(k1[0], k1[2])  # same seed, same He draws


def test_a_member_does_not_depend_on_its_neighbours():
    alone = gr.build_gated_resnet(2, 4, schemes=["rezero"], seeds=[7])
    mixed = gr.build_gated_resnet(2, 4, schemes=["he", "rezero", "noskip"], seeds=[1, 7, 2])
    for a, b in zip(alone.weights, mixed.weights, strict=True):
        np.testing.assert_array_equal(a.numpy()[0], b.numpy()[1])


def test_members_get_their_own_gradient():
    schemes = ["he", "fixup", "rezero"]
    model = gr.build_gated_resnet(2, 4, schemes=schemes, seeds=[0, 1, 2], input_dim=3)
    randomised(model, seed=3)
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 4, 5])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(gr.member_crossentropy(y, model(x)))
    together = tape.gradient(loss, model.weights)
    alone = gr.build_gated_resnet(2, 4, schemes=["fixup"], seeds=[1], input_dim=3)
    for v, w in zip(alone.weights, model.weights, strict=True):
        v.assign(w.numpy()[1:2])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(gr.member_crossentropy(y, alone(x)))
    for g1, g2 in zip(tape.gradient(loss, alone.weights), together, strict=True):
        np.testing.assert_allclose(g1.numpy()[0], g2.numpy()[1], rtol=1e-5, atol=1e-7)
    gate = {v.path: g.numpy() for v, g in zip(model.weights, together, strict=True)}["stack/gate"]
    assert np.all(gate[0] == 0) and np.all(gate[1] != 0)  # only gated schemes train a gate


def test_member_crossentropy_sums_keras_losses():
    logits = np.random.default_rng(0).normal(size=(5, 3, 4)).astype(np.float32)
    y = np.array([0, 3, 1, 2, 2])
    keras_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    expected = sum(keras_ce(y, logits[:, m]).numpy() for m in range(3))
    np.testing.assert_allclose(gr.member_crossentropy(y, logits).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(
        gr.member_crossentropy(y[:, None], logits).numpy(), expected, rtol=1e-6
    )


def test_config_round_trip_rebuilds_the_same_stack():
    stack = gr.GatedResidualStack(3, 4, schemes=["fixup", "he"], seeds=[5, 6], name="stack")
    stack.build((2, None, 4))
    clone = gr.GatedResidualStack.from_config(stack.get_config())
    clone.build((2, None, 4))
    for a, b in zip(stack.weights, clone.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="scheme must be one of"):
        gr.GatedResidualStack(2, 4, schemes=["resnet"], seeds=[0])
    with pytest.raises(ValueError, match="one scheme and one seed per member"):
        gr.GatedResidualStack(2, 4, schemes=["he", "he"], seeds=[0])
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        gr.GatedResidualStack(0, 4, schemes=["he"], seeds=[0])
    with pytest.raises(ValueError, match=r"inputs \(members, batch, 4\)"):
        gr.GatedResidualStack(2, 4, schemes=["he"], seeds=[0]).build((1, None, 3))
    with pytest.raises(ValueError, match="seeds is empty"):
        gr.MemberDense(3, seeds=[])
