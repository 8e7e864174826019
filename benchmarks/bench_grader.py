"""The grader's throughput: notebooks per minute per core, and the speed-up of --jobs 2 over 1.

A class is stood in for by every solution notebook (each a full-marks submission of its set,
so every check runs): ``python -m vgrad_course.grade`` grades that folder with ``--jobs 1``
and with ``--jobs 2``, interleaved (1, 2, 1, 2, ...), each in a fresh process as an instructor
runs it. Printed: notebooks per minute (wall clock) and per core in use; the speed-up
``rate(--jobs 2) / rate(--jobs 1)`` (target >= 1.5 on two cores).

Then what one notebook costs, by grading notebooks alone, one after the other: an empty one
(the grader process, the box, a kernel, the submission's private copy of the package), one
that only starts the course with TensorFlow (``vg.setup``), and each solution (median).

Run: ``.venv/bin/python benchmarks/bench_grader.py [--repeats 2]`` (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from _common import machine
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
SETUP = "import vgrad_course as vg\nvg.setup(seed=0)"


def _children_cpu() -> float:
    """CPU seconds used so far by the finished child processes (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def grade(folder: Path, jobs: int) -> tuple[float, float]:
    """Grade ``folder`` in a fresh grader process; return (wall seconds, CPU seconds)."""
    out = folder.parent / f"out-{jobs}" / "grades.csv"
    shutil.rmtree(out.parent, ignore_errors=True)
    cmd = [sys.executable, "-m", "vgrad_course.grade", str(folder), "--out", str(out)]
    cmd += ["--jobs", str(jobs), "--no-progress"]
    cpu, start = _children_cpu(), time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=folder.parent)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"the grader failed (rc {result.returncode}):\n{result.stderr[-3000:]}")
    return wall, _children_cpu() - cpu


def _one_cell(folder: Path, name: str, source: str) -> Path:
    """A notebook with one code cell, alone in its own folder under ``folder``."""
    path = folder / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True)
    nb = new_notebook(cells=[new_code_cell(source)])
    nb.metadata["vgrad"] = {"exercise_set": "gd"}  # a known set: the grader runs it
    nbformat.write(nb, path)
    return path.parent


def cost_split(work: Path, solutions: list[Path]) -> dict[str, float]:
    """Seconds to grade, alone: an empty notebook, one that starts the course, each solution."""
    costs = {
        "empty notebook": grade(_one_cell(work, "empty", "pass"), 1)[0],
        "vg.setup only": grade(_one_cell(work, "setup", SETUP), 1)[0],
    }
    times = []
    for path in solutions:
        single = work / "single" / path.stem
        single.mkdir(parents=True)
        shutil.copy(path, single)
        times.append(grade(single, 1)[0])
    costs["median solution"] = statistics.median(times)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="interleaved runs per variant")
    args = parser.parse_args()
    print(machine())
    solutions = sorted((ROOT / "solutions").glob("*.ipynb"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        klass = work / "class" / "submissions"
        klass.mkdir(parents=True)
        for path in solutions:
            shutil.copy(path, klass)
        n = len(solutions)
        walls: dict[int, list[float]] = {1: [], 2: []}
        cpus: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.repeats):
            for jobs in (1, 2):
                wall, cpu = grade(klass, jobs)
                walls[jobs].append(wall)
                cpus[jobs].append(cpu)
                print(f"  --jobs {jobs}: {n} notebooks in {wall:.1f} s (CPU {cpu:.1f} s)")
        cores = os.cpu_count() or 1
        rate = {}
        for jobs in (1, 2):
            wall, cpu = statistics.median(walls[jobs]), statistics.median(cpus[jobs])
            rate[jobs] = 60 * n / wall
            print(
                f"--jobs {jobs}: {rate[jobs]:.1f} notebooks/min, "
                f"{rate[jobs] / min(jobs, cores):.1f} per core in use (medians of "
                f"{args.repeats}; CPU {cpu:.1f} s: only processes the grader waited for, "
                "not kernels ended with their box)"
            )
        speedup = rate[2] / rate[1]
        status = "PASS" if speedup >= 1.5 else "UNDER"
        print(f"speed-up rate(--jobs 2) / rate(--jobs 1) = {speedup:.2f} (target >= 1.5): {status}")
        costs = cost_split(work / "alone", solutions)
    print("What one notebook costs, graded alone (a grader process each, wall clock):")
    for name, seconds in costs.items():
        print(f"  {name:<16} {seconds:6.1f} s")
    start, tf_import = costs["empty notebook"], costs["vg.setup only"] - costs["empty notebook"]
    print(
        f"grader + box + kernel start {start:.1f} s per notebook; starting TensorFlow adds "
        f"{tf_import:.1f} s (only in the sets that need it); the median solution "
        f"{costs['median solution']:.1f} s in all"
    )


if __name__ == "__main__":
    main()
