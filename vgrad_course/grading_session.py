"""Run one submitted notebook in a fresh kernel and score it with the grader's own checks.

The notebook runs on a copy in a temporary folder. Afterwards the grader injects one cell that
defines the exchange protocol (:mod:`vgrad_course.grading_protocol`) under a random name, reads
the answer variables, and calls the answer functions on inputs the checks generate *in the
grader's process*. All comparisons happen here, never in the kernel: printing a score, or
replacing the checker inside the notebook, changes nothing.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_code_cell

from vgrad_course import checks
from vgrad_course.checker import REGISTRY, Fail, Result, run_cases
from vgrad_course.grading_protocol import HELPER, helper_namespace

#: Seconds each call of a student function may take while the checks run.
CALL_TIMEOUT = 20.0
_KEEP_OUTPUT = ("error",)


class _QuietClient(NotebookClient):
    """A notebook client that keeps only error outputs (an enormous print cannot flood it)."""

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> object:
        """Drop every output except errors."""
        if msg.get("msg_type") not in _KEEP_OUTPUT:
            return None
        return super().output(outs, msg, display_id, cell_index)


@dataclass
class Graded:
    """The outcome of grading one submission.

    Attributes:
        set_name: The exercise set it was graded as (``""`` if unknown).
        results: One :class:`Result` per question of the set.
        notes: Problems met while running it (errors, timeouts, a crash).
    """

    set_name: str
    results: dict[str, Result] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def identify_set(nb: nbformat.NotebookNode, filename: str) -> str:
    """Find the exercise set of a notebook: its metadata, else its file name.

    Args:
        nb: The notebook.
        filename: Its file name.

    Returns:
        A key of :data:`vgrad_course.checks.SETS`, or ``""`` when unknown.

    Used in: "Graded exercises" (the grader).
    """
    meta = nb.get("metadata", {}).get("vgrad", {})
    name = meta.get("exercise_set") if isinstance(meta, dict) else None
    if name in checks.SETS:
        return name
    for key, stem in checks.SETS.items():
        if stem in filename:
            return key
    return ""


class _Kernel:
    """The grader's side of a live kernel: execute code with a time limit, exchange values."""

    def __init__(self, client: NotebookClient, exchange: Path) -> None:
        self.client = client
        self.exchange = exchange
        self.name = f"_vgrad_{secrets.token_hex(6)}"
        self.protocol = helper_namespace()
        self.count = 0

    def run(self, source: str, timeout: float) -> list:
        """Execute ``source``; return its error outputs."""
        cell = new_code_cell(source)
        self.client.timeout = max(1, int(timeout))
        self.client.execute_cell(cell, 0)
        return [o for o in cell.outputs if o.get("output_type") == "error"]

    def interrupt(self) -> None:
        """Interrupt the kernel (its manager is asynchronous)."""
        run_sync(self.client.km.interrupt_kernel)()

    def install(self) -> None:
        """Define the protocol in the kernel under a random name."""
        src = (
            f"{self.name} = {{}}\n"
            f"exec({HELPER!r}, {self.name})\n"
            f"{self.name}['ns'] = __import__('IPython').get_ipython().user_ns"
        )
        if self.run(src, 30):
            raise RuntimeError("could not install the grading protocol in the kernel")

    def _path(self, stem: str) -> str:
        self.count += 1
        return str(self.exchange / f"{stem}{self.count}")

    def fetch(self, answer: str) -> tuple[str, object]:
        """Return (status, value) of the notebook global ``answer``."""
        path = self._path("fetch")
        self.run(f"{self.name}['fetch']({self.name}['ns'], {answer!r}, {path!r})", 30)
        meta, value = self.protocol["load"](path)
        return meta["status"], value if meta["status"] == "value" else meta.get("error")

    def call(self, answer: str, args: tuple) -> object:
        """Call the student's function ``answer`` in the kernel on ``args``; return its result."""
        in_path, out_path = self._path("in"), self._path("out")
        self.protocol["save"](in_path, {}, list(args), True)
        try:
            self.run(
                f"{self.name}['call']({self.name}['ns'], {answer!r}, {in_path!r}, {out_path!r})",
                CALL_TIMEOUT,
            )
        except CellTimeoutError:
            self.interrupt()
            raise Fail(f"your function took longer than {CALL_TIMEOUT:g} s") from None
        try:
            meta, value = self.protocol["load"](out_path)
        except (OSError, ValueError, KeyError) as exc:
            raise Fail(f"no result came back from your function ({type(exc).__name__})") from None
        if meta["status"] != "ok":
            raise Fail(f"your code raised {meta.get('error', 'an error')}")
        return value


def _answer(kernel: _Kernel, qid: str) -> object:
    """The student's answer to ``qid`` as the checks see it (a proxy for a function)."""
    q = REGISTRY[qid]
    status, value = kernel.fetch(q.answer)
    if status == "missing":
        return ...
    if status == "function":
        return lambda *args: kernel.call(q.answer, args)
    if status == "error":
        return kernel.protocol["Unsupported"](str(value))
    return value


def grade_notebook(nb: nbformat.NotebookNode, filename: str, *, timeout: float) -> Graded:
    """Execute a submission in a fresh kernel, then score every question of its set.

    Args:
        nb: The submitted notebook (already parsed; the file itself is never touched).
        filename: Its file name (to identify the set when the metadata does not).
        timeout: Seconds allowed for running all of its cells.

    Returns:
        The :class:`Graded` outcome.

    Used in: "Graded exercises" (the grader).
    """
    set_name = identify_set(nb, filename)
    graded = Graded(set_name)
    if not set_name:
        graded.notes.append("could not tell which exercise set this notebook belongs to")
        return graded
    qids = checks.questions_of(set_name)
    with tempfile.TemporaryDirectory(prefix="vgrad-grade-") as tmp:
        work, exchange = Path(tmp) / "work", Path(tmp) / "exchange"
        work.mkdir()
        exchange.mkdir()
        nbformat.write(nb, work / "submission.ipynb")
        client = _QuietClient(
            nb,
            timeout=int(timeout),
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(work)}},
        )
        env = {**_environ(), "MPLBACKEND": "Agg", "VGRAD_STRICT": "0"}
        try:
            with client.setup_kernel(env=env):
                kernel = _Kernel(client, exchange)
                _run_cells(kernel, nb, graded, deadline=time.monotonic() + timeout)
                kernel.install()
                for qid in qids:
                    graded.results[qid] = run_cases(qid, _answer(kernel, qid))
        except DeadKernelError:
            graded.notes.append("the kernel died (a cell crashed or exited the process)")
        except (CellTimeoutError, RuntimeError, OSError) as exc:
            graded.notes.append(f"grading stopped: {type(exc).__name__}: {exc}"[:300])
    for qid in qids:  # questions never reached score 0
        graded.results.setdefault(qid, run_cases(qid, ...))
    return graded


def _run_cells(
    kernel: _Kernel, nb: nbformat.NotebookNode, graded: Graded, *, deadline: float
) -> None:
    """Run the notebook's code cells until done or out of time, noting errors."""
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or not cell.get("source", "").strip():
            continue
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise CellTimeoutError("no time left")
            errors = kernel.run(cell.source, left)
        except CellTimeoutError:
            graded.notes.append(f"cell {index} did not finish within the time limit; stopped")
            kernel.interrupt()
            kernel.run("pass", 30)  # raises if the kernel cannot be brought back
            return
        for err in errors:
            graded.notes.append(
                f"cell {index} raised {err.get('ename')}: {err.get('evalue')}"[:300]
            )


def _environ() -> dict[str, str]:
    """The grader's environment, passed on to the kernel."""
    import os

    return dict(os.environ)
