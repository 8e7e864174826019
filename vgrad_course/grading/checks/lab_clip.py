"""Checks for the lab "Clip it yourself" (``solutions/lab4_clip_it_yourself.ipynb``).

The student's clipping function and training loop run in their kernel on hidden cases (the
shapes, data, rates and thresholds of :mod:`~vgrad_course.grading.checks._lab_clip_reference`);
the reference worker (:mod:`vgrad_course.grading.reference_worker`) runs the same cases with
``tf.clip_by_global_norm``, and the two are compared step by step. The exploding RNN's numbers
are measured by the worker on the same network and data, with the student's threshold; a
run is chaotic, so the numbers of the last part are statistics over five seeds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgrad_course.grading.checks._helpers import as_array, as_float, as_parts, close, near, once
from vgrad_course.grading.checks._lab_clip_reference import (
    TrainCase,
    gradients,
    train_case,
)
from vgrad_course.grading.reference_worker import ask
from vgrad_course.grading.registry import Fail, question

#: The seed of the exploding RNN the notebook trains (the worker builds the same one).
SEED = 0
#: The loss the clipped run must end below.
TRAINED = 0.6
#: Steps per epoch of the exploding run (500 sequences, batches of 25).
PER_EPOCH = 20


def _arrays(prefix: str, items: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}{i}": a for i, a in enumerate(items)}


def _listed(out: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    return [out[f"{prefix}{i}"] for i in range(sum(k.startswith(prefix) for k in out))]


# --- Part 1: clipping by global norm ------------------------------------------------------------

GRADS = gradients(711, 0.9)  # global norm about 4
THRESHOLDS = {"above": 1.3, "below": 12.0}


def _clip(f: Callable, max_norm: float) -> tuple[list[np.ndarray], float]:
    given = [g.copy() for g in GRADS]
    clipped, norm = as_parts(f(given, max_norm), 2, what="clip_global")
    if not all(np.array_equal(a, b) for a, b in zip(given, GRADS, strict=True)):
        raise Fail("clip_global changed the gradients in place: return new arrays")
    if not isinstance(clipped, list | tuple) or len(clipped) != len(GRADS):
        raise Fail("clip_global should return (a list with one array per gradient, the norm)")
    arrays = [
        as_array(c, shape=g.shape, what=f"clipped[{i}]")
        for i, (c, g) in enumerate(zip(clipped, GRADS, strict=True))
    ]
    return arrays, as_float(norm, what="the returned norm")


def _tf_clip(max_norm: float) -> tuple[list[np.ndarray], float]:
    result, out = ask("clip.global", {"max_norm": max_norm}, _arrays("g", GRADS))
    return _listed(out, "c"), float(result["norm"])


@question("lab_clip.clip_global", answer="clip_global", kind="function")
def _clip_global(f: object) -> object:
    outs = {k: once(lambda t=t: _clip(f, t)) for k, t in THRESHOLDS.items()}
    yield "returns (clipped list, norm), shapes kept, gradients unchanged", 1, outs["above"]

    def norm() -> None:
        got = outs["above"]()[1]  # the student's code first: the worker only if it returns
        ref = _tf_clip(THRESHOLDS["above"])[1]
        if np.isclose(got, THRESHOLDS["above"], rtol=1e-6):
            raise Fail("the returned norm is the norm after clipping: return it from before")
        close(np.array(got), np.array(ref), what="the global norm", rtol=1e-6)

    yield "returns the global norm before clipping", 1, norm

    def above() -> None:
        got = outs["above"]()[0]
        ref = _tf_clip(THRESHOLDS["above"])[0]
        ratios = [np.linalg.norm(c) / np.linalg.norm(g) for c, g in zip(got, GRADS, strict=True)]
        if not np.allclose(ratios, ratios[0], rtol=1e-6):
            raise Fail(
                "the tensors were not all scaled by one common factor: clipping each tensor"
                " (or each entry) on its own changes the direction of the whole gradient"
            )
        for i, (c, r) in enumerate(zip(got, ref, strict=True)):
            close(c, r, what=f"clipped[{i}] above the threshold", rtol=1e-6)

    yield "above the threshold: equals tf.clip_by_global_norm", 2, above

    def below() -> None:
        got = outs["below"]()[0]
        ref = _tf_clip(THRESHOLDS["below"])[0]
        for i, (c, r) in enumerate(zip(got, ref, strict=True)):
            if not np.allclose(c, r, rtol=1e-9, atol=1e-12):
                raise Fail(
                    f"clipped[{i}] changed although the global norm is below the threshold:"
                    " clip only when the norm exceeds max_norm"
                )

    yield "below the threshold: the gradients come back unchanged", 1, below


# --- Part 2: the training loop ------------------------------------------------------------------

TRAIN = [
    train_case(
        721, features=3, units=5, outputs=2, steps=7, n=26, batch_size=4, lr=0.3, max_norm=2.35
    ),
    train_case(
        722, features=2, units=4, outputs=1, steps=9, n=15, batch_size=5, lr=0.8, max_norm=3.0
    ),
]
NAMES = ("losses", "norms", "clipped", "weights")


def _reference(case: TrainCase) -> dict[str, object]:
    weights, x, y, lr, max_norm, batch = case
    args = {"lr": lr, "max_norm": max_norm, "batch_size": batch}
    out = ask("clip.train", args, {**_arrays("w", weights), "x": x, "y": y})[1]
    return {**out, "weights": _listed(out, "w")}


def _student(f: Callable, case: TrainCase) -> dict[str, object]:
    weights, x, y, lr, max_norm, batch = case
    given = ([w.copy() for w in weights], x.copy(), y.copy(), lr, max_norm, batch)
    parts = as_parts(f(*given), 4, what="train_clipped")
    if not all(np.array_equal(a, b) for a, b in zip(given[0], weights, strict=True)):
        raise Fail("train_clipped changed the initial weights in place: work on a copy")
    steps = len(x) // batch
    out: dict[str, object] = {}
    for name, value in zip(NAMES[:3], parts[:3], strict=True):
        out[name] = as_array(value, shape=(steps,), what=f"train_clipped's {name}")
    if not isinstance(parts[3], list | tuple) or len(parts[3]) != 5:
        raise Fail("the last item must be the list of the 5 final weight arrays")
    out["weights"] = [
        as_array(w, shape=r.shape, what=f"final weights[{i}]")
        for i, (w, r) in enumerate(zip(parts[3], weights, strict=True))
    ]
    return out


def _first_difference(got: np.ndarray, ref: np.ndarray, what: str, hint: str) -> None:
    """Fail at the first step where two per-step records differ."""
    same = np.isclose(got, ref, rtol=1e-4, atol=1e-6)
    if not same.all():
        k = int(np.argmin(same)) + 1
        raise Fail(f"{what} differs from the first time at step {k}. {hint}")


@question("lab_clip.train_clipped", answer="train_clipped", kind="function")
def _train_clipped(f: object) -> object:
    mine = [once(lambda c=c: _student(f, c)) for c in TRAIN]
    refs = [once(lambda c=c: _reference(c)) for c in TRAIN]
    yield "returns (losses, norms, clipped, final weights), arguments unchanged", 1, mine[0]

    def norms() -> None:
        got, ref = mine[0]()["norms"], refs[0]()["norm"]
        clipped_norms = np.minimum(ref, TRAIN[0][4])
        if np.allclose(got, clipped_norms, rtol=1e-4) and not np.allclose(got, ref, rtol=1e-4):
            raise Fail("you recorded the norm after clipping: record the raw gradient's norm")
        _first_difference(
            got,
            ref,
            "the raw global norm",
            "Batches in order (k * batch_size ...), the mean squared error, SGD steps"
            " w -= lr * clipped gradient; the norm is taken before clipping.",
        )

    yield "the raw global norm of every step", 2, norms

    def flags() -> None:
        got = np.asarray(mine[0]()["clipped"]).astype(bool)
        _first_difference(
            got, refs[0]()["clipped"], "whether the step was clipped", "Clipped: norm > max_norm."
        )

    yield "the clipped flag of every step", 1, flags

    def losses() -> None:
        _first_difference(
            mine[0]()["losses"],
            refs[0]()["loss"],
            "the loss",
            "Record each batch's mean squared error before its step.",
        )

    yield "the loss of every batch, before its step", 1, losses

    def weights() -> None:
        for i, (w, r) in enumerate(zip(mine[0]()["weights"], refs[0]()["weights"], strict=True)):
            close(w, r, what=f"final weights[{i}]", rtol=1e-3, atol=1e-5)

    yield "the final weights", 2, weights

    def other() -> None:
        got, ref = mine[1](), refs[1]()
        _first_difference(got["norms"], ref["norm"], "the raw global norm", "")
        _first_difference(np.asarray(got["clipped"]).astype(bool), ref["clipped"], "a flag", "")
        for w, r in zip(got["weights"], ref["weights"], strict=True):
            close(w, r, what="a final weight", rtol=1e-3, atol=1e-5)

    yield "a second hidden case (other shapes, rate, threshold)", 1, other


# --- Parts 3 and 4: the exploding RNN -----------------------------------------------------------

#: The seeds of the exploding RNN's runs (the notebook's), and runs per seed: the run itself
#: and runs from initial weights perturbed at rounding level (one part in a million).
SEEDS, REPLICAS = (0, 1, 2, 3, 4), 2
#: How far a reported fraction of clipped steps may lie from the measured one.
FRACTION_TOL = 0.07


def _runs(max_norm: float) -> dict[str, np.ndarray]:
    """The worker's runs of the exploding RNN, shape ``(runs, steps)`` per record.

    A run is chaotic: two correct loops that round a sum differently part ways after a few
    clipped steps, and then clip at different steps. So the numbers of the last part are
    statistics over the five seeds, measured on every seed's run and its perturbed replica.
    """
    args = {"max_norm": max_norm, "seeds": list(SEEDS), "replicas": REPLICAS}
    out = ask("clip.exploding", args)[1]
    return {k: v.reshape(-1, v.shape[-1]) for k, v in out.items()}


@question("lab_clip.first_step", answer="first_step")
def _first_step(a: object) -> object:
    values = once(lambda: as_array(a, shape=(2,), what="first_step = (norm, share)"))
    squares = once(lambda: ask("clip.first", {"seed": SEED})[1]["squares"])

    def norm() -> None:
        measured = float(np.sqrt(np.sum(squares())))
        if np.isclose(values()[0], 1.0, rtol=1e-6):
            raise Fail("that is a clipped norm: report the raw gradient's global norm")
        near(float(values()[0]), measured, what="the norm", rtol=1e-3)

    yield "the raw global norm of the first step's gradient", 2, norm

    def share() -> None:
        measured = float(squares()[1] / np.sum(squares()))
        near(float(values()[1]), measured, what="the recurrent kernel's share", rtol=1e-3)

    yield "the recurrent kernel's share of its square", 2, share


@question("lab_clip.clip_run", answer="clip_run")
def _clip_run(a: object) -> object:
    parts = once(lambda: as_parts(a, 2, what="clip_run = (max_norm, fraction)"))

    def run() -> dict[str, np.ndarray]:
        max_norm = as_float(parts()[0], what="max_norm")
        if not 0 < max_norm < 1e6:
            raise Fail("max_norm should be a positive threshold below 1e6")
        return _runs(max_norm)

    measured = once(run)

    def last_losses() -> np.ndarray:
        loss = measured()["loss"]
        last = loss[:, -PER_EPOCH:].mean(axis=1)
        return np.where(np.isfinite(loss).all(axis=1), last, np.inf)

    def finite() -> None:
        if np.mean(np.isfinite(last_losses())) <= 0.5:
            raise Fail("with your max_norm the loss still overflows: the threshold is too large")

    yield "with your max_norm the loss stays finite", 1, finite

    def trains() -> None:
        last = float(np.median(last_losses()))
        if not last < TRAINED:
            raise Fail(
                f"with your max_norm the last epoch's mean loss is {last:.3g} (median over the"
                f" seeds; needs < {TRAINED}): a threshold far above the typical norm lets the"
                " explosions through, one far below makes every step too short to learn"
            )

    yield f"it trains: the last epoch's mean loss below {TRAINED} (median over seeds)", 2, trains

    def fraction() -> None:
        value = as_float(parts()[1], what="fraction")
        share = float(measured()["clipped"].mean())
        if abs(value - share) > FRACTION_TOL:
            side = "too large" if value > share else "too small"
            raise Fail(
                f"the fraction is {side}: more than {FRACTION_TOL:g} from the measured share of"
                " clipped steps (raw norm above max_norm) over the five seeds' runs"
            )

    yield "the fraction of clipped steps over the five seeds", 2, fraction
