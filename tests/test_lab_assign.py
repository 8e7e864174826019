"""The lab "The assignment, done right": the worker's per-step measurement against finite
differences, its probe sequences against the chapter's data, and bad weights refused.

The finite differences perturb single inputs of each hidden model, written here from Keras'
equations in float64 NumPy, and watch the batch-mean loss: no tape, no Keras.
"""

from __future__ import annotations

import numpy as np
import pytest

from vgrad_course import models, probes
from vgrad_course.grading.checks import lab_assign
from vgrad_course.grading.labs_assignment import mean_sign_sequences, probe_sequences
from vgrad_course.grading.reference_worker import ask
from vgrad_course.lessons.assignment import mean_sign
from vgrad_course.reference import InvalidInput
from vgrad_course.reference.time_steps import model_from_weights


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _last_state(cell, weights, x):
    """The recurrent layer's last state, from Keras' equations, in float64 NumPy."""
    w, u, b = weights[:3]
    n = u.shape[0]
    h, c = np.zeros((len(x), n)), np.zeros((len(x), n))
    for t in range(x.shape[1]):
        if cell == "simple":
            h = np.tanh(x[:, t] @ w + h @ u + b)
        elif cell == "lstm":  # gates i, f, c~, o
            z = x[:, t] @ w + h @ u + b
            i, f, g, o = (z[:, k * n : (k + 1) * n] for k in range(4))
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        else:  # GRU with reset_after: gates z, r, h~; input and recurrent biases apart
            zx, zh = x[:, t] @ w + b[0], h @ u + b[1]
            update = _sigmoid(zx[:, :n] + zh[:, :n])
            reset = _sigmoid(zx[:, n : 2 * n] + zh[:, n : 2 * n])
            candidate = np.tanh(zx[:, 2 * n :] + reset * zh[:, 2 * n :])
            h = update * h + (1 - update) * candidate
    return h


@pytest.mark.parametrize("cell", lab_assign.CELLS)
def test_the_workers_step_norms_match_finite_differences(cell):
    weights, x, y = lab_assign.STEP_CASES[cell]
    weights = [np.float32(w).astype(np.float64) for w in weights]  # as the models hold them
    x = np.float32(x).astype(np.float64)

    def loss(xs: np.ndarray) -> float:
        p = _sigmoid(_last_state(cell, weights, xs) @ weights[3] + weights[4])
        return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))

    eps, steps = 1e-4, (0, 11, x.shape[1] - 1)  # central: errors of order eps ** 2
    grad = np.zeros((len(x), len(steps), x.shape[2]))
    for b, i, f in np.ndindex(grad.shape):
        step = np.zeros_like(x)
        step[b, steps[i], f] = eps
        grad[b, i, f] = (loss(x + step) - loss(x - step)) / (2 * eps)
    expected = np.linalg.norm(grad, axis=-1).mean(axis=0)
    measured = lab_assign._worker_norms(cell)
    np.testing.assert_allclose(measured[list(steps)], expected, rtol=1e-4)
    assert measured[0] < measured[-1]  # fading towards the oldest step, as expected here


def test_the_probe_is_the_assignments_task_and_data(monkeypatch):
    monkeypatch.setenv("VGRAD_SEED_OFFSET", "0")
    x, y = mean_sign_sequences(40, 50, seed=3)
    ours = mean_sign(40, 50, seed=3)
    np.testing.assert_array_equal(x, ours[0])
    np.testing.assert_array_equal(y, ours[1])
    monkeypatch.setenv("VGRAD_SEED_OFFSET", "2")  # the probe is used as given
    np.testing.assert_array_equal(probe_sequences()[0], mean_sign_sequences(256, 50, seed=1705)[0])


def test_the_initial_profiles_are_the_probes_on_the_notebooks_models():
    x, y = probe_sequences()
    measured = ask("steps.initial", {"seed": lab_assign.SEED}, {"x": x, "y": y})[1]
    for cell in lab_assign.CELLS:
        model = models.build_rnn(cell, 10, output_activation="sigmoid", seed=lab_assign.SEED)
        here = probes.input_grad_norms(model, x, y, loss="binary_crossentropy")
        np.testing.assert_allclose(measured[cell], here, rtol=1e-5)
        assert here[-10:].sum() / here.sum() > 0.7  # most of it from the last 10 steps


def test_bad_weights_are_refused_with_a_message():
    weights = lab_assign.STEP_CASES["lstm"][0]
    with pytest.raises(InvalidInput, match="a gru needs"):
        model_from_weights("gru", weights)
    with pytest.raises(InvalidInput, match="cell must be one of"):
        model_from_weights("transformer", weights)
