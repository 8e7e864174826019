"""Checks for the lab "Doctor a sick network" (``solutions/lab3_doctor_sick_network.ipynb``).

Part 1 (a gradient probe written with ``tf.GradientTape``) is graded on hidden MLPs against an
independent NumPy backward pass. Parts 2 and 3 (the diagnosis) are graded against what the
reference worker (:mod:`vgrad_course.grading.reference_worker`) measures on the sick network.
Part 4 (the fix) is graded by properties of the student's own model, which crosses as its JSON
config: the worker rebuilds it in safe mode and trains it under the fixed budget from hidden
seeds. Nothing is compared with a stored answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgrad_course.grading.checks._helpers import as_array, as_float, as_parts, close, once
from vgrad_course.grading.checks._lab_doctor_reference import OPTIMIZERS, mlp_problem, rms_reference
from vgrad_course.grading.protocol import Unsupported
from vgrad_course.grading.reference_worker import ask
from vgrad_course.grading.registry import Fail, question

#: The seed of the sick network the notebook diagnoses (the worker builds the same one).
SEED = 0
#: The hidden seeds a fix is trained from, and how it must do under the budget.
HIDDEN_SEEDS, ACCURACY, WINS = (9203, 4177, 6311), 0.25, 2
#: First over last weight matrix's gradient RMS at initialisation: the healthy band.
BAND = (1 / 30, 30.0)
#: The depth of the sick network, which a fix must keep (weight matrices before the output).
DEPTH = 8


# --- Part 1: the gradient probe -----------------------------------------------------------------

PROBES = [
    mlp_problem(511, (40, 13, 9, 6, 10), "sigmoid", batch=7, scale=0.4),
    mlp_problem(512, (40, 11, 8, 10), "relu", batch=5, scale=1.2),
    mlp_problem(513, (40, 9, 12, 10), "tanh", batch=6, scale=0.9),
]
PROBE_HINT = (
    " L is the batch mean of the cross-entropy of the logits (the last layer has no"
    " activation); the RMS is sqrt(mean(g ** 2)) of each kernel's gradient, input side first."
)


def _rms(f: Callable, case: tuple) -> np.ndarray:
    weights, activation, x, y = case
    given = ([w.copy() for w in weights], activation, x.copy(), y.copy())
    out = as_array(f(*given), what="kernel_rms")
    if not all(np.array_equal(a, b) for a, b in zip(given[0], weights, strict=True)):
        raise Fail("kernel_rms changed the weights in place: leave its arguments unchanged")
    return out


@question("lab_doctor.kernel_rms", answer="kernel_rms", kind="function")
def _kernel_rms(f: object) -> object:
    outs = [once(lambda c=c: _rms(f, c)) for c in PROBES]
    refs = [rms_reference(*c) for c in PROBES]

    def shape() -> None:
        if outs[0]().shape != refs[0].shape:
            raise Fail(
                f"kernel_rms returned shape {outs[0]().shape} for a network of"
                f" {len(refs[0])} weight matrices: one RMS per kernel (biases left out)"
            )

    yield "one RMS per weight matrix, arguments unchanged", 1, shape
    names = ("a sigmoid network (4 kernels)", "a ReLU network", "a tanh network")
    for i, name in enumerate(names):

        def agree(i: int = i) -> None:
            out = as_array(outs[i](), shape=refs[i].shape, what="kernel_rms")
            try:
                close(out, refs[i], what="the RMS per kernel", rtol=2e-3, atol=0.0)
            except Fail as exc:
                raise Fail(str(exc) + PROBE_HINT) from None

        yield f"matches a backward pass on {name} (hidden shapes)", 2 if i == 0 else 1, agree

    def vanishing() -> None:
        out = as_array(outs[0](), shape=refs[0].shape, what="kernel_rms")
        if not np.argmin(out) == np.argmin(refs[0]) == 0:
            raise Fail("on the hidden sigmoid network the first kernel's RMS must be smallest")

    yield "finds the vanishing layer of the sigmoid network", 1, vanishing


# --- Parts 2 and 3: the diagnosis ---------------------------------------------------------------


def _sick() -> dict[str, np.ndarray]:
    return ask("doctor.sick", {"seed": SEED})[1]


def _within(value: float, target: float, tol: float, what: str) -> None:
    """Fail unless ``value`` is within ``tol`` (orders of magnitude) of the measured ``target``."""
    if abs(value - target) > tol:
        side = "too large" if value > target else "too small"
        raise Fail(f"{what} is {side}: more than {tol:g} away from the measured value")


@question("lab_doctor.gradients", answer="gradients")
def _gradients(a: object) -> object:
    parts = once(lambda: as_parts(a, 2, what="gradients = (weakest, log_ratio)"))

    def weakest() -> None:
        layer = as_float(parts()[0], what="weakest")
        measured = int(np.argmin(_sick()["rms"][:-1])) + 1
        if layer != measured:
            raise Fail(
                "that is not the hidden layer whose kernel gradient has the smallest RMS at"
                " initialisation (count hidden_1, hidden_2, ... from the input side)"
            )

    yield "the hidden layer with the smallest gradient RMS", 1, weakest

    def log_ratio() -> None:
        rms = _sick()["rms"]
        value = as_float(parts()[1], what="log_ratio")
        _within(value, float(np.log10(rms[0] / rms[-1])), 0.5, "log_ratio")

    yield "log10(RMS first kernel / RMS output kernel), within 0.5", 2, log_ratio


@question("lab_doctor.updates", answer="updates")
def _updates(a: object) -> object:
    values = once(lambda: as_array(a, shape=(2,), what="updates = (first, last)"))
    for i, name, layer in ((0, "first", "hidden_1"), (-1, "last", f"hidden_{DEPTH}")):

        def agree(i: int = i, name: str = name) -> None:
            measured = float(_sick()["updates"][i])
            _within(float(values()[i]), measured, 0.3, f"the {name} layer's log10 ratio")

        yield f"mean log10 update:data ratio of {layer} over the first epoch", 2, agree


# --- Part 4: the fix ----------------------------------------------------------------------------


def _fix_request(a: object) -> dict:
    """Validate ``fix = (model_json, optimizer, lr)`` before anything is trained."""
    if isinstance(a, Unsupported):
        raise Fail(f"the grader could not read fix ({a.kind}): send (model.to_json(), name, lr)")
    model, optimizer, lr = as_parts(a, 3, what="fix = (model.to_json(), optimizer, lr)")
    if not isinstance(model, str) or not model.lstrip().startswith("{"):
        raise Fail("the first item must be your model's JSON: model.to_json()")
    if optimizer not in OPTIMIZERS:
        raise Fail(f"the optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}")
    rate = as_float(lr, what="the learning rate")
    if not 0 < rate <= 10:
        raise Fail("the learning rate must be in (0, 10]")
    return {"model": model, "optimizer": optimizer, "lr": rate, "seeds": list(HIDDEN_SEEDS)}


def _trained(a: object) -> dict[str, np.ndarray]:
    """Train the fix from the hidden seeds (in the worker); refuse a shallower network."""
    runs = ask("doctor.fix", _fix_request(a))[1]
    hidden = int(runs["hidden"][0])
    if hidden < DEPTH:
        raise Fail(
            f"your model has {hidden} weight matrices before the output layer: keep the"
            f" patient's depth ({DEPTH}) and make it train"
        )
    return runs


@question("lab_doctor.fix", answer="fix")
def _fix(a: object) -> object:
    runs = once(lambda: _trained(a))
    yield "rebuilt by the grader: allowed layers, 40 inputs, 10 logits, depth kept", 1, runs

    def in_band() -> None:
        ratio = runs()["ratio"]
        if ratio.min() < BAND[0]:
            raise Fail(
                f"the first kernel's gradient is {ratio.min():.2g} times the output kernel's"
                " in a hidden seed: it still vanishes on its way to the input"
            )
        if ratio.max() > BAND[1]:
            raise Fail(
                f"the first kernel's gradient is {ratio.max():.3g} times the output kernel's"
                " in a hidden seed: it grows on its way to the input"
            )

    yield (
        "at initialisation, the first kernel's gradient RMS within 1.5 orders of magnitude"
        " of the output kernel's (every hidden seed)",
        2,
        in_band,
    )

    def finite() -> None:
        bad = [i + 1 for i, ok in enumerate(runs()["finite"]) if not ok]
        if bad:
            raise Fail(
                f"training produced a non-finite loss or weights in hidden seed(s) {bad}: the"
                " steps are too large for your network"
            )

    yield "every training step finite (every hidden seed)", 1, finite

    def accurate() -> None:
        acc = runs()["accuracy"]
        if np.sum(acc >= ACCURACY) < WINS:
            shown = ", ".join(f"{v:.2f}" for v in acc)
            raise Fail(
                f"validation accuracy {shown} in the hidden seeds; at least {WINS} of"
                f" {len(acc)} must reach {ACCURACY:g}. Diagnose your fix as you diagnosed"
                " the patient: gradients at init, then the update:data ratios"
            )

    yield f"validation accuracy >= {ACCURACY:g} in {WINS} of 3 hidden seeds", 3, accurate
