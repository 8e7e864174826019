"""Split a class's submissions across machines: a stable shard per submission name.

``--shard i/n`` grades the submissions whose name hashes to shard ``i`` of ``n``: the same
split on every machine and in every run, whatever order the files are listed in, so ``n``
machines (a CI matrix, a Slurm job array) each grade their share and
:func:`vgrad_course.grading.gradebook.merge` joins the shard gradebooks.
"""

from __future__ import annotations

import hashlib
import re

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """Read a shard given as ``"i/n"`` (1-based: ``1/4`` to ``4/4``).

    Args:
        text: The shard, e.g. ``"2/4"``.

    Returns:
        ``(i, n)``.

    Raises:
        ValueError: Unless ``text`` is ``i/n`` with ``1 <= i <= n``.

    Used in: "Graded exercises" (the grader).
    """
    found = _SHARD.match(str(text))
    if found is None:
        raise ValueError(f"a shard is written i/n, e.g. 2/4; got {text!r}")
    i, n = int(found.group(1)), int(found.group(2))
    if not 1 <= i <= n:
        raise ValueError(f"shard {i}/{n}: i must be between 1 and n")
    return i, n


def shard_of(name: str, n: int) -> int:
    """Return the shard (1..n) a submission belongs to, from a hash of its name.

    Args:
        name: The submission's name in the gradebook (e.g. ``"alice__07_clipping"``).
        n: The number of shards.

    Returns:
        A number from 1 to ``n``, the same on every machine (SHA-256, not Python's ``hash``).

    Used in: "Graded exercises" (the grader).
    """
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1
