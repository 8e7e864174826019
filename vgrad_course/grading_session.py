"""Run one submitted notebook in a fresh kernel and score it with the grader's own checks.

The notebook runs on a copy in a temporary folder. Afterwards the grader injects one cell that
defines the exchange protocol (:mod:`vgrad_course.grading_protocol`) under a random name, reads
the answer variables, and calls the answer functions on inputs the checks generate *in the
grader's process*. All comparisons happen here, never in the kernel: printing a score, or
replacing the checker inside the notebook, changes nothing.
"""

from __future__ import annotations

import math
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell

from vgrad_course import checks
from vgrad_course.checker import REGISTRY, Fail, Result, run_cases, unscored
from vgrad_course.grading_protocol import HELPER, helper_namespace
from vgrad_course.grading_sandbox import kernel_pythonpath, modified_files, private_package

#: Seconds each call of a student function may take while the checks run.
CALL_TIMEOUT = 20.0
#: Seconds an interrupted kernel has to answer again before grading gives up on it.
_PING_TIMEOUT = 10
#: Seconds the client waits for a cell's last output message after its reply (nbclient's default).
_IOPUB_TIMEOUT = 4
#: The error name of the reply nbclient makes up when a cell runs out of time.
_TIMED_OUT = "VgradCellTimeout"
_KEEP_OUTPUT = ("error",)
_UNREACHED = "not scored: grading stopped before this question (see the notes above)"
_STUCK = "the kernel did not stop after an interrupt"


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


def check_limits(timeout: float, call_timeout: float) -> None:
    """Reject time limits that are not positive numbers.

    Args:
        timeout: Seconds per notebook.
        call_timeout: Seconds per call of a student function.

    Raises:
        ValueError: If either is not a finite number > 0.

    Used in: "Graded exercises" (the grader).
    """
    for name, value in (("timeout", timeout), ("call_timeout", call_timeout)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")


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

    def __init__(self, client: NotebookClient, exchange: Path, call_timeout: float) -> None:
        self.client = client
        self.exchange = exchange
        self.call_timeout = call_timeout
        self.name = f"_vgrad_{secrets.token_hex(6)}"
        self.protocol = helper_namespace()
        self.count = 0
        self.hung: set[str] = set()  # functions that ran out of time once: not called again
        self.stuck = False  # interrupted and never answered again: nothing more can run

    def run(self, source: str, timeout: float, *, outputs: bool = True) -> list:
        """Execute ``source``; return its error outputs.

        Args:
            source: The code.
            timeout: Seconds it may take.
            outputs: Whether its outputs matter. If not, the client waits only 1 s (instead
                of 4 s) for the kernel's last message after the reply: that wait is spent in
                full whenever the kernel is stuck.

        Raises:
            CellTimeoutError: If it ran out of time. The kernel has then been interrupted by
                the client, which keeps reading the kernel's messages: cancelling that reader
                instead (nbclient's default) leaves every later cell waiting seconds for output.
        """
        cell = new_code_cell(source)
        replies: list[dict] = []
        self.client.timeout = max(1, int(timeout))
        self.client.iopub_timeout = _IOPUB_TIMEOUT if outputs else 1
        self.client.on_cell_executed = lambda **kw: replies.append(kw["execute_reply"])
        self.client.execute_cell(cell, 0)
        if replies and replies[-1].get("content", {}).get("ename") == _TIMED_OUT:
            raise CellTimeoutError(f"no reply within {timeout:g} s")
        return [o for o in cell.outputs if o.get("output_type") == "error"]

    def responsive(self) -> bool:
        """Whether the kernel answers again (after an interrupt); if not, it is marked stuck."""
        try:
            self.run("pass", _PING_TIMEOUT, outputs=False)
        except CellTimeoutError:
            self.stuck = True
            # A graceful shutdown would wait seconds for it to quit (it cannot): kill it.
            self.client.shutdown_kernel = "immediate"
            return False
        return True

    def ensure_usable(self) -> None:
        """Raise :class:`RuntimeError` if the kernel is stuck, so that grading stops at once.

        Without this, every later fetch would wait for its own time limit on a kernel that
        can no longer run anything.
        """
        if self.stuck:
            raise RuntimeError(_STUCK)

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
        limit = f"{self.call_timeout:g} s"
        if self.stuck:
            raise Fail(f"not run: {_STUCK}")
        if answer in self.hung:
            raise Fail(f"not run: your function took longer than {limit} on an earlier case")
        in_path, out_path = self._path("in"), self._path("out")
        self.protocol["save"](in_path, {}, list(args), True)
        try:
            self.run(
                f"{self.name}['call']({self.name}['ns'], {answer!r}, {in_path!r}, {out_path!r})",
                self.call_timeout,
                outputs=False,  # the result comes back through the exchange folder
            )
        except CellTimeoutError:
            self.hung.add(answer)
            if not self.responsive():  # fail this case; grading stops before the next question
                raise Fail(f"your function took longer than {limit}; {_STUCK}") from None
            raise Fail(f"your function took longer than {limit}") from None
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


def grade_notebook(
    nb: nbformat.NotebookNode,
    filename: str,
    *,
    timeout: float,
    call_timeout: float = CALL_TIMEOUT,
) -> Graded:
    """Execute a submission in a fresh kernel, then score every question of its set.

    Args:
        nb: The submitted notebook (already parsed; the file itself is never touched).
        filename: Its file name (to identify the set when the metadata does not).
        timeout: Seconds allowed for running all of its cells.
        call_timeout: Seconds each call of a student function may take during the checks; a
            function that runs out of time is not called again (its later cases fail at once).

    Returns:
        The :class:`Graded` outcome.

    Used in: "Graded exercises" (the grader).
    """
    check_limits(timeout, call_timeout)
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
            interrupt_on_timeout=True,
            error_on_timeout={"ename": _TIMED_OUT, "evalue": "", "traceback": []},
            resources={"metadata": {"path": str(work)}},
        )
        package = private_package(Path(tmp) / "package")
        env = {**_environ(), "MPLBACKEND": "Agg", "VGRAD_STRICT": "0"}
        env["PYTHONPATH"] = kernel_pythonpath(package)
        try:
            with client.setup_kernel(env=env):
                kernel = _Kernel(client, exchange, call_timeout)
                _run_cells(kernel, nb, graded, deadline=time.monotonic() + timeout)
                kernel.install()
                for qid in qids:
                    kernel.ensure_usable()  # a function swallowed the interrupt: stop here
                    graded.results[qid] = run_cases(qid, _answer(kernel, qid))
                kernel.ensure_usable()
        except DeadKernelError:
            graded.notes.append("the kernel died (a cell crashed or exited the process)")
        except (CellTimeoutError, RuntimeError, OSError) as exc:
            graded.notes.append(f"grading stopped: {type(exc).__name__}: {exc}"[:300])
        tampered = modified_files(package)
    if tampered:
        listed = ", ".join(tampered[:5]) + (", ..." if len(tampered) > 5 else "")
        graded.notes.append(f"the notebook modified the course package ({listed}); scored 0")
        graded.results = {qid: unscored(qid, "scored 0: the package was modified") for qid in qids}
    for qid in qids:  # questions never reached score 0
        graded.results.setdefault(qid, unscored(qid, _UNREACHED))
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
            if not kernel.responsive():
                raise RuntimeError(_STUCK) from None
            return
        for err in errors:
            graded.notes.append(
                f"cell {index} raised {err.get('ename')}: {err.get('evalue')}"[:300]
            )


def _environ() -> dict[str, str]:
    """The grader's environment, passed on to the kernel."""
    import os

    return dict(os.environ)
