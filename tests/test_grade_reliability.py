"""The grader survives hostile or broken submissions: each gets its row, the others are unharmed."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_gradient_descent.ipynb"
#: Short limits keep the busy "loop" and "hang" cases cheap; a good notebook needs 5-10 s here.
TIMEOUT, CALL_TIMEOUT = 25, 4

#: name -> (code appended after the solution's cells, expected total, note fragment)
APPENDED = {
    "good": ("", 8, ""),
    "syntax": ("def oops(:\n    pass", 8, "SyntaxError"),
    "raises": ("1 / 0", 8, "ZeroDivisionError"),
    "loop": ("while True:\n    pass", 8, "time limit"),
    "output": ('print("x" * 30_000_000)', 8, ""),
    "delete": ("import os\nfor f in os.listdir('.'):\n    os.remove(f)", 8, ""),
    "nan": (
        "def gd_step(w, grad, lr):\n    return w * float('nan')\n"
        "max_lr = float('nan')\none_step_lr = float('inf')",
        0,
        "NaN",
    ),
    "types": (  # wrong shape, wrong types: each answer scores 0 with a message, no crash
        "import numpy as np\ndef gd_step(w, grad, lr):\n    return np.zeros(7)\n"
        "max_lr = 'one half'\none_step_lr = [0.25, 0.25]",
        0,
        "shape",
    ),
    "tamper": (
        "import vgrad_course.checker as c\nwith open(c.__file__, 'a') as fh:\n"
        "    fh.write('\\n# tampered by a submission\\n')",
        0,
        "modified the course package (checker.py)",
    ),
    "hang": ("def gd_step(w, grad, lr):\n    while True:\n        pass", 4, "longer than"),
    "crash": ("import os\nos._exit(1)", 0, "kernel died"),
    "stubborn": (  # swallows the interrupt: the kernel cannot be brought back (sleeps: no CPU)
        "import time\nwhile True:\n    try:\n        time.sleep(1000)\n"
        "    except KeyboardInterrupt:\n        pass",
        0,
        "did not stop after an interrupt",
    ),
}


def _sha(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reliability")
    subs = tmp / "subs"
    subs.mkdir()
    for name, (code, _, _) in APPENDED.items():
        nb = nbformat.read(SOLUTION, as_version=4)
        if code:
            nb.cells.append(new_code_cell(code))
        nbformat.write(nb, subs / f"{name}.ipynb")
    (subs / "bad_json.ipynb").write_text('{"cells": [')
    (subs / "old_format.ipynb").write_text('{"nbformat": 3, "nbformat_minor": 0, "worksheets": 7}')
    (subs / "readme.txt").write_text("not a notebook")
    package = sorted((ROOT / "vgrad_course").rglob("*.py"))
    before, package_before = _sha(subs), {p: p.read_bytes() for p in package}
    out = tmp / "grades.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "vgrad_course.grade", str(subs), "--out", str(out)]
        + ["--jobs", "2", "--timeout", str(TIMEOUT), "--call-timeout", str(CALL_TIMEOUT)]
        + ["--no-progress"],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=tmp,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with out.open() as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    return {
        "rows": rows,
        "feedback": {p.stem: p.read_text() for p in (tmp / "feedback").glob("*.txt")},
        "unchanged": before == _sha(subs),
        "package_unchanged": package_before == {p: p.read_bytes() for p in package},
        "stderr": proc.stderr,
    }


def test_one_row_per_notebook(run):
    assert sorted(run["rows"]) == sorted([*APPENDED, "bad_json", "old_format"])
    assert "readme.txt" in run["stderr"]


@pytest.mark.parametrize("name", sorted(APPENDED))
def test_each_submission_gets_its_score_and_a_note(run, name):
    _, total, note = APPENDED[name]
    assert float(run["rows"][name]["total"]) == total, run["feedback"][name]
    assert note in run["feedback"][name]


@pytest.mark.parametrize("name", ["bad_json", "old_format"])
def test_unreadable_notebooks_score_zero(run, name):
    row = run["rows"][name]
    assert (row["set"], row["total"]) == ("", "0")
    assert "not a readable notebook" in run["feedback"][name]


def test_originals_are_byte_identical(run):
    assert run["unchanged"]


def test_the_package_on_disk_is_never_modified(run):
    # The "tamper" notebook edited the checker of the private copy its kernel imported.
    assert run["package_unchanged"]


def test_a_hung_function_is_timed_out_once_then_not_called_again(run):
    feedback = run["feedback"]["hang"]
    assert feedback.count(f"took longer than {CALL_TIMEOUT} s") >= 2, feedback
    assert feedback.count("not run: your function took longer") >= 1, feedback


@pytest.mark.parametrize(
    "args",
    [["--timeout", "0"], ["--timeout", "nan"], ["--call-timeout", "-1"], ["--jobs", "0"]],
)
def test_bad_limits_are_refused_with_a_message(tmp_path, capsys, args):
    from vgrad_course.grade import main

    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path), "--out", str(tmp_path / "g.csv"), *args])
    assert exc.value.code == 2
    assert "must be" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()
