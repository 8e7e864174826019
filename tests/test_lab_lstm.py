"""The LSTM lab's references against Keras' LSTM, TensorFlow's tape and finite differences."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course.grading.checks import _lab_lstm_reference as ref
from vgrad_course.grading.checks._helpers import fd_grad
from vgrad_course.grading.checks.lab_lstm import CELL_CASES
from vgrad_course.grading.labs import lstm_vs_rnn


def _keras_lstm(p: dict[str, np.ndarray]) -> keras.layers.LSTM:
    units = p["h0"].shape[1]
    layer = keras.layers.LSTM(units, return_sequences=True, return_state=True, dtype="float64")
    layer.build((None, None, p["xs"].shape[2]))
    layer.set_weights([p["kernel"], p["recurrent_kernel"], p["bias"]])
    return layer


def _problem(seed: int = 7) -> dict[str, np.ndarray]:
    p = ref.problem(seed, 2, 5, 3, 4)  # batch, T, n_in, n all different
    rng = np.random.default_rng(seed + 1)
    p["grad_h"] = rng.normal(size=(2, 5, 4))
    p["grad_c"] = rng.normal(size=(2, 4))
    return p


def test_the_reference_forward_is_keras_lstm():
    # Gate order i, f, c~, o, the batch first, no h_0 in the returned sequence.
    p = _problem()
    seq, h_last, c_last = _keras_lstm(p)(p["xs"], initial_state=[p["h0"], p["c0"]])
    hs, cs = ref.lstm_forward(*(p[k] for k in ref.SEQ_ARGS))
    np.testing.assert_allclose(hs, seq.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hs[:, -1], h_last.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cs[:, -1], c_last.numpy(), rtol=1e-10, atol=1e-12)


def test_the_reference_gradients_are_tensorflows():
    p = _problem()
    layer = _keras_lstm(p)
    h0, c0 = tf.Variable(p["h0"]), tf.Variable(p["c0"])
    with tf.GradientTape() as tape:
        seq, _, c_last = layer(p["xs"], initial_state=[h0, c0])
        loss = tf.reduce_sum(p["grad_h"] * seq) + tf.reduce_sum(p["grad_c"] * c_last)
    theirs = tape.gradient(loss, [*layer.trainable_weights, h0, c0])
    ours = ref.reference_gradients(p)
    assert np.isclose(float(ref.lstm_loss(p)), float(loss))
    for name, a, b in zip(ref.GRADIENTS, ours, theirs, strict=True):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)


def test_the_complex_step_agrees_with_central_differences():
    p = _problem(8)
    ours = ref.reference_gradients(p)
    for index, name in enumerate(("kernel", "recurrent_kernel", "bias", "h0", "c0")):
        fd = fd_grad(lambda v, name=name: float(ref.lstm_loss({**p, name: v})), p[name])
        np.testing.assert_allclose(ours[index], fd, rtol=1e-6, atol=1e-8, err_msg=name)


def test_the_full_cell_jacobian_is_tensorflows():
    p = ref.cell_problem(9, 6, 3, 5, forget=1.0)
    layer = _keras_lstm(p)
    c0 = tf.Variable(p["c0"])
    with tf.GradientTape() as tape:
        _, _, c_last = layer(p["xs"], initial_state=[tf.constant(p["h0"]), c0])
    theirs = tape.jacobian(c_last, c0).numpy().reshape(5, 5)
    np.testing.assert_allclose(ref.full_jacobian(p), theirs, rtol=1e-8, atol=1e-12)


def test_the_direct_path_is_the_product_of_the_forget_gates():
    p = ref.cell_problem(10, 8, 2, 3, forget=0.5)
    h, c, product = p["h0"], p["c0"], np.ones(3)
    for t in range(8):
        _, f, _, _ = ref.lstm_gates(p["xs"][:, t], h, p["kernel"], p["recurrent_kernel"], p["bias"])
        product = product * f[0]
        h, c = ref.lstm_step(p["xs"][:, t], h, c, p["kernel"], p["recurrent_kernel"], p["bias"])
    frozen = ref.frozen_gate_jacobian(p)
    np.testing.assert_allclose(frozen, np.diag(product), rtol=1e-12, atol=1e-15)
    # Without a recurrent kernel no path runs through h: the full Jacobian is the direct one.
    p["recurrent_kernel"] = np.zeros_like(p["recurrent_kernel"])
    np.testing.assert_allclose(
        ref.full_jacobian(p), ref.frozen_gate_jacobian(p), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize(("seed", "steps", "n_in", "units", "forget"), CELL_CASES)
def test_the_hidden_cell_cases_separate_full_from_direct(seed, steps, n_in, units, forget):
    p = ref.cell_problem(seed, steps, n_in, units, forget=forget)
    full, direct = ref.full_jacobian(p), np.diag(ref.frozen_gate_jacobian(p))
    off = full - np.diag(np.diag(full))
    assert np.linalg.norm(off) > 0.3 * np.linalg.norm(full)  # far from diagonal
    assert np.linalg.norm(full - full.T) > 0.1 * np.linalg.norm(full)  # a transpose shows
    assert direct.min() > 1e-5  # a missing gate changes it visibly


def test_the_comparison_uses_keras_initialisers():
    a, b = lstm_vs_rnn(1.0), lstm_vs_rnn(3.0)
    for key in ("xs", "h0", "c0"):
        np.testing.assert_array_equal(a[key], b[key])
    np.testing.assert_array_equal(a["lstm"][0], b["lstm"][0])
    np.testing.assert_array_equal(a["rnn"][1], b["rnn"][1])
    kernel, recurrent_kernel, bias = a["lstm"]
    assert kernel.shape == (3, 32) and np.abs(kernel).max() <= np.sqrt(6 / 35)
    np.testing.assert_allclose(recurrent_kernel @ recurrent_kernel.T, np.eye(8), atol=1e-12)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(8), np.ones(8), np.zeros(16)])
    np.testing.assert_array_equal(b["lstm"][2][8:16], 3.0)
    w, u, rnn_bias = a["rnn"]
    assert w.shape == (3, 8) and np.abs(w).max() <= np.sqrt(6 / 11)
    np.testing.assert_allclose(u @ u.T, np.eye(8), atol=1e-12)
    assert not rnn_bias.any() and a["xs"].shape == (1, 50, 3)


def test_the_rnn_gain_is_the_product_of_the_step_jacobians():
    setup = lstm_vs_rnn()
    w, u, b = setup["rnn"]
    h, jac = setup["h0"][0], np.eye(8)
    for x in setup["xs"][0]:
        h = np.tanh(x @ w + h @ u + b)
        jac = np.diag(1 - h**2) @ u.T @ jac
    assert np.isclose(ref.rnn_gain(), np.linalg.norm(jac, 2), rtol=1e-9)


def test_the_comparison_has_one_answer_far_from_the_formula():
    biases = np.round(np.arange(0.0, 6.05, 0.1), 1)
    kept = np.array([ref.lstm_cell_gain(b) for b in biases])
    first = int(np.argmax(kept >= 0.5))
    assert 0 < first and np.all(kept[first:] >= 0.5)  # crosses 1/2 once: one smallest bias
    formula = np.log(1 / (0.5 ** (-1 / 50) - 1))  # sigmoid(b)^50 = 1/2
    assert abs(biases[first] - formula) > 1.0
    # The letter question has a clear answer: more than 10x apart, with room to spare.
    lstm, rnn = ref.lstm_cell_gain(1.0), ref.rnn_gain()
    assert max(lstm, rnn) / min(lstm, rnn) > 100
