"""Run one submitted notebook in a fresh kernel and score it with the grader's own checks.

The notebook runs on a copy in a temporary folder. Afterwards the grader injects one cell that
defines the exchange protocol (:mod:`vgrad_course.grading.protocol`) under a random name, reads
the answer variables, and calls the answer functions on inputs the checks generate *in the
grader's process*. Each answer is also read when its ``check(...)`` cell runs: if a later cell
kills or wedges the kernel, the answers given before the fault still count. All comparisons
happen here, never in the kernel: printing a score, or replacing the checker inside the
notebook, changes nothing. The kernel imports a private copy of the package
(:mod:`vgrad_course.grading.sandbox`): a submission that edits it scores 0. It runs in a box
with limits (:mod:`vgrad_course.grading.containment`): it sees only its own folders.
"""

from __future__ import annotations

import copy
import math
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from vgrad_course.grading import checks
from vgrad_course.grading.checker import Result, run_cases, unscored
from vgrad_course.grading.containment import Box, choose, size_text
from vgrad_course.grading.kernel import STUCK, TIMED_OUT, GradingKernel, QuietClient, answer_of
from vgrad_course.grading.sandbox import kernel_pythonpath, modified_files, private_package

#: Seconds each call of a student function may take while the checks run.
CALL_TIMEOUT = 20.0
_UNREACHED = "not scored: grading stopped before this question (see the notes above)"
#: A call of the checker in a cell: ``check("set.question", ...)``.
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.]+)["']""")


@dataclass
class Graded:
    """The outcome of grading one submission.

    Attributes:
        set_name: The exercise set it was graded as (``""`` if unknown).
        results: One :class:`Result` per question of the set.
        notes: Problems met while running it (errors, timeouts, a crash).
    """

    set_name: str
    results: dict[str, Result] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def score_zero(self, what: str, files: list[str]) -> None:
        """Score every question 0 because the notebook changed files it must not, and say so.

        Args:
            what: What the notebook did, e.g. ``"modified the course package"``.
            files: The files, as the feedback should name them (the first five are listed).

        Used in: "Graded exercises" (the grader).
        """
        listed = ", ".join(files[:5]) + (", ..." if len(files) > 5 else "")
        self.notes.append(f"the notebook {what} ({listed}); scored 0")
        self.results = {q: unscored(q, f"scored 0: the notebook {what}") for q in self.results}


def check_limits(timeout: float, call_timeout: float) -> None:
    """Reject time limits that are not positive numbers.

    Args:
        timeout: Seconds per notebook.
        call_timeout: Seconds per call of a student function.

    Raises:
        ValueError: If either is not a finite number > 0.

    Used in: "Graded exercises" (the grader).
    """
    for name, value in (("timeout", timeout), ("call_timeout", call_timeout)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")


def identify_set(nb: nbformat.NotebookNode, filename: str) -> str:
    """Find the exercise set of a notebook: its metadata, else its file name.

    Args:
        nb: The notebook.
        filename: Its file name.

    Returns:
        A key of :data:`vgrad_course.grading.checks.SETS`, or ``""`` when unknown.

    Used in: "Graded exercises" (the grader).
    """
    meta = nb.get("metadata", {}).get("vgrad", {})
    name = meta.get("exercise_set") if isinstance(meta, dict) else None
    if name in checks.SETS:
        return name
    for key, stem in checks.SETS.items():
        if stem in filename:
            return key
    return ""


def grade_notebook(
    nb: nbformat.NotebookNode,
    filename: str,
    *,
    timeout: float,
    call_timeout: float = CALL_TIMEOUT,
    box: Box | None = None,
) -> Graded:
    """Execute a submission in a fresh kernel, then score every question of its set.

    Args:
        nb: The submitted notebook (already parsed; neither it nor the file is changed).
        filename: Its file name (to identify the set when the metadata does not).
        timeout: Seconds allowed for running all of its cells.
        call_timeout: Seconds each call of a student function may take during the checks; a
            function that runs out of time is not called again (its later cases fail at once).
        box: The box its kernel runs in, with its limits (default: the strongest box this
            machine offers, :func:`vgrad_course.grading.containment.choose`).

    Returns:
        The :class:`Graded` outcome.

    Used in: "Graded exercises" (the grader).
    """
    check_limits(timeout, call_timeout)
    set_name = identify_set(nb, filename)
    graded = Graded(set_name)
    box = box if box is not None else choose()
    if box.warning:
        graded.notes.append(box.warning)
    if not set_name:
        graded.notes.append("could not tell which exercise set this notebook belongs to")
        return graded
    qids = checks.questions_of(set_name)
    with tempfile.TemporaryDirectory(prefix="vgrad-grade-") as tmp:
        root = Path(tmp).resolve()
        work, exchange, connection = root / "work", root / "exchange", root / "kernel"
        for folder in (work, exchange, connection):
            folder.mkdir()
        nbformat.write(nb, work / "submission.ipynb")
        client = QuietClient(
            copy.deepcopy(nb),  # the client writes each cell it runs into its notebook
            timeout=int(timeout),
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": TIMED_OUT, "evalue": "", "traceback": []},
            resources={"metadata": {"path": str(work)}},
        )
        package, log = root / "package", root / "kernel.log"
        manifest = private_package(package)
        client.km = client.create_kernel_manager()
        box.prepare(client.km, connection, [exchange, package])
        if box.boxed:  # ending the box ends everything in it: no graceful shutdown to wait for
            client.shutdown_kernel = "immediate"
        env = box.environment(kernel_pythonpath(package))
        early: dict[str, Result] = {}  # each answer as read when its check cell ran
        kernel = None
        try:
            with log.open("wb") as out, client.setup_kernel(env=env, stdout=out, stderr=out):
                kernel = GradingKernel(client, exchange, call_timeout)

                def read_early(found: Iterable[str]) -> None:
                    _score(kernel, [q for q in found if q in qids], early)

                deadline = time.monotonic() + timeout
                _run_cells(kernel, nb, graded, deadline=deadline, on_check=read_early, box=box)
                _score(kernel, qids, graded.results)  # a stuck kernel stops at the next fetch
                kernel.ensure_usable()  # ... or here, after the last question: note it
        except DeadKernelError:
            graded.notes.append(
                "the kernel died (a cell crashed or exited the process, or went past the "
                f"memory limit of {size_text(box.limits.memory)})"
            )
        except (CellTimeoutError, RuntimeError, OSError) as exc:
            graded.notes.append(f"grading stopped: {type(exc).__name__}: {exc}"[:300])
            if kernel is None:  # it never started: what it said is the only clue
                graded.notes.append(f"the kernel's last words: {_last_line(log)}"[:300])
        tampered = modified_files(package, manifest)
    rescued = [q for q in qids if q not in graded.results and q in early]
    for qid in rescued:  # credit given before the fault survives it
        graded.results[qid] = early[qid]
    if rescued:
        graded.notes.append(
            f"scored as read when their check cells ran (before grading stopped): "
            f"{', '.join(rescued)}"
        )
    for qid in qids:  # questions never reached score 0
        graded.results.setdefault(qid, unscored(qid, _UNREACHED))
    if tampered:
        graded.score_zero("modified the course package", tampered)
    return graded


def _last_line(path: Path) -> str:
    """The last line of a (possibly huge) log file, or ``"none"``."""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 4096))
        lines = fh.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "none"


def _score(kernel: GradingKernel, qids: Iterable[str], results: dict[str, Result]) -> None:
    """Read the answers to ``qids`` from the kernel now and score them into ``results``."""
    qids = list(qids)
    if not qids:
        return
    kernel.install()  # afresh: a cell may have overwritten an earlier copy
    for qid in qids:
        results[qid] = run_cases(qid, answer_of(kernel, qid))


def checked_questions(source: str) -> list[str]:
    """Return the question ids a cell checks (``check("set.question", ...)``), in order.

    Args:
        source: A code cell's source.

    Returns:
        The ids, without repeats.

    Used in: "Graded exercises" (the grader).
    """
    return list(dict.fromkeys(_CHECK_CALL.findall(source)))


def _run_cells(
    kernel: GradingKernel,
    nb: nbformat.NotebookNode,
    graded: Graded,
    *,
    deadline: float,
    on_check: Callable[[list[str]], None],
    box: Box | None = None,
) -> None:
    """Run the notebook's code cells until done or out of time, noting errors.

    After a cell that calls ``check(...)`` ran, ``on_check`` reads the answers it checked. An
    error that a limit of ``box`` explains (memory, file size, disk) says so.
    """
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or not cell.get("source", "").strip():
            continue
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise CellTimeoutError("no time left")
            errors = kernel.run(cell.source, left)
        except CellTimeoutError:
            graded.notes.append(f"cell {index} did not finish within the time limit; stopped")
            if not kernel.responsive():
                raise RuntimeError(STUCK) from None
            return
        for err in errors:
            name, value = str(err.get("ename")), str(err.get("evalue"))
            hint = box.hint(name, value) if box is not None else ""
            graded.notes.append(f"cell {index} raised {name}: {value}"[:300] + hint)
        found = checked_questions(cell.source)
        if found:
            on_check(found)
