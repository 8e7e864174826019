"""Checks for the lab "The assignment, done right" (``solutions/lab5_assignment_done_right.ipynb``).

The per-step measurement runs in the student's kernel on hidden models and sequences
(:mod:`~vgrad_course.grading.checks._lab_assign_reference`) and is compared with the reference
worker's (:mod:`vgrad_course.grading.reference_worker`). The numbers the student reads off it
are compared with the worker's measurement on the same probe sequences
(:func:`vgrad_course.grading.labs_assignment.probe_sequences`): at initialisation on the models
the notebook builds, after training on the weights the student hands in, whose accuracy the
worker measures on hidden sequences.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgrad_course.grading.checks._helpers import as_array, as_float, as_parts, close, once
from vgrad_course.grading.checks._lab_assign_reference import (
    GATES,
    cell_weights,
    early_over_late,
    sequences,
)
from vgrad_course.grading.labs_assignment import mean_sign_sequences, probe_sequences
from vgrad_course.grading.reference_worker import ask
from vgrad_course.grading.registry import Fail, question

#: The cells, in the assignment's order, and the seed of the notebook's untrained models.
CELLS, SEED = ("simple", "lstm", "gru"), 0
#: The assignment's model: units, and the accuracy a trained LSTM must reach on hidden data.
UNITS, LEARNED = 10, 0.8
#: A cell "keeps" its early steps when they receive this share of the last steps' gradient.
KEEPS = 0.1
#: The hidden validation sequences of the trained models.
HIDDEN_SEED = 90417


def _weights(prefix: str, weights: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}{i}": np.asarray(w) for i, w in enumerate(weights)}


# --- Part 1: the per-step measurement -----------------------------------------------------------

STEP_CASES = {
    cell: (
        cell_weights(cell, 530 + i, units=7, features=2),
        *sequences(540 + i, batch=5, steps=23, features=2),
    )
    for i, cell in enumerate(CELLS)
}
STEP_HINT = (
    " For each step t, the norm of dL/dx_t over the features, averaged over the batch; L is"
    " the batch mean of the binary cross-entropy; step 1 first."
)


def _student_norms(f: Callable, cell: str) -> np.ndarray:
    weights, x, y = STEP_CASES[cell]
    given = (cell, [w.copy() for w in weights], x.copy(), y.copy())
    out = as_array(f(*given), what="step_norms")
    if not all(np.array_equal(a, b) for a, b in zip(given[1], weights, strict=True)):
        raise Fail("step_norms changed the weights in place: leave its arguments unchanged")
    if out.shape != (x.shape[1],):
        raise Fail(
            f"step_norms returned shape {out.shape} for sequences of {x.shape[1]} steps:"
            " one norm per time step"
        )
    return out


def _worker_norms(cell: str) -> np.ndarray:
    weights, x, y = STEP_CASES[cell]
    return ask("steps.norms", {"cell": cell}, {**_weights("w", weights), "x": x, "y": y})[1][
        "norms"
    ]


@question("lab_assign.step_norms", answer="step_norms", kind="function")
def _step_norms(f: object) -> object:
    outs = {c: once(lambda c=c: _student_norms(f, c)) for c in CELLS}
    yield "one norm per time step, arguments unchanged", 1, outs["simple"]
    for cell, name, points in (("simple", "SimpleRNN", 2), ("lstm", "LSTM", 1), ("gru", "GRU", 1)):

        def agree(cell: str = cell) -> None:
            got, ref = outs[cell](), _worker_norms(cell)
            if np.allclose(got, ref[::-1], rtol=1e-3) and not np.allclose(got, ref, rtol=1e-3):
                raise Fail("the norms are in reverse order: step 1 (the oldest input) first")
            try:
                close(got, ref, what="the per-step norms", rtol=1e-3, atol=1e-9)
            except Fail as exc:
                raise Fail(str(exc) + STEP_HINT) from None

        yield f"matches the measurement on a hidden {name} (7 units, 23 steps)", points, agree


# --- Part 2: at initialisation ------------------------------------------------------------------


def _share_of_last(norms: np.ndarray, k: int = 10) -> float:
    return float(np.sum(norms[-k:]) / np.sum(norms))


@question("lab_assign.init_share", answer="init_share")
def _init_share(a: object) -> object:
    values = once(lambda: as_array(a, shape=(3,), what="init_share (one share per cell)"))
    profiles = once(
        lambda: ask(
            "steps.initial", {"seed": SEED}, dict(zip("xy", probe_sequences(), strict=True))
        )[1]
    )
    for i, (cell, name) in enumerate(zip(CELLS, ("SimpleRNN", "LSTM", "GRU"), strict=True)):

        def agree(i: int = i, cell: str = cell) -> None:
            value, measured = float(values()[i]), _share_of_last(profiles()[cell])
            if abs(value - measured) > 0.01:
                side = "too large" if value > measured else "too small"
                raise Fail(f"the {cell} share is {side}: more than 0.01 from the measured share")

        yield f"{name}: the last 10 steps' share of the per-step norms, at init", 1, agree


# --- Part 3: after training ---------------------------------------------------------------------


def _trained(a: object) -> tuple[list, np.ndarray, object]:
    trained, reach, keeps = as_parts(a, 3, what="after = (trained, reach, keeps)")
    if not isinstance(trained, list | tuple) or len(trained) != 3:
        raise Fail("trained should hold the weights of the three models: simple, lstm, gru")
    weights = []
    for cell, w in zip(CELLS, trained, strict=True):
        if not isinstance(w, list | tuple) or len(w) != 5:
            raise Fail(f"the {cell} model's weights should be model.get_weights(): 5 arrays")
        arrays = [as_array(v, what=f"a {cell} weight") for v in w]
        width = GATES[cell] * UNITS
        shapes = [(1, width), (UNITS, width), (2, width) if cell == "gru" else (width,)]
        shapes += [(UNITS, 1), (1,)]
        if [v.shape for v in arrays] != shapes:
            raise Fail(f"the {cell} weights do not have the assignment's shapes {shapes}")
        weights.append(arrays)
    return weights, as_array(reach, shape=(3,), what="reach (one ratio per cell)"), keeps


def _measure(weights: list[list[np.ndarray]]) -> dict[str, np.ndarray]:
    arrays = {}
    for cell, w in zip(CELLS, weights, strict=True):
        arrays.update(_weights(f"{cell}_", w))
    x, y = probe_sequences()
    x_val, y_val = mean_sign_sequences(500, 50, seed=HIDDEN_SEED)
    arrays.update({"x": x, "y": y, "x_val": x_val, "y_val": y_val})
    return ask("steps.trained", {"cells": list(CELLS)}, arrays)[1]


@question("lab_assign.after", answer="after")
def _after(a: object) -> object:
    parts = once(lambda: _trained(a))
    measured = once(lambda: _measure(parts()[0]))
    yield "the weights of the assignment's three models", 1, parts

    def learned() -> None:
        accuracy = float(measured()["lstm_accuracy"])
        if accuracy < LEARNED:
            raise Fail(
                f"your trained LSTM classifies {accuracy:.0%} of hidden sequences right (needs"
                f" {LEARNED:.0%}): train it as the assignment does before measuring"
            )

    yield f"the trained LSTM learned the task (>= {LEARNED:.0%} on hidden sequences)", 2, learned
    for i, cell in enumerate(CELLS):

        def agree(i: int = i, cell: str = cell) -> None:
            value = as_float(parts()[1][i], what=f"reach[{i}]")
            ratio = early_over_late(measured()[f"{cell}_norms"])
            if not value > 0 or abs(np.log10(value / ratio)) > 0.05:
                raise Fail(
                    f"the {cell} ratio disagrees with the measurement on your weights: the mean"
                    " norm of steps 1-10 over that of steps 41-50, on the probe sequences"
                )

        yield f"{cell}: first 10 steps / last 10 steps, measured on your weights", 1, agree

    def keeps() -> None:
        given = parts()[2]
        if isinstance(given, str) or not isinstance(given, list | tuple):
            raise Fail("keeps should be a list of cell names, e.g. ['lstm']")
        names = {str(g).strip().lower() for g in given}
        for cell in CELLS:
            ratio = early_over_late(measured()[f"{cell}_norms"])
            if abs(np.log10(ratio / KEEPS)) < np.log10(1.25):
                continue  # too close to the line to call: either answer counts
            if (cell in names) != (ratio >= KEEPS):
                raise Fail(
                    "keeps disagrees with the ratios measured on your weights: a cell keeps its"
                    f" early steps when they receive >= {KEEPS:.0%} of the last steps' gradient"
                    " (names: 'simple', 'lstm', 'gru')"
                )

    yield f"keeps: the cells whose first 10 steps receive >= {KEEPS:.0%} of the last 10's", 1, keeps
