"""Time the whole test suite from a clean state, per notebook, against a floor.

Runs the README's test command (``pytest -n 2 --dist loadfile --nbval-lax -p no:randomly
tests book exercises solutions``) with per-test durations, after deleting pytest/bytecode
caches, and prints:

- each notebook's time (sum of its cells' setup/call/teardown, as one xdist worker ran it),
  slowest first, then the unit tests' total;
- the suite's wall time (target <= 8 min on 2 cores);
- the floor: (kernel start + ``import keras``) measured here, x the number of kernels the suite
  starts (nbval's notebooks *and* the notebooks the grader tests run, counted by an IPython
  startup file in a private ``IPYTHONDIR``) / workers, and total / floor (target <= 3).

Run: ``.venv/bin/python benchmarks/bench_suite.py [--workers 2]``. Takes as long as the suite.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import machine, verdict

ROOT = Path(__file__).resolve().parents[1]
SUITE_PATHS = [p for p in ("tests", "book", "exercises", "solutions") if (ROOT / p).is_dir()]
DURATION = re.compile(r"^\s*([0-9.]+)s\s+(setup|call|teardown)\s+(\S+?)::")


def kernel_floor(repeats: int = 2) -> float:
    """Median wall time (s) to start a Python kernel and run ``import keras`` in it."""
    from jupyter_client.manager import start_new_kernel

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3", stderr=subprocess.DEVNULL)
        try:
            reply = kc.execute_interactive("import keras", timeout=120)
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def clean() -> None:
    """Remove caches that could make the suite faster than on a fresh clone."""
    shutil.rmtree(ROOT / ".pytest_cache", ignore_errors=True)
    for cache in ROOT.rglob("__pycache__"):
        if ".venv" not in cache.parts:
            shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    os.environ.update(TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    print(machine())
    per_kernel = kernel_floor()
    clean()
    ipython_dir = Path(tempfile.mkdtemp(prefix="bench-ipython-"))
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True)
    kernel_log = ipython_dir / "kernels.log"
    (startup / "00-count.py").write_text(
        f"with open({str(kernel_log)!r}, 'a') as _fh:\n    _fh.write('kernel\\n')\n"
    )
    env["IPYTHONDIR"] = str(ipython_dir)
    cmd = [sys.executable, "-m", "pytest", "-n", str(args.workers), "--dist", "loadfile"]
    cmd += ["--nbval-lax", "-p", "no:randomly", "--durations=0", "--durations-min=0", "-q"]
    start = time.perf_counter()
    result = subprocess.run(cmd + SUITE_PATHS, cwd=ROOT, env=env, capture_output=True, text=True)
    total = time.perf_counter() - start
    per_file: dict[str, float] = defaultdict(float)
    for line in result.stdout.splitlines():
        match = DURATION.match(line)
        if match:
            per_file[match.group(3)] += float(match.group(1))
    # Solutions are collected by nbval but skipped (the grader test executes them).
    notebooks = {f: t for f, t in per_file.items() if f.endswith(".ipynb") and t >= 0.5}
    unit = sum(t for f, t in per_file.items() if not f.endswith(".ipynb"))
    kernels = len(kernel_log.read_text().splitlines()) if kernel_log.exists() else 0
    shutil.rmtree(ipython_dir, ignore_errors=True)
    print(f"{'notebook':40s} time (s)")
    for name, t in sorted(notebooks.items(), key=lambda kv: -kv[1]):
        print(f"{name:40s} {t:7.1f}")
    print(f"{'unit tests (all tests/*.py)':40s} {unit:7.1f}, of which the slowest files:")
    tests = {f: t for f, t in per_file.items() if not f.endswith(".ipynb")}
    for name, t in sorted(tests.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {name:38s} {t:7.1f}")
    summary = [line for line in result.stdout.splitlines() if re.search(r"passed|failed", line)]
    print("pytest:", summary[-1].strip("= ") if summary else "no summary line", end="")
    print(f" (exit code {result.returncode})")
    floor = per_kernel * kernels / args.workers
    print(f"suite wall time: {total:.0f} s = {total / 60:.1f} min on {args.workers} workers")
    print(
        f"floor: kernel start + import keras = {per_kernel:.1f} s x {kernels} kernels"
        f" ({len(notebooks)} run by nbval, {kernels - len(notebooks)} by the grader tests)"
        f" / {args.workers} workers = {floor:.0f} s"
    )
    print(verdict("total / 8 min", total / 480.0, 1.0))
    if floor > 0:
        print(verdict("total / floor", total / floor, 3.0))
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:])
        raise SystemExit(result.returncode)


if __name__ == "__main__":
    main()
