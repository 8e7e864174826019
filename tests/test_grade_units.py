"""The grader's parts that need no kernel: names, sets, gradebooks, protocol, limits.

The end-to-end run (fixtures, solutions, hostile corpus) is ``test_grade.py``.
"""

from __future__ import annotations

import ast
import copy
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import nbformat
import numpy as np
import pytest
from nbclient.exceptions import CellTimeoutError
from nbformat.v4 import new_code_cell

from vgrad_course.grading import batch, checks, cli, protocol
from vgrad_course.grading.batch import grade_file, student_name
from vgrad_course.grading.cli import main
from vgrad_course.grading.containment import choose
from vgrad_course.grading.gradebook import Row, write_gradebook
from vgrad_course.grading.session import (
    Graded,
    _run_cells,
    checked_questions,
    grade_notebook,
    identify_set,
)


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


def test_an_existing_gradebook_and_its_feedback_are_protected(tmp_path, monkeypatch):
    # A notebook that rewrites last run's gradebook scores 0 like one that rewrites a submission.
    (tmp_path / "subs").mkdir()
    out, feedback = tmp_path / "g.csv", tmp_path / "feedback"
    feedback.mkdir()
    out.write_text("student\n")
    (feedback / "a.txt").write_text("a")
    seen = {}

    def grade_folder(root, **options):
        seen.update(options)
        return []

    monkeypatch.setattr(cli, "grade_folder", grade_folder)
    assert main([str(tmp_path / "subs"), "--out", str(out), "--no-progress"]) == 0
    assert seen["protect"] == [out, feedback / "a.txt"]


class _InlinePool:
    """A stand-in process pool that runs each job as it is submitted (or is already broken)."""

    broken = False

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __enter__(self) -> _InlinePool:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def submit(self, fn, *args, **kwargs) -> Future:
        if self.broken:
            raise BrokenProcessPool("a worker died")
        future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@pytest.fixture
def graded_inline(tmp_path, monkeypatch):
    """Grade five stand-in notebooks; "c" overwrites "e" when it runs. Who ran how often?"""
    root = tmp_path / "subs"
    root.mkdir()
    for name in "abcde":
        (root / f"{name}.ipynb").write_text(name)
    runs: list[str] = []

    def grade_file(path, student, *, timeout, call_timeout, guard=None):
        runs.append(student)
        if student == "c":
            (root / "e.ipynb").write_text("overwritten")
        row = Row(student, "gd", {"q": float(path.read_text() == student)}, {"q": 1.0})
        if guard is not None and (changed := guard()):
            row.scores, row.feedback = {"q": 0.0}, f"restored {changed}"
        return row

    monkeypatch.setattr(batch, "grade_file", grade_file)
    monkeypatch.setattr(batch, "ProcessPoolExecutor", _InlinePool)

    def grade(jobs: int) -> tuple[dict[str, Row], list[str]]:
        runs.clear()
        rows = batch.grade_folder(root, jobs=jobs, timeout=5, progress=False)
        assert [(root / f"{n}.ipynb").read_text() for n in "abcde"] == list("abcde")
        return {r.student: r for r in rows}, list(runs)

    return grade


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_notebook_that_changed_a_submission_scores_0_and_only_it(graded_inline, jobs):
    rows, runs = graded_inline(jobs)
    assert {s: r.total for s, r in rows.items()} == {"a": 1, "b": 1, "c": 0, "d": 1, "e": 1}
    assert rows["c"].feedback == "restored ['e.ipynb']"
    # In parallel, the two in flight when the change was found (c, d) are graded again.
    assert runs == (list("abcde") if jobs == 1 else list("abcdecd"))


def test_after_a_worker_died_the_rest_is_graded_one_at_a_time(graded_inline, monkeypatch):
    monkeypatch.setattr(_InlinePool, "broken", True)
    rows, runs = graded_inline(2)
    assert runs == list("abcde") and rows["c"].total == 0 and rows["e"].total == 1


def test_write_gradebook_rows_and_feedback(tmp_path):
    rows = [
        Row("a", "gd", {"gd.step": 4, "gd.max_lr": 0, "gd.one_step_lr": 2}, {}, "fa"),
        Row("b", "", {}, {}, "fb"),
    ]
    rows[0].max_scores = {"gd.step": 4, "gd.max_lr": 2, "gd.one_step_lr": 2}
    cols = write_gradebook(rows, tmp_path / "g.csv", tmp_path / "fb")
    assert cols == checks.questions_of("gd")  # every question of the sets present, in order
    assert cols[:3] == ["gd.step", "gd.max_lr", "gd.one_step_lr"]
    lines = (tmp_path / "g.csv").read_text().splitlines()
    empty = "," * (len(cols) - 3)  # questions a row has no score for are empty, never 0
    assert lines[1:] == [f"a,gd,4,0,2{empty},6,8", "b,," + "," * len(cols) + "0,0"]
    assert (tmp_path / "fb" / "b.txt").read_text() == "fb"


def _kernel_protocol() -> dict:
    """The protocol as a kernel runs it: its source alone, in a namespace of its own."""
    namespace = {"__name__": "_vgrad_test"}
    exec(compile(protocol.source(), "<vgrad-grading-protocol>", "exec"), namespace)
    return namespace


def test_protocol_round_trip_never_unpickles(tmp_path):
    value = [np.float64(1.5), (np.arange(3), "b"), None, ..., {"not": "supported"}, True]
    protocol.save(str(tmp_path / "v"), {"status": "ok"}, value, has_value=True)
    meta, back = protocol.load(str(tmp_path / "v"))
    assert meta["status"] == "ok" and back[0] == 1.5 and list(back[1][0]) == [0, 1, 2]
    assert back[1][1] == "b" and back[2] is None and back[3] is Ellipsis and back[5] is True
    assert isinstance(back[4], protocol.Unsupported) and back[4].kind == "dict"
    with np.load(str(tmp_path / "v") + ".npz", allow_pickle=False) as arrays:
        assert sorted(arrays.files) == ["a0", "a1"]  # only numbers travel as arrays


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.zeros(protocol.MAX_BYTES // 8 + 1), "too large"),
        ([0] * (protocol.MAX_LEAVES + 1), "too large"),
        ("x" * (protocol.MAX_STRING + 1), "too long"),
    ],
)
def test_protocol_refuses_values_past_its_limits(tmp_path, value, message):
    with pytest.raises(ValueError, match=message):
        protocol.save(str(tmp_path / "w"), {}, value, has_value=True)


def test_the_kernel_runs_the_protocol_from_its_source_alone(tmp_path):
    # What GradingKernel.install sends: a kernel-side fetch and call, read by the grader.
    kernel = _kernel_protocol()
    notebook = {"x": np.arange(4.0), "f": lambda a, b: a * b, "boom": lambda: 1 / 0}
    kernel["fetch"](notebook, "x", str(tmp_path / "x"))
    kernel["fetch"](notebook, "f", str(tmp_path / "f"))
    kernel["fetch"](notebook, "nope", str(tmp_path / "nope"))
    status = [protocol.load(str(tmp_path / n))[0]["status"] for n in ("x", "f", "nope")]
    assert status == ["value", "function", "missing"]
    assert protocol.load(str(tmp_path / "x"))[1].tolist() == [0.0, 1.0, 2.0, 3.0]
    protocol.save(str(tmp_path / "args"), {}, [np.ones(2), 3.0], has_value=True)
    kernel["call"](notebook, "f", str(tmp_path / "args"), str(tmp_path / "out"))
    meta, result = protocol.load(str(tmp_path / "out"))
    assert meta["status"] == "ok" and result.tolist() == [3.0, 3.0]
    protocol.save(str(tmp_path / "none"), {}, [], has_value=True)
    kernel["call"](notebook, "boom", str(tmp_path / "none"), str(tmp_path / "err"))
    assert protocol.load(str(tmp_path / "err"))[0]["error"].startswith("ZeroDivisionError")


def test_a_call_that_changes_its_arguments_sends_the_change_back(tmp_path):
    # Through the kernel an in-place update changes only the kernel's copy; the grader must
    # see it as a local call would (gd_step that does `w -= lr * grad`).
    kernel = _kernel_protocol()

    def step(w, grads, lr):
        w -= lr * grads[0]
        grads[1] = "replaced"
        grads.append(np.zeros(1))
        return w

    w, grads = np.ones(3), [np.full(3, 2.0), np.zeros(2)]
    protocol.save(str(tmp_path / "in"), {}, [w, grads, 0.5], has_value=True)
    kernel["call"]({"step": step}, "step", str(tmp_path / "in"), str(tmp_path / "out"))
    meta, (result, after) = protocol.load(str(tmp_path / "out"))
    assert meta["changed"] and result.tolist() == [0.0, 0.0, 0.0]
    protocol.write_back((w, grads, 0.5), after)
    assert w.tolist() == [0.0, 0.0, 0.0]
    assert grads[1] == "replaced" and len(grads) == 3


def test_a_call_that_leaves_its_arguments_alone_sends_only_the_result(tmp_path):
    kernel = _kernel_protocol()
    protocol.save(str(tmp_path / "in"), {}, [np.ones(2)], has_value=True)
    kernel["call"]({"f": lambda a: a * 2}, "f", str(tmp_path / "in"), str(tmp_path / "out"))
    meta, result = protocol.load(str(tmp_path / "out"))
    assert "changed" not in meta and result.tolist() == [2.0, 2.0]


def test_an_overflow_in_the_kernel_is_an_error_as_in_the_notebook(tmp_path):
    kernel = _kernel_protocol()
    protocol.save(str(tmp_path / "in"), {}, [np.array([-800.0])], has_value=True)
    kernel["call"](
        {"f": lambda z: 1 / (1 + np.exp(-z))}, "f", *(str(tmp_path / n) for n in ("in", "out"))
    )
    assert protocol.load(str(tmp_path / "out"))[0]["error"].startswith("FloatingPointError")


def test_grading_leaves_the_callers_notebook_unchanged():
    # An API caller may grade the same parsed notebook twice, or keep it: it stays as given.
    nb = nbformat.v4.new_notebook(cells=[new_code_cell("max_lr = 0.5\none_step_lr = 0.25")])
    nb.metadata["vgrad"] = {"exercise_set": "gd"}
    before = copy.deepcopy(nb)
    graded = grade_notebook(nb, "gd.ipynb", timeout=60, box=choose("none"))
    assert graded.results["gd.one_step_lr"].points > 0
    assert nb == before


def test_the_protocol_imports_only_the_standard_library_and_numpy():
    # It runs alone in a student's kernel: nothing of the course package may be needed there.
    tree = ast.parse(protocol.source())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    assert imported <= {"__future__", "inspect", "json", "sys", "numpy"}, imported


@pytest.mark.parametrize(
    "args",
    [["--timeout", "0"], ["--timeout", "nan"], ["--call-timeout", "-1"], ["--jobs", "0"]],
)
def test_bad_limits_are_refused_with_a_message(tmp_path, capsys, args):
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path), "--out", str(tmp_path / "g.csv"), *args])
    assert exc.value.code == 2
    assert "must be" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()


class _SwallowingKernel:
    """A stand-in kernel whose cell runs out of time and which never answers again."""

    stuck = False

    def run(self, source: str, timeout: float) -> list:
        raise CellTimeoutError("no reply")

    def responsive(self) -> bool:
        self.stuck = True
        return False


def test_a_cell_that_swallows_the_interrupt_stops_grading():
    # The end-to-end corpus covers a *function* that swallows it; this is the cell path.
    nb = nbformat.v4.new_notebook(cells=[new_code_cell("while True: pass"), new_code_cell("x")])
    graded = Graded("gd")
    with pytest.raises(RuntimeError, match="did not stop after an interrupt"):
        _run_cells(_SwallowingKernel(), nb, graded, deadline=float("inf"), on_check=print)
    assert graded.notes == ["cell 0 did not finish within the time limit; stopped"]


def test_the_questions_a_cell_checks_are_found_in_order():
    source = (
        'r = check("gd.step", gd_step)\ncheck( "gd.max_lr", x)\n# check("gd.step", 1)\nrecheck(1)'
    )
    assert checked_questions(source) == ["gd.step", "gd.max_lr"]
    assert checked_questions("print('check')") == []


def test_the_progress_bar_shows_notebooks_per_minute(capsys):
    bar = batch.progress_bar(4, "grading shard 2/4")
    start = time.monotonic()
    time.sleep(0.2)
    batch.advance(bar)
    batch.advance(bar)
    elapsed = time.monotonic() - start
    bar.close()
    rate = float(bar.postfix.removesuffix(" nb/min"))
    assert 0.8 * 120 / elapsed < rate <= 120 / 0.2  # two notebooks in about 0.2 s
    assert "grading shard 2/4" in capsys.readouterr().err and "nb/min" in bar.postfix


def test_a_hidden_progress_bar_writes_nothing(capsys):
    bar = batch.progress_bar(2, "grading", disable=True)
    batch.advance(bar)
    bar.close()
    assert capsys.readouterr().err == ""
