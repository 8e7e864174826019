"""What a graded question is: its id, the answer it reads, and the cases that test that answer.

Every check module in :mod:`vgrad_course.grading.checks` registers its questions here with
:func:`question`; the checker (:mod:`vgrad_course.grading.checker`) and the grader's session
look them up in :data:`REGISTRY`. It imports nothing else of the grader, so the check
modules and the checker both depend on it and never on each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vgrad_course.validation import check_choice

#: The kinds of answer a question reads from a notebook.
KINDS: tuple[str, ...] = ("value", "function")


class Fail(Exception):
    """Raised inside a case to fail it with a message meant for the student."""


#: A case as written in a check: (name, points, thunk). The thunk raises to fail.
CaseSpec = tuple[str, float, Callable[[], object]]


@dataclass(frozen=True)
class Question:
    """A registered question.

    Attributes:
        qid: Its id, ``"<set>.<name>"``.
        answer: The notebook variable (or function) the grader reads.
        kind: ``"value"`` or ``"function"``.
        cases: Builds the cases from the answer (a value or a callable).
    """

    qid: str
    answer: str
    kind: str
    cases: Callable[[object], Iterable[CaseSpec]]


#: Every registered question, by id, in the order the check modules registered them.
REGISTRY: dict[str, Question] = {}


def question(qid: str, *, answer: str, kind: str = "value") -> Callable:
    """Register a check: a generator of ``(name, points, thunk)`` cases.

    Args:
        qid: The question id, ``"<set>.<name>"``.
        answer: The name of the variable or function the notebook defines.
        kind: ``"value"`` or ``"function"``.

    Returns:
        A decorator that registers the generator and returns it unchanged.

    Used in: "Graded exercises".
    """
    check_choice("kind", kind, KINDS)

    def register(fn: Callable[[object], Iterable[CaseSpec]]) -> Callable:
        if qid in REGISTRY:
            raise ValueError(f"question {qid!r} is registered twice")
        REGISTRY[qid] = Question(qid, answer, kind, fn)
        return fn

    return register
