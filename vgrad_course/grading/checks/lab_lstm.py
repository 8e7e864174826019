"""Checks for the lab "An LSTM cell, forward and backward, by hand" (set ``lab_lstm``).

Keras' conventions; the references (a NumPy LSTM, its derivatives by the complex step) and
the hidden cases (shapes, lengths and seeds the lab's notebook never uses) are in
:mod:`~vgrad_course.grading.checks._lab_lstm_reference` and here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from vgrad_course.grading.checks import _lab_lstm_reference as ref
from vgrad_course.grading.checks._cases import matches_measured, picks
from vgrad_course.grading.checks._helpers import as_array, as_float, as_parts, close, once
from vgrad_course.grading.registry import Fail, question


def _outputs(
    f: Callable,
    p: ref.Problem,
    args: Sequence[str],
    shapes: dict[str, tuple[int, ...] | None],
    *,
    what: str,
    got: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Call ``f`` on copies of ``p[args]`` (or ``got``); check the shapes not ``None``."""
    parts = as_parts(f(*(got or [p[k].copy() for k in args])), len(shapes), what=what)
    return [
        as_array(part, shape=shape, what=name)
        for part, (name, shape) in zip(parts, shapes.items(), strict=True)
    ]


def _unchanged(p: ref.Problem, args: Sequence[str], got: list[np.ndarray]) -> None:
    """Fail when the student's function changed one of its arguments in place."""
    for name, arr in zip(args, got, strict=True):
        if not np.array_equal(arr, p[name]):
            raise Fail(
                f"your function changed {name} in place (an augmented assignment such as"
                " `x += ...` or `x *= ...` on an argument, or on a slice of one, changes the"
                " caller's array): compute new arrays, or work on copies"
            )


def _close(got: np.ndarray, want: np.ndarray, what: str, hint: str = "", **tol: float) -> None:
    """:func:`close`, with ``hint`` added to the message when it fails."""
    try:
        close(got, want, what=what, **{"rtol": 1e-6, **tol})
    except Fail as exc:
        raise Fail(f"{exc} {hint}".strip()) from None


# --- Part 1: one step ------------------------------------------------------------------------

GATES_HINT = (
    "Check the order of the four column blocks (i, f, c~, o), that c~ takes the tanh and the"
    " three gates the sigmoid, and that c_t = f * c_{t-1} + i * c~."
)
H_HINT = "h_t = o * tanh(c_t) takes the output gate and the new cell state c_t."


def _step_case(f: Callable, p: ref.Problem, got: list | None = None) -> None:
    shape = p["h"].shape
    h, c = _outputs(f, p, ref.STEP_ARGS, {"h_t": shape, "c_t": shape}, what="lstm_step", got=got)
    want_h, want_c = ref.lstm_step(*(p[k] for k in ref.STEP_ARGS))
    _close(c, want_c, "c_t", GATES_HINT)
    _close(h, want_h, "h_t", H_HINT)


@question("lab_lstm.step", answer="lstm_step", kind="function")
def _step(f: object) -> object:
    main = ref.step_problem(301, 3, 5, 4)
    want_h, want_c = ref.lstm_step(*(main[k] for k in ref.STEP_ARGS))
    shapes = {"h_t": want_h.shape, "c_t": want_c.shape}
    out = once(lambda: _outputs(f, main, ref.STEP_ARGS, shapes, what="lstm_step"))
    where = "(batch 3, n_in 5, n 4)"
    yield f"c_t matches {where}", 1, lambda: _close(out()[1], want_c, "c_t", GATES_HINT)
    yield f"h_t matches {where}", 1, lambda: _close(out()[0], want_h, "h_t", H_HINT)
    other = ref.step_problem(302, 2, 2, 7)
    yield "another shape (batch 2, n_in 2, n 7)", 1, lambda: _step_case(f, other)
    saturated = ref.step_problem(303, 1, 9, 3)
    signs = np.random.default_rng(304).permuted(np.tile([-1.0, 1.0, 1.0], (4, 1)), axis=1)
    saturated["bias"] = 800.0 * signs.ravel()  # each gate has units at 0 and 1: exp(800) overflows
    name = "saturated gates (pre-activations of +-800): exact 0/1 gates, no overflow"
    yield name, 1, lambda: _step_case(f, saturated)

    def leaves_inputs() -> None:
        got = [main[k].copy() for k in ref.STEP_ARGS]
        _step_case(f, main, got)
        _unchanged(main, ref.STEP_ARGS, got)

    yield "returns new arrays, leaving x, h, c and the weights unchanged", 1, leaves_inputs


# --- Part 2: a sequence ----------------------------------------------------------------------


def _states(f: Callable, p: ref.Problem, got: list | None = None) -> list[np.ndarray]:
    shape = (*p["xs"].shape[:2], p["h0"].shape[1])
    try:
        return _outputs(
            f, p, ref.SEQ_ARGS, {"hs": shape, "cs": shape}, what="lstm_forward", got=got
        )
    except Fail as exc:
        hint = " = (batch, T, n): one state per step, time on axis 1 (Keras' return_sequences)"
        raise Fail(f"{exc}{hint if 'shape' in str(exc) else ''}") from None


def _sequence_close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    if not np.allclose(got, want, rtol=1e-6, atol=1e-7) and np.allclose(
        got[:, 1:], want[:, :-1], rtol=1e-6, atol=1e-7
    ):
        hint = "Your states are shifted by one step: index t - 1 on axis 1 holds the state"
        _close(got, want, what, hint + " after step t (h_1 first, h_T last).")
    _close(got, want, what, "Carry both h and c from each step to the next.")


@question("lab_lstm.forward", answer="lstm_forward", kind="function")
def _forward(f: object) -> object:
    main = ref.problem(311, 3, 7, 2, 5)
    want_hs, want_cs = ref.lstm_forward(*(main[k] for k in ref.SEQ_ARGS))
    out = once(lambda: _states(f, main))
    yield "returns (hs, cs), each of shape (batch, T, n) = (3, 7, 5)", 1, lambda: out()

    def first() -> None:
        hs, cs = out()
        hint = "The first step reads x_1 = xs[:, 0] and the given h_0, c_0."
        _close(hs[:, 0], want_hs[:, 0], "h_1", hint)
        _close(cs[:, 0], want_cs[:, 0], "c_1", hint)

    yield "the first step (h_1, c_1) matches", 1, first
    yield "every h_t matches", 1, lambda: _sequence_close(out()[0], want_hs, "hs")
    yield "every c_t matches", 1, lambda: _sequence_close(out()[1], want_cs, "cs")
    other = ref.problem(312, 2, 9, 4, 6)

    def another() -> None:
        got = [other[k].copy() for k in ref.SEQ_ARGS]
        hs, cs = _states(f, other, got)
        _unchanged(other, ref.SEQ_ARGS, got)
        want = ref.lstm_forward(*(other[k] for k in ref.SEQ_ARGS))
        _sequence_close(hs, want[0], "hs")
        _sequence_close(cs, want[1], "cs")

    yield "another shape (batch 2, T 9, n_in 4, n 6), arguments left unchanged", 1, another


# --- Part 3: backpropagation through time ----------------------------------------------------

BACK_HINTS = (
    "dL/dkernel sums x_t^T dz_t over the batch and the steps, where dz_t holds the gradients"
    " of the four gates' pre-activations, in the kernel's column order.",
    "dL/drecurrent_kernel sums h_{t-1}^T dz_t: the state that entered step t, h_0 to h_{T-1}.",
    "dL/dbias sums dz_t over the batch and the steps.",
    "The gradient on h_{t-1} is dz_t recurrent_kernel^T plus its own loss term's; the gradient"
    " on c_{t-1} is dc_t * f_t plus what reaches it through h_{t-1}. Both terms of the loss"
    " count: sum_t <grad_h_t, h_t> and <grad_c, c_T>.",
)


def _gradients(f: Callable, p: ref.Problem, got: list | None = None) -> list[np.ndarray]:
    shapes = dict.fromkeys(ref.GRADIENTS)
    return _outputs(f, p, ref.BACK_ARGS, shapes, what="lstm_backward", got=got)


def _all_gradients(got: list[np.ndarray], want: list[np.ndarray], where: str = "") -> None:
    for name, g, w in zip(ref.GRADIENTS, got, want, strict=True):
        _close(g, w, name + where, atol=1e-9)


@question("lab_lstm.backward", answer="lstm_backward", kind="function")
def _backward(f: object) -> object:
    main = ref.back_problem(321, 3, 6, 4, 5)
    want = ref.reference_gradients(main)
    out = once(lambda: _gradients(f, main))

    def matches(indices: tuple[int, ...], hint: str) -> None:
        for i in indices:
            _close(out()[i], want[i], ref.GRADIENTS[i], hint, atol=1e-9)

    labels = ("d_kernel", "d_recurrent_kernel", "d_bias", "d_h0 and d_c0")
    for k, (label, indices) in enumerate(zip(labels, ((0,), (1,), (2,), (3, 4)), strict=True)):
        case = f"{label}: the complex-step derivative (batch 3, T 6, n_in 4, n 5)"
        yield case, 1, lambda k=k, indices=indices: matches(indices, BACK_HINTS[k])
    other = ref.back_problem(323, 2, 8, 3, 2)

    def another() -> None:
        want_other = ref.reference_gradients(other)
        _all_gradients(_gradients(f, other), want_other, " (batch 2, T 8, n_in 3, n 2)")

    def leaves_inputs() -> None:
        got = [main[k].copy() for k in ref.BACK_ARGS]
        grads = _gradients(f, main, got)
        _unchanged(main, ref.BACK_ARGS, got)
        _all_gradients(grads, want)

    yield "all five match for another shape (batch 2, T 8, n_in 3, n 2)", 1, another
    yield "returns new arrays, leaving its arguments unchanged", 1, leaves_inputs


# --- Part 4: the cell path -------------------------------------------------------------------

#: The hidden cases of part 4: (seed, T, n_in, n, forget-gate bias added).
CELL_CASES = ((331, 7, 3, 5, 0.0), (332, 12, 6, 4, 2.0))
DIRECT_HINT = (
    "It is one product per unit, over the forget gates f_1 ... f_T of the T steps, each taken"
    " at its value in the forward pass."
)


def _cell_out(f: Callable, p: ref.Problem) -> list[np.ndarray]:
    n = p["h0"].shape[1]
    shapes = {"full (dc_T/dc_0)": (n, n), "direct (the product of the forget gates)": (n,)}
    return _outputs(f, p, ref.SEQ_ARGS, shapes, what="cell_path")


def _full_case(full: np.ndarray, p: ref.Problem) -> None:
    if np.allclose(full, np.diag(np.diag(full))):
        hint = (
            "Your Jacobian is diagonal: c_T also depends on c_0 through h_1, ..., which feeds"
            " every gate and the candidate of the next step."
        )
    else:
        hint = "Propagate dc_t/dc_0 and dh_t/dc_0 together, step by step."
    _close(full, ref.full_jacobian(p), "full", hint, rtol=1e-5, atol=1e-9)


@question("lab_lstm.cell_path", answer="cell_path", kind="function")
def _cell_path(f: object) -> object:
    for k, (seed, steps, n_in, units, forget) in enumerate(CELL_CASES):
        p = ref.cell_problem(seed, steps, n_in, units, forget=forget)
        out = once(lambda p=p: _cell_out(f, p))
        where = f"(T {steps}, n_in {n_in}, n {units})"
        yield (
            f"direct: the cell path with the gates held fixed {where}",
            1,
            lambda p=p, out=out: _close(
                out()[1], np.diag(ref.frozen_gate_jacobian(p)), "direct", DIRECT_HINT, atol=1e-12
            ),
        )
        yield (
            f"full: dc_T/dc_0 matches the complex-step Jacobian {where}",
            2 - k,
            lambda p=p, out=out: _full_case(out()[0], p),
        )


# --- Part 5: the LSTM against a tanh RNN -----------------------------------------------------


@question("lab_lstm.compare", answer="comparison")
def _compare(a: object) -> object:
    def unpack() -> list[object]:
        if not isinstance(a, list | tuple) or len(a) != 4:
            raise Fail(
                "comparison should be a tuple of four items:"
                " (lstm_norm, rnn_norm, faster, forget_bias)"
            )
        return list(a)

    parts = once(unpack)
    lstm, rnn = once(lambda: ref.lstm_cell_gain(1.0)), once(ref.rnn_gain)
    yield (
        "lstm_norm matches the measured ||dc_50/dc_0||_2 at forget bias 1 (5%)",
        1,
        lambda: matches_measured(parts()[0], lstm(), what="lstm_norm", rtol=0.05)(),
    )
    yield (
        "rnn_norm matches the measured ||dh_50/dh_0||_2 of the tanh RNN (5%)",
        1,
        lambda: matches_measured(parts()[1], rnn(), what="rnn_norm", rtol=0.05)(),
    )
    hint = "compare your two measured norms: which is smaller, and by how much?"
    yield (
        "faster: the letter the two measurements give",
        1,
        lambda: picks(parts()[2], lambda: ref.faster(lstm(), rnn()), hint=hint)(),
    )

    def smallest_bias() -> None:
        bias = as_float(parts()[3], what="forget_bias")
        kept = ref.lstm_cell_gain(bias)
        if not kept >= 0.5:
            raise Fail(
                f"at forget bias {bias:.3g} the measured ||dc_50/dc_0||_2 is {kept:.3g} < 0.5:"
                " the bias is too small"
            )
        if ref.lstm_cell_gain(bias - 0.1) >= 0.5:
            raise Fail(
                f"at forget bias {bias - 0.1:.3g} the cell path keeps half its gradient too: look"
                " for the smallest such bias (to 0.1), measured with the full Jacobian"
            )

    yield "forget_bias: the smallest bias (to 0.1) with ||dc_50/dc_0||_2 >= 0.5", 2, smallest_bias
