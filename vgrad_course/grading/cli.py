"""Grade a folder of submitted exercise notebooks into a CSV gradebook and feedback files.

Usage::

    python -m vgrad_course.grade SUBMISSIONS --out grades.csv [--jobs N] [--timeout 300]
        [--call-timeout 20] [--shard i/n] [--by-student [--questions]] [--format canvas]
        [--containment auto|bwrap|unshare|none | --no-containment] [--memory-limit 3G]
        [--file-size-limit 256M] [--disk-limit 512M] [--max-processes 512]
    python -m vgrad_course.grade merge shard-*.csv --out grades.csv [--by-student] [...]

Every ``*.ipynb`` under ``SUBMISSIONS`` is one submission, named by its path relative to the
folder (``alice/07_clipping.ipynb`` -> ``alice__07_clipping``), graded on a copy in a fresh
kernel (:mod:`vgrad_course.grading.batch`). The CSV has one row per submission and one column
per question, then ``total`` and ``max_points``; a feedback file per submission lands in
``feedback/`` next to the CSV (or ``--feedback-dir``). ``--by-student`` and ``--format canvas``
add a per-student and a Canvas view (:mod:`vgrad_course.grading.gradebook`). ``--shard i/n``
grades one share of the class on one machine; ``merge`` joins the shards' gradebooks.
Each kernel runs in a box with limits (:mod:`vgrad_course.grading.containment`): bubblewrap
if it works here, else ``unshare``, else none, with a loud warning.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from vgrad_course.grading.batch import grade_folder
from vgrad_course.grading.containment import KINDS, Box, Limits, choose, size_text
from vgrad_course.grading.gradebook import (
    merge,
    read_gradebook,
    write_by_student,
    write_canvas,
    write_gradebook,
    write_shard_record,
)
from vgrad_course.grading.session import CALL_TIMEOUT, check_limits
from vgrad_course.grading.shards import parse_shard


def _add_outputs(parser: argparse.ArgumentParser) -> None:
    """The options that say which gradebooks to write (shared by grading and merging)."""
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="CSV gradebook")
    parser.add_argument("--feedback-dir", type=Path, help="default: feedback/ next to --out")
    parser.add_argument(
        "--by-student",
        action="store_true",
        help="also write <out>_by_student.csv: one row per student, one column per set",
    )
    parser.add_argument(
        "--questions", action="store_true", help="with --by-student: a column per question too"
    )
    parser.add_argument(
        "--format",
        choices=["csv", "canvas"],
        default="csv",
        help="canvas: also write <out>_canvas.csv for Canvas' gradebook import",
    )


def _write_views(out: Path, args: argparse.Namespace) -> None:
    """Write the per-student and Canvas views of the gradebook ``out`` the options ask for."""
    rows = read_gradebook(out)
    for wanted, suffix, write in (
        (
            args.by_student,
            "_by_student",
            lambda p: write_by_student(rows, p, questions=args.questions),
        ),
        (args.format == "canvas", "_canvas", lambda p: write_canvas(rows, p)),
    ):
        if wanted:
            path = out.with_name(out.stem + suffix + out.suffix)
            write(path)
            print(f"wrote {path}", file=sys.stderr)


def parse_size(text: str) -> int:
    """Read a size such as ``3G``, ``512M``, ``1.5GiB`` or ``1048576`` (bytes; binary units).

    Args:
        text: The size.

    Returns:
        Bytes (> 0).

    Raises:
        ValueError: If it is not a positive size.

    Used in: "Graded exercises" (the grader's options).
    """
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not found:
        raise ValueError(f"not a size: {text!r} (e.g. 3G, 512M)")
    scale = 1 << (10 * " KMGT".index(found[2].upper() or " "))
    value = int(float(found[1]) * scale)
    if value < 1:
        raise ValueError(f"a size must be > 0, got {text!r}")
    return value


def _add_containment(parser: argparse.ArgumentParser) -> None:
    """The options of the box every kernel runs in, and of its limits."""
    box = parser.add_argument_group("containment (each notebook's kernel, on Linux)")
    box.add_argument(
        "--containment",
        choices=["auto", *KINDS],
        default="auto",
        help="the box: bwrap (bubblewrap), unshare, or none; auto: the strongest that works",
    )
    box.add_argument(
        "--no-containment",
        dest="containment",
        action="store_const",
        const="none",
        help="no box: student code runs with your permissions (a loud warning everywhere)",
    )
    default = Limits()
    for flag, name, text in (
        ("--memory-limit", "memory", "memory per process (RLIMIT_DATA)"),
        ("--file-size-limit", "file_size", "size of each file written (RLIMIT_FSIZE)"),
        ("--disk-limit", "disk", "working folder and /tmp together (a tmpfs; bwrap only)"),
    ):
        value = size_text(getattr(default, name))
        box.add_argument(
            flag, type=parse_size, default=value, metavar="SIZE", help=f"{text}; default: {value}"
        )
    box.add_argument(
        "--max-processes",
        type=int,
        default=default.processes,
        metavar="N",
        help=f"processes and threads in the box (RLIMIT_NPROC); default: {default.processes}",
    )


def _box(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Box:
    """The box the options ask for (an option error if it does not work here)."""
    if args.max_processes < 1:
        parser.error(f"--max-processes must be >= 1, got {args.max_processes}")
    limits = Limits(args.memory_limit, args.file_size_limit, args.disk_limit, args.max_processes)
    try:
        return choose(args.containment, limits)
    except ValueError as exc:
        parser.error(str(exc))


def _announce(box: Box) -> None:
    """Print the box and its limits, and the loud warning when there is none."""
    print(box.summary(), file=sys.stderr)
    if box.warning:
        banner = "!" * 79
        print(f"{banner}\n{box.warning}.\n{banner}", file=sys.stderr)
    elif box.kind != "bwrap":
        print(f"warning: no bubblewrap ({box.reason}): files are not isolated", file=sys.stderr)


def merge_main(argv: list[str]) -> int:
    """``python -m vgrad_course.grade merge SHARD.csv ... --out grades.csv``.

    Args:
        argv: The arguments after ``merge``.

    Returns:
        0 when merged; 2 when the shards do not fit together (the message says why).

    Used in: "Graded exercises" (the grader).
    """
    parser = argparse.ArgumentParser(
        prog="python -m vgrad_course.grade merge",
        description="Join the gradebooks of shards 1/n .. n/n (graded with --shard) into one.",
    )
    parser.add_argument("shards", type=Path, nargs="+", help="the shard gradebooks")
    _add_outputs(parser)
    args = parser.parse_args(argv)
    feedback = args.feedback_dir or args.out.parent / "feedback"
    try:
        rows = merge(args.shards, args.out, feedback)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _write_views(args.out, args)
    print(
        f"merged {len(args.shards)} shards, {len(rows)} submission(s) -> {args.out}",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``); ``merge ...`` joins shard gradebooks.

    Returns:
        The exit status (0 on success, 2 when the folder does not exist).

    Used in: "Graded exercises" (the grader).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["merge"]:
        return merge_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m vgrad_course.grade",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("submissions", type=Path, help="folder of submitted notebooks")
    _add_outputs(parser)
    cores = os.cpu_count() or 1
    parser.add_argument(
        "--jobs", type=int, default=cores, help=f"notebooks graded in parallel (default: {cores})"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per notebook")
    parser.add_argument(
        "--call-timeout",
        type=float,
        default=CALL_TIMEOUT,
        help="seconds per call of a student function during the checks",
    )
    parser.add_argument(
        "--shard", help="grade only shard i of n (e.g. 2/4); join them with `merge`"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_containment(parser)
    args = parser.parse_args(argv)
    try:
        check_limits(args.timeout, args.call_timeout)
        shard = parse_shard(args.shard) if args.shard else None
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
    box = _box(args, parser)
    _announce(box)
    rows = grade_folder(
        args.submissions,
        jobs=args.jobs,
        timeout=args.timeout,
        call_timeout=args.call_timeout,
        protect=[args.out, *sorted(feedback.glob("*.txt"))],
        progress=not args.no_progress,
        shard=shard,
        box=box,
    )
    if not rows:
        print(f"warning: no notebooks in {args.submissions}", file=sys.stderr)
    write_gradebook(rows, args.out, feedback)
    if shard is not None:
        write_shard_record(args.out, shard, [r.student for r in rows])
    _write_views(args.out, args)
    print(
        f"graded {len(rows)} submission(s) -> {args.out} (feedback in {feedback})", file=sys.stderr
    )
    _announce(box)
    return 0
