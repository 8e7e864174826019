"""Generate the exercise notebooks from the solution notebooks (one source of truth).

From the course's root folder (the one holding ``solutions/``), run
``python -m vgrad_course.grading.exercises`` to regenerate ``exercises/`` from ``solutions/``,
or add ``--check`` to fail when ``exercises/`` is out of date; ``--root DIR`` names another
course root.

Markers (otter-grader style) in solution code cells:

* ``x = <expr>  # SOLUTION`` becomes ``x = ...``;
* a block between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` becomes ``...`` at the marker's
  indentation, or the lines written inside it as ``# PROMPT <code>`` (e.g.
  ``# PROMPT threshold = ...``) when there are any;
* cells tagged ``solution-only`` are dropped.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

_ONE_LINE = re.compile(r"^(?P<indent>\s*)(?P<lhs>[^=#]+?)\s*=\s*(?P<rhs>.+?)\s*#\s*SOLUTION\s*$")
_BEGIN = re.compile(r"^(?P<indent>\s*)#\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*#\s*END SOLUTION\s*$")
_PROMPT = re.compile(r"^\s*#\s*PROMPT (?P<code>.*)$")


def strip_solutions(source: str, *, where: str = "cell") -> str:
    """Replace the solution regions of one code cell by ``...`` placeholders.

    Args:
        source: The cell's source code.
        where: Where the cell comes from, for error messages.

    Returns:
        The exercise version of the source.

    Used in: "Graded exercises".
    """
    out: list[str] = []
    block: list[str] | None = None
    indent = ""
    for number, line in enumerate(source.splitlines(), start=1):
        if block is not None:
            if _BEGIN.match(line):
                raise ValueError(f"{where}, line {number}: nested # BEGIN SOLUTION")
            if _END.match(line):
                out.extend(block or [f"{indent}..."])
                block = None
            elif m := _PROMPT.match(line):
                block.append(indent + m["code"])
            continue
        if m := _BEGIN.match(line):
            block, indent = [], m["indent"]
        elif _END.match(line):
            raise ValueError(f"{where}, line {number}: # END SOLUTION without BEGIN")
        elif m := _ONE_LINE.match(line):
            out.append(f"{m['indent']}{m['lhs']} = ...")
        else:
            out.append(line)
    if block is not None:
        raise ValueError(f"{where}: # BEGIN SOLUTION is never closed")
    return "\n".join(out)


def exercise_notebook(solution: nbformat.NotebookNode, *, where: str = "notebook") -> str:
    """Return the exercise notebook (as JSON text) made from a solution notebook.

    Args:
        solution: The solution notebook.
        where: Its name, for error messages.

    Returns:
        The serialised exercise notebook, without outputs.

    Used in: "Graded exercises".
    """
    nb = copy.deepcopy(solution)
    cells = []
    for i, cell in enumerate(nb.cells):
        if "solution-only" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, where=f"{where} cell {i}")
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    nb.cells = cells
    return nbformat.writes(nb) + "\n"


def generate(root: Path, *, check: bool = False) -> list[Path]:
    """Write (or, with ``check``, compare) every exercise notebook of a course.

    Args:
        root: The course's root folder: ``root/solutions/*.ipynb`` become
            ``root/exercises/*.ipynb``.
        check: Do not write; report the notebooks that are missing, stale or orphaned.

    Returns:
        The exercise notebooks that were written (or that are out of date when ``check``).

    Raises:
        ValueError: If ``root`` has no ``solutions/`` folder, or it holds no notebook.

    Used in: "Graded exercises".
    """
    solutions_dir, exercises_dir = root / "solutions", root / "exercises"
    if not solutions_dir.is_dir():
        raise ValueError(
            f"{root.resolve()} has no solutions/ folder: run from the course's root folder"
            " or pass --root DIR"
        )
    sources = sorted(solutions_dir.glob("*.ipynb"))
    if not sources:
        raise ValueError(f"no solution notebooks in {solutions_dir}")
    changed = []
    for src in sources:
        text = exercise_notebook(nbformat.read(src, as_version=4), where=src.name)
        dest = exercises_dir / src.name
        if dest.is_file() and dest.read_text() == text:
            continue
        changed.append(dest)
        if not check:
            exercises_dir.mkdir(parents=True, exist_ok=True)
            dest.write_text(text)
    names = {s.name for s in sources}
    orphans = [p for p in sorted(exercises_dir.glob("*.ipynb")) if p.name not in names]
    if not check:
        for path in orphans:
            path.unlink()  # an exercise whose solution was removed
    return changed + orphans


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 when ``--check`` finds out-of-date exercises (2 for a bad ``--root``,
        from argparse).

    Used in: "Graded exercises".
    """
    parser = argparse.ArgumentParser(
        prog="python -m vgrad_course.grading.exercises",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--root", type=Path, default=Path(), help="the course root (default: this folder)"
    )
    parser.add_argument("--check", action="store_true", help="fail if exercises/ is out of date")
    args = parser.parse_args(argv)
    if not (args.root / "solutions").is_dir():
        parser.error(
            f"{args.root.resolve()} has no solutions/ folder: run from the course's root folder"
            " or pass --root DIR"
        )
    changed = generate(args.root, check=args.check)
    if args.check:
        for path in changed:
            print(
                f"out of date: {path} (run python -m vgrad_course.grading.exercises)",
                file=sys.stderr,
            )
        return 1 if changed else 0
    for path in changed:
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
