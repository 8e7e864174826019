"""Lab 5, "The assignment, done right": the gradient that reaches each time step.

The assignment's models (a ``SimpleRNN``, an ``LSTM`` or a ``GRU`` of a few units, read by a
sigmoid unit, binary cross-entropy) rebuilt from their weights, and the per-step measurement
the assignment lacks: the batch mean of ``||dL/dx_t||`` for every step ``t``
(:func:`vgrad_course.probes.input_grad_norms`). The lab's students write that measurement
themselves; the reference worker computes it here, on hidden sequences, for the checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np

from vgrad_course import models, probes
from vgrad_course.reference import InvalidInput

#: The assignment's cells, in its order.
CELLS: tuple[str, ...] = ("simple", "lstm", "gru")
#: Units of the assignment's recurrent layer.
UNITS = 10
#: The assignment's loss (a sigmoid output, labels 0 and 1).
LOSS = "binary_crossentropy"


def model_from_weights(cell: str, weights: Sequence[np.ndarray]) -> keras.Model:
    """Rebuild an assignment model (``models.build_rnn``, sigmoid head) holding ``weights``.

    Args:
        cell: ``"simple"``, ``"lstm"`` or ``"gru"``.
        weights: ``model.get_weights()`` of such a model: the cell's kernel, recurrent kernel
            and bias, then the head's kernel and bias.

    Returns:
        The model; it reads ``(batch, steps, features)`` for any number of steps.

    Raises:
        InvalidInput: If the cell is unknown or the weights do not fit it.

    Used in: "Graded exercises" (lab 5).
    """
    if cell not in CELLS:
        raise InvalidInput(f"cell must be one of {CELLS}, got {cell!r}")
    w = [np.asarray(a, dtype=np.float32) for a in weights]
    if len(w) != 5 or w[0].ndim != 2 or w[1].ndim != 2:
        raise InvalidInput(f"expected 5 weight arrays of a {cell} model, got {len(w)}")
    features, units = w[0].shape[0], w[1].shape[0]
    model = models.build_rnn(
        cell, units, input_dim=features, output_dim=w[3].shape[-1], output_activation="sigmoid"
    )
    expected = [tuple(v.shape) for v in model.get_weights()]
    if [a.shape for a in w] != expected:
        raise InvalidInput(f"weights of shapes {[a.shape for a in w]}; a {cell} needs {expected}")
    model.set_weights(w)
    return model


def step_norms(
    cell: str, weights: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """The batch mean of ``||dL/dx_t||`` for every step, ``L`` the batch-mean cross-entropy.

    Args:
        cell: The model's cell (see :func:`model_from_weights`).
        weights: Its weights.
        x: Sequences ``(batch, steps, features)``.
        y: Labels ``(batch, 1)`` in {0, 1}.

    Returns:
        float64 array ``(steps,)``, step 1 first.

    Used in: the reference worker, for the checks of lab 5 (graded exercises).
    """
    model = model_from_weights(cell, weights)
    return probes.input_grad_norms(model, x, y, loss=LOSS)


def initial_profiles(seed: int, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`step_norms` of each cell's assignment model at initialisation.

    Args:
        seed: The seed of ``models.build_rnn`` (shifted by ``VGRAD_SEED_OFFSET``).
        x: Probe sequences ``(batch, steps, 1)``.
        y: Their labels.

    Returns:
        ``{cell: per-step norms}``.

    Used in: the reference worker, for the checks of lab 5 (graded exercises).
    """
    out = {}
    for cell in CELLS:
        model = models.build_rnn(cell, UNITS, output_activation="sigmoid", seed=seed)
        out[cell] = step_norms(cell, model.get_weights(), x, y)
    return out


def measure_trained(
    weights: Mapping[str, Sequence[np.ndarray]],
    probe: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
) -> dict[str, np.ndarray]:
    """Per-step norms on probe sequences and accuracy on validation ones, for trained models.

    Args:
        weights: ``{cell: weights}``.
        probe: ``(x, y)``: the sequences of the per-step measurement.
        validation: ``(x, y)``: the sequences of the accuracy.

    Returns:
        ``{"<cell>_norms": per-step norms, "<cell>_accuracy": ...}`` for every cell given.

    Used in: the reference worker, for the checks of lab 5 (graded exercises).
    """
    out = {}
    for cell, w in weights.items():
        model = model_from_weights(cell, w)
        out[f"{cell}_norms"] = probes.input_grad_norms(model, *probe, loss=LOSS)
        x_val, y_val = (np.asarray(a, np.float32) for a in validation)
        predicted = np.asarray(model(x_val, training=False)) > 0.5
        out[f"{cell}_accuracy"] = np.array(np.mean(predicted == (y_val > 0.5)))
    return out
