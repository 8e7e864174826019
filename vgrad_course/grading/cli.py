"""Grade a folder of submitted exercise notebooks into a CSV gradebook and feedback files.

Usage::

    python -m vgrad_course.grade SUBMISSIONS --out grades.csv [--jobs 2] [--timeout 300]
        [--call-timeout 20]

Every ``*.ipynb`` under ``SUBMISSIONS`` is one submission, named by its path relative to the
folder (``alice/07_clipping.ipynb`` -> ``alice__07_clipping``). Each runs on a copy in a fresh
kernel (:mod:`vgrad_course.grading.session`); the original file is never modified. The CSV has
one row per submission and one column per question, then ``total`` and ``max_points``; a
feedback file per submission lands in ``feedback/`` next to the CSV (or ``--feedback-dir``).
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import sys
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm import tqdm

from vgrad_course.grading import checks
from vgrad_course.grading.session import CALL_TIMEOUT, check_limits, grade_notebook
from vgrad_course.validation import check_int


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
    path: Path, student: str, *, timeout: float, call_timeout: float = CALL_TIMEOUT
) -> Row:
    """Grade one notebook file; any problem becomes a note, never an exception.

    Args:
        path: The submitted notebook (read only).
        student: Its name in the gradebook.
        timeout: Seconds allowed for running its cells.
        call_timeout: Seconds each call of a student function may take during the checks.

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
    row = Row(student, graded.set_name)
    lines = []
    for qid, result in graded.results.items():
        row.scores[qid], row.max_scores[qid] = result.points, result.max_points
        lines.append(str(result))
    total, most = row.total, sum(row.max_scores.values())
    head = f"{student} ({graded.set_name or 'unknown set'}): {total:g}/{most:g} points"
    notes = [f"note: {n}" for n in graded.notes]
    row.feedback = "\n".join([head, *notes, "", *lines]) + "\n"
    return row


def grade_folder(
    root: Path,
    *,
    jobs: int = 1,
    timeout: float = 300.0,
    call_timeout: float = CALL_TIMEOUT,
    progress: bool = True,
) -> list[Row]:
    """Grade every notebook under ``root``.

    Args:
        root: The submissions folder.
        jobs: Number of notebooks graded in parallel (each in its own worker process).
        timeout: Seconds allowed per notebook for running its cells.
        call_timeout: Seconds each call of a student function may take during the checks.
        progress: Show a progress bar on stderr.

    Returns:
        One :class:`Row` per notebook, sorted by student name.

    Used in: "Graded exercises" (the grader).
    """
    check_int("jobs", jobs)
    check_limits(timeout, call_timeout)
    limits = {"timeout": timeout, "call_timeout": call_timeout}
    paths = sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    jobs_list = [(p, student_name(p, root)) for p in paths]
    checks.load_all()  # every check is in memory before any submission runs
    bar = tqdm(total=len(paths), desc="grading", unit="nb", disable=not progress, file=sys.stderr)
    rows: list[Row] = []
    if jobs == 1:
        for path, name in jobs_list:
            rows.append(grade_file(path, name, **limits))
            bar.update()
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=checks.load_all) as pool:
            futures = {pool.submit(grade_file, p, n, **limits): n for p, n in jobs_list}
            for fut in as_completed(futures):
                rows.append(_row_of(fut, futures[fut]))
                bar.update()
    bar.close()
    return sorted(rows, key=lambda r: r.student)


def _row_of(future: Future, student: str) -> Row:
    """The row a worker returned; if the worker process died, a row that says so."""
    try:
        return future.result()
    except Exception as exc:  # a dead worker: the submission still gets its row
        return Row(student, "", feedback=f"{student}: grading failed ({exc!r})\n"[:400])


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
    rows = grade_folder(
        args.submissions,
        jobs=args.jobs,
        timeout=args.timeout,
        call_timeout=args.call_timeout,
        progress=not args.no_progress,
    )
    if not rows:
        print(f"warning: no notebooks in {args.submissions}", file=sys.stderr)
    feedback = args.feedback_dir or args.out.parent / "feedback"
    write_gradebook(rows, args.out, feedback)
    print(
        f"graded {len(rows)} submission(s) -> {args.out} (feedback in {feedback})", file=sys.stderr
    )
    return 0
