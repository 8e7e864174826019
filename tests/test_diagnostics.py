"""The dashboard against independent references: a hand-written tape, a manual forward pass,
SGD's and Adam's steps written out, and a plain fit of the same model."""

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf

import vgrad_course as vg
from vgrad_course import models, probes, training
from vgrad_course.lessons import diagnosis

matplotlib.use("Agg")


def _mlp(depth=3, activation="tanh"):
    return models.build_mlp(depth, 6, input_dim=4, output_dim=3, activation=activation, seed=2)


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=n)


def _tape_kernel_grads(model, x, y):
    """Independent reference: dL/dW of each hidden kernel, by a hand-written tape."""
    kernels = [model.get_layer(f"hidden_{i}").kernel for i in (1, 2, 3)]
    loss_fn = training.classification_loss()
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True)) + sum(model.losses)
    return [g.numpy() for g in tape.gradient(loss, kernels)]


def test_kernel_gradients_match_a_hand_written_tape():
    model = _mlp()
    x, y = _data()
    grads = probes.kernel_gradients(model, x, y, loss=training.classification_loss())
    assert list(grads) == ["hidden_1", "hidden_2", "hidden_3"]
    for got, ref in zip(grads.values(), _tape_kernel_grads(model, x, y), strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-10)


def test_layer_outputs_match_a_manual_forward_pass():
    model = _mlp(depth=2)
    x, _ = _data()
    outs = probes.layer_outputs(model, x)
    w1, b1 = model.get_layer("hidden_1").get_weights()
    w2, b2 = model.get_layer("hidden_2").get_weights()
    a1 = np.tanh(x @ w1 + b1)
    np.testing.assert_allclose(outs["act_1"], a1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs["act_2"], np.tanh(a1 @ w2 + b2), rtol=1e-5, atol=1e-6)


def _before_one_step():
    """A fresh MLP and its data, with the loss's kernel gradients and the kernels before a step."""
    model = _mlp()
    x, y = _data()
    loss = training.classification_loss()
    grads = probes.kernel_gradients(model, x, y, loss=loss)
    weights = {n: model.get_layer(n).kernel.numpy() for n in grads}
    return model, x, y, loss, grads, weights


def test_update_ratio_of_one_sgd_step_is_lr_times_gradient():
    model, x, y, loss, grads, weights = _before_one_step()
    lr = 0.1
    expected = [np.log10(lr * np.linalg.norm(grads[n]) / np.linalg.norm(weights[n])) for n in grads]
    training.compile_model(model, loss=loss, optimizer="sgd", lr=lr)
    tracker = probes.UpdateRatioTracker()
    training.train(model, x, y, epochs=1, batch_size=len(x), callbacks=[tracker], shuffle=False)
    assert tracker.names == list(grads)
    assert tracker.history.shape == (1, 3)
    np.testing.assert_allclose(tracker.history[0], expected, atol=1e-4)


def test_tracker_every_records_a_subset_of_steps():
    model = _mlp()
    x, y = _data()
    training.compile_model(model, loss=training.classification_loss(), optimizer="sgd", lr=0.1)
    tracker = probes.UpdateRatioTracker(every=2)
    training.train(model, x, y, epochs=1, batch_size=4, callbacks=[tracker])
    assert tracker.history.shape == (4, 3)  # 8 steps, every second one
    with pytest.raises(ValueError, match="every"):
        probes.UpdateRatioTracker(every=0)


def test_diagnose_and_dashboard_return_consistent_numbers():
    x, y = _data(64)
    nets = {"tanh": _mlp(), "sigmoid": _mlp(activation="sigmoid")}
    reports, fig = diagnosis.dashboard(nets, x, y, epochs=2, batch_size=16, probe_size=32)
    rep, model = reports["tanh"], nets["tanh"]
    assert rep.names == ["hidden_1", "hidden_2", "hidden_3"]
    assert rep.update_ratio.shape == (8, 3)
    assert rep.loss.shape == (2,) and rep.val_accuracy.shape == (0,)
    reference = _tape_kernel_grads(model, x[:32], y[:32])
    np.testing.assert_allclose(rep.grad_norm, [np.linalg.norm(g) for g in reference], rtol=1e-5)
    np.testing.assert_allclose(rep.grad_std, [g.std() for g in reference], rtol=1e-5)
    acts = keras.Model(model.inputs, [model.get_layer(f"act_{i}").output for i in (1, 2, 3)])
    feats = [a.numpy() for a in acts(x[:32])]
    np.testing.assert_allclose(rep.act_std, [a.std() for a in feats], rtol=1e-5)
    np.testing.assert_allclose(rep.saturated, [(np.abs(a) > 0.97).mean() for a in feats])
    assert len(fig.axes) == 4


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="empty"):
        diagnosis.plot_dashboard({})
    rnn = models.build_rnn("simple", 4, seq_len=3)
    with pytest.raises(ValueError, match="act_1"):
        probes.layer_outputs(rnn, np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="hidden_1"):
        probes.kernel_gradients(rnn, np.zeros((2, 3, 1)), np.zeros((2, 1)), loss="mse")
    with pytest.raises(ValueError, match="batch size"):
        probes.kernel_gradients(_mlp(), *_data(4)[:1], np.zeros(3), loss="mse")


def test_summary_table_has_one_row_per_report_with_its_numbers():
    x, y = _data(32)
    rep = diagnosis.diagnose(_mlp(), x, y, epochs=1, batch_size=16)
    table = diagnosis.summary_table({"a": rep, "b": rep}).splitlines()
    assert len(table) == 3 and table[1].split()[0] == "a"
    assert table[1].split()[1] == f"{rep.loss[-1]:.3f}"
    assert table[1].split()[2] == "-"  # no validation data


@pytest.mark.parametrize("epsilon", [1e-12, 1e-2])
def test_diagnose_takes_an_adam_instance_and_its_epsilon(epsilon):
    # Adam's first step, written out: m = (1-b1) g, v = (1-b2) g^2, and Keras divides by
    # sqrt(v) + epsilon before the bias correction, so the step is lr g / (|g| + eps/sqrt(1-b2)).
    model, x, y, _, grads, weights = _before_one_step()
    lr = 0.01
    opt = training.make_optimizer("adam", lr, epsilon=epsilon)
    assert opt.epsilon == epsilon
    scale = epsilon / np.sqrt(1 - opt.beta_2)
    steps = {n: lr * g / (np.abs(g) + scale) for n, g in grads.items()}
    expected = [np.log10(np.linalg.norm(steps[n]) / np.linalg.norm(weights[n])) for n in grads]
    report = diagnosis.diagnose(model, x, y, optimizer=opt, epochs=1, batch_size=len(x))
    np.testing.assert_allclose(report.update_ratio[0], expected, atol=1e-3)


def test_make_optimizer_epsilon_only_for_adaptive_optimizers():
    assert training.make_optimizer("rmsprop", epsilon=1e-9).epsilon == 1e-9
    assert training.make_optimizer("adam").epsilon == 1e-7  # Keras' default is kept
    with pytest.raises(ValueError, match="epsilon"):
        training.make_optimizer("sgd", epsilon=1e-9)
    with pytest.raises(ValueError, match="epsilon"):
        training.make_optimizer("adam", epsilon=0.0)


def test_diagnose_track_every_records_every_kth_step_of_the_same_run():
    x, y = _data(64)
    full = diagnosis.diagnose(_mlp(), x, y, epochs=1, batch_size=8)
    sparse = diagnosis.diagnose(_mlp(), x, y, epochs=1, batch_size=8, track_every=3)
    assert full.update_ratio.shape == (8, 3) and sparse.update_ratio.shape == (3, 3)
    np.testing.assert_allclose(sparse.update_ratio, full.update_ratio[::3], atol=1e-5)
    np.testing.assert_allclose(sparse.loss, full.loss, rtol=1e-6)


def test_diagnose_leaves_batch_norm_statistics_where_training_left_them():
    # The probes after training must not move the moving statistics: diagnose's model ends
    # exactly where a plain fit of the same model, data and batch order ends.
    x, y = _data(64)

    def build():
        vg.reseed(0)
        return models.build_mlp(3, 6, input_dim=4, output_dim=3, batch_norm=True, seed=2)

    model = build()
    report = diagnosis.diagnose(model, x, y, epochs=1, batch_size=16, probe_size=32)
    reference = build()
    training.compile_model(reference, loss=training.classification_loss(), optimizer="sgd", lr=0.1)
    vg.reseed(0)
    training.train(reference, x, y, epochs=1, batch_size=16)
    moving = [v.numpy().tobytes() for v in model.non_trainable_variables]
    assert moving == [v.numpy().tobytes() for v in reference.non_trainable_variables]
    # and the gradients are those of the training loss in training mode (batch statistics)
    grads = _tape_kernel_grads(model, x[:32], y[:32])
    np.testing.assert_allclose(report.grad_norm, [np.linalg.norm(g) for g in grads], rtol=1e-5)


def test_diagnose_reads_the_gradient_of_the_regularised_training_loss():
    inputs = keras.Input((4,))
    h = inputs
    for i in (1, 2, 3):
        reg = keras.regularizers.L2(0.5) if i == 1 else None
        h = keras.layers.Dense(6, kernel_regularizer=reg, name=f"hidden_{i}")(h)
        h = keras.layers.Activation("tanh", name=f"act_{i}")(h)
    model = keras.Model(inputs, keras.layers.Dense(3, name="output")(h))
    x, y = _data(64)
    report = diagnosis.diagnose(model, x, y, epochs=1, batch_size=16, probe_size=32)
    assert model.losses
    grads = _tape_kernel_grads(model, x[:32], y[:32])
    np.testing.assert_allclose(report.grad_norm, [np.linalg.norm(g) for g in grads], rtol=1e-5)
