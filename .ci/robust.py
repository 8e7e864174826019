"""Execute every book chapter under several seed offsets and another floating-point path.

A claim the book asserts must hold on the reader's machine, not only on the author's. Two cheap
stand-ins for "another machine" are run here, every chapter under each:

* ``+k``: every seed the package uses shifted by ``k`` (``VGRAD_SEED_OFFSET=k``);
* ``onednn``: seed offset 0 with TensorFlow's oneDNN kernels on (``TF_ENABLE_ONEDNN_OPTS=1``,
  TensorFlow's own default on x86), which changes the low bits of many results.

Executions run in parallel (one kernel per job) and a chapter × variant table is printed, with
the first line of each failure. The exit status is 1 if any execution fails.

Usage: ``python .ci/robust.py [chapters ...] [--offsets 1,2,3,4,5] [--no-onednn] [--jobs 2]``
(``make robust`` runs the defaults). A report is also written to ``_build/robust.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OFFSETS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Variant:
    """One way of re-running a chapter: a column of the table."""

    name: str
    env: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Outcome:
    """What one execution of one chapter under one variant gave."""

    chapter: str
    variant: str
    ok: bool
    seconds: float
    error: str = ""


def variants(offsets: list[int], *, onednn: bool) -> list[Variant]:
    """Return the table's columns: one per seed offset, then the oneDNN path."""
    found = [
        Variant(f"+{k}", (("VGRAD_SEED_OFFSET", str(k)), ("TF_ENABLE_ONEDNN_OPTS", "0")))
        for k in offsets
    ]
    if onednn:
        found.append(
            Variant("onednn", (("VGRAD_SEED_OFFSET", "0"), ("TF_ENABLE_ONEDNN_OPTS", "1")))
        )
    return found


def chapters(names: list[str]) -> list[Path]:
    """Return the book's chapter notebooks, or those whose file name contains one of ``names``."""
    found = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    if names:
        found = [p for p in found if any(n in p.name for n in names)]
        if not found:
            raise SystemExit(f"no chapter matches {names}")
    return found


def _offsets(text: str) -> list[int]:
    """Parse ``--offsets 1,2,3`` (one argument, so chapter names after it stay chapter names)."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"offsets are comma-separated integers such as 1,2,3; got {text!r}"
        ) from None


def _first_error_line(exc: BaseException) -> str:
    """The most telling line of a cell error: the exception's last line, shortened."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "assert" in line:
            return line.strip()[:160]
    return (lines[-1] if lines else type(exc).__name__).strip()[:160]


def execute(path: Path, variant: Variant, timeout: int) -> Outcome:
    """Execute one notebook under one variant in a fresh kernel (run in a worker process)."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.update(dict(variant.env))  # inherited by the kernel this worker starts
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        interrupt_on_timeout=True,
        # The kernel's own start-up warning (TCP on localhost) is not a finding of this run.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as exc:  # a failed cell is the outcome we report, not a crash of the run
        return Outcome(
            path.stem, variant.name, False, time.perf_counter() - start, _first_error_line(exc)
        )
    return Outcome(path.stem, variant.name, True, time.perf_counter() - start)


def table(outcomes: list[Outcome], names: list[str], columns: list[str]) -> str:
    """Render the chapter × variant table (Markdown), then the failures' first lines."""
    cell = {(o.chapter, o.variant): o for o in outcomes}
    rows = ["| chapter | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name in names:
        marks = []
        for column in columns:
            o = cell.get((name, column))
            marks.append("—" if o is None else f"{'pass' if o.ok else '**FAIL**'} {o.seconds:.0f}s")
        rows.append(f"| {name} | " + " | ".join(marks) + " |")
    failures = [o for o in outcomes if not o.ok]
    if failures:
        rows.append("")
        rows += [f"- {o.chapter} [{o.variant}]: {o.error}" for o in failures]
    return "\n".join(rows)


def main() -> int:
    """Run the matrix, print the table and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="only chapters whose file name contains these")
    parser.add_argument(
        "--offsets",
        type=_offsets,
        default=list(DEFAULT_OFFSETS),
        help="comma-separated seed offsets (default 1,2,3,4,5), e.g. --offsets 0,6,7",
    )
    parser.add_argument("--no-onednn", action="store_true", help="skip the oneDNN column")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    args = parser.parse_args()
    notebooks = chapters(args.chapters)
    columns = variants(args.offsets, onednn=not args.no_onednn)
    if not columns:
        raise SystemExit("nothing to run: give --offsets or drop --no-onednn")
    start = time.perf_counter()
    outcomes: list[Outcome] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(execute, path, variant, args.timeout)
            for variant in columns
            for path in notebooks
        ]
        for future in as_completed(futures):
            o = future.result()
            outcomes.append(o)
            status = "pass" if o.ok else f"FAIL: {o.error}"
            print(
                f"[{len(outcomes)}/{len(futures)}] {o.chapter} {o.variant}: {status} "
                f"({o.seconds:.0f} s)",
                flush=True,
            )
    report = table(outcomes, [p.stem for p in notebooks], [v.name for v in columns])
    failed = sum(not o.ok for o in outcomes)
    summary = (
        f"{len(outcomes) - failed} of {len(outcomes)} executions passed "
        f"in {time.perf_counter() - start:.0f} s with {args.jobs} jobs"
    )
    print("\n" + report + "\n\n" + summary)
    out = ROOT / "_build" / "robust.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(f"# Robustness run\n\n{report}\n\n{summary}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
