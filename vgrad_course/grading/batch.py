"""Grade many submissions: a folder of notebooks, in parallel, each file kept byte-identical.

Every ``*.ipynb`` under the folder is one submission, named by its path relative to the folder
(``alice/07_clipping.ipynb`` -> ``alice__07_clipping``). Each runs on a copy in a fresh kernel
(:mod:`vgrad_course.grading.session`), in worker processes; a notebook that changes a file
under the folder (or an existing gradebook) scores 0, and the file is restored
(:mod:`vgrad_course.grading.sandbox`). ``shard=(i, n)`` grades one stable share of them
(:mod:`vgrad_course.grading.shards`).
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

import nbformat
from tqdm import tqdm

from vgrad_course.grading import checks
from vgrad_course.grading.containment import Box
from vgrad_course.grading.gradebook import Row
from vgrad_course.grading.sandbox import restore, snapshot
from vgrad_course.grading.session import CALL_TIMEOUT, check_limits, grade_notebook
from vgrad_course.grading.shards import shard_of
from vgrad_course.validation import check_int

#: One submission to grade: its notebook and its name in the gradebook.
Job = tuple[Path, str]
#: Restores the protected files and names those that had changed (see ``grade_folder``).
Guard = Callable[[], list[str]]


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


def progress_bar(total: int, desc: str, *, disable: bool = False) -> tqdm:
    """A progress bar on stderr that shows the grading rate in notebooks per minute.

    Args:
        total: Number of notebooks to grade.
        desc: Its label, e.g. ``"grading shard 2/4"``.
        disable: Show nothing.

    Returns:
        The bar; move it on with :func:`advance`.

    Used in: "Graded exercises" (the grader).
    """
    fmt = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"
    return tqdm(total=total, desc=desc, unit="nb", bar_format=fmt, disable=disable, file=sys.stderr)


def advance(bar: tqdm) -> None:
    """Count one more graded notebook and show the rate so far, in notebooks per minute.

    Args:
        bar: A bar from :func:`progress_bar`.

    Used in: "Graded exercises" (the grader).
    """
    bar.update()
    elapsed = bar.format_dict["elapsed"]
    if elapsed > 0:
        bar.set_postfix_str(f"{60 * bar.n / elapsed:.1f} nb/min", refresh=True)


def grade_file(
    path: Path,
    student: str,
    *,
    timeout: float,
    call_timeout: float = CALL_TIMEOUT,
    guard: Guard | None = None,
    box: Box | None = None,
) -> Row:
    """Grade one notebook file; any problem becomes a note, never an exception.

    Args:
        path: The submitted notebook (read only).
        student: Its name in the gradebook.
        timeout: Seconds allowed for running its cells.
        call_timeout: Seconds each call of a student function may take during the checks.
        guard: Called once the notebook has finished: restores the protected files it changed
            and returns their names; if there are any, the notebook scores 0 with a note.
        box: The box its kernel runs in (default: the strongest this machine offers).

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
    graded = grade_notebook(nb, path.name, timeout=timeout, call_timeout=call_timeout, box=box)
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
    shard: tuple[int, int] | None = None,
    box: Box | None = None,
) -> list[Row]:
    """Grade every notebook under ``root``, keeping every file under it byte-identical.

    Args:
        root: The submissions folder.
        jobs: Number of notebooks graded in parallel (each in its own worker process).
        timeout: Seconds allowed per notebook for running its cells.
        call_timeout: Seconds each call of a student function may take during the checks.
        protect: Other files no notebook may change (an existing gradebook and feedback).
        progress: Show a progress bar on stderr.
        shard: ``(i, n)``: grade only the notebooks of shard ``i`` of ``n``
            (:func:`vgrad_course.grading.shards.shard_of`); every file under ``root`` is
            still protected.
        box: The box every kernel runs in, with its limits
            (:func:`vgrad_course.grading.containment.choose`; default: chosen per worker).

    Returns:
        One :class:`Row` per notebook, sorted by student name; a notebook that changed a file
        under ``root`` or in ``protect`` scores 0 (the file is restored).

    Used in: "Graded exercises" (the grader).
    """
    check_int("jobs", jobs)
    check_limits(timeout, call_timeout)
    limits: dict = {"timeout": timeout, "call_timeout": call_timeout}
    if box is not None:
        limits["box"] = box
    paths = sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    jobs_list = [(p, student_name(p, root)) for p in paths]
    if shard is not None:
        jobs_list = [job for job in jobs_list if shard_of(job[1], shard[1]) == shard[0]]
    guard = partial(restore, snapshot([*sorted(root.rglob("*")), *protect]), root=root)
    checks.load_all()  # every check is in memory before any submission runs
    desc = "grading" if shard is None else f"grading shard {shard[0]}/{shard[1]}"
    bar = progress_bar(len(jobs_list), desc, disable=not progress)
    rows, serial = (
        _grade_parallel(jobs_list, jobs, limits, guard, bar) if jobs > 1 else ([], jobs_list)
    )
    for path, name in serial:  # one at a time: a change is that notebook's doing
        rows.append(grade_file(path, name, **limits, guard=guard))
        advance(bar)
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
                advance(bar)
    return rows, [*suspects, *reversed(todo)]
