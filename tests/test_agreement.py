import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from vgrad_course import probes
from vgrad_course.lessons import agreement
from vgrad_course.lessons import agreement_language as lang

COUNTRY_IDS = np.arange(1, 1 + len(lang.COUNTRIES))


def test_sentences_put_cue_gap_fillers_and_query_where_they_belong():
    s = lang.make_sentences(500, 12, distractor_rate=0.0, seed=3)
    assert s.x.shape == (500, 12) and s.x.dtype == np.int32
    rows = np.arange(500)
    cue = 11 - s.gaps
    np.testing.assert_array_equal(s.x[rows, cue], 1 + s.y)  # the cue names the answer
    assert (s.x[:, -1] == lang.QUERY).all()
    position = np.arange(12)[None, :]
    assert (s.x[position < cue[:, None]] == lang.PAD).all()  # padding only before the cue
    between = s.x[(position > cue[:, None]) & (position < 11)]
    assert not np.isin(between, COUNTRY_IDS).any() and (between != lang.PAD).all()
    assert set(np.unique(s.gaps)) == set(range(1, 12))


def test_distractors_are_countries_in_the_gap_at_the_given_rate():
    s = lang.make_sentences(4000, 24, gaps=np.full(4000, 23), distractor_rate=0.1, seed=1)
    between = s.x[:, 1:-1]
    assert np.isin(between, COUNTRY_IDS).mean() == pytest.approx(0.1, abs=0.01)
    assert (s.x[:, 0] == 1 + s.y).all()  # the cue is still the first word


def test_sentences_are_seeded():
    a, b = lang.make_sentences(50, 10, seed=4), lang.make_sentences(50, 10, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, lang.make_sentences(50, 10, seed=5).x)


def test_gap_probabilities_follow_the_power_law():
    p = lang.gap_probabilities(24, 1.0)
    assert p.shape == (23,) and p.sum() == pytest.approx(1.0)
    assert p[0] / p[22] == pytest.approx(23.0)
    np.testing.assert_allclose(lang.gap_probabilities(6, 0.0), np.full(5, 0.2))
    drawn = lang.make_sentences(20_000, 24, seed=2).gaps
    assert np.mean(drawn == 1) == pytest.approx(p[0], abs=0.01)


def test_held_out_set_has_every_gap_equally():
    s = lang.sentences_per_gap(7, 9, seed=0)
    np.testing.assert_array_equal(np.bincount(s.gaps), [0] + [7] * 8)


def test_decode_reads_a_sentence():
    s = lang.make_sentences(1, 6, gaps=np.array([2]), distractor_rate=0.0, seed=0)
    words = lang.decode(s, 0).split()
    assert words[0] == lang.COUNTRIES[s.y[0]] and words[2] == "fluent"
    assert words[-2:] == ["→", lang.LANGUAGES[s.y[0]]] and len(words) == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0, "seq_len": 5}, "n must be"),
        ({"n": 3, "seq_len": 1}, "seq_len must be"),
        ({"n": 3, "seq_len": 5, "gaps": np.array([1, 5, 2])}, r"gaps must lie in \[1, 4\]"),
        ({"n": 3, "seq_len": 5, "gaps": np.array([1, 2])}, "gaps must be 3 integers"),
        ({"n": 3, "seq_len": 5, "distractor_rate": 1.5}, "distractor_rate"),
        ({"n": 3, "seq_len": 5, "gap_exponent": -1.0}, "gap_exponent"),
    ],
)
def test_bad_sentence_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lang.make_sentences(**kwargs)


def _model(cell="lstm", seq_len=6, seed=0):
    return agreement.build_agreement_model(cell, seq_len=seq_len, units=4, embed_dim=3, seed=seed)


def test_model_splits_into_embedding_and_reader():
    model = _model()
    x = lang.make_sentences(5, 6, seed=0).x
    assert model(x).shape == (5, len(lang.LANGUAGES))
    by_hand = model.get_layer("reader")(model.get_layer("embed")(x))
    np.testing.assert_allclose(model(x), by_hand, rtol=1e-6)
    same = _model().get_weights()
    for a, b in zip(model.get_weights(), same, strict=True):
        np.testing.assert_array_equal(a, b)


def test_embedding_grad_norms_match_the_library_probe_on_the_embedded_sentences():
    model = _model("gru")
    s = lang.make_sentences(8, 6, seed=1)
    e = model.get_layer("embed")(s.x)  # batch-mean loss: times n is per sentence
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    reference = probes.input_grad_norms(model.get_layer("reader"), e, s.y, loss=loss) * 8
    got = agreement.embedding_grad_norms(model, s.x, s.y)
    assert got.shape == (8, 6)
    np.testing.assert_allclose(got.mean(axis=0), reference, rtol=1e-4)
    one = agreement.embedding_grad_norms(model, s.x[3:4], s.y[3:4])  # alone: the same
    np.testing.assert_allclose(one[0], got[3], rtol=1e-4)
    with pytest.raises(ValueError, match="x must be"):
        agreement.embedding_grad_norms(model, s.x, s.y[:3])


def test_embedding_gradient_matches_finite_differences():
    model = _model("simple", seed=2)
    s = lang.make_sentences(1, 6, seed=2)
    e = model.get_layer("embed")(s.x).numpy().astype(np.float64)
    reader = model.get_layer("reader")

    def loss(vectors):
        logits = reader(vectors.astype(np.float32)).numpy().astype(np.float64)[0]
        return np.log(np.exp(logits).sum()) - logits[s.y[0]]

    h = 1e-2
    fd = np.zeros_like(e)
    for t in range(6):
        for k in range(3):
            step = np.zeros_like(e)
            step[0, t, k] = h
            fd[0, t, k] = (loss(e + step) - loss(e - step)) / (2 * h)
    got = agreement.embedding_grad_norms(model, s.x, s.y)[0]
    np.testing.assert_allclose(got, np.linalg.norm(fd[0], axis=-1), rtol=0.02, atol=1e-6)


def test_measure_groups_accuracy_and_gradients_by_gap():
    model = _model()
    held = lang.sentences_per_gap(3, 6, seed=0)
    right = np.argmax(model.predict(held.x, verbose=0), axis=-1) == held.y
    accuracy, grads = agreement._measure(model, held)
    np.testing.assert_allclose(accuracy, right.reshape(5, 3).mean(axis=1))
    per_sentence = agreement.embedding_grad_norms(model, held.x, held.y)
    np.testing.assert_allclose(grads, per_sentence.reshape(5, 3, 6).mean(axis=1), rtol=1e-5)


def _run(grads, accuracy=(1.0,)):
    g = np.asarray(grads, dtype=np.float64)
    return agreement.AgreementRun("x", 0, np.asarray(accuracy), g / 2, g)


def test_cue_share_reads_the_cue_position_of_each_gap():
    # seq_len 4, gaps 1..3: the cue of gap N sits at position 3 - N
    grads = [[9, 9, 2, 4], [9, 3, 9, 4], [1, 9, 9, 4]]
    np.testing.assert_allclose(_run(grads).cue_share(), [0.5, 0.75, 0.25])
    np.testing.assert_allclose(_run(grads).cue_share(trained=False), [0.5, 0.75, 0.25])
    assert _run([[8, 1, 2, 5, 4]]).cue_over_gap_words() == pytest.approx(4.0)


def test_reach_is_the_last_gap_before_the_first_failure():
    assert agreement.reach(np.array([1.0, 0.95, 0.5, 0.99]), level=0.9) == 2
    assert agreement.reach(np.array([0.3, 1.0]), level=0.9) == 0
    assert agreement.reach(np.array([0.95, 0.91]), level=0.9) == 2


def _tiny(seeds):
    cells = {"tanh": "simple"}
    budget = dict(seq_len=4, steps=2, batch_size=8, units=4, per_gap=4)
    return agreement.train_agreement(cells, seeds=seeds, **budget)["tanh"]


def test_train_agreement_resets_between_seeds_and_is_deterministic():
    both = _tiny([0, 1])
    alone = _tiny([1])[0]
    assert [r.seed for r in both] == [0, 1]
    assert both[1].accuracy.shape == (3,) and both[1].grads.shape == (3, 4)
    np.testing.assert_allclose(both[1].accuracy, alone.accuracy)
    np.testing.assert_allclose(both[1].grads_init, alone.grads_init, rtol=1e-5)
    np.testing.assert_allclose(both[1].grads, alone.grads, rtol=1e-4)
    assert not np.allclose(both[1].grads, both[1].grads_init)  # it trained


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"cells": {}}, "cells must be"), ({"cells": {"a": "gru"}, "lr": -1.0}, "lr must be")],
)
def test_bad_training_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        agreement.train_agreement(**kwargs)


def test_plot_over_gaps_draws_median_and_band():
    values = {"a": np.array([[0.2, 0.4], [0.6, 0.8], [1.0, 0.0]])}
    ax = agreement.plot_over_gaps(values, baseline=0.2)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.6, 0.4])
    assert len(ax.collections) == 1 and ax.get_xlabel().startswith("gap N")
    plt.close(ax.figure)
