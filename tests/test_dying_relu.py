import keras
import numpy as np
import pytest

from vgrad_course import models, probes, training
from vgrad_course.lessons import dying_relu


def _model_with_three_dead_units(output_dim=10):
    model = models.build_mlp(2, 8, input_dim=3, output_dim=output_dim, activation="relu")
    layer = model.get_layer("hidden_1")
    kernel, bias = layer.get_weights()
    bias[:3] = -100.0  # three units can never fire on standard normal inputs
    layer.set_weights([kernel, bias])
    return model, kernel


def test_dead_unit_masks_mark_units_zero_on_every_input():
    model, _ = _model_with_three_dead_units()
    x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    masks = dying_relu.dead_unit_masks(model, x)
    assert len(masks) == 2 and masks[0].shape == (8,)
    for i, mask in enumerate(masks, start=1):  # reference: the act_i outputs, read directly
        out = keras.Model(model.inputs, model.get_layer(f"act_{i}").output)(x).numpy()
        np.testing.assert_array_equal(mask, np.all(out <= 0, axis=0))
    assert masks[0][:3].all()
    # Their means are the one activation statistic of dead units.
    stats = probes.activation_stats(model, x)
    np.testing.assert_allclose([m.mean() for m in masks], [s.dead for s in stats.values()])


def test_dead_unit_masks_need_relu_layers():
    model = models.build_mlp(1, 4, input_dim=3, activation="tanh")
    with pytest.raises(ValueError, match="ReLU"):
        dying_relu.dead_unit_masks(model, np.zeros((2, 3), np.float32))


def test_track_dead_units_keeps_first_layer_dead_units_frozen():
    # A first-layer unit silent on every input gets exactly zero gradient: under plain SGD its
    # weights do not move, so it is dead after every stage.
    model, kernel = _model_with_three_dead_units(output_dim=2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    masks = dying_relu.dead_unit_masks(model, x)
    training.compile_model(model, loss=training.classification_loss(), optimizer="sgd", lr=0.5)
    track = dying_relu.track_dead_units(model, x, y, epochs=(1, 2), batch_size=16)
    assert track.shape == (3, 2, 8) and track.dtype == bool
    np.testing.assert_array_equal(track[0], np.stack(masks))
    assert track[:, 0, :3].all()
    layer = model.get_layer("hidden_1")
    np.testing.assert_array_equal(layer.get_weights()[0][:, :3], kernel[:, :3])
    np.testing.assert_array_equal(track[-1], np.stack(dying_relu.dead_unit_masks(model, x)))


def test_dead_units_are_refused_for_a_non_relu_network():
    model = models.build_mlp(2, 4, input_dim=3, activation="tanh")
    with pytest.raises(ValueError, match="ReLU notion"):
        dying_relu.dead_unit_masks(model, np.zeros((2, 3), dtype="float32"))
