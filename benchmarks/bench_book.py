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


def build(path_output: Path) -> float:
    """Build the book once and return the wall time (s); raise if the build fails."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"]
    cmd += ["--path-output", str(path_output)]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-5000:] + result.stderr[-5000:])
        raise SystemExit(f"the book build failed (rc {result.returncode})")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path-output", type=Path, default=ROOT)
    args = parser.parse_args()
    print(machine())
    first = build(args.path_output)
    print(f"first build (brings the cache up to date): {first:.1f} s")
    warm = build(args.path_output)
    print(f"warm rebuild, nothing changed: {warm:.1f} s")
    print(verdict("warm rebuild / 20 s", warm / 20.0, 1.0))


if __name__ == "__main__":
    main()
