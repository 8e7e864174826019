"""The exercise checker: ``check("set.question", answer)`` gives points and a message per case.

The questions are registered in :mod:`vgrad_course.grading.registry` by the check modules
(:mod:`vgrad_course.grading.checks`). A check never ships the answer: it tests *properties* of
what you hand in (agreement with finite differences, invariants, an independent reference
computed at check time). Handing in the placeholder ``...`` scores 0 as "not attempted" without
raising, so untouched exercise notebooks still run; pass ``strict=True`` (or set
``VGRAD_STRICT=1``) to raise instead.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vgrad_course.grading import checks
from vgrad_course.grading.registry import REGISTRY, Fail
from vgrad_course.palette import BAD, GOOD, PARTIAL


class NotFullMarks(AssertionError):
    """Raised by a strict check that did not earn full marks."""


@dataclass(frozen=True)
class Case:
    """The outcome of one checked property.

    Attributes:
        name: What the case tests, in words.
        points: Points earned.
        max_points: Points available.
        message: Feedback (empty when passed).
    """

    name: str
    points: float
    max_points: float
    message: str = ""

    @property
    def passed(self) -> bool:
        """Whether the case earned all its points."""
        return self.points >= self.max_points


@dataclass(frozen=True)
class Result:
    """The outcome of checking one question: a list of cases.

    Attributes:
        question: The question id, e.g. ``"clipping.global_norm"``.
        cases: One :class:`Case` per checked property.
        attempted: False when the answer was still the placeholder ``...``.
        why_unscored: Set when the question was never scored (e.g. the grader's kernel died
            before reaching it); shown instead of "not attempted".
    """

    question: str
    cases: tuple[Case, ...] = field(default_factory=tuple)
    attempted: bool = True
    why_unscored: str = ""

    @property
    def points(self) -> float:
        """Total points earned."""
        return float(sum(c.points for c in self.cases))

    @property
    def max_points(self) -> float:
        """Total points available."""
        return float(sum(c.max_points for c in self.cases))

    def __str__(self) -> str:
        head = f"{self.question}: {self.points:g}/{self.max_points:g}"
        if self.why_unscored:
            return f"{head} - {self.why_unscored}"
        if not self.attempted:
            return head + " - not attempted (replace the ... placeholder with your answer)"
        lines = [head]
        for c in self.cases:
            mark = "PASS" if c.passed else "FAIL"
            line = f"  [{mark}] {c.name} ({c.points:g}/{c.max_points:g})"
            lines.append(line + (f"\n         {c.message}" if c.message else ""))
        return "\n".join(lines)

    def _repr_pretty_(self, p: object, cycle: bool) -> None:
        p.text(str(self))  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        full = self.points >= self.max_points
        colour = GOOD if full else (PARTIAL if self.points > 0 else BAD)
        head = (
            f'<p style="margin:0"><b>{html.escape(self.question)}</b>: '
            f'<span style="color:{colour}"><b>{self.points:g}/{self.max_points:g}</b></span>'
        )
        if self.why_unscored:
            return f"{head} &mdash; {html.escape(self.why_unscored)}</p>"
        if not self.attempted:
            return head + " &mdash; not attempted (replace the <code>...</code> placeholder)</p>"
        rows = []
        for c in self.cases:
            icon = "&#10004;" if c.passed else "&#10008;"
            tint = GOOD if c.passed else BAD
            rows.append(
                f'<li><span style="color:{tint}">{icon}</span> {html.escape(c.name)} '
                f"({c.points:g}/{c.max_points:g})"
                + (f"<br><small>{html.escape(c.message)}</small>" if c.message else "")
                + "</li>"
            )
        return head + "</p><ul style='margin-top:0'>" + "".join(rows) + "</ul>"


def _describe(exc: BaseException) -> str:
    """Turn an exception raised by student code (or a failed property) into feedback."""
    if isinstance(exc, Fail | AssertionError) and str(exc):
        return str(exc)
    if isinstance(exc, FloatingPointError):
        return (
            f"your code overflowed ({exc}): an intermediate value passed the largest float; "
            "compute it in a form that stays in range"
        )
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"your code raised {type(exc).__name__}: {text}"[:500]


def unscored(qid: str, why: str) -> Result:
    """A zero :class:`Result` for a question that could not be scored at all.

    Args:
        qid: The question id.
        why: The reason, shown in the feedback.

    Returns:
        Every case at 0 points, with ``why`` as the message.

    Used in: the grader (a submission whose kernel died before a question was reached).
    """
    specs = list(REGISTRY[qid].cases(...))
    cases = tuple(Case(n, 0.0, float(p), why) for n, p, _ in specs)
    return Result(qid, cases, attempted=False, why_unscored=why)


def _overflow_is_an_error(f: Callable) -> Callable:
    """``f``, raising ``FloatingPointError`` on overflow (the grader's kernel does the same)."""

    def call(*args: object) -> object:
        with np.errstate(over="raise"):
            return f(*args)

    return call


def run_cases(qid: str, answer: object) -> Result:
    """Run the registered check ``qid`` against ``answer`` without ever raising.

    Args:
        qid: The question id.
        answer: The student's value or callable (a grader may pass a proxy callable).

    Returns:
        The :class:`Result`; a placeholder ``...`` gives 0 points, "not attempted".

    Used in: the graded exercises (and by the grader).
    """
    q = REGISTRY[qid]
    runnable = q.kind == "function" and callable(answer)
    specs = list(q.cases(_overflow_is_an_error(answer) if runnable else answer))
    if answer is Ellipsis:
        return Result(
            qid, tuple(Case(n, 0.0, float(p), "not attempted") for n, p, _ in specs), False
        )
    if q.kind == "function" and not runnable:
        msg = f"expected a function, got {type(answer).__name__}"
        return Result(qid, tuple(Case(n, 0.0, float(p), msg) for n, p, _ in specs))
    cases = []
    for name, pts, thunk in specs:
        try:
            with np.errstate(all="ignore"):
                thunk()
            cases.append(Case(name, float(pts), float(pts)))
        except Exception as exc:  # student code may raise anything: report it, never crash
            cases.append(Case(name, 0.0, float(pts), _describe(exc)))
    return Result(qid, tuple(cases))


def check(qid: str, answer: object, *, strict: bool | None = None) -> Result:
    """Check your answer to exercise ``qid`` and show points and feedback per case.

    Args:
        qid: The question id printed in the exercise, e.g. ``"clipping.global_norm"``.
        answer: Your value or your function.
        strict: Raise :class:`NotFullMarks` unless full marks (default: the ``VGRAD_STRICT``
            environment variable).

    In the grader's kernel (``VGRAD_GRADING=1``) the cases do not run: the grader scores every
    answer in its own process, and the notebook's check cells would only double the cost.

    Returns:
        A :class:`Result` that renders as HTML in JupyterLab and as text elsewhere.

    Used in: "Graded exercises".
    """
    checks.load_all()
    if qid not in REGISTRY:
        raise KeyError(f"unknown question {qid!r}; known: {', '.join(sorted(REGISTRY))}")
    if os.environ.get("VGRAD_GRADING") == "1":  # in the grader's kernel: it scores the answer
        return unscored(qid, "scored by the grader, outside this notebook")
    result = run_cases(qid, answer)
    if strict is None:
        strict = os.environ.get("VGRAD_STRICT", "") not in ("", "0")
    if strict and result.points < result.max_points:
        raise NotFullMarks(str(result))
    return result
