"""Time a warm rebuild of the book (nothing changed since the last build). Target: <= 20 s.

Runs ``jupyter-book build . -W -n --keep-going`` twice into the same output folder: the first
build brings the Sphinx environment and the jupyter-cache up to date (it executes any notebook
whose code changed, so on a fresh clone it is the full cold build); the second one, with nothing
changed, is the warm rebuild a writer waits for after saving a file. Prints both times.

Run: ``.venv/bin/python benchmarks/bench_book.py [--path-output DIR]`` (default: the repository,
i.e. ``_build/``; pass e.g. ``/tmp/book`` to leave ``_build/`` alone).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from _common import machine, verdict

ROOT = Path(__file__).resolve().parents[1]


def build(path_output: Path, *, strict: bool = True) -> tuple[float, int]:
    """Build the book once; return the wall time (s) and the number of notebooks executed."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jupyter_book), "build", ".", "-n", "--keep-going"] + (["-W"] if strict else [])
    cmd += ["--path-output", str(path_output)]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-5000:] + result.stderr[-5000:])
        raise SystemExit(f"the book build failed (rc {result.returncode})")
    return elapsed, (result.stdout + result.stderr).count("Executing notebook")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path-output", type=Path, default=ROOT)
    parser.add_argument(
        "--allow-warnings",
        action="store_true",
        help="build without -W (to time a rebuild while some page still has warnings)",
    )
    args = parser.parse_args()
    strict = not args.allow_warnings
    print(machine())
    first, executed = build(args.path_output, strict=strict)
    print(f"first build (brings the cache up to date): {first:.1f} s, {executed} notebooks run")
    warm, executed = build(args.path_output, strict=strict)
    print(f"warm rebuild: {warm:.1f} s, {executed} notebooks executed")
    if executed:
        print("NOT a warm rebuild: notebooks changed during the benchmark (they were re-executed)")
    print(verdict("warm rebuild / 20 s", warm / 20.0, 1.0))


if __name__ == "__main__":
    main()
