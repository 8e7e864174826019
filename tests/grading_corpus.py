"""Hostile and broken submissions for the grader tests (written into a folder, never committed).

Each case is the first solution notebook with one cell appended, so that everything before the
appended cell earns full marks and any lost point is the appended cell's doing. The intruders
reach the submitted files by absolute path; they go into a folder of their own.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_gradient_descent.ipynb"
#: The line the "tamper" case appends to the checker its kernel imports (its private copy).
TAMPER_LINE = "# tampered by a submission"
#: Stands for the folder's absolute path (as a string literal) in the code of the intruders.
FOLDER = "CORPUS_FOLDER"
#: The note of a notebook that changed a submitted file.
RESTORED = "changed files it must not touch, now restored"
#: The folder the intruders are written to, inside the submissions folder.
INTRUDERS_DIR = "intruders"

#: name -> (code appended after the solution's cells, expected total, note fragment)
APPENDED: dict[str, tuple[str, float, str]] = {
    "syntax": ("def oops(:\n    pass", 20, "SyntaxError"),
    "raises": ("1 / 0", 20, "ZeroDivisionError"),
    "loop": ("while True:\n    pass", 20, "time limit"),
    "output": ('print("x" * 30_000_000)', 20, ""),
    "delete": ("import os\nfor f in os.listdir('.'):\n    os.remove(f)", 20, ""),
    "nan": (
        "def gd_step(w, grad, lr):\n    return w * float('nan')\n"
        "def sgd_epoch(params, x, y, lr, batch_size, order):\n    return params * float('nan')\n"
        "max_lr = float('nan')\none_step_lr = float('inf')\n"
        "valley_factors = (float('nan'), float('nan'))\nsgd_lr = float('nan')",
        0,
        "NaN",
    ),
    "types": (  # wrong shape, wrong types: each answer scores 0 with a message, no crash
        "import numpy as np\ndef gd_step(w, grad, lr):\n    return np.zeros(7)\n"
        "def sgd_epoch(params, x, y, lr, batch_size, order):\n    return 'done'\n"
        "max_lr = 'one half'\none_step_lr = [0.25, 0.25]\n"
        "valley_factors = {'w1': 0.8}\nsgd_lr = None",
        0,
        "shape",
    ),
    "tamper": (
        "import vgrad_course.grading.checker as c\nwith open(c.__file__, 'a') as fh:\n"
        f"    fh.write('\\n{TAMPER_LINE}\\n')",
        0,
        "modified the course package (grading/checker.py)",
    ),
    "hang": ("def gd_step(w, grad, lr):\n    while True:\n        pass", 15, "longer than"),
    # The last cell kills the kernel: every answer was given (and checked) before it, so every
    # answer counts, read when its check cell ran.
    "crash": ("import os\nos._exit(1)", 20, "scored as read when their check cells ran"),
    # A function that swallows the interrupt: its kernel can never run anything again, so
    # grading stops after the call limit and one ping (it sleeps, so it costs no CPU). Its own
    # question scores 0; the others count as read when their check cells ran (20 - 5).
    "stubborn": (
        "import time\ndef gd_step(w, grad, lr):\n    while True:\n        try:\n"
        "            time.sleep(1000)\n        except KeyboardInterrupt:\n            pass",
        15,
        "did not stop after an interrupt",
    ),
}

#: Notebooks that change submitted originals (shape of :data:`APPENDED`) and their victim.
INTRUDERS: dict[str, tuple[str, float, str]] = {
    "overwrite_other": (
        f"import os\nwith open(os.path.join({FOLDER}, 'victim.ipynb'), 'w') as fh:\n"
        "    fh.write('{}')",
        0,
        f"{RESTORED} ({INTRUDERS_DIR}/victim.ipynb)",
    ),
    "delete_own": (
        f"import os\nos.remove(os.path.join({FOLDER}, 'delete_own.ipynb'))",
        0,
        f"{RESTORED} ({INTRUDERS_DIR}/delete_own.ipynb)",
    ),
    # Graded after "overwrite_other" (serially): had it read the '{}' written over it, 0 points.
    "victim": ("victim = True", 20, ""),
}

#: name -> file content of submissions that are not readable notebooks
UNREADABLE = {
    "bad_json": '{"cells": [',
    "old_format": '{"nbformat": 3, "nbformat_minor": 0, "worksheets": 7}',
}


def write_corpus(folder: Path, skip: tuple[str, ...] = ()) -> None:
    """Write every case of :data:`APPENDED` (but those in ``skip``) and :data:`UNREADABLE` into
    ``folder`` (created), plus a file that is not a notebook."""
    _write(folder, {name: code for name, (code, _, _) in APPENDED.items() if name not in skip})
    for name, text in UNREADABLE.items():
        (folder / f"{name}.ipynb").write_text(text)
    (folder / "readme.txt").write_text("not a notebook")


def write_intruders(submissions: Path) -> None:
    """Write the :data:`INTRUDERS` into ``submissions/intruders`` (created)."""
    folder = submissions / INTRUDERS_DIR
    here = repr(str(folder.resolve()))
    _write(folder, {name: code.replace(FOLDER, here) for name, (code, _, _) in INTRUDERS.items()})


def _write(folder: Path, codes: dict[str, str]) -> None:
    """Write the solution notebook with ``code`` appended as ``folder/<name>.ipynb``, each."""
    folder.mkdir(parents=True)
    for name, code in codes.items():
        nb = nbformat.read(SOLUTION, as_version=4)
        nb.cells.append(new_code_cell(code))
        nbformat.write(nb, folder / f"{name}.ipynb")
