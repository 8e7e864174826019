"""Execute the book's notebooks in parallel into the book's jupyter-cache, before the build.

Jupyter Book 1.x executes notebooks one after another while it reads them. Filling its
jupyter-cache (``_build/.jupyter_cache``) first, with one kernel per core, lets the build that
follows pick every result from the cache. A notebook that fails here is simply not cached: the
build then executes it again and reports the error (``-W`` makes it fatal), so nothing is hidden.

Usage: ``python .ci/preexecute.py [--serial]`` (called by ``make book``; one kernel per core).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from jupyter_cache import get_cache
from jupyter_cache.executors import load_executor
from sphinx_external_toc.parsing import parse_toc_yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """Return the ``.ipynb`` files listed in ``_toc.yml``, in order (read as Jupyter Book does)."""
    found = [root / f"{docname}.ipynb" for docname in parse_toc_yaml(root / "_toc.yml")]
    return [path for path in found if path.is_file()]


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
    start = time.perf_counter()
    executor = load_executor("local-serial" if args.serial else "local-parallel", cache)
    result = executor.run_and_cache(timeout=args.timeout)
    print(
        f"pre-executed {len(result.succeeded)} notebooks, {len(result.errored)} failed "
        f"(the build will re-run and report those), {len(notebooks)} in the TOC, "
        f"in {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
