"""`make book` shows progress: one line per pre-executed chapter (name, seconds, pass/fail)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("preexecute", ROOT / ".ci" / "preexecute.py")
preexecute = importlib.util.module_from_spec(_spec)
sys.modules["preexecute"] = preexecute
_spec.loader.exec_module(preexecute)


def test_a_progress_line_names_the_chapter_its_time_and_outcome():
    uri = str(ROOT / "book" / "03_vanishing.ipynb")
    line = preexecute.progress_line(uri, 0, 12.34, done=3, total=18)
    assert line.startswith("[ 3/18] book/03_vanishing.ipynb") and "12.3 s" in line
    assert line.endswith("ok")
    failed = preexecute.progress_line(uri, 1, 1.0, done=4, total=18)
    assert "FAILED" in failed and "raised" in failed


def test_the_toc_lists_the_notebooks_it_will_run():
    names = [p.name for p in preexecute.toc_notebooks()]
    assert names and names[0] == "01_gradient_descent.ipynb"
    assert all(name.endswith(".ipynb") for name in names)


def test_the_chapters_start_before_the_exercises():
    # A long chapter started last would run alone while the other cores idle.
    uris = [str(p) for p in preexecute.toc_notebooks()]
    ordered = sorted(uris, key=preexecute.longest_first)
    folders = [Path(u).parent.name for u in ordered]
    assert folders == sorted(folders)  # "book" < "exercises": every chapter first
    assert folders[0] == "book" and folders[-1] == "exercises"
