import os
import subprocess
import sys

import keras
import matplotlib
import numpy as np
import pytest

import vgrad_course as vg
from vgrad_course import data, models, training
from vgrad_course.layers import ResidualBlock


def test_setup_is_idempotent_and_deterministic():
    def run():
        vg.setup(seed=5)
        vg.setup(seed=5)
        model = models.build_mlp(2, 8, input_dim=4, output_dim=1, seed=5)
        training.compile_model(model, loss="mse", optimizer="adam", lr=1e-2)
        x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
        y = x.sum(axis=1, keepdims=True)
        hist = training.train(model, x, y, epochs=3, batch_size=8)
        return hist["loss"], [w.copy() for w in model.get_weights()]

    (l1, w1), (l2, w2) = run(), run()
    np.testing.assert_array_equal(l1, l2)
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert matplotlib.rcParams["figure.facecolor"] == "white"


def test_setup_without_tensorflow_seeds_numpy_and_starts_no_tensorflow():
    code = (
        "import sys, numpy as np, vgrad_course as vg\n"
        "vg.setup(seed=3, tensorflow=False)\n"
        "a = np.random.rand()\n"
        "vg.reseed(3)\n"
        "assert np.random.rand() == a\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    env = {**os.environ, "VGRAD_SEED_OFFSET": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_setup_rejects_non_integer_seed():
    with pytest.raises(TypeError):
        vg.setup(seed=1.5)


def test_build_mlp_layout():
    model = models.build_mlp(3, 16, input_dim=40, output_dim=10, batch_norm=True)
    names = [layer.name for layer in model.layers]
    for i in (1, 2, 3):
        assert {f"hidden_{i}", f"bn_{i}", f"act_{i}"} <= set(names)
    assert model.output_shape == (None, 10)
    res = models.build_mlp(3, 16, residual=True, batch_norm=True)
    assert [la.name for la in res.layers[1:]] == [
        "project",
        "hidden_1",
        "hidden_2",
        "hidden_3",
        "act_out",
        "output",
    ]
    assert isinstance(res.get_layer("hidden_2"), ResidualBlock)
    assert res.get_layer("hidden_2").norm is not None
    post = models.build_mlp(2, 4, residual=True, preactivation=False)
    assert "act_out" not in [la.name for la in post.layers]
    assert not post.get_layer("hidden_1").preactivation


def test_residual_branches_start_small_by_default_and_seed_by_layer():
    depth, width = 8, 64
    model = models.build_mlp(depth, width, residual=True, seed=2)
    kernels = [model.get_layer(f"hidden_{i}").dense.kernel.numpy() for i in (1, 2)]
    expected = np.sqrt(2 / (width * depth))
    assert kernels[0].std() == pytest.approx(expected, rel=0.05)
    assert not np.allclose(kernels[0], kernels[1])
    # Layer i is seeded with layer_seed(seed, i): a deeper net's first blocks are the same.
    deeper = models.build_mlp(2 * depth, width, residual=True, seed=2, initializer=0.1)
    shallow = models.build_mlp(depth, width, residual=True, seed=2, initializer=0.1)
    np.testing.assert_array_equal(
        deeper.get_layer("hidden_1").dense.kernel.numpy(),
        shallow.get_layer("hidden_1").dense.kernel.numpy(),
    )
    plain = models.build_mlp(2, 500, input_dim=400)  # None: glorot_uniform
    assert plain.get_layer("hidden_1").kernel.numpy().std() == pytest.approx(
        np.sqrt(2 / 900), rel=0.02
    )


def test_bias_init_sets_every_hidden_bias_but_not_the_output():
    model = models.build_mlp(2, 4, input_dim=3, bias_init=-2.5)
    for i in (1, 2):
        np.testing.assert_array_equal(model.get_layer(f"hidden_{i}").bias.numpy(), -2.5)
    np.testing.assert_array_equal(model.get_layer("output").bias.numpy(), 0.0)
    with pytest.raises(ValueError, match="batch_norm"):
        models.build_mlp(1, 4, batch_norm=True, bias_init=1.0)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_build_mlp_rejects_bad_depth(bad):
    with pytest.raises(ValueError):
        models.build_mlp(bad, 8)


def test_build_mlp_std_initializer():
    model = models.build_mlp(1, 500, input_dim=400, initializer=0.05)
    w = model.get_layer("hidden_1").kernel.numpy()
    assert w.std() == pytest.approx(0.05, rel=0.02)


@pytest.mark.parametrize("cell", models.RNN_CELLS)
def test_build_rnn_cells(cell):
    model = models.build_rnn(cell, 6, seq_len=7, input_dim=2)
    x, _ = data.adding_problem(4, 7)
    assert model(x).shape == (4, 1)


def test_irnn_is_identity_initialised_relu():
    model = models.build_rnn("irnn", 5, seq_len=3, input_dim=2)
    layer = model.get_layer("rnn")
    np.testing.assert_array_equal(layer.cell.recurrent_kernel.numpy(), np.eye(5))
    assert layer.cell.activation is keras.activations.relu


def test_lstm_forget_bias():
    model = models.build_rnn("lstm", 3, seq_len=4, forget_bias=2.0)
    bias = model.get_layer("rnn").cell.bias.numpy()
    np.testing.assert_array_equal(bias, [0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError):
        models.build_rnn("gru", 3, forget_bias=2.0)
    with pytest.raises(ValueError, match="cell must be one of"):
        models.build_rnn("transformer", 3)


def test_make_optimizer_validates():
    with pytest.raises(ValueError):
        training.make_optimizer("adam", lr=0)
    with pytest.raises(ValueError):
        training.make_optimizer("adam", clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError):
        training.make_optimizer("lbfgs")
    with pytest.raises(ValueError, match="LearningRateSchedule"):
        training.make_optimizer("adam", lr="1e-3")
    assert training.make_optimizer("sgd", np.float32(0.5)).learning_rate == 0.5
    opt = training.make_optimizer("momentum", 0.1, global_clipnorm=1.0)
    assert opt.global_clipnorm == 1.0


def test_make_optimizer_takes_a_learning_rate_schedule():
    schedule = keras.optimizers.schedules.PolynomialDecay(1e-2, 10, end_learning_rate=1e-3)
    opt = training.make_optimizer("adam", schedule, global_clipnorm=1.0)
    assert opt.learning_rate is not None and opt.global_clipnorm == 1.0
    var = keras.Variable([1.0])
    for _ in range(10):
        opt.apply_gradients([(keras.ops.ones(1), var)])
    assert float(opt.learning_rate) == pytest.approx(1e-3)  # the schedule's end
