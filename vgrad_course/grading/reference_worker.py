"""The checks' trusted reference worker: TensorFlow measurements in a process of its own.

Three labs are graded on TensorFlow models, but the grader imports no TensorFlow, and it never
trusts a number a student's kernel reports about itself. So a check that needs a measurement
asks :func:`ask`: the first request starts ``vgrad_course.reference.worker`` (a subprocess of
the same package copy as this module, run isolated: ``python -I``), and later requests reuse
it, so TensorFlow starts once per process. Requests and replies are plain data: a JSON file
and an ``.npz`` of named arrays in a private folder, read with ``allow_pickle=False``; a line
on the worker's stdin and one on its stdout say that a file is ready. A student's model
crosses as its JSON config, rebuilt by the worker in Keras' safe mode.

Replies are memoised per process (the same request is measured once), and every request is
deterministic, so the same submission always gets the same grade.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from vgrad_course.grading.registry import Fail

#: Seconds one request may take before the worker is stopped (it trains at most a few models).
TIMEOUT = 300.0
#: The folder that holds the package this module belongs to (the worker runs the same copy).
ROOT = Path(__file__).resolve().parents[2]
#: The worker's entry point, run with ``-I`` and ``ROOT`` first on its path.
_LAUNCH = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
    "runpy.run_module('vgrad_course.reference.worker', run_name='__main__')"
)
Arrays = dict[str, np.ndarray]


class _Worker:
    """One running worker process and its private exchange folder."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="vgrad-reference-")
        self.log = open(os.path.join(self.folder, "worker.log"), "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _LAUNCH, str(ROOT), self.folder],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=self.folder,
        )
        self.pid = os.getpid()  # a forked child must start its own worker
        self.count = 0

    def request(self, task: str, args: dict, arrays: Arrays, timeout: float) -> tuple[dict, Arrays]:
        """Send one request and wait for its reply (or raise :class:`Fail`)."""
        self.count += 1
        stem = os.path.join(self.folder, f"req{self.count}")
        np.savez(stem + ".npz", **arrays)  # type: ignore[arg-type]
        with open(stem + ".json", "w") as fh:
            json.dump({"task": task, "args": args}, fh)
        try:
            self.proc.stdin.write(f"req{self.count}\n".encode())  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            raise Fail(self.trouble("it had stopped")) from None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode().strip() if ready else ""  # type: ignore[union-attr]
        if line != f"req{self.count}":
            why = f"no reply within {timeout:g} s" if not ready else "it stopped"
            self.stop()
            raise Fail(self.trouble(why))
        out = os.path.join(self.folder, f"res{self.count}")
        with open(out + ".json") as fh:
            reply = json.load(fh)
        with np.load(out + ".npz", allow_pickle=False) as data:
            result = {k: data[k] for k in data.files}
        for path in (stem, out):
            for suffix in (".json", ".npz"):
                os.remove(path + suffix)
        return reply, result

    def trouble(self, why: str) -> str:
        """A message for a failure of the worker itself (never the student's answer)."""
        self.log.flush()
        with open(self.log.name, "rb") as fh:
            tail = fh.read()[-300:].decode(errors="replace").strip().splitlines()
        last = f" ({tail[-1]})" if tail else ""
        return f"the grader's reference worker failed: {why}{last}; not a fault of your answer"

    def alive(self) -> bool:
        """Whether the process still runs and belongs to this process (not a fork's parent)."""
        return self.pid == os.getpid() and self.proc.poll() is None

    def stop(self) -> None:
        """End the process (closing its stdin makes it exit; kill it if it does not)."""
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_LOCK = threading.Lock()
_STATE: dict[str, object] = {"worker": None}
_MEMO: dict[str, tuple[dict, Arrays]] = {}


def _key(task: str, args: dict, arrays: Arrays) -> str:
    """A digest of a request: its task, its arguments and its arrays' bytes and shapes."""
    digest = hashlib.sha256(json.dumps([task, args], sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}{a.dtype}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def ask(
    task: str, args: dict, arrays: Arrays | None = None, *, timeout: float = TIMEOUT
) -> tuple[dict, Arrays]:
    """Ask the reference worker for a measurement; start it first if needed.

    Args:
        task: The worker's task, e.g. ``"doctor.fix"`` (see ``vgrad_course.reference.worker``).
        args: Plain JSON arguments (numbers, strings, lists, dicts).
        arrays: Named numeric arrays.
        timeout: Seconds the request may take.

    Returns:
        ``(result, arrays)``: the task's plain results and its named arrays.

    Raises:
        Fail: If the worker finds the input invalid (the message says why, for the student),
            or fails itself (the message says so).

    Used in: the checks of labs 3 to 5 (graded exercises).
    """
    arrays = {k: np.asarray(v) for k, v in (arrays or {}).items()}
    key = _key(task, args, arrays)
    with _LOCK:
        if key not in _MEMO:
            worker = _STATE["worker"]
            if not isinstance(worker, _Worker) or not worker.alive():
                worker = _STATE["worker"] = _Worker()
            reply, result = worker.request(task, args, arrays, timeout)
            if reply.get("status") == "error":
                raise Fail(worker.trouble(str(reply.get("error", "an error"))))
            _MEMO[key] = (reply, result)
    reply, result = _MEMO[key]
    if reply.get("status") == "invalid":
        raise Fail(str(reply.get("message")))
    return dict(reply.get("result", {})), dict(result)


def stop() -> None:
    """Stop the worker, if one runs (it also stops when this process ends).

    Used in: the checks of labs 3 to 5 (graded exercises).
    """
    with _LOCK:
        worker = _STATE["worker"]
        if isinstance(worker, _Worker) and worker.alive():
            worker.stop()
        _STATE["worker"] = None


atexit.register(stop)
