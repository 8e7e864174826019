"""The references of the lab "Backprop through time by hand" against independent ones.

Keras' ``SimpleRNN`` and ``tf.GradientTape`` check the forward pass and full BPTT (and the
lab's row-vector convention); finite differences of a forward pass restarted from a detached
state check truncated BPTT, written without the per-step copies the check module uses; finite
differences of the last state check the Jacobian product.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from vgrad_course.grading.checks import lab_bptt
from vgrad_course.grading.checks._helpers import fd_grad, fd_jacobian
from vgrad_course.grading.checks._lab_bptt_reference import (
    chunked_reference,
    decay_floor,
    fd_gradients,
    jacobian_norms,
    problem,
    rnn_states,
    step_terms,
    truncated_reference,
    wrong_norms,
)

SMALL = problem(5, 6, 2, 3, scale=1.3)
CS = np.random.default_rng(6).normal(size=(6, 3))


def test_forward_and_full_bptt_agree_with_keras_simple_rnn():
    xs, h0, w_x, w_h, b = SMALL
    layer = tf.keras.layers.SimpleRNN(3, return_sequences=True, dtype="float64")
    layer.build((1, 6, 2))
    layer.set_weights([w_x, w_h, b])
    x = tf.constant(xs[None])
    state = tf.Variable(h0[None])
    with tf.GradientTape() as tape:
        hs = layer(x, initial_state=[state])
        loss = tf.reduce_sum(hs[0] * CS)
    grads = tape.gradient(loss, [*layer.trainable_weights, state])
    np.testing.assert_allclose(hs.numpy()[0], rnn_states(*SMALL), rtol=1e-12)
    keras = [g.numpy() for g in grads[:3]] + [grads[3].numpy()[0]]
    for ours, theirs in zip(fd_gradients(SMALL, CS), keras, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_step_terms_add_up_to_full_bptt_and_vanish_for_later_steps():
    terms = step_terms(SMALL, CS)
    for g, ref in zip(terms, fd_gradients(SMALL, CS)[:3], strict=False):
        np.testing.assert_allclose(g.sum(axis=(0, 1)), ref, rtol=1e-6, atol=1e-9)
        later = np.triu(np.ones((6, 6), dtype=bool), k=1)  # s > t: step s comes after l_t
        assert np.all(g[later] == 0)
    for k in (6, 9):
        for g, ref in zip(truncated_reference(terms, k), fd_gradients(SMALL, CS), strict=False):
            np.testing.assert_allclose(g, ref, rtol=1e-6, atol=1e-9)


def _detached(p, cs, k: int, *, chunk: bool = False) -> list[np.ndarray]:
    """Truncated BPTT from its definition: l_t rerun from the state before its window, held
    fixed, with finite differences of the weights (the chunked variant starts every window
    at the start of t's chunk)."""
    xs, h0 = p[0], p[1]
    hs = np.vstack([h0, rnn_states(*p)])  # hs[t] = h_t
    weights = list(p[2:])
    total = [np.zeros_like(w) for w in weights]
    for t in range(1, len(xs) + 1):
        start = ((t - 1) // k) * k if chunk else max(t - k, 0)

        def l_t(w_x, w_h, b, t=t, start=start):
            return float(cs[t - 1] @ rnn_states(xs[start:t], hs[start], w_x, w_h, b)[-1])

        for i in range(3):

            def one(v, i=i, l_t=l_t):
                return l_t(*(v if j == i else w for j, w in enumerate(weights)))

            total[i] += fd_grad(one, weights[i])
    return total


@pytest.mark.parametrize("k", [1, 2, 4])
def test_truncated_reference_is_backprop_from_a_detached_state(k):
    terms = step_terms(SMALL, CS)
    for ours, ref in zip(truncated_reference(terms, k), _detached(SMALL, CS, k), strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9)
    for ours, ref in zip(
        chunked_reference(terms, k), _detached(SMALL, CS, k, chunk=True), strict=True
    ):
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9)


def test_the_hidden_truncation_cases_separate_windows_one_step_apart():
    p = lab_bptt.TRUNCATED
    terms = step_terms(p, lab_bptt._loadings(p, 33))
    for k in (1, 3, 5):
        ref = truncated_reference(terms, k)
        for other in (k - 1, k + 1):
            gap = np.linalg.norm(truncated_reference(terms, other)[1] - ref[1])
            assert gap > 1e-2 * np.linalg.norm(ref[1]), (k, other)
        if k > 1:
            chunks = chunked_reference(terms, k)[1]
            assert np.linalg.norm(chunks - ref[1]) > 1e-2 * np.linalg.norm(ref[1])


@pytest.mark.parametrize("p", lab_bptt.JACOBIAN, ids=["T7", "T13"])
def test_jacobian_norms_are_norms_of_finite_difference_jacobians(p):
    norms, (fro, bound) = jacobian_norms(p), wrong_norms(p)
    for t in range(1, len(p[0]) + 1):
        jac = fd_jacobian(lambda h, t=t: rnn_states(p[0][:t], h, *p[2:])[-1], p[1])
        assert np.isclose(norms[t - 1], np.linalg.norm(jac, 2), rtol=1e-6)
        assert np.isclose(fro[t - 1], np.linalg.norm(jac), rtol=1e-6)
        assert bound[t - 1] >= norms[t - 1] * (1 - 1e-9)
    assert not np.allclose(bound, norms, rtol=1e-3)  # the bound is not tight here


@pytest.mark.parametrize("input_std", lab_bptt.DECAY_STDS)
def test_the_decay_floor_crosses_0_1_once_well_above_the_linear_prediction(input_std):
    rhos = np.arange(0.9, 2.0, 0.002)
    above = np.array([decay_floor(r, input_std) >= 0.1 for r in rhos])
    first = int(np.argmax(above))
    assert above[first:].all() and not above[:first].any()  # one crossing: "smallest" is clear
    assert rhos[first] > 1.05 * 0.1 ** (1 / 50)  # the linear answer misses the bracket
