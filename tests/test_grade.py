"""The grader: one run over the fixtures and every solution notebook, plus fast unit tests."""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from vgrad_course import checks
from vgrad_course.grade import Row, grade_file, main, student_name, write_gradebook
from vgrad_course.grading_protocol import helper_namespace
from vgrad_course.grading_session import identify_set

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
COPIES = (1, 2)  # with the original: three gradings of the same notebook


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as fh:
        return {r["student"]: {k: v for k, v in r.items() if v != ""} for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the fixture submissions and all solution notebooks in ONE run (--jobs 2)."""
    tmp = tmp_path_factory.mktemp("grade")
    subs = tmp / "submissions"
    shutil.copytree(FIXTURES / "submissions", subs)
    shutil.copytree(ROOT / "solutions", subs / "solutions")
    # The same partial submission (failures with messages) graded three times: determinism,
    # also across parallel workers.
    for i in COPIES:
        shutil.copy(FIXTURES / "submissions" / "carol.ipynb", subs / f"carol_copy{i}.ipynb")
    # A truncated file (made here: ruff would reject it in the repository).
    (subs / "erin.ipynb").write_text('{"cells": [ {"cell_type": "code", "source": "max_lr = 0.5"')
    before, fixtures_before = _hashes(subs), _hashes(FIXTURES)
    out = tmp / "out" / "grades.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "vgrad_course.grade", str(subs), "--out", str(out), "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=tmp,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {
        "out": out,
        "stderr": proc.stderr,
        "rows": _rows(out),
        "unchanged": before == _hashes(subs) and fixtures_before == _hashes(FIXTURES),
    }


def test_fixture_rows_match_the_expected_gradebook(graded):
    expected = _rows(FIXTURES / "expected_grades.csv")
    extra = ("solutions__", "carol_copy")
    got = {s: r for s, r in graded["rows"].items() if not s.startswith(extra)}
    assert got == expected


def test_every_solution_earns_full_marks(graded):
    rows = {s: r for s, r in graded["rows"].items() if s.startswith("solutions__")}
    assert len(rows) == len(checks.SETS)
    for student, row in rows.items():
        assert float(row["total"]) == float(row["max_points"]) > 0, (student, row)


def test_gradebook_has_one_column_per_question(graded):
    with graded["out"].open() as fh:
        header = next(csv.reader(fh))
    checks.load_all()
    questions = [q for s in checks.SETS for q in checks.questions_of(s)]
    assert header == ["student", "set", *questions, "total", "max_points"]


def test_feedback_files_explain_the_scores(graded):
    feedback = graded["out"].parent / "feedback"
    assert sorted(p.stem for p in feedback.glob("*.txt")) == sorted(graded["rows"])
    dave = (feedback / "dave.txt").read_text()
    assert dave.startswith("dave (gd): 1/8 points") and "moves by -lr x gradient (0/2)" in dave
    assert "not a readable notebook" in (feedback / "erin.txt").read_text()
    assert "wrong sign" in (feedback / "carol.txt").read_text()


def test_submissions_are_never_modified(graded):
    assert graded["unchanged"]


def test_progress_bar_and_skipped_files_on_stderr(graded):
    assert "grading" in graded["stderr"] and "100%" in graded["stderr"]
    assert "skipped (not a notebook)" in graded["stderr"] and "notes.txt" in graded["stderr"]


# Fast unit tests (no kernel).


def test_student_names_follow_the_folder_layout(tmp_path):
    assert student_name(tmp_path / "alice" / "07_clipping.ipynb", tmp_path) == "alice__07_clipping"
    assert student_name(tmp_path / "bob.ipynb", tmp_path) == "bob"


def test_set_is_read_from_metadata_then_file_name():
    nb = nbformat.v4.new_notebook()
    assert identify_set(nb, "x.ipynb") == ""
    assert identify_set(nb, "bob_07_clipping.ipynb") == "clipping"
    nb.metadata["vgrad"] = {"exercise_set": "gated"}
    assert identify_set(nb, "bob_07_clipping.ipynb") == "gated"


def test_unreadable_notebooks_get_a_row_without_a_kernel(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    old = tmp_path / "old.ipynb"
    old.write_text('{"nbformat": 2, "cells": 3}')
    for path in (bad, old):
        row = grade_file(path, path.stem, timeout=5)
        assert (row.set_name, row.total) == ("", 0) and "not a readable notebook" in row.feedback


def test_empty_folder_gives_a_header_only_gradebook(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    out = tmp_path / "g.csv"
    assert main([str(tmp_path / "subs"), "--out", str(out), "--no-progress"]) == 0
    assert out.read_text().strip() == "student,set,total,max_points"
    assert "no notebooks" in capsys.readouterr().err
    assert main([str(tmp_path / "missing"), "--out", str(out)]) == 2


def test_write_gradebook_rows_and_feedback(tmp_path):
    rows = [
        Row("a", "gd", {"gd.step": 4, "gd.max_lr": 0, "gd.one_step_lr": 2}, {}, "fa"),
        Row("b", "", {}, {}, "fb"),
    ]
    rows[0].max_scores = {"gd.step": 4, "gd.max_lr": 2, "gd.one_step_lr": 2}
    cols = write_gradebook(rows, tmp_path / "g.csv", tmp_path / "fb")
    assert cols == ["gd.step", "gd.max_lr", "gd.one_step_lr"]
    lines = (tmp_path / "g.csv").read_text().splitlines()
    assert lines[1:] == ["a,gd,4,0,2,6,8", "b,,,,,0,0"]
    assert (tmp_path / "fb" / "b.txt").read_text() == "fb"


def test_protocol_round_trip_never_unpickles(tmp_path):
    proto = helper_namespace()
    value = [np.float64(1.5), (np.arange(3), "b"), None, ..., {"not": "supported"}]
    proto["save"](str(tmp_path / "v"), {"status": "ok"}, value, True)
    meta, back = proto["load"](str(tmp_path / "v"))
    assert meta["status"] == "ok" and back[0] == 1.5 and list(back[1][0]) == [0, 1, 2]
    assert back[1][1] == "b" and back[2] is None and back[3] is Ellipsis
    assert isinstance(back[4], proto["Unsupported"])
    with pytest.raises(ValueError, match="too large"):
        proto["save"](str(tmp_path / "w"), {}, np.zeros(4_000_000), True)


def test_the_same_submission_always_gets_the_same_grade_and_feedback(graded):
    rows, feedback = graded["rows"], graded["out"].parent / "feedback"
    names = ["carol", *(f"carol_copy{i}" for i in COPIES)]
    strip = [{k: v for k, v in rows[n].items() if k != "student"} for n in names]
    assert all(r == strip[0] for r in strip), strip
    texts = [(feedback / f"{n}.txt").read_text().replace(n, "carol", 1) for n in names]
    assert texts[0] == texts[1] == texts[2], texts
    assert "[FAIL]" in texts[0] and "[PASS]" in texts[0]  # a partial score, with messages
