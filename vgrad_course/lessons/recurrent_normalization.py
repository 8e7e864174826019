"""Layer normalization inside the recurrence: the plain tanh cell against the normalised one.

Two cells read the same sequences from the same initial W and U (see
:class:`vgrad_course.recurrent_cells.LayerNormSimpleRNNCell`): ``"plain"``, Keras' SimpleRNN,
``h_t = tanh(x_t W + h_{t-1} U + b)``, and ``"layer_norm"``, which normalises
``x_t W + h_{t-1} U`` over the units before the tanh. The recurrent matrix is scaled by a
factor ``c`` after the model is built (``U <- c U``), so every scale of a seed shares its
directions and only the size changes. The task is sign recall
(:func:`vgrad_course.data.sign_recall`).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from vgrad_course import data, models, probes, training
from vgrad_course.lessons.sequence_training import VALIDATION_SEED_SHIFT
from vgrad_course.recurrent_cells import LayerNormSimpleRNNCell
from vgrad_course.seeds import effective_seed
from vgrad_course.validation import check_choice, check_int, check_positive

#: The two cells compared, by name.
CELLS: tuple[str, ...] = ("plain", "layer_norm")


def build_model(
    cell: str, *, seq_len: int, units: int = 32, recurrent_scale: float = 1.0, seed: int = 0
) -> keras.Model:
    """Build a sign-recall classifier: one recurrent layer ``rnn`` and a sigmoid head ``head``.

    ``"plain"`` is :func:`vgrad_course.models.build_rnn` (``cell="simple"``); ``"layer_norm"``
    wraps :class:`~vgrad_course.recurrent_cells.LayerNormSimpleRNNCell` in
    ``keras.layers.RNN`` with the same seeds, so both cells start from the same W, U and head.

    Args:
        cell: ``"plain"`` or ``"layer_norm"``.
        seq_len: Sequence length.
        units: Hidden units.
        recurrent_scale: The gain ``c`` of the orthogonal recurrent initializer.
        seed: Seed of every initializer.

    Returns:
        An uncompiled functional ``keras.Model`` for inputs ``(batch, seq_len, 1)``.

    Used in: "Batch normalization".
    """
    check_choice("cell", cell, CELLS)
    scale = check_positive("recurrent_scale", recurrent_scale)
    if cell == "plain":
        return models.build_rnn(
            "simple",
            units,
            seq_len=seq_len,
            input_dim=1,
            output_activation="sigmoid",
            recurrent_scale=scale,
            seed=seed,
            name=cell,
        )
    shifted = effective_seed(seed)  # as build_rnn: W from seed, U from seed + 1, head + 2
    recurrent = keras.initializers.Orthogonal(gain=scale, seed=shifted + 1)
    rnn_cell = LayerNormSimpleRNNCell(units, recurrent_initializer=recurrent, seed=seed)
    inputs = keras.Input(shape=(check_int("seq_len", seq_len), 1), name="x")
    h = keras.layers.RNN(rnn_cell, name="rnn")(inputs)
    outputs = keras.layers.Dense(
        1,
        activation="sigmoid",
        kernel_initializer=keras.initializers.GlorotUniform(seed=shifted + 2),
        name="head",
    )(h)
    return keras.Model(inputs, outputs, name=cell)


def _check_grid(
    scales: Sequence[float], seeds: Sequence[int], cells: Sequence[str]
) -> tuple[list[float], list[str]]:
    """Check the scales (positive), seeds and cells (of ``CELLS``) are non-empty and valid."""
    if not scales or not seeds or not cells:
        raise ValueError("give at least one scale, one seed and one cell")
    cells = [check_choice("cell", cell, CELLS) for cell in cells]
    return [check_positive("scale", c) for c in scales], cells


def _start(model: keras.Model, weights: list[np.ndarray], scale: float) -> None:
    """Set ``model`` to the initial ``weights``, its recurrent matrix multiplied by ``scale``."""
    model.set_weights(weights)
    recurrent = model.get_layer("rnn").cell.recurrent_kernel
    recurrent.assign(scale * recurrent.numpy())


def gradient_profiles(
    x: np.ndarray,
    y: np.ndarray,
    *,
    scales: Sequence[float],
    seeds: Sequence[int] = (0,),
    cells: Sequence[str] = CELLS,
    units: int = 32,
) -> dict[str, np.ndarray]:
    """Return ``||dL/dx_t||`` per step at initialisation, for each cell and every scale of U.

    For each seed, each cell is built once at ``c = 1``; for each scale its recurrent matrix is
    set to ``c U`` and :func:`vgrad_course.probes.input_grad_norms` is read (binary
    cross-entropy on the batch ``(x, y)``).

    Args:
        x: Sign-recall sequences, shape ``(batch, seq_len, 1)``.
        y: Their labels, shape ``(batch, 1)``.
        scales: The factors ``c`` applied to U.
        seeds: Seeds of the initial weights.
        cells: Which of ``CELLS`` to measure.
        units: Hidden units.

    Returns:
        ``{cell: array of shape (len(seeds), len(scales), seq_len)}`` for each cell.

    Used in: "Batch normalization".
    """
    scales, cells = _check_grid(scales, seeds, cells)
    seq_len = np.shape(x)[1]
    profiles = {}
    for cell in cells:
        model = build_model(cell, seq_len=seq_len, units=units, seed=seeds[0])
        rows = []
        for seed in seeds:
            weights = build_model(cell, seq_len=seq_len, units=units, seed=seed).get_weights()
            row = []
            for c in scales:
                _start(model, weights, c)
                row.append(probes.input_grad_norms(model, x, y, loss="binary_crossentropy"))
            rows.append(row)
        profiles[cell] = np.asarray(rows, dtype=np.float64)
    return profiles


def train_sign_recall(
    *,
    scales: Sequence[float],
    seeds: Sequence[int],
    seq_len: int,
    cells: Sequence[str] = CELLS,
    n: int = 1000,
    n_val: int = 500,
    epochs: int = 5,
    batch_size: int = 50,
    lr: float = 3e-3,
    units: int = 32,
) -> dict[tuple[str, float], np.ndarray]:
    """Train both cells on sign recall at every scale of U and seed; return validation accuracy.

    Each cell's model is built and compiled once; every run starts from its seed's initial
    weights, with U multiplied by its scale, and a fresh Adam state. Seed ``s`` trains on
    ``data.sign_recall(n, seq_len, seed=s)``, in order, and is validated after each epoch on
    ``n_val`` sequences of seed ``s + VALIDATION_SEED_SHIFT``.

    Args:
        scales: The factors ``c`` applied to U.
        seeds: Seeds of the data and the initial weights, one run per seed.
        seq_len: Sequence length T.
        cells: Which of ``CELLS`` to train.
        n: Training sequences per run.
        n_val: Validation sequences.
        epochs: Passes over the training sequences.
        batch_size: Sequences per step.
        lr: Adam's learning rate.
        units: Hidden units.

    Returns:
        ``{(cell, c): array of shape (len(seeds), epochs)}``: validation accuracy after each
        epoch, for every cell and scale.

    Used in: "Batch normalization".
    """
    budget = {"n": n, "n_val": n_val, "epochs": epochs, "batch_size": batch_size}
    n, n_val, epochs, batch_size = (check_int(k, v) for k, v in budget.items())
    scales, cells = _check_grid(scales, seeds, cells)
    sets = {
        seed: (
            data.sign_recall(n, seq_len, seed=seed),
            data.sign_recall(n_val, seq_len, seed=seed + VALIDATION_SEED_SHIFT),
        )
        for seed in seeds
    }
    results = {}
    for cell in cells:
        model = build_model(cell, seq_len=seq_len, units=units, seed=seeds[0])
        training.compile_model(
            model, loss="binary_crossentropy", optimizer="adam", lr=lr, metrics=["accuracy"]
        )
        model.optimizer.build(model.trainable_variables)
        fresh = [v.numpy() for v in model.optimizer.variables]
        starts = {s: build_model(cell, seq_len=seq_len, units=units, seed=s) for s in seeds}
        for c in scales:
            runs = []
            for seed, ((x, y), (x_val, y_val)) in sets.items():
                _start(model, starts[seed].get_weights(), c)
                for variable, value in zip(model.optimizer.variables, fresh, strict=True):
                    variable.assign(value)
                runs.append(_fit(model, x, y, x_val, y_val, epochs, batch_size))
            results[(cell, c)] = np.asarray(runs)
    return results


def _fit(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    epochs: int,
    batch_size: int,
) -> list[float]:
    """Train ``model`` in order, one batch per step; return the validation accuracy per epoch."""
    accuracy = []
    for _ in range(epochs):
        for start in range(0, len(x), batch_size):
            model.train_on_batch(x[start : start + batch_size], y[start : start + batch_size])
        scores = model.test_on_batch(x_val, y_val, return_dict=True)
        accuracy.append(float(scores["accuracy"]))
    return accuracy
