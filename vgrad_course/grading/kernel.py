"""The grader's side of one live kernel: run code with a time limit, exchange values.

A :class:`GradingKernel` wraps an nbclient :class:`~nbclient.NotebookClient` whose kernel runs a
submission. It executes code with a time limit (interrupting the kernel when it runs out),
notices a kernel that never answers again after an interrupt, and reads the student's answers
and calls their functions through the exchange protocol of
:mod:`vgrad_course.grading.protocol`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError
from nbformat.v4 import new_code_cell

from vgrad_course.grading import protocol
from vgrad_course.grading.registry import REGISTRY, Fail

#: Seconds an interrupted kernel has to answer again before grading gives up on it.
PING_TIMEOUT = 10
#: Seconds the client waits for a cell's last output message after its reply (nbclient's default).
IOPUB_TIMEOUT = 4
#: The error name of the reply nbclient makes up when a cell runs out of time.
TIMED_OUT = "VgradCellTimeout"
#: Why grading stops when a kernel swallowed the interrupt.
STUCK = "the kernel did not stop after an interrupt"
_KEEP_OUTPUT = ("error",)


class QuietClient(NotebookClient):
    """A notebook client that keeps only error outputs (an enormous print cannot flood it)."""

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> object:
        """Drop every output except errors."""
        if msg.get("msg_type") not in _KEEP_OUTPUT:
            return None
        return super().output(outs, msg, display_id, cell_index)


class GradingKernel:
    """The grader's side of a live kernel: execute code with a time limit, exchange values.

    Args:
        client: The client whose kernel runs the submission (inside ``setup_kernel``).
        exchange: A private folder for the values passed between grader and kernel.
        call_timeout: Seconds each call of a student function may take.

    Used in: "Graded exercises" (the grader).
    """

    def __init__(self, client: NotebookClient, exchange: Path, call_timeout: float) -> None:
        self.client = client
        self.exchange = exchange
        self.call_timeout = call_timeout
        self.name = f"_vgrad_{secrets.token_hex(6)}"
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
            RuntimeError: If the kernel is stuck (see :meth:`ensure_usable`).
            CellTimeoutError: If it ran out of time. The kernel has then been interrupted by
                the client, which keeps reading the kernel's messages: cancelling that reader
                instead (nbclient's default) leaves every later cell waiting seconds for output.
        """
        self.ensure_usable()
        cell = new_code_cell(source)
        replies: list[dict] = []
        self.client.timeout = max(1, int(timeout))
        self.client.iopub_timeout = IOPUB_TIMEOUT if outputs else 1
        self.client.on_cell_executed = lambda **kw: replies.append(kw["execute_reply"])
        self.client.execute_cell(cell, 0)
        if replies and replies[-1].get("content", {}).get("ename") == TIMED_OUT:
            raise CellTimeoutError(f"no reply within {timeout:g} s")
        return [o for o in cell.outputs if o.get("output_type") == "error"]

    def responsive(self) -> bool:
        """Whether the kernel answers again (after an interrupt); if not, it is marked stuck."""
        try:
            self.run("pass", PING_TIMEOUT, outputs=False)
        except CellTimeoutError:
            self.stuck = True
            # A graceful shutdown would wait seconds for it to quit (it cannot): kill it.
            self.client.shutdown_kernel = "immediate"
            return False
        return True

    def ensure_usable(self) -> None:
        """Raise :class:`RuntimeError` if the kernel is stuck, so that grading stops at once.

        :meth:`run` checks this first: without it, every later fetch would wait for its own
        time limit on a kernel that can no longer run anything. (:meth:`call` fails its case
        instead, because the checks turn every exception into a failed case.)
        """
        if self.stuck:
            raise RuntimeError(STUCK)

    def install(self) -> None:
        """Run the protocol's source in the kernel, in a namespace under a random name."""
        code = f"compile({protocol.source()!r}, '<vgrad-grading-protocol>', 'exec')"
        src = (
            f"{self.name} = {{'__name__': {self.name!r}}}\n"
            f"exec({code}, {self.name})\n"
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
        meta, value = protocol.load(path)
        return meta["status"], value if meta["status"] == "value" else meta.get("error")

    def call(self, answer: str, args: tuple) -> object:
        """Call the student's function ``answer`` in the kernel on ``args``; return its result."""
        limit = f"{self.call_timeout:g} s"
        if self.stuck:
            raise Fail(f"not run: {STUCK}")
        if answer in self.hung:
            raise Fail(f"not run: your function took longer than {limit} on an earlier case")
        in_path, out_path = self._path("in"), self._path("out")
        protocol.save(in_path, {}, list(args), has_value=True)
        try:
            self.run(
                f"{self.name}['call']({self.name}['ns'], {answer!r}, {in_path!r}, {out_path!r})",
                self.call_timeout,
                outputs=False,  # the result comes back through the exchange folder
            )
        except CellTimeoutError:
            self.hung.add(answer)
            if not self.responsive():  # fail this case; grading stops before the next question
                raise Fail(f"your function took longer than {limit}; {STUCK}") from None
            raise Fail(f"your function took longer than {limit}") from None
        try:
            meta, value = protocol.load(out_path)
        except (OSError, ValueError, KeyError) as exc:
            raise Fail(f"no result came back from your function ({type(exc).__name__})") from None
        if meta["status"] != "ok":
            raise Fail(f"your code raised {meta.get('error', 'an error')}")
        if meta.get("changed"):  # it changed its arguments in the kernel: show the change here
            value, after = value
            protocol.write_back(args, after)
        return value


def answer_of(kernel: GradingKernel, qid: str) -> object:
    """The student's answer to ``qid`` as the checks see it (a proxy for a function).

    Args:
        kernel: The kernel that ran the submission.
        qid: The question id.

    Returns:
        ``...`` when the variable is missing, a callable proxy for a function, an
        ``Unsupported`` marker for a value that cannot be sent, else the value.

    Used in: "Graded exercises" (the grader).
    """
    q = REGISTRY[qid]
    status, value = kernel.fetch(q.answer)
    if status == "missing":
        return ...
    if status == "function":
        return lambda *args: kernel.call(q.answer, args)
    if status == "error":
        return protocol.Unsupported(str(value))
    return value
