"""Checks for the lab "Backprop through time by hand" (``solutions/lab1_bptt_by_hand.ipynb``).

The implementation parts are graded on hidden problems: the shapes, lengths and seeds below
appear nowhere in the notebook (``n_in != n_hidden``, ``T`` unequal to both). The references
are computed here at check time: a forward pass, finite differences of the loss, the complex
step of each loss term with respect to each step's own copy of the weights (for truncated
BPTT), and the product of the per-step Jacobians.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgrad_course.grading.checks._helpers import (
    as_array,
    as_parts,
    as_positive,
    close,
    fd_jacobian,
    once,
)
from vgrad_course.grading.checks._lab_bptt_reference import (
    Problem,
    chunked_reference,
    copies,
    decay_floor,
    fd_gradients,
    jacobian_norms,
    problem,
    rnn_states,
    step_terms,
    truncated_reference,
    wrong_norms,
)
from vgrad_course.grading.registry import Fail, question


def unchanged(before: Problem, after: Problem, fn: str) -> None:
    """Fail if a student function changed one of its arguments in place."""
    names = ("xs", "h0", "W_x", "W_h", "b", "cs")
    for name, a, b in zip(names, before, after, strict=False):
        if not np.array_equal(a, b):
            raise Fail(f"{fn} changed {name} in place: work on new arrays, leave the arguments")


def agree(actual: np.ndarray, ref: np.ndarray, *, what: str, hint: str) -> None:
    """:func:`close`, with a topic hint after its own diagnosis."""
    try:
        close(actual, ref, what=what, rtol=1e-5, atol=1e-7)
    except Fail as exc:
        raise Fail(f"{exc} {hint}") from None


# --- Part 1: the forward pass ---------------------------------------------------------------

FORWARD_HINT = (
    "Check each term of h_t = tanh(x_t W_x + h_{t-1} W_h + b): row vectors times the matrices,"
    " h_0 before the first step, the bias and tanh at every step."
)
FORWARD = [problem(311, 7, 3, 5), problem(312, 4, 6, 2), problem(313, 11, 2, 4, scale=1.6)]


@question("lab_bptt.forward", answer="rnn_forward", kind="function")
def _forward(f: object) -> object:
    first = once(lambda: as_array(f(*copies(FORWARD[0])), what="rnn_forward"))
    ref = rnn_states(*FORWARD[0])

    def shape() -> None:
        if first().shape != ref.shape:
            raise Fail(
                f"rnn_forward returned shape {first().shape} for T = {ref.shape[0]} steps and"
                f" n = {ref.shape[1]} units; expected (T, n): one state per input, without h0"
            )

    yield "returns one state per step, shape (T, n), without h0", 1, shape

    def state_one() -> None:
        shape()
        agree(first()[0], ref[0], what="h_1", hint=FORWARD_HINT)

    yield "the first state h_1 = tanh(x_1 W_x + h_0 W_h + b)", 1, state_one

    def every(ps: list[Problem]) -> None:
        for p in ps:
            ref_p = rnn_states(*p)
            out = as_array(f(*copies(p)), shape=ref_p.shape, what="rnn_forward")
            agree(out, ref_p, what="the array of states", hint=FORWARD_HINT)

    yield "every state matches (T = 7, n_in = 3, n = 5)", 1, lambda: every(FORWARD[:1])
    yield "every state matches on two other shapes", 1, lambda: every(FORWARD[1:])

    def leaves() -> None:
        args = copies(FORWARD[2])
        as_array(f(*args), what="rnn_forward")
        unchanged(FORWARD[2], args, "rnn_forward")

    yield "leaves its arguments unchanged", 1, leaves


# --- Part 2: full BPTT ------------------------------------------------------------------------

BACKWARD = [problem(321, 6, 4, 3), problem(322, 10, 2, 5)]
NAMES = ("dW_x", "dW_h", "db", "dh0")


def _loadings(p: Problem, seed: int) -> np.ndarray:  # the c_t of the loss
    return np.random.default_rng(seed).normal(size=(len(p[0]), len(p[1])))


def _grads(
    f: Callable, p: Problem, cs: np.ndarray, n: int, *extra: int, fn: str, args: list | None = None
) -> list[np.ndarray]:
    """Call a student's backward function ``fn`` on copies (put in ``args``); read its grads."""
    given = (*copies(p), cs.copy())
    if args is not None:
        args.extend(given)
    parts = as_parts(f(*given, *extra), n, what=fn)
    shapes = (p[2].shape, p[3].shape, p[4].shape, p[1].shape)
    return [
        as_array(g, shape=s, what=f"{fn}'s {nm}")
        for g, s, nm in zip(parts, shapes, NAMES, strict=False)
    ]


FN = "rnn_backward"


@question("lab_bptt.backward", answer=FN, kind="function")
def _backward(f: object) -> object:
    cases = [(p, _loadings(p, 20 + i)) for i, p in enumerate(BACKWARD)]
    outs = [once(lambda p=p, cs=cs: _grads(f, p, cs, 4, fn=FN)) for p, cs in cases]
    refs = [once(lambda p=p, cs=cs: fd_gradients(p, cs)) for p, cs in cases]

    def shapes() -> None:
        for p, cs in cases:
            args: list = []
            _grads(f, p, cs, 4, fn=FN, args=args)
            unchanged((*p, cs), args, FN)

    yield "returns (dW_x, dW_h, db, dh0) of the right shapes, arguments unchanged", 1, shapes
    hints = {
        "dW_h": "Every step adds h_{t-1}^T delta_t, and delta_t must collect the loss at step t"
        " plus what flows back from step t + 1 through W_h and tanh'.",
        "dW_x": "Every step adds x_t^T delta_t, with the same delta_t as for W_h.",
        "db": "The bias gets delta_t of every step.",
        "dh0": "h_0 feeds only the first step: carry the gradient back through its W_h.",
    }
    for i, name in enumerate(NAMES):

        def grad(i: int = i, name: str = name) -> None:
            for out, ref in zip(outs, refs, strict=True):
                agree(out()[i], ref()[i], what=f"{name}", hint=hints[name])

        label = f"{name} matches finite differences of L (two hidden sequences)"
        yield label, 2 if name == "dW_h" else 1, grad


# --- Part 3: truncated BPTT ---------------------------------------------------------------------

TRUNCATED = problem(331, 9, 4, 3, scale=1.4)


def _truncated_case(f: Callable, k: int, terms: Callable[[], list[np.ndarray]]) -> None:
    p, cs = TRUNCATED, _loadings(TRUNCATED, 33)
    got = _grads(f, p, cs, 3, k, fn="rnn_backward_truncated")
    steps, ref = len(p[0]), truncated_reference(terms(), k)

    def same(other: list[np.ndarray]) -> bool:
        return all(np.allclose(g, r, rtol=1e-5, atol=1e-8) for g, r in zip(got, other, strict=True))

    if same(ref):
        return
    if same(truncated_reference(terms(), k - 1)):
        why = "your window is one step too short"
    elif same(truncated_reference(terms(), k + 1)):
        why = "your window is one step too long"
    elif k < steps and same(truncated_reference(terms(), steps)):
        why = "it equals full BPTT: the window cut nothing"
    elif 1 < k < steps and same(chunked_reference(terms(), k)):
        why = "you cut the sequence into chunks of k steps; each loss term needs its own window"
    else:
        wrong = [n for n, g, r in zip(NAMES, got, ref, strict=False) if not np.allclose(g, r)]
        why = f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong"
    raise Fail(
        f"with k = {k}: {why}. Each loss term l_t = <c_t, h_t> goes back through k steps,"
        " t, t - 1, ..., t - k + 1 (k = 1: only the step that produced h_t)."
    )


@question("lab_bptt.truncated", answer="rnn_backward_truncated", kind="function")
def _truncated(f: object) -> object:
    terms = once(lambda: step_terms(TRUNCATED, _loadings(TRUNCATED, 33)))
    steps = len(TRUNCATED[0])
    yield "k = 1: each loss term reaches only its own step", 1, lambda: _truncated_case(f, 1, terms)
    yield "k = 3 on a sequence of 9 steps", 2, lambda: _truncated_case(f, 3, terms)
    yield "k = 5 on a sequence of 9 steps", 1, lambda: _truncated_case(f, 5, terms)

    def full() -> None:
        for k in (steps, steps + 4):
            _truncated_case(f, k, terms)

    yield "k >= T gives full BPTT (k = T and k = T + 4)", 1, full


# --- Part 4: the Jacobian product -------------------------------------------------------------

JACOBIAN = [problem(341, 7, 3, 5, scale=1.3), problem(342, 13, 4, 6, scale=1.5)]


def _norm_hint(out: np.ndarray, p: Problem) -> str:
    """Name a common mistake the returned norms match, if any."""
    fro, bound = wrong_norms(p)
    if np.allclose(out, fro, rtol=1e-5):
        return " These are Frobenius norms: take the spectral norm (largest singular value)."
    if np.allclose(out, bound, rtol=1e-5):
        return " This is the product of the per-step norms (a bound), not the norm of the product."
    return " Multiply the per-step Jacobians diag(1 - h_t^2) W_h^T, the newest on the left."


@question("lab_bptt.jacobian_product", answer="jacobian_norms", kind="function")
def _jacobian(f: object) -> object:
    p = JACOBIAN[0]
    ref = jacobian_norms(p)
    out = once(lambda: as_array(f(*copies(p)), what="jacobian_norms"))

    def shape() -> None:
        if out().shape != ref.shape:
            raise Fail(
                f"jacobian_norms returned shape {out().shape}; expected (T,) = {ref.shape}:"
                " one norm ||dh_t/dh_0|| for each t = 1, ..., T"
            )

    yield "returns one norm per step, shape (T,)", 1, shape

    def one_step() -> None:
        shape()
        h1 = rnn_states(*p)[0]
        step = np.linalg.norm((1 - h1**2)[:, None] * p[3].T, 2)
        agree(out()[0], step, what="||dh_1/dh_0||", hint="One step: diag(tanh') times W_h^T.")

    yield "the first entry is the norm of one step's Jacobian", 1, one_step

    def product() -> None:
        shape()
        if not np.allclose(out(), ref, rtol=1e-5, atol=1e-9):
            raise Fail(
                "the norms disagree with the product of the Jacobians." + _norm_hint(out(), p)
            )

    yield "matches the product of the per-step Jacobians at every t (T = 7)", 2, product

    def finite_differences() -> None:
        q = JACOBIAN[1]
        got = as_array(f(*copies(q)), shape=(len(q[0]),), what="jacobian_norms")
        for t in (5, len(q[0])):
            jac = fd_jacobian(lambda h, t=t: rnn_states(q[0][:t], h, *q[2:])[-1], q[1])
            if not np.isclose(got[t - 1], np.linalg.norm(jac, 2), rtol=1e-5, atol=1e-9):
                raise Fail(
                    f"||dh_{t}/dh_0|| disagrees with finite differences (perturb h_0, watch"
                    f" h_{t})." + _norm_hint(got, q)
                )

    yield "matches finite differences at t = 5 and t = T (T = 13)", 1, finite_differences


# --- Part 5: how far back the gradient reaches --------------------------------------------------

#: The input stds of the two settings the last part asks for.
DECAY_STDS = (0.3, 1.0)


def _bracket(a: object, index: int) -> None:
    std = DECAY_STDS[index]
    values = as_array(a, shape=(2,), what="rho_min (two numbers)")
    rho = as_positive(values[index], what=f"rho_min[{index}]")
    if not decay_floor(rho, std) >= 0.1:
        raise Fail(
            f"with inputs of std {std:g} and scale {rho:.4g} the gradient falls below 0.1"
            " within the 50 steps: the scale is too small"
        )
    if decay_floor(0.99 * rho, std) >= 0.1:
        raise Fail(
            f"with inputs of std {std:g} the gradient still stays above 0.1 at 0.99 x your"
            " scale: look for the smallest scale"
        )


@question("lab_bptt.decay", answer="rho_min")
def _decay(a: object) -> object:
    for index, std in enumerate(DECAY_STDS):
        yield (
            f"inputs of std {std:g}: the gradient stays >= 0.1 at your scale, not at 0.99 x it",
            2,
            lambda index=index: _bracket(a, index),
        )
