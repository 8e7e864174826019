"""The box each student's kernel runs in: namespaces, a file system of its own, resource limits.

:func:`choose` picks the strongest box the machine offers, once per run; every kernel starts
in it (:meth:`Box.prepare`). No daemon: a box is a process tree that ends with its kernel.

- ``bwrap`` (bubblewrap): new user, PID, mount, network, IPC, UTS and cgroup namespaces, no
  capabilities. The kernel sees ``/usr``, a few files of ``/etc`` and the Python installation
  read-only, a new ``/proc`` (its own processes only), a minimal ``/dev``, one size-limited
  tmpfs as ``/tmp`` (its working folder and home), and the folders it shares with the grader
  (connection file and sockets, the answers exchanged, its private package copy).
- ``unshare`` (util-linux), when bubblewrap is missing or fails: new user, PID, mount (a new
  ``/proc``), network and IPC namespaces; the file system is the grader's own.
- ``none``: no box (``--no-containment``, or neither works), with a loud warning.

In every mode the kernel sets its own limits first (:class:`Limits`); in a box it has a clean
environment, talks ZMQ over Unix sockets (a new network namespace cannot reach the grader's
TCP ports) and is interrupted by a message (a ``SIGINT`` would end ``bwrap``).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

KINDS = ("bwrap", "unshare", "none")
MIB, GIB = 1 << 20, 1 << 30
#: Inside a bwrap box: its home and working folder (on its tmpfs ``/tmp``).
BOX_HOME, BOX_WORK = "/tmp/home", "/tmp/work"
_UNSHARE = "--user --map-root-user --pid --fork --kill-child --mount --mount-proc --net --ipc --uts"
_BWRAP = (
    "--unshare-user --unshare-pid --unshare-net --unshare-ipc --unshare-uts --unshare-cgroup-try "
    "--die-with-parent --new-session"
)
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = (
    "alternatives fonts group host.conf hosts ld.so.cache ld.so.conf ld.so.conf.d localtime "
    "mime.types nsswitch.conf os-release passwd timezone"
).split()
#: What a boxed kernel keeps of the grader's environment: settings that change results.
PASSED_ENV = (
    "LANG LC_ALL LC_CTYPE TZ LD_LIBRARY_PATH PYTHONHASHSEED KERAS_BACKEND OMP_NUM_THREADS "
    "MKL_NUM_THREADS OPENBLAS_NUM_THREADS VGRAD_SEED_OFFSET TF_CPP_MIN_LOG_LEVEL "
    "TF_ENABLE_ONEDNN_OPTS TF_NUM_INTRAOP_THREADS TF_NUM_INTEROP_THREADS"
).split()
#: Run by the kernel's Python first: lower its limits for good, then start ipykernel. Its
#: parent is pid 1 of the box, not the grader: ``JPY_PARENT_PID=1`` keeps ipykernel from
#: quitting at once when it sees that.
_LAUNCH = """\
import os, resource, sys
del sys.path[0]
for name, value in {limits!r}:
    kind = resource.__dict__[name]
    hard = resource.getrlimit(kind)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(kind, (value, value))
{parent}from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""
_NOT_CONTAINED = (
    "WARNING: NOT CONTAINED: student code runs with the grader's permissions; it can read and "
    "change your files, other submissions and the gradebook, use the network, and leave "
    "processes running"
)


@dataclass(frozen=True)
class Limits:
    """What one notebook may use (each a ``python -m vgrad_course.grade`` option).

    Attributes:
        memory: Bytes of data per process (``RLIMIT_DATA``: heap, arrays, thread stacks).
        file_size: Bytes per file written (``RLIMIT_FSIZE``).
        disk: Bytes of the tmpfs holding the working folder, home and ``/tmp`` (bwrap only).
        processes: Processes and threads of the box's user (``RLIMIT_NPROC``; in a box only).
    """

    memory: int = 3 * GIB
    file_size: int = 256 * MIB
    disk: int = 512 * MIB
    processes: int = 512


@dataclass(frozen=True)
class Box:
    """A kind of box and the limits of every kernel started in it.

    Args:
        kind: ``"bwrap"``, ``"unshare"`` or ``"none"``.
        limits: The :class:`Limits`.
        reason: Why a stronger kind was not used (empty when nothing was missing).

    Used in: "Graded exercises" (the grader).
    """

    kind: str = "none"
    limits: Limits = field(default_factory=Limits)
    reason: str = ""

    @property
    def boxed(self) -> bool:
        """Whether kernels run in namespaces of their own."""
        return self.kind != "none"

    def summary(self) -> str:
        """One line for the run's summary: the box and every limit."""
        spaces = "own user, PID, mount, network and IPC namespaces"
        files = "own file system" if self.kind == "bwrap" else "the file system is NOT isolated"
        what = f"{self.kind} ({spaces}; {files})" if self.boxed else "NONE"
        lim = self.limits
        parts = [f"memory {size_text(lim.memory)}", f"files {size_text(lim.file_size)} each"]
        if self.kind == "bwrap":
            parts.append(f"disk {size_text(lim.disk)}")
        if self.boxed:
            root = " (not enforced for root)" if os.name == "posix" and os.geteuid() == 0 else ""
            parts.append(f"{lim.processes} processes{root}")
        why = f" [{self.reason}]" if self.reason else ""
        return f"containment: {what}{why}; per notebook: {', '.join(parts)}"

    @property
    def warning(self) -> str:
        """The loud warning for the output and every feedback file ("" when contained)."""
        return "" if self.boxed else _NOT_CONTAINED

    def hint(self, ename: str, evalue: str) -> str:
        """What a limit has to do with an error a cell raised ("" when nothing)."""
        lim = self.limits
        if ename == "MemoryError":
            return f" (memory limit: {size_text(lim.memory)} per notebook)"
        if evalue.startswith("[Errno 27]"):
            return f" (file size limit: {size_text(lim.file_size)} per file)"
        if evalue.startswith("[Errno 28]") and self.kind == "bwrap":
            return f" (disk limit: {size_text(lim.disk)} for the working folder and /tmp)"
        if evalue.startswith("[Errno 30]") and self.kind == "bwrap":
            return " (only the working folder and /tmp are writable)"
        return ""

    def environment(self, pythonpath: str) -> dict[str, str]:
        """The kernel's environment: the grader's own without a box, else a clean one.

        Args:
            pythonpath: The kernel's ``PYTHONPATH`` (its private package copy first).

        Returns:
            The variables.
        """
        env = dict(os.environ) if not self.boxed else {}
        env.update({k: os.environ[k] for k in PASSED_ENV if k in os.environ})
        bin_dir = os.path.dirname(sys.executable)
        # VGRAD_GRADING: the notebook's own check(...) calls skip their cases (the grader
        # scores every answer itself, so running them in the kernel too only cost time).
        env.update(MPLBACKEND="Agg", VGRAD_STRICT="0", VGRAD_GRADING="1", PYTHONPATH=pythonpath)
        if self.boxed:
            env["PATH"] = os.pathsep.join([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"])
            env["HOME"] = BOX_HOME if self.kind == "bwrap" else os.path.expanduser("~")
        if self.kind == "bwrap":
            env["TMPDIR"] = "/tmp"
        return env

    def command(self, folder: Path, shared: list[Path]) -> list[str]:
        """The words before a command that run it in this box, sharing ``folder``, ``shared``."""
        if self.kind == "unshare":
            return f"unshare {_UNSHARE} --".split()
        if self.kind != "bwrap":
            return []
        disk = str(self.limits.disk)
        args = f"bwrap {_BWRAP} --cap-drop ALL --size {disk} --tmpfs /tmp".split()
        args += ["--dir", BOX_HOME, "--dir", BOX_WORK]
        for path in _SYSTEM:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for name in _ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        for source, dest in [*_python_roots(), *_font_caches()]:
            args += ["--ro-bind", source, dest]
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--perms", "1777", "--size", disk, "--tmpfs", "/dev/shm"]
        for path in [folder, *shared]:
            args += ["--bind", str(path), str(path)]
        return [*args, "--chdir", BOX_WORK, "--"]

    def prepare(self, km: Any, folder: Path, shared: list[Path]) -> None:
        """Make a kernel manager start its kernel in this box, with these limits.

        Args:
            km: An nbclient client's kernel manager (a ``jupyter_client`` one), not started.
            folder: An empty folder for the connection file and sockets.
            shared: Other folders the kernel writes and the grader reads (the exchange
                folder, the private package copy).

        Used in: "Graded exercises" (the grader).
        """
        if sys.platform == "win32":  # no resource limits, no box: the kernel as it comes
            return
        lim = self.limits
        limits = [("RLIMIT_DATA", lim.memory), ("RLIMIT_FSIZE", lim.file_size), ("RLIMIT_CORE", 0)]
        if self.boxed:  # without a box it would count every process of the grader's user
            limits.append(("RLIMIT_NPROC", lim.processes))
        parent = "os.environ['JPY_PARENT_PID'] = '1'\n" if self.boxed else ""
        code = _LAUNCH.format(limits=limits, parent=parent)
        spec = km.kernel_spec
        spec.argv = [*self.command(folder, shared), sys.executable, "-c", code, "-f"]
        spec.argv.append("{connection_file}")
        if self.boxed:
            spec.interrupt_mode = "message"
            km.transport, km.ip = "ipc", str(folder / "k")
            km.connection_file = str(folder / "kernel.json")


def size_text(n: int) -> str:
    """``3 GiB``, ``256 MiB``, ``1.5 GiB``: a size for people."""
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} B"


@cache
def probe(kind: str) -> str:
    """Why a box of this kind cannot start the kernel's Python here ("" when it can)."""
    if kind == "none":
        return ""
    if sys.platform != "linux":
        return "not Linux"
    if shutil.which(kind) is None:
        return f"{kind} is not installed"
    box = Box(kind)
    with tempfile.TemporaryDirectory(prefix="vgrad-probe-") as tmp:
        cmd = [*box.command(Path(tmp), []), sys.executable, "-c", "import ipykernel"]
        env = box.environment("")
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{kind} failed: {exc}"[:300]
    last = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
    return "" if run.returncode == 0 else f"{kind} failed: {last}"[:300]


def choose(kind: str = "auto", limits: Limits | None = None) -> Box:
    """The box to grade in: ``kind``, or with ``"auto"`` the strongest one that works here.

    Args:
        kind: ``"auto"`` (bwrap, else unshare, else none), or one of :data:`KINDS`.
        limits: The limits (default: :class:`Limits`).

    Returns:
        The :class:`Box`; with ``"auto"``, its ``reason`` says what was missing.

    Raises:
        ValueError: If ``kind`` is unknown, or was asked for and does not work here.

    Used in: "Graded exercises" (the grader).
    """
    limits = limits or Limits()
    if kind != "auto":
        if kind not in KINDS:
            raise ValueError(f"containment must be auto or one of {', '.join(KINDS)}: {kind!r}")
        if why := probe(kind):
            raise ValueError(f"containment {kind} does not work here: {why}")
        return Box(kind, limits)
    reasons = []
    for candidate in ("bwrap", "unshare"):
        if not (why := probe(candidate)):
            return Box(candidate, limits, "; ".join(reasons))
        reasons.append(why)
    return Box("none", limits, "; ".join(reasons))


def _python_roots() -> list[tuple[str, str]]:
    """(source, destination) of what the kernel's Python needs, as named and as resolved."""
    named = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    named.add(os.path.dirname(os.path.realpath(sys.executable)))
    if site.ENABLE_USER_SITE:
        named.add(site.getusersitepackages())
    for var in ("PYTHONPATH", "LD_LIBRARY_PATH"):
        named.update(filter(None, os.environ.get(var, "").split(os.pathsep)))
    pairs = {
        (os.path.realpath(p), dest)
        for p in named
        if os.path.isdir(p) and os.path.realpath(p) != "/"
        for dest in (os.path.abspath(p), os.path.realpath(p))
    }
    return sorted(pairs, key=lambda pair: pair[1])


def _font_caches() -> list[tuple[str, str]]:
    """Matplotlib's font list, read-only in the box's home: rebuilt, it costs ~1 s a kernel."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    folder = Path(os.environ.get("MPLCONFIGDIR") or Path(cache_home, "matplotlib"))
    dest = Path(BOX_HOME, ".cache", "matplotlib")
    return [(str(p), str(dest / p.name)) for p in sorted(folder.glob("fontlist-*.json"))]
