"""Check definitions of the graded exercises, one module per exercise set.

Each module registers its questions with :func:`vgrad_course.grading.registry.question`;
this package lists the sets and loads them, and never imports the checker (the checker
imports it). A check tests properties of the answer (finite differences, invariants, a
reference computed at check time), so no answer is stored here as a literal.

The shared assertions are in :mod:`~vgrad_course.grading.checks._helpers`; the small
experiments that students run and checks re-run are in :mod:`vgrad_course.grading.labs`.
"""

from __future__ import annotations

import importlib

from vgrad_course.grading.registry import REGISTRY

#: Exercise sets in course order: module name -> notebook stem in ``exercises/``.
SETS: dict[str, str] = {
    "gd": "01_gradient_descent",
    "backprop": "02_backprop",
    "vanishing": "03_vanishing",
    "exploding": "04_exploding",
    "bptt": "05_rnn_bptt",
    "diagnosing": "06_diagnosing",
    "clipping": "07_clipping",
    "init": "08_initialisation",
    "activations": "09_activations",
    "batch_norm": "10_batch_norm",
    "residual": "11_residual",
    "gated": "12_lstm_gru_irnn",
    "part_iv": "13_part_iv",
    "lab_bptt": "lab1_bptt_by_hand",
    "lab_lstm": "lab2_lstm_by_hand",
    "lab_doctor": "lab3_doctor_sick_network",
    "lab_clip": "lab4_clip_it_yourself",
    "lab_assign": "lab5_assignment_done_right",
}


def load_all() -> None:
    """Import every set module so that all questions are registered.

    Used in: "Graded exercises".
    """
    for name in SETS:
        importlib.import_module(f"vgrad_course.grading.checks.{name}")


def questions_of(set_name: str) -> list[str]:
    """Return the question ids of one set, in the order they were registered.

    Args:
        set_name: A key of :data:`SETS`.

    Returns:
        The question ids, e.g. ``["clipping.clip_global", ...]``.

    Used in: "Graded exercises".
    """
    if set_name not in SETS:
        raise ValueError(f"unknown exercise set {set_name!r}; known: {', '.join(SETS)}")
    load_all()
    return [q for q in REGISTRY if q.split(".")[0] == set_name]
