"""Checks for the exercise set "Diagnosing gradient problems"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import picks, shape_then_values
from vgrad_course.grading.checks._helpers import as_array, as_float, close, near, once
from vgrad_course.grading.labs import mlp_probe
from vgrad_course.grading.registry import Fail, question


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


def _panel(weights: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Mean, std and saturated fraction of every tanh layer's output (the reference)."""
    rows, h = [], x
    for w in weights:
        h = np.tanh(h @ w)
        rows.append([h.mean(), h.std(), np.mean(np.abs(h) > 0.97)])
    return np.array(rows)


@question("diagnosing.activation_panel", answer="activation_panel", kind="function")
def _activation_panel(f: object) -> object:
    # Widths 6 -> 8 -> 5 -> 7 -> 4 (a transpose fails), a batch of 40 (ddof shows) and a first
    # layer with large weights: its units saturate, the later ones much less.
    rng = np.random.default_rng(15)
    x = rng.normal(0.5, 1.0, size=(40, 6))
    weights = [
        rng.normal(0.0, s, size=shape)
        for s, shape in [(1.5, (6, 8)), (0.4, (8, 5)), (0.6, (5, 7)), (0.5, (7, 4))]
    ]
    ref = _panel(weights, x)
    out = once(lambda: as_array(f([w.copy() for w in weights], x.copy()), what="activation_panel"))

    def shape() -> None:
        if out().shape != ref.shape:
            raise Fail(
                f"activation_panel returned shape {out().shape}; expected {ref.shape}: one row"
                " per layer (not the input), columns mean, std, saturated fraction"
            )

    yield "one row per layer, columns (mean, std, saturated): shape (4, 3)", 1, shape

    def moments() -> None:
        shape()
        close(out()[:, 0], ref[:, 0], what="the mean of each layer", rtol=1e-6)
        std = out()[:, 1]
        if np.all(np.abs(std / ref[:, 1] - 1) < 0.01) and not np.allclose(std, ref[:, 1]):
            raise Fail(
                "the std of each layer is close but not equal: divide by the number of"
                " activations (np.std), not by one less"
            )
        close(std, ref[:, 1], what="the std of each layer", rtol=1e-6)

    yield "mean and std of each layer's activations", 1, moments

    def saturated() -> None:
        shape()
        close(out()[:, 2], ref[:, 2], what="the saturated fraction of each layer", rtol=1e-9)

    yield "fraction of saturated units (|a| > 0.97) in each layer", 2, saturated


def _tail(z_std: float) -> float:
    """P(|tanh z| > 0.97) for z ~ N(0, z_std^2), by quadrature of the density (the reference)."""
    edge = float(np.arctanh(0.97))
    z = np.linspace(edge, edge + 40.0 * z_std, 400_001)
    density = np.exp(-0.5 * (z / z_std) ** 2) / (z_std * np.sqrt(2 * np.pi))
    return float(2 * np.trapezoid(density, z))


def _layer(input_std: float, *, seed: int = 16) -> tuple[float, float]:
    """A tanh layer (fan-in 100, 100 units, weight std 0.1) on N(0, input_std^2) inputs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, input_std, size=(4000, 100))
    z = x @ rng.normal(0.0, 0.1, size=(100, 100))
    return float(z.std()), float(np.mean(np.abs(np.tanh(z)) > 0.97))


@question("diagnosing.saturation_forecast", answer="saturation_forecast", kind="function")
def _forecast(f: object) -> object:
    stds = (0.7, 2.0, 5.0)

    def tails() -> None:
        for s in stds:
            value = as_float(f(s), what=f"saturation_forecast({s})")
            near(
                value, _tail(s), what=f"saturation_forecast({s})", rtol=1e-4, of="the Gaussian tail"
            )

    yield "the Gaussian tail P(|tanh z| > 0.97) for z_std = 0.7, 2 and 5", 2, tails

    def layer() -> None:
        z_std, fraction = _layer(3.0)
        near(
            as_float(f(z_std), what="saturation_forecast"),
            fraction,
            what="the forecast for a tanh layer",
            rtol=0.05,
        )

    yield "forecasts the saturated fraction measured in a tanh layer (5%)", 1, layer


@question("diagnosing.standardise", answer="saturated_pair")
def _standardise(a: object) -> object:
    pair = once(lambda: as_array(a, shape=(2,), what="saturated_pair (two numbers)"))
    for i, (label, input_std, rtol, points) in enumerate(
        [("raw inputs (std 5)", 5.0, 0.03, 2), ("standardised inputs (std 1)", 1.0, 0.1, 1)]
    ):
        yield (
            f"the saturated fraction with {label} ({rtol:.0%})",
            points,
            lambda i=i, label=label, input_std=input_std, rtol=rtol: near(
                float(pair()[i]),
                _layer(input_std)[1],
                what=f"your fraction for {label}",
                rtol=rtol,
            ),
        )
