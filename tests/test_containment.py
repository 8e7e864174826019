"""Containment: every notebook's kernel runs in a box, with limits (``grading/containment.py``).

Each test grades small hostile notebooks (no TensorFlow) in this process. A hostile cell
reports what it could reach by raising ``RuntimeError("what=result")``; the grader notes every
error in the feedback (``cell 3 raised RuntimeError: other=FileNotFoundError``), which is where
the tests read it. The first cell answers one question, so that the credit earned before a
fault is seen to survive it. bubblewrap and ``unshare`` are each tested where they work; a
test is skipped only when the machine lacks the mechanism (the skip says which).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time
import uuid

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from vgrad_course.grading import cli, containment
from vgrad_course.grading.batch import grade_file
from vgrad_course.grading.containment import MIB, Box, Limits, choose, probe, size_text

ANSWER = 'from vgrad_course.grading.checker import check\nmax_lr = 0.5\ncheck("gd.max_lr", max_lr)'
#: Defines ``reach(path)``: "READ" when a file could be read, else the error's name.
REACH = (
    "import os\ndef reach(path):\n    try:\n        with open(path, 'rb') as fh:\n"
    "            fh.read(1)\n        return 'READ'\n    except OSError as exc:\n"
    "        return type(exc).__name__\n"
    "def cmdlines():\n    found = []\n    for p in filter(str.isdigit, os.listdir('/proc')):\n"
    "        try:\n            found.append(open(f'/proc/{p}/cmdline', 'rb').read())\n"
    "        except OSError:\n            pass\n    return found"
)


def _box(kind: str, **limits: int) -> Box:
    """A box of ``kind`` with these limits, or a skip saying why the machine has none."""
    if why := probe(kind):
        pytest.skip(f"no {kind} box on this machine: {why}")
    return choose(kind, Limits(**limits))


def _grade(folder, name: str, cells: list[str], box: Box):
    """Grade a notebook of set ``gd`` made of ``ANSWER``, ``REACH`` and ``cells``."""
    nb = new_notebook(cells=[new_code_cell(c) for c in [ANSWER, REACH, *cells]])
    nb.metadata["vgrad"] = {"exercise_set": "gd"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    row = grade_file(path, name, timeout=60, call_timeout=10, box=box)
    assert row.scores["gd.max_lr"] == row.max_scores["gd.max_lr"] > 0, row.feedback
    return row


def _seen(row) -> dict[str, str]:
    """What the hostile cells reported (``what=result``), from the feedback's notes."""
    return dict(re.findall(r"raised RuntimeError: (\w+)=(\S+)", row.feedback))


def _host_processes(marker: str) -> dict[int, bytes]:
    """The command lines of this machine's processes that contain ``marker``, by pid."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found[int(pid)] = cmdline
    return found


@pytest.mark.parametrize("kind", ["bwrap", "unshare"])
def test_a_notebook_sees_nothing_of_the_grader_the_class_or_the_network(
    kind, tmp_path, monkeypatch
):
    subs = tmp_path / "submissions"
    (subs / "bob").mkdir(parents=True)
    other = subs / "bob" / "01_gradient_descent.ipynb"
    other.write_text("{}")
    gradebook, feedback = tmp_path / "out" / "grades.csv", tmp_path / "out" / "feedback" / "b.txt"
    feedback.parent.mkdir(parents=True)
    gradebook.write_text("student,total\n")
    feedback.write_text("bob: 20/20\n")
    secret = f"s3cret-{uuid.uuid4().hex}"
    monkeypatch.setenv("VGRAD_TEST_SECRET", secret)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    cells = [
        f"raise RuntimeError('other=' + reach({str(other)!r}))",
        f"raise RuntimeError('gradebook=' + reach({str(gradebook)!r}))",
        f"raise RuntimeError('feedback=' + reach({str(feedback)!r}))",
        f"raise RuntimeError('folder=' + str(os.path.isdir({str(subs)!r})))",
        f"raise RuntimeError('grader=' + reach('/proc/{os.getpid()}/cmdline'))",
        "raise RuntimeError('cmdlines=' + str(sum(b'pytest' in c for c in cmdlines())))",
        f"raise RuntimeError('env=' + str({secret!r} in repr(os.environ)))",
        "found = False\nfor p in filter(str.isdigit, os.listdir('/proc')):\n    try:\n"
        f"        found |= {secret!r}.encode() in open(f'/proc/{{p}}/environ', 'rb').read()\n"
        "    except OSError:\n        pass\nraise RuntimeError(f'environ={found}')",
        "import socket\ntry:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
        "    net = 'CONNECTED'\nexcept OSError as exc:\n    net = type(exc).__name__\n"
        "raise RuntimeError('net=' + net)",
    ]
    with listener:
        seen = _seen(_grade(subs / "alice", "01_gradient_descent", cells, _box(kind)))
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):  # nobody ever connected
            listener.accept()
    # Its own /proc: no grader process, no pytest command line; a clean environment.
    assert seen["grader"] == "FileNotFoundError" and seen["cmdlines"] == "0", seen
    assert seen["env"] == seen["environ"] == "False", seen
    assert seen["net"] in ("ConnectionRefusedError", "OSError"), seen  # its own loopback only
    if kind == "bwrap":  # a file system of its own: the class is not there
        assert {seen[k] for k in ("other", "gradebook", "feedback")} == {"FileNotFoundError"}
        assert seen["folder"] == "False", seen
    else:  # unshare leaves the file system as it is (the README says so)
        assert seen["other"] == "READ", seen


@pytest.mark.parametrize("kind", ["bwrap", "unshare"])
def test_nothing_a_notebook_starts_outlives_it(kind, tmp_path):
    marker = f"vgrad-sleeper-{uuid.uuid4().hex}"
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    daemon = f"import subprocess; subprocess.Popen({[*sleeper, marker + '-daemon']!r}, "
    daemon += "start_new_session=True)"
    cells = [
        "import subprocess, sys, time\n"
        f"subprocess.Popen({[*sleeper, marker + '-child']!r})\n"
        f"subprocess.Popen({[*sleeper, marker + '-session']!r}, start_new_session=True)\n"
        f"subprocess.run([sys.executable, '-c', {daemon!r}], check=True)  # parent exits\n"
        "time.sleep(1)\n"
        f"raise RuntimeError('alive=' + str(sum({marker!r}.encode() in c for c in cmdlines())))",
    ]
    box = _box(kind)
    try:
        seen = _seen(_grade(tmp_path, "01_gradient_descent", cells, box))
        assert seen["alive"] == "3", seen  # a child, one in its own session, a daemon
        deadline = time.monotonic() + 10
        while _host_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _host_processes(marker) == {}
    finally:
        for pid in _host_processes(marker):  # never leave the test's sleepers behind
            os.kill(pid, signal.SIGKILL)


def test_an_allocation_past_the_memory_limit_fails_and_the_answers_count(tmp_path):
    box = _box("bwrap", memory=1024 * MIB)
    cells = ["import numpy as np\nbig = np.ones(2**28)  # 2 GiB", "max_lr = 0.5  # still alive"]
    row = _grade(tmp_path, "01_gradient_descent", cells, box)
    assert "raised MemoryError" in row.feedback and "memory limit: 1 GiB" in row.feedback


def test_files_are_capped_and_the_rest_of_the_disk_is_read_only(tmp_path):
    box = _box("bwrap", file_size=1 * MIB, disk=8 * MIB)
    write = "def write(path, mib):\n    with open(path, 'wb') as fh:\n"
    write += "        fh.write(b'x' * (mib << 20))"
    cells = [
        f"{write}\nwrite('big', 2)",  # one file past 1 MiB
        f"{write}\nfor i in range(12):\n    write(f'part{{i}}', 1)",  # 12 files past 8 MiB
        f"{write}\nimport sys\nwrite(os.path.join(sys.prefix, 'planted'), 1)",
        "raise RuntimeError('cwd=' + os.getcwd())",
    ]
    row = _grade(tmp_path, "01_gradient_descent", cells, box)
    notes = row.feedback
    assert "File too large (file size limit: 1 MiB per file)" in notes, notes
    assert "No space left on device (disk limit: 8 MiB" in notes, notes
    assert "Read-only file system: " in notes, notes
    assert "/planted' (only the working folder and /tmp are writable)" in notes, notes
    assert not os.path.exists(os.path.join(sys.prefix, "planted"))
    assert _seen(row)["cwd"] == "/tmp/work"


def test_the_process_limit_stops_a_fork_bomb(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("Linux does not apply RLIMIT_NPROC to root (CI runs as root)")
    box = _box("bwrap", processes=64)
    cells = [
        "import subprocess\nkids = []\nfor _ in range(100):\n"
        "    kids.append(subprocess.Popen(['sleep', '30']))"
    ]
    row = _grade(tmp_path, "01_gradient_descent", cells, box)
    assert "BlockingIOError" in row.feedback or "Resource temporarily unavailable" in row.feedback


def test_without_containment_the_output_and_every_feedback_file_say_so(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    nb = new_notebook(cells=[new_code_cell(ANSWER)], metadata={"vgrad": {"exercise_set": "gd"}})
    nbformat.write(nb, subs / "a_01_gradient_descent.ipynb")
    out = tmp_path / "grades.csv"
    argv = [str(subs), "--out", str(out), "--no-progress", "--jobs", "1", "--no-containment"]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert err.count("WARNING: NOT CONTAINED") == 2  # before grading and in the summary
    assert "containment: NONE; per notebook: memory 3 GiB, files 256 MiB each" in err
    feedback = (tmp_path / "feedback" / "a_01_gradient_descent.txt").read_text()
    assert feedback.splitlines()[1].startswith("note: WARNING: NOT CONTAINED"), feedback


def test_the_summary_names_the_box_and_every_limit(tmp_path, capsys):
    box = _box("bwrap")
    (tmp_path / "empty").mkdir()
    argv = [str(tmp_path / "empty"), "--out", str(tmp_path / "g.csv"), "--no-progress"]
    argv += ["--memory-limit", "2G", "--file-size-limit", "64M", "--disk-limit", "1.5G"]
    assert cli.main([*argv, "--max-processes", "99"]) == 0
    err = capsys.readouterr().err
    assert box.kind == "bwrap" and "containment: bwrap (own user, PID, mount, network" in err
    assert "memory 2 GiB, files 64 MiB each, disk 1.5 GiB, 99 processes" in err
    assert "NOT CONTAINED" not in err


def test_auto_falls_back_to_unshare_then_to_none_and_says_why(monkeypatch):
    missing = {"bwrap": "bwrap is not installed", "unshare": "", "none": ""}
    monkeypatch.setattr(containment, "probe", missing.get)
    box = containment.choose()
    assert (box.kind, box.reason, box.warning) == ("unshare", "bwrap is not installed", "")
    assert "the file system is NOT isolated" in box.summary()
    missing["unshare"] = "unshare failed: Operation not permitted"
    box = containment.choose()
    assert box.kind == "none" and "NOT CONTAINED" in box.warning
    assert box.reason == "bwrap is not installed; unshare failed: Operation not permitted"
    with pytest.raises(ValueError, match="does not work here: unshare failed"):
        containment.choose("unshare")


def test_sizes_are_read_and_written_in_binary_units():
    assert [cli.parse_size(s) for s in ("3G", "512M", "1.5GiB", "64k", "100")] == [
        3 << 30,
        512 << 20,
        3 << 29,
        64 << 10,
        100,
    ]
    assert [size_text(n) for n in (3 << 30, 256 << 20, 3 << 29, 100)] == [
        "3 GiB",
        "256 MiB",
        "1.5 GiB",
        "100 B",
    ]
    for bad in ("", "3X", "-1G", "0"):
        with pytest.raises(ValueError):
            cli.parse_size(bad)
