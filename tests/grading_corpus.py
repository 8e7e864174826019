"""Hostile and broken submissions for the grader tests (written into a folder, never committed).

Each case is the first solution notebook with one cell appended, so that everything before the
appended cell earns full marks and any lost point is the appended cell's doing.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_gradient_descent.ipynb"
#: The line the "tamper" case appends to the checker its kernel imports (its private copy).
TAMPER_LINE = "# tampered by a submission"

#: name -> (code appended after the solution's cells, expected total, note fragment)
APPENDED: dict[str, tuple[str, float, str]] = {
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
        "import vgrad_course.grading.checker as c\nwith open(c.__file__, 'a') as fh:\n"
        f"    fh.write('\\n{TAMPER_LINE}\\n')",
        0,
        "modified the course package (grading/checker.py)",
    ),
    "hang": ("def gd_step(w, grad, lr):\n    while True:\n        pass", 4, "longer than"),
    "crash": ("import os\nos._exit(1)", 0, "kernel died"),
    # A function that swallows the interrupt: its kernel can never run anything again, so
    # grading stops after the call limit and one ping (it sleeps, so it costs no CPU).
    "stubborn": (
        "import time\ndef gd_step(w, grad, lr):\n    while True:\n        try:\n"
        "            time.sleep(1000)\n        except KeyboardInterrupt:\n            pass",
        0,
        "did not stop after an interrupt",
    ),
}

#: name -> file content of submissions that are not readable notebooks
UNREADABLE = {
    "bad_json": '{"cells": [',
    "old_format": '{"nbformat": 3, "nbformat_minor": 0, "worksheets": 7}',
}


def write_corpus(folder: Path) -> None:
    """Write every case into ``folder`` (created), plus a file that is not a notebook."""
    folder.mkdir(parents=True)
    for name, (code, _, _) in APPENDED.items():
        nb = nbformat.read(SOLUTION, as_version=4)
        nb.cells.append(new_code_cell(code))
        nbformat.write(nb, folder / f"{name}.ipynb")
    for name, text in UNREADABLE.items():
        (folder / f"{name}.ipynb").write_text(text)
    (folder / "readme.txt").write_text("not a notebook")
