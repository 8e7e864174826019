"""Execute the book's notebooks in parallel into the book's jupyter-cache, before the build.

Jupyter Book 1.x executes notebooks one after another while it reads them. Filling its
jupyter-cache (``_build/.jupyter_cache``) first, with one kernel per core, lets the build that
follows pick every result from the cache. A notebook that fails here is simply not cached: the
build then executes it again and reports the error (``-W`` makes it fatal), so nothing is hidden.

Usage: ``python .ci/preexecute.py [--serial]`` (called by ``make book``; one kernel per core).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from jupyter_cache import get_cache
from jupyter_cache.executors import load_executor
from jupyter_cache.executors.basic import ExecutionWorkerLocalMProc, ProcessData
from sphinx_external_toc.parsing import parse_toc_yaml

ROOT = Path(__file__).resolve().parents[1]
#: Outcome codes of jupyter-cache's execution worker.
STATUS = {0: "ok", 1: "FAILED (a cell raised)", 2: "FAILED (could not run or cache)"}


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """Return the ``.ipynb`` files listed in ``_toc.yml``, in order (read as Jupyter Book does)."""
    found = [root / f"{docname}.ipynb" for docname in parse_toc_yaml(root / "_toc.yml")]
    return [path for path in found if path.is_file()]


def longest_first(uri: str) -> int:
    """Sort key: the chapters (10-30 s each) before the exercise notebooks (1-8 s each).

    With one kernel per core, a long notebook started last leaves the other cores idle while it
    runs; the short exercise notebooks fill the end instead.
    """
    return 0 if Path(uri).parent.name == "book" else 1


def run_one(data: ProcessData) -> tuple[int, str, float]:
    """Execute and cache one notebook (in a worker process); return (status, uri, seconds)."""
    start = time.perf_counter()
    status, uri = ExecutionWorkerLocalMProc()(data)
    return status, uri, time.perf_counter() - start


def progress_line(uri: str, status: int, seconds: float, *, done: int, total: int) -> str:
    """One line per notebook: how many are done, its name, its time and whether it passed."""
    name = Path(uri).resolve()
    try:
        name = name.relative_to(ROOT)
    except ValueError:
        pass
    return f"[{done:>2}/{total}] {str(name):<40} {seconds:6.1f} s  {STATUS.get(status, status)}"


def main() -> None:
    """Add the TOC's notebooks to the cache project and execute the outdated ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serial", action="store_true", help="one notebook at a time")
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args()
    cache = get_cache(str(ROOT / "_build" / ".jupyter_cache"))
    notebooks = toc_notebooks()
    for path in notebooks:
        cache.add_nb_to_project(str(path))
    executor = load_executor("local-parallel", cache)
    records = sorted(
        executor.get_records(None, None, clear_tracebacks=True), key=lambda r: longest_first(r.uri)
    )
    jobs = 1 if args.serial else (os.cpu_count() or 1)
    print(
        f"pre-executing {len(records)} of the {len(notebooks)} notebooks in the TOC "
        f"({len(notebooks) - len(records)} cached) with {jobs} kernel(s) at a time",
        flush=True,
    )
    start = time.perf_counter()
    outcomes: list[int] = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(run_one, ProcessData(r.pk, r.uri, cache, args.timeout, False))
            for r in records
        ]
        for future in as_completed(futures):
            status, uri, seconds = future.result()
            outcomes.append(status)
            line = progress_line(uri, status, seconds, done=len(outcomes), total=len(records))
            print(line, flush=True)
    failed = sum(1 for s in outcomes if s != 0)
    print(
        f"pre-executed {len(outcomes) - failed} notebooks, {failed} failed (the build will "
        f"re-run and report those), in {time.perf_counter() - start:.0f} s",
        file=sys.stdout,
        flush=True,
    )


if __name__ == "__main__":
    main()
