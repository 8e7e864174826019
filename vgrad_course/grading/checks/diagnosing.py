"""Checks for the exercise set "Diagnosing gradient problems"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import picks, shape_then_values
from vgrad_course.grading.checks._helpers import as_array, as_float, close
from vgrad_course.grading.labs import mlp_probe
from vgrad_course.grading.registry import question


@question("diagnosing.update_ratio", answer="update_to_data_ratio", kind="function")
def _update_ratio(f: object) -> object:
    rng = np.random.default_rng(9)
    weights = [rng.normal(size=(5, 4)) * s for s in (0.1, 1.0, 3.0)]
    updates = [rng.normal(size=(5, 4)) * s for s in (1e-3, 1e-2, 1e-4)]
    ref = np.array([np.log10(u.std() / w.std()) for w, u in zip(weights, updates, strict=True)])
    yield from shape_then_values(
        lambda: as_array(f(weights, updates), what="update_to_data_ratio"),
        ref,
        names=("one number per layer", "log10(std(update) / std(weights)) per layer"),
        expected="one number per layer",
        what="the log10 ratios",
        rtol=1e-6,
    )

    def tenfold() -> None:
        big = as_array(f(weights, [10 * u for u in updates]), shape=(3,), what="the ratios")
        close(
            big - as_array(f(weights, updates), shape=(3,), what="the ratios"),
            np.ones(3),
            what="the change when updates are 10x larger (should be +1 per layer, log10)",
        )

    yield "10x larger updates add exactly 1 (log10 scale)", 1, tenfold


@question("diagnosing.saturated_fraction", answer="saturated_fraction", kind="function")
def _saturated(f: object) -> object:
    a = np.tanh(np.random.default_rng(4).normal(scale=2.0, size=(64, 16)))
    ref = float(np.mean(np.abs(a) > 0.97))
    yield (
        "fraction of |a| > 0.97 on tanh activations",
        2,
        lambda: close(
            np.asarray(as_float(f(a.copy()), what="saturated_fraction")),
            np.asarray(ref),
            what="saturated_fraction",
            rtol=1e-9,
        ),
    )
    yield (
        "0 for all-zero activations",
        1,
        lambda: close(
            np.asarray(as_float(f(np.zeros((3, 3))), what="saturated_fraction")),
            np.asarray(0.0),
            what="saturated_fraction(zeros)",
        ),
    )
    yield (
        "counts negative saturation too (|a|)",
        1,
        lambda: close(
            np.asarray(as_float(f(-np.ones((2, 5)) * 0.99), what="saturated_fraction")),
            np.asarray(1.0),
            what="saturated_fraction(-0.99 everywhere)",
        ),
    )


@question("diagnosing.diagnosis", answer="diagnosis")
def _diagnosis(a: object) -> object:
    def measured() -> str:
        probe = mlp_probe(20, 32, activation="relu", weight_std=2.0 / np.sqrt(32), seed=0)
        ratio = probe["input_grad_norm"][0] / probe["input_grad_norm"][-1]
        return "a" if ratio < 0.1 else ("b" if ratio > 10 else "c")

    hint = "measure the ratio of the input-gradient norms, first layer / last layer"
    yield "diagnoses the 20-layer ReLU net correctly", 2, picks(a, measured, hint=hint)
