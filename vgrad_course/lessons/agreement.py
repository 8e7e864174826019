"""Agreement across a gap: read the agreement language with an RNN, measure what reaches the cue.

A model is an ``Embedding`` and a recurrent *reader* (:func:`vgrad_course.models.build_rnn`)
that scores the languages. An ``Embedding`` has no gradient with respect to its integer inputs,
so the gradients are taken with respect to the embedded vectors (:func:`embedding_grad_norms`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from matplotlib.axes import Axes

from vgrad_course import models, plotting, training
from vgrad_course.lessons import agreement_language as lang
from vgrad_course.reproducibility import reseed
from vgrad_course.seeds import effective_seed
from vgrad_course.validation import check_int, check_positive

#: Seed of the held-out sentences (no training run uses it).
HELD_OUT_SEED: int = 10_000


def build_agreement_model(
    cell: str, *, seq_len: int, units: int = 32, embed_dim: int = 16, seed: int = 0
) -> keras.Model:
    """Build ``Embedding -> recurrent reader -> logits of the languages`` for token sentences.

    Args:
        cell: A cell of :func:`vgrad_course.models.build_rnn` (``"simple"``, ``"lstm"``...).
        seq_len: Tokens per sentence.
        units: Hidden units of the reader.
        embed_dim: Size of a word vector.
        seed: Seed of every initializer (the embedding: Keras' default uniform ±0.05).

    Returns:
        An uncompiled model with two layers named ``embed`` and ``reader``; the reader is the
        model :func:`~vgrad_course.models.build_rnn` returns.

    Used in: "I grew up in France … I speak fluent French: agreement across a gap".
    """
    init = keras.initializers.RandomUniform(-0.05, 0.05, seed=effective_seed(seed) + 3)
    embed = keras.layers.Embedding(
        len(lang.VOCABULARY), embed_dim, embeddings_initializer=init, name="embed"
    )
    reader = models.build_rnn(
        cell,
        units,
        seq_len=seq_len,
        input_dim=embed_dim,
        output_dim=len(lang.LANGUAGES),
        seed=seed,
        name="reader",
    )
    tokens = keras.Input(shape=(seq_len,), dtype="int32", name="tokens")
    return keras.Model(tokens, reader(embed(tokens)), name=f"agreement_{cell}")


@tf.function(reduce_retracing=True)
def _logits_and_norms(reader: keras.Model, vectors: tf.Tensor, y: tf.Tensor) -> tuple:
    """Return the reader's logits and ||dl_i/de_t|| per sentence i and position t."""
    with tf.GradientTape() as tape:
        tape.watch(vectors)
        logits = reader(vectors)
        losses = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    return logits, tf.norm(tape.gradient(losses, vectors), axis=-1)  # e_t reaches only l_i


def embedding_grad_norms(model: keras.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return ||dl_i/de_t|| for each sentence i and position t: from the loss to a word vector.

    ``l_i`` is sentence i's cross-entropy at the query, ``e_t`` its word vector at position t:
    the model is split, and the reader runs on the embedded sentences under a gradient tape.

    Args:
        model: A model from :func:`build_agreement_model`.
        x: Token ids, shape ``(n, seq_len)``.
        y: Classes of the agreeing words, shape ``(n,)``.

    Returns:
        float64 array of shape ``(n, seq_len)``.

    Used in: "I grew up in France … I speak fluent French: agreement across a gap".
    """
    if np.ndim(x) != 2 or np.shape(y) != np.shape(x)[:1]:
        raise ValueError(f"x must be (n, seq_len) and y (n,), got {np.shape(x)}, {np.shape(y)}")
    vectors = model.get_layer("embed")(np.asarray(x))
    _, norms = _logits_and_norms(model.get_layer("reader"), vectors, tf.constant(y))
    return norms.numpy().astype(np.float64)


def _measure(model: keras.Model, held_out: lang.Sentences) -> tuple[np.ndarray, np.ndarray]:
    """Return the accuracy per gap and the mean of :func:`embedding_grad_norms` per gap."""
    vectors = model.get_layer("embed")(held_out.x)
    logits, norms = _logits_and_norms(model.get_layer("reader"), vectors, held_out.y)
    right, norms = np.argmax(logits, axis=-1) == held_out.y, norms.numpy().astype(np.float64)
    gaps = [held_out.gaps == g for g in np.unique(held_out.gaps)]
    return np.array([right[g].mean() for g in gaps]), np.stack([norms[g].mean(0) for g in gaps])


@dataclass(frozen=True)
class AgreementRun:
    """One reader trained on the agreement language, measured on held-out sentences per gap.

    Attributes:
        label: The cell's label.
        seed: Seed of the initializers and the training sentences.
        accuracy: Accuracy on the agreeing word at gap 1, 2, ... (shape ``(max_gap,)``).
        grads_init: Before training, the mean of :func:`embedding_grad_norms` over the
            held-out sentences of each gap, shape ``(max_gap, seq_len)`` (row N - 1: gap N).
        grads: The same after training.
    """

    label: str
    seed: int
    accuracy: np.ndarray
    grads_init: np.ndarray
    grads: np.ndarray

    def cue_share(self, *, trained: bool = True) -> np.ndarray:
        """Return, per gap N, the gradient at the cue over the gradient at the query word.

        Args:
            trained: After training (True) or at initialisation (False).

        Returns:
            float64 array of shape ``(max_gap,)``: ``||dl/de_cue|| / ||dl/de_query||``.

        Used in: "I grew up in France … I speak fluent French: agreement across a gap".
        """
        g = self.grads if trained else self.grads_init
        gaps = np.arange(1, g.shape[0] + 1)
        return g[gaps - 1, g.shape[1] - 1 - gaps] / g[:, -1]

    def profile(self, *, trained: bool = True) -> np.ndarray:
        """Return the gradient at every position of the longest-gap sentences, over the query's.

        Args:
            trained: After training (True) or at initialisation (False).

        Returns:
            float64 array of shape ``(seq_len,)``: the cue first, the query (1.0) last.

        Used in: "I grew up in France … I speak fluent French: agreement across a gap".
        """
        longest = (self.grads if trained else self.grads_init)[-1]
        return longest / longest[-1]

    def cue_over_gap_words(self, *, trained: bool = True) -> float:
        """Return, at the longest gap, the cue's gradient over the median word's in the gap.

        The words in the gap are the fillers and distractors between the cue and the query.

        Args:
            trained: After training (True) or at initialisation (False).

        Returns:
            ``||dl/de_cue|| / median_t ||dl/de_t||``, t strictly between cue and query.

        Used in: "I grew up in France … I speak fluent French: agreement across a gap".
        """
        words = self.profile(trained=trained)
        return float(words[0] / np.median(words[1:-1]))


def train_agreement(
    cells: Mapping[str, str],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    seq_len: int = 24,
    steps: int = 150,
    batch_size: int = 128,
    lr: float = 1e-2,
    units: int = 32,
    gap_exponent: float = 1.0,
    distractor_rate: float = 0.1,
    per_gap: int = 100,
) -> dict[str, list[AgreementRun]]:
    """Train one reader per cell and seed on sentences of every gap; measure each gap apart.

    Each run reads ``steps * batch_size`` fresh sentences once (gap N drawn with probability
    proportional to ``N ** -gap_exponent``), with Adam and global gradient clipping at norm 1,
    then is measured on one held-out set of ``per_gap`` sentences at every gap (seed
    :data:`HELD_OUT_SEED`). A cell's model is built and traced once; between seeds its weights,
    optimizer state and random generators are reset.

    Args:
        cells: ``{label: cell}``, e.g. ``{"tanh RNN": "simple", "LSTM": "lstm"}``.
        seeds: One run per seed: the initializers and the training sentences.
        seq_len: Tokens per sentence; gaps go up to ``seq_len - 1``.
        steps: Optimiser steps per run.
        batch_size: Sentences per step.
        lr: Adam's learning rate.
        units: Hidden units of the reader.
        gap_exponent: Training gaps: see
            :func:`~vgrad_course.lessons.agreement_language.gap_probabilities`.
        distractor_rate: Probability of a distractor country in each slot of the gap.
        per_gap: Held-out sentences per gap.

    Returns:
        ``{label: [AgreementRun per seed]}`` in the order of ``cells``.

    Used in: "I grew up in France … I speak fluent French: agreement across a gap".
    """
    if not isinstance(cells, Mapping) or not cells or not list(seeds):
        raise ValueError("cells must be a non-empty {label: cell} dict and seeds non-empty")
    for name, value in dict(seq_len=seq_len, steps=steps, batch_size=batch_size).items():
        check_int(name, value)
    check_positive("lr", lr)
    held_out = lang.sentences_per_gap(
        per_gap, seq_len, distractor_rate=distractor_rate, seed=HELD_OUT_SEED
    )
    runs = {}
    for label, cell in cells.items():
        build = dict(seq_len=seq_len, units=units)
        model = build_agreement_model(cell, seed=seeds[0], **build)
        training.compile_model(
            model, loss=training.classification_loss(), lr=lr, global_clipnorm=1.0
        )
        model.optimizer.build(model.trainable_variables)
        fresh = [v.numpy() for v in model.optimizer.variables]
        runs[label] = []
        for seed in seeds:
            reseed(seed)
            model.set_weights(build_agreement_model(cell, seed=seed, **build).get_weights())
            for variable, value in zip(model.optimizer.variables, fresh, strict=True):
                variable.assign(value)
            _, grads_init = _measure(model, held_out)
            data = lang.make_sentences(
                steps * batch_size,
                seq_len,
                gap_exponent=gap_exponent,
                distractor_rate=distractor_rate,
                seed=seed,
            )
            model.fit(data.x, data.y, batch_size=batch_size, shuffle=False, verbose=0)
            accuracy, grads = _measure(model, held_out)
            runs[label].append(AgreementRun(label, seed, accuracy, grads_init, grads))
    return runs


def reach(accuracy: np.ndarray, *, level: float) -> int:
    """Return the largest gap N with accuracy >= ``level`` at every gap 1 ... N.

    Args:
        accuracy: Accuracy at gap 1, 2, ... (e.g. :attr:`AgreementRun.accuracy`).
        level: The accuracy that counts as agreeing.

    Returns:
        That gap (0 if the accuracy is below ``level`` already at gap 1).

    Used in: "I grew up in France … I speak fluent French: agreement across a gap".
    """
    below = np.flatnonzero(np.asarray(accuracy, dtype=np.float64) < level)
    return int(below[0]) if below.size else int(np.size(accuracy))


def plot_over_gaps(
    values: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    ylabel: str = "accuracy",
    logy: bool = False,
    baseline: float | None = None,
    baseline_label: str = "chance",
    title: str | None = None,
) -> Axes:
    """Plot, per label, the median over runs against the gap, with the runs' range shaded.

    Args:
        values: ``{label: array (runs, max_gap)}``, gap 1 first.
        ax: Axes to draw on (a new figure if None).
        ylabel: Label of the y axis.
        logy: Use a log-scale y axis (for gradient norms).
        baseline: Draw a dashed horizontal line at this value.
        baseline_label: Legend text of that line.
        title: Optional title.

    Returns:
        The Axes drawn on.

    Used in: "I grew up in France … I speak fluent French: agreement across a gap".
    """
    medians = {k: np.median(np.asarray(v, float), axis=0) for k, v in values.items()}
    gaps = np.arange(1, len(next(iter(medians.values()))) + 1)
    before = 0 if ax is None else len(ax.get_lines())  # lines already on a given Axes
    ax = plotting.plot_curves(
        medians, x=gaps, ax=ax, xlabel="gap N (tokens from cue to query)", ylabel=ylabel,
        logy=logy, title=title, baseline=baseline, baseline_label=baseline_label,
    )  # fmt: skip
    for line, v in zip(ax.get_lines()[before:], values.values(), strict=False):
        v = np.asarray(v, float)
        ax.fill_between(gaps, v.min(axis=0), v.max(axis=0), color=line.get_color(), alpha=0.2)
    return ax
