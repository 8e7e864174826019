"""Checks for the exercise set "Weight initialisation"."""

from __future__ import annotations

import numpy as np

from vgrad_course.grading.checks._cases import band_case
from vgrad_course.grading.checks._helpers import as_float, as_positive, near
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
