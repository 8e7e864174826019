"""The assignment's lesson: its data, its training loop and the per-step split of a gradient."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import models, probes
from vgrad_course.lessons import assignment, bptt_contributions
from vgrad_course.seeds import SEED_OFFSET_VARIABLE


def _model(cell, *, seq_len=6, units=3, seed=0):
    return models.build_rnn(cell, units, seq_len=seq_len, output_activation="sigmoid", seed=seed)


def _keras_gradient(model, x, y, variable):
    """dL/dv of the batch-mean binary cross-entropy, by Keras' own layer (the reference)."""
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.binary_crossentropy(y, model(x, training=True)))
    return tape.gradient(loss, variable).numpy()


def _numpy_bptt(model, x, y):
    """dL/dU of a tanh SimpleRNN term by term, written out by hand in float64.

    h_t = tanh(x_t W + h_{t-1} U + b), p = sigmoid(h_T v + c), L = mean BCE(y, p);
    delta_T = (p - y) v^T / n * (1 - h_T^2), delta_t = (delta_{t+1} U^T) * (1 - h_t^2),
    C_t = h_{t-1}^T delta_t.
    """
    w, u, b = (np.asarray(v, dtype=np.float64) for v in model.get_layer("rnn").get_weights())
    v, c = (np.asarray(a, dtype=np.float64) for a in model.get_layer("head").get_weights())
    n, seq_len, _ = x.shape
    hs = [np.zeros((n, u.shape[0]))]
    for t in range(seq_len):
        hs.append(np.tanh(x[:, t] @ w + hs[-1] @ u + b))
    p = 1 / (1 + np.exp(-(hs[-1] @ v + c)))
    delta = (p - y) @ v.T / n * (1 - hs[-1] ** 2)
    terms = [None] * seq_len
    for t in reversed(range(seq_len)):
        terms[t] = hs[t].T @ delta  # hs[t] is h_{t-1} of step t + 1
        delta = (delta @ u.T) * (1 - hs[t] ** 2)
    return np.stack(terms)


@pytest.fixture
def batch():
    return assignment.mean_sign(4, 6, seed=3)


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
@pytest.mark.parametrize("weight", ["recurrent_kernel", "kernel", "bias"])
def test_the_steps_add_up_to_keras_gradient(cell, weight, batch):
    model = _model(cell)
    x, y = batch
    terms = bptt_contributions.step_contributions(model, x, y, weight=weight)
    variable = getattr(model.get_layer("rnn").cell, weight)
    assert terms.shape == (6, *variable.shape)
    expected = _keras_gradient(model, x, y, variable)
    np.testing.assert_allclose(terms.sum(axis=0), expected, rtol=1e-4, atol=1e-7)


def test_simple_rnn_terms_match_backprop_through_time_by_hand(batch):
    model = _model("simple", seed=5)
    x, y = batch
    terms = bptt_contributions.step_contributions(model, x, y)
    np.testing.assert_allclose(terms, _numpy_bptt(model, x, y), rtol=1e-4, atol=1e-7)
    assert np.all(terms[0] == 0)  # h_0 = 0: the first step adds nothing to dL/dU
    one = bptt_contributions.step_contributions(model, x[:1], y[:1])
    ranks = [np.linalg.matrix_rank(t, tol=1e-5 * np.linalg.norm(t)) for t in one[1:]]
    assert ranks == [1] * 5  # one sequence: each term is the outer product h_{t-1}^T delta_t


def test_shares_split_the_norm_of_the_sum():
    terms = np.random.default_rng(0).normal(size=(5, 3, 2))
    shares = bptt_contributions.step_shares(terms)
    total = terms.sum(axis=0)
    assert shares.sum() == pytest.approx(1.0)
    assert np.linalg.norm(total) * shares.sum() == pytest.approx(
        sum(np.vdot(t, total) for t in terms) / np.linalg.norm(total)
    )
    assert bptt_contributions.last_steps_share(shares, 5) == pytest.approx(1.0)
    assert bptt_contributions.last_steps_share(shares, 2) == pytest.approx(shares[-2:].sum())
    norms = bptt_contributions.contribution_norms(terms)
    np.testing.assert_allclose(norms, [np.linalg.norm(t) for t in terms])


def test_shares_of_a_single_step_gradient_are_all_at_that_step():
    terms = np.zeros((4, 2, 2))
    terms[3] = [[1.0, -2.0], [0.5, 3.0]]
    np.testing.assert_allclose(bptt_contributions.step_shares(terms), [0, 0, 0, 1])


def test_bad_contributions_are_refused():
    with pytest.raises(ValueError, match="zero"):
        bptt_contributions.step_shares(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="seq_len"):
        bptt_contributions.step_shares(np.ones(3))
    with pytest.raises(ValueError, match="at most"):
        bptt_contributions.last_steps_share(np.ones(3) / 3, 4)
    with pytest.raises(ValueError, match="k must be"):
        bptt_contributions.last_steps_share(np.ones(3) / 3, 0)


def test_models_without_a_forward_recurrent_layer_are_refused(batch):
    x, y = batch
    with pytest.raises(ValueError, match="no layer named 'lstm'"):
        bptt_contributions.step_contributions(_model("simple"), x, y, layer="lstm")
    dense = keras.Sequential([keras.Input((6, 1)), keras.layers.Dense(1, name="rnn")])
    with pytest.raises(ValueError, match="not a recurrent layer"):
        bptt_contributions.step_contributions(dense, x, y)
    inputs = keras.Input((6, 1))
    seq = keras.layers.SimpleRNN(2, return_sequences=True, name="rnn")(inputs)
    with pytest.raises(ValueError, match="last state"):
        bptt_contributions.step_contributions(keras.Model(inputs, seq), x, y)
    with pytest.raises(ValueError, match="weight must be one of"):
        bptt_contributions.step_contributions(_model("simple"), x, y, weight="gamma")
    with pytest.raises(ValueError, match="batch of sequences"):
        bptt_contributions.step_contributions(_model("simple"), x[:, :, 0], y)


def test_mean_sign_labels_the_sign_of_the_mean():
    x, y = assignment.mean_sign(300, 7, seed=1)
    assert x.shape == (300, 7, 1) and y.shape == (300, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(y[:, 0], x.sum(axis=(1, 2)) > 0)
    np.testing.assert_array_equal(x, assignment.mean_sign(300, 7, seed=1)[0])
    assert 0.4 < y.mean() < 0.6
    with pytest.raises(ValueError, match="n must be"):
        assignment.mean_sign(0)


def test_early_over_late_compares_the_two_ends():
    norms = np.array([1.0, 3.0, 5.0, 5.0, 10.0, 30.0])
    assert assignment.early_over_late(norms, 2) == pytest.approx(2.0 / 20.0)
    with pytest.raises(ValueError, match="at least 8 steps"):
        assignment.early_over_late(norms, 4)


@pytest.fixture(scope="module")
def runs():
    # A module fixture runs before conftest's per-test reset of the seed offset: `make test`
    # sets VGRAD_SEED_OFFSET=1 for the notebooks, and the unit tests run at offset 0.
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(SEED_OFFSET_VARIABLE, raising=False)
        data = assignment.mean_sign(16, 6, seed=0)
        validation = assignment.mean_sign(8, 6, seed=1)
        out = assignment.train_cells(
            data,
            validation,
            seeds=(4, 4),
            cells=("simple",),
            epochs=2,
            batch_size=8,
            record_every=1,
            n_probe=8,
        )
    return out, data, validation


def test_train_cells_resets_weights_and_adam_between_seeds(runs):
    out, _, _ = runs
    first, again = out["simple"]
    assert first.val_accuracy == again.val_accuracy  # the same seed twice: the same run
    assert again.bars == pytest.approx(first.bars, rel=1e-5)  # (first probe eager, then traced)
    np.testing.assert_allclose(first.frames, again.frames, rtol=1e-5)


def test_train_cells_measures_what_it_says(runs):
    out, (x, y), validation = runs
    run = out["simple"][0]
    assert list(run.bars) == ["kernel", "recurrent_kernel", "bias", "dense kernel", "dense bias"]
    np.testing.assert_array_equal(run.frame_steps, [0, 1, 2, 3, 4])  # 2 epochs of 2 steps
    assert run.frames.shape == (5, 6) and run.profile.shape == (6,)
    fresh = _model("simple", units=10, seed=4)  # the default of train_cells
    at_init = probes.input_grad_norms(fresh, *validation, loss="binary_crossentropy")
    np.testing.assert_allclose(run.frames[0], at_init, rtol=1e-5)  # frame 0: before training
    np.testing.assert_allclose(run.profile, run.frames[-1], rtol=1e-5)  # the last frame
    before, after = run.contributions  # on the first training example
    init = bptt_contributions.step_contributions(fresh, x[:1], y[:1])
    np.testing.assert_allclose(before, init, rtol=1e-5, atol=1e-8)  # the seed's initialisation
    total = np.linalg.norm(after.sum(axis=0))
    assert total == pytest.approx(run.bars["recurrent_kernel"], rel=1e-4)  # Keras' bar
    correct = run.val_accuracy * len(validation[0])  # a count of correct validation labels
    assert 0 <= correct <= 8 and correct == round(correct)


def test_train_cells_refuses_bad_arguments(runs):
    _, data, validation = runs
    with pytest.raises(ValueError, match="cell must be one of"):
        assignment.train_cells(data, validation, cells=("transformer",))
    with pytest.raises(ValueError, match="at least one seed"):
        assignment.train_cells(data, validation, seeds=())
    with pytest.raises(ValueError, match="record_every must be"):
        assignment.train_cells(data, validation, record_every=0)
    with pytest.raises(ValueError, match="seq_len, features"):
        assignment.train_cells((data[0][..., 0], data[1]), validation)


def test_the_figures_draw_and_the_player_is_offline(runs):
    out, _, _ = runs
    fig = assignment.plot_assignment(out)
    assert len(fig.axes) == 2  # one cell: its bar chart and the per-step panel
    run = out["simple"][0]
    html = assignment.animate_profiles(
        {"SimpleRNN": run.frames}, run.frame_steps, steps_per_epoch=2
    ).data
    assert "http" not in html and html.count("data:image/png") == 5
