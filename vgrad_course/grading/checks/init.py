"""Checks for the exercise set "Weight initialisation"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import band_case
from vgrad_course.grading.checks._helpers import as_array, as_float, as_positive, near, once
from vgrad_course.grading.labs import mlp_probe
from vgrad_course.grading.registry import Fail, question


@question("init.he_std", answer="he_std", kind="function")
def _he(f: object) -> object:
    for fan_in in (16, 128, 1000):
        yield (
            f"keeps the ReLU second moment: fan_in * std^2 / 2 = 1 (fan_in={fan_in})",
            1,
            (
                lambda fan_in=fan_in: near(
                    fan_in * as_float(f(fan_in), what="he_std") ** 2 / 2,
                    1.0,
                    what=f"fan_in * he_std({fan_in})^2 / 2",
                    rtol=1e-6,
                    of="1, the value that keeps the second moment",
                )
            ),
        )

    def deep() -> None:
        std = as_float(f(128), what="he_std(128)")
        s = mlp_probe(20, 128, activation="relu", weight_std=std, seed=1)["act_std"]
        if not 0.5 < s[-1] / s[0] < 2:
            raise Fail(f"in a 20-layer ReLU net the activation std changed {s[-1] / s[0]:.3g}x")

    yield "a 20-layer ReLU net keeps its activation scale (within 2x)", 1, deep


@question("init.glorot_std", answer="glorot_std", kind="function")
def _glorot(f: object) -> object:
    def harmonic() -> None:
        for fi, fo in [(100, 300), (64, 10), (7, 7)]:
            v = as_float(f(fi, fo), what=f"glorot_std({fi}, {fo})") ** 2
            near(
                1 / v,
                (fi + fo) / 2,
                what=f"1 / glorot_std({fi}, {fo})^2",
                rtol=1e-6,
                of="the value Glorot's compromise gives",
            )

    yield "variance = 2 / (fan_in + fan_out)", 2, harmonic

    def symmetric() -> None:
        a, b = as_float(f(30, 90), what="glorot_std"), as_float(f(90, 30), what="glorot_std")
        if not np.isclose(a, b):
            raise Fail("forward and backward passes should count equally: swap fan_in, fan_out")

    yield "symmetric in fan_in and fan_out", 1, symmetric


@question("init.gain", answer="gain")
def _gain(a: object) -> object:
    def ratio() -> float:
        std = as_positive(a, what="gain") / np.sqrt(128)
        s = mlp_probe(30, 128, activation="relu", weight_std=std, seed=0)["act_std"]
        return float(s[-1] / s[0])

    yield band_case(
        ratio,
        low=0.5,
        high=2.0,
        name="the last layer's activation std stays within [0.5, 2] x the first's",
        vanish="activations shrank to {factor:.3g}x of the first layer's: gain too small",
        explode="activations grew {factor:.3g}x over the first layer's: gain too large",
    )


def _gains(widths: list[int], stds: list[float]) -> tuple[float, float]:
    """Second-moment gains of a ReLU network, forward (fan-in) and backward (fan-out)."""
    forward = backward = 1.0
    for n_in, n_out, s in zip(widths[:-1], widths[1:], stds, strict=True):
        forward *= n_in * s**2 / 2
        backward *= n_out * s**2 / 2
    return forward, backward


@question("init.gains", answer="relu_gains", kind="function")
def _relu_gains(f: object) -> object:
    # Unequal widths: fan-in and fan-out differ in every layer, and n_L != n_0.
    widths, stds = [50, 200, 80, 120], [0.15, 0.08, 0.2]
    forward, backward = _gains(widths, stds)
    out = once(lambda: as_array(f(list(widths), list(stds)), shape=(2,), what="relu_gains"))
    yield (
        "the forward gain E[h_L^2] / E[h_0^2] of the signal",
        2,
        lambda: near(
            float(out()[0]),
            forward,
            what="the forward gain",
            rtol=1e-6,
            of="the value the variance rule gives",
        ),
    )
    yield (
        "the backward gain of the gradient's second moment, from h_L back to h_0",
        1,
        lambda: near(
            float(out()[1]),
            backward,
            what="the backward gain",
            rtol=1e-6,
            of="the value the variance rule gives",
        ),
    )

    def he_invariant() -> None:
        w = [30, 90, 10, 60]
        he = [np.sqrt(2 / n) for n in w[:-1]]
        got = as_array(f(list(w), he), shape=(2,), what="relu_gains")
        near(
            float(got[0]),
            1.0,
            what="the forward gain with He",
            rtol=1e-6,
            of="1, the aim of He's std",
        )
        near(
            float(got[1]),
            w[-1] / w[0],
            what="the backward gain with He",
            rtol=1e-6,
            of="the value the variance rule gives",
        )

    yield (
        "with He's std sqrt(2 / fan_in) in every layer: forward gain 1, and the backward gain",
        1,
        he_invariant,
    )


def _naive_log_ratio() -> float:
    """Mean over 5 seeds of log10(act_std[-1] / act_std[0]): 20 ReLU layers, width 200."""
    logs = []
    for seed in range(5):
        std = mlp_probe(20, 200, activation="relu", weight_std=0.02, seed=seed)["act_std"]
        logs.append(np.log10(std[-1] / std[0]))
    return float(np.mean(logs))


@question("init.naive", answer="naive")
def _naive(a: object) -> object:
    pair = once(lambda: as_array(a, shape=(2,), what="naive (two numbers)"))
    measured = once(_naive_log_ratio)
    yield (
        "the per-layer factor of the activation std (3%)",
        1,
        lambda: near(
            float(pair()[0]),
            10 ** (measured() / 19),
            what="your per-layer factor",
            rtol=0.03,
        ),
    )
    yield (
        "log10 of the std ratio, layer 20 / layer 1 (2%)",
        2,
        lambda: near(float(pair()[1]), measured(), what="your log10 ratio", rtol=0.02),
    )


def _typical_ratio(gain: float, seeds: range) -> float:
    """Geometric mean over ``seeds`` of act_std[-1] / act_std[0]: 20 ReLU layers of width 16."""
    logs = []
    for seed in seeds:
        std = mlp_probe(20, 16, activation="relu", weight_std=gain / 4, seed=seed)["act_std"]
        logs.append(np.log(std[-1] / std[0]))
    return float(np.exp(np.mean(logs)))


def _typical_band(a: object, groups: tuple[range, ...]) -> None:
    gain = as_positive(a, what="typical_gain")
    for seeds in groups:
        ratio = _typical_ratio(gain, seeds)
        where = f"seeds {seeds.start}-{seeds.stop - 1}"
        if ratio < 0.5:
            raise Fail(
                f"{where}: the typical (geometric-mean) ratio is {ratio:.3g} < 0.5: the"
                " activations still shrink, the gain is too small"
            )
        if ratio > 2.0:
            raise Fail(
                f"{where}: the typical (geometric-mean) ratio is {ratio:.3g} > 2: the"
                " activations grow, the gain is too large"
            )


@question("init.typical_gain", answer="typical_gain")
def _typical(a: object) -> object:
    first, second = range(20), range(20, 40)
    yield (
        "the typical std ratio layer 20 / layer 1 over seeds 0-19 lies in [0.5, 2]",
        2,
        lambda: _typical_band(a, (first,)),
    )
    yield (
        "... and over 20 fresh seeds (20-39) too",
        1,
        lambda: _typical_band(a, (first, second)),
    )
