"""Grade a folder of submitted exercise notebooks into a CSV gradebook and feedback files.

Usage::

    python -m vgrad_course.grade SUBMISSIONS --out grades.csv [--jobs 2] [--timeout 300]
        [--call-timeout 20]

Every ``*.ipynb`` under ``SUBMISSIONS`` is one submission, named by its path relative to the
folder (``alice/07_clipping.ipynb`` -> ``alice__07_clipping``). Each runs on a copy in a fresh
kernel (:mod:`vgrad_course.grading.session`). The CSV has one row per submission and one column
per question, then ``total`` and ``max_points``; a feedback file per submission lands in
``feedback/`` next to the CSV (or ``--feedback-dir``).
A notebook that changes a file under ``SUBMISSIONS`` (or an existing gradebook) scores 0, and
the file is restored (:mod:`vgrad_course.grading.sandbox`, :func:`grade_folder`).
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import nbformat
from tqdm import tqdm

from vgrad_course.grading import checks
from vgrad_course.grading.sandbox import restore, snapshot
from vgrad_course.grading.session import CALL_TIMEOUT, check_limits, grade_notebook
from vgrad_course.validation import check_int

#: One submission to grade: its notebook and its name in the gradebook.
Job = tuple[Path, str]
#: Restores the protected files and names those that had changed (see ``grade_folder``).
Guard = Callable[[], list[str]]


@dataclass
class Row:
    """One gradebook row: a submission's scores and feedback.

    Attributes:
        student: The submission's name.
        set_name: Its exercise set (``""`` when unknown).
        scores: Points per question id.
        max_scores: Points available per question id.
        feedback: The text written to its feedback file.
    """

    student: str
    set_name: str
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    feedback: str = ""

    @property
    def total(self) -> float:
        """Points earned."""
        return float(sum(self.scores.values()))


def student_name(path: Path, root: Path) -> str:
    """Name a submission by its path relative to the submissions folder.

    Args:
        path: The notebook.
        root: The submissions folder.

    Returns:
        E.g. ``"alice__07_clipping"`` for ``alice/07_clipping.ipynb``.

    Used in: "Graded exercises" (the grader).
    """
    rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    return "__".join(rel.with_suffix("").parts)


def grade_file(
    path: Path,
    student: str,
    *,
    timeout: float,
    call_timeout: float = CALL_TIMEOUT,
    guard: Guard | None = None,
) -> Row:
    """Grade one notebook file; any problem becomes a note, never an exception.

    Args:
        path: The submitted notebook (read only).
        student: Its name in the gradebook.
        timeout: Seconds allowed for running its cells.
        call_timeout: Seconds each call of a student function may take during the checks.
        guard: Called once the notebook has finished: restores the protected files it changed
            and returns their names; if there are any, the notebook scores 0 with a note.

    Returns:
        Its :class:`Row`.

    Used in: "Graded exercises" (the grader).
    """
    try:
        nb = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # malformed JSON, wrong nbformat, bad encoding: all the same here
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        return Row(student, "", feedback=f"{student}: not a readable notebook ({reason})\n")
    graded = grade_notebook(nb, path.name, timeout=timeout, call_timeout=call_timeout)
    if guard is not None and (changed := guard()):
        graded.score_zero("changed files it must not touch, now restored", changed)
    row = Row(student, graded.set_name)
    for qid, result in graded.results.items():
        row.scores[qid], row.max_scores[qid] = result.points, result.max_points
    most = sum(row.max_scores.values())
    head = f"{student} ({graded.set_name or 'unknown set'}): {row.total:g}/{most:g} points"
    notes = [f"note: {n}" for n in graded.notes]
    row.feedback = "\n".join([head, *notes, "", *map(str, graded.results.values())]) + "\n"
    return row


def grade_folder(
    root: Path,
    *,
    jobs: int = 1,
    timeout: float = 300.0,
    call_timeout: float = CALL_TIMEOUT,
    protect: Sequence[Path] = (),
    progress: bool = True,
) -> list[Row]:
    """Grade every notebook under ``root``, keeping every file under it byte-identical.

    Args:
        root: The submissions folder.
        jobs: Number of notebooks graded in parallel (each in its own worker process).
        timeout: Seconds allowed per notebook for running its cells.
        call_timeout: Seconds each call of a student function may take during the checks.
        protect: Other files no notebook may change (an existing gradebook and feedback).
        progress: Show a progress bar on stderr.

    Returns:
        One :class:`Row` per notebook, sorted by student name; a notebook that changed a file
        under ``root`` or in ``protect`` scores 0 (the file is restored).

    Used in: "Graded exercises" (the grader).
    """
    check_int("jobs", jobs)
    check_limits(timeout, call_timeout)
    limits = {"timeout": timeout, "call_timeout": call_timeout}
    paths = sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    jobs_list = [(p, student_name(p, root)) for p in paths]
    guard = partial(restore, snapshot([*sorted(root.rglob("*")), *protect]), root=root)
    checks.load_all()  # every check is in memory before any submission runs
    bar = tqdm(total=len(paths), desc="grading", unit="nb", disable=not progress, file=sys.stderr)
    rows, serial = (
        _grade_parallel(jobs_list, jobs, limits, guard, bar) if jobs > 1 else ([], jobs_list)
    )
    for path, name in serial:  # one at a time: a change is that notebook's doing
        rows.append(grade_file(path, name, **limits, guard=guard))
        bar.update()
    bar.close()
    return sorted(rows, key=lambda r: r.student)


def _grade_parallel(
    jobs_list: list[Job], jobs: int, limits: dict[str, float], guard: Guard, bar: tqdm
) -> tuple[list[Row], list[Job]]:
    """Grade in worker processes: the rows, and the notebooks left to grade one at a time.

    At most ``jobs`` notebooks are handed to the pool at once, so each is running or done.
    Whenever some finish, ``guard`` restores the protected files; if one had changed, the
    culprit, and any notebook that may have read a changed file, is among those in flight:
    all of them become suspects (their rows are dropped). If a worker process dies, the
    notebooks not started yet are left to grade one at a time too.
    """
    rows: list[Row] = []
    suspects: dict[Job, None] = {}  # an ordered set
    todo = list(reversed(jobs_list))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=checks.load_all) as pool:
        flying: dict[Future, Job] = {}
        while todo or flying:
            while todo and len(flying) < jobs:
                try:
                    flying[pool.submit(grade_file, *todo[-1], **limits)] = todo[-1]
                except BrokenProcessPool:
                    break
                todo.pop()
            if not flying:  # the pool is broken
                break
            done, _ = wait(flying, return_when=FIRST_COMPLETED)
            if guard():
                names = ", ".join(name for _, name in flying.values())
                tqdm.write(f"a submitted file changed: {names} to be graded again", sys.stderr)
                suspects.update(dict.fromkeys(flying.values()))
            for fut in done:
                if (job := flying.pop(fut)) in suspects:
                    continue
                try:
                    rows.append(fut.result())
                except Exception as exc:  # a dead worker: the submission still gets its row
                    rows.append(Row(job[1], "", feedback=f"{job[1]}: grading failed ({exc!r})\n"))
                bar.update()
    return rows, [*suspects, *reversed(todo)]


def write_gradebook(rows: list[Row], out: Path, feedback_dir: Path) -> list[str]:
    """Write the CSV gradebook and one feedback file per row.

    Args:
        rows: The graded submissions.
        out: The CSV path.
        feedback_dir: Folder for ``<student>.txt`` feedback files.

    Returns:
        The CSV's question columns.

    Used in: "Graded exercises" (the grader).
    """
    checks.load_all()
    sets = [s for s in checks.SETS if any(r.set_name == s for r in rows)]
    columns = [q for s in sets for q in checks.questions_of(s)]
    out.parent.mkdir(parents=True, exist_ok=True)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "set", *columns, "total", "max_points"])
        for r in rows:
            cells = [f"{r.scores[q]:g}" if q in r.scores else "" for q in columns]
            most = sum(r.max_scores.values())
            writer.writerow([r.student, r.set_name, *cells, f"{r.total:g}", f"{most:g}"])
            (feedback_dir / f"{r.student}.txt").write_text(r.feedback)
    return columns


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status (0 on success, 2 when the folder does not exist).

    Used in: "Graded exercises" (the grader).
    """
    parser = argparse.ArgumentParser(
        prog="python -m vgrad_course.grade",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("submissions", type=Path, help="folder of submitted notebooks")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="CSV gradebook")
    parser.add_argument("--feedback-dir", type=Path, help="default: feedback/ next to --out")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded in parallel")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per notebook")
    parser.add_argument(
        "--call-timeout",
        type=float,
        default=CALL_TIMEOUT,
        help="seconds per call of a student function during the checks",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    try:
        check_limits(args.timeout, args.call_timeout)
    except ValueError as exc:
        parser.error(str(exc))
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    if not args.submissions.is_dir():
        print(f"error: {args.submissions} is not a folder", file=sys.stderr)
        return 2
    others = [p for p in args.submissions.rglob("*") if p.is_file() and p.suffix != ".ipynb"]
    for p in others:
        print(f"skipped (not a notebook): {p}", file=sys.stderr)
    feedback = args.feedback_dir or args.out.parent / "feedback"
    rows = grade_folder(
        args.submissions,
        jobs=args.jobs,
        timeout=args.timeout,
        call_timeout=args.call_timeout,
        protect=[args.out, *sorted(feedback.glob("*.txt"))],
        progress=not args.no_progress,
    )
    if not rows:
        print(f"warning: no notebooks in {args.submissions}", file=sys.stderr)
    write_gradebook(rows, args.out, feedback)
    print(
        f"graded {len(rows)} submission(s) -> {args.out} (feedback in {feedback})", file=sys.stderr
    )
    return 0
