"""Shared helpers of the benchmarks: machine description, interleaved timing, ratio lines.

Benchmarks print ratios of times measured in the same run, on the same machine, interleaving
the variants so that a change in background load hits all of them alike. Absolute times are
printed for context only; no test asserts on them.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone


def machine() -> str:
    """One line describing the machine, the load on it and the time (UTC)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{platform.node() or 'host'}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load}, {now}"
    )


def interleaved(variants: dict[str, Callable[[], object]], *, repeats: int) -> dict[str, float]:
    """Run each variant ``repeats`` times, interleaved, and return each one's median time (s)."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def verdict(name: str, value: float, target: float) -> str:
    """Format ``name = value`` against an upper target, with PASS/OVER."""
    status = "PASS" if value <= target else "OVER"
    return f"{name} = {value:.2f} (target <= {target:g}): {status}"
