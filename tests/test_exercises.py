"""Exercise notebooks: generated from the solutions, up to date, and worth 0 points untouched."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import nbformat
import pytest

from vgrad_course.grading import checks
from vgrad_course.grading.checker import Result
from vgrad_course.grading.exercises import exercise_notebook, generate, main, strip_solutions
from vgrad_course.grading.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
CHECK_CALL = re.compile(r'^check\("(?P<qid>[\w.]+)", (?P<answer>\w+)\)$')


def test_exercises_are_up_to_date():
    assert generate(ROOT, check=True) == [], "run: python -m vgrad_course.grading.exercises"
    assert main(["--root", str(ROOT), "--check"]) == 0


def test_the_course_root_defaults_to_this_folder(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["--check"]) == 0
    monkeypatch.chdir(tmp_path)  # no solutions/ here: a clear error, not a traceback
    with pytest.raises(SystemExit) as exc:
        main(["--check"])
    assert exc.value.code == 2
    assert "has no solutions/ folder" in capsys.readouterr().err
    with pytest.raises(ValueError, match="has no solutions/ folder"):
        generate(tmp_path)


def test_one_notebook_per_set():
    assert [p.stem for p in SOLUTIONS] == sorted(checks.SETS.values())
    assert [p.name for p in EXERCISES] == [p.name for p in SOLUTIONS]


def test_strip_one_line_and_blocks():
    src = "x = 2 / 4  # SOLUTION\ny = 1"
    assert strip_solutions(src) == "x = ...\ny = 1"
    src = "def f(z):\n    '''Doc.'''\n    # BEGIN SOLUTION\n    return z\n    # END SOLUTION"
    assert strip_solutions(src) == "def f(z):\n    '''Doc.'''\n    ..."
    src = "# BEGIN SOLUTION\n# PROMPT t = ...\nfor i in range(3):\n    pass\nt = 1\n# END SOLUTION"
    assert strip_solutions(src) == "t = ..."


@pytest.mark.parametrize(
    "src", ["# BEGIN SOLUTION\nx = 1", "# END SOLUTION", "# BEGIN SOLUTION\n# BEGIN SOLUTION"]
)
def test_unbalanced_markers_are_errors(src):
    with pytest.raises(ValueError, match="SOLUTION"):
        strip_solutions(src)


def test_solution_only_cells_are_dropped():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("a = 1  # SOLUTION"), nbformat.v4.new_code_cell("b")]
    nb.cells[1].metadata["tags"] = ["solution-only"]
    out = nbformat.reads(exercise_notebook(nb), as_version=4)
    assert [c.source for c in out.cells] == ["a = ..."]


def test_generate_writes_and_removes_orphans(tmp_path):
    sol, ex = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir()
    ex.mkdir()
    (sol / "a.ipynb").write_bytes(SOLUTIONS[0].read_bytes())
    (ex / "old.ipynb").write_text("{}")
    assert generate(tmp_path, check=True) == [ex / "a.ipynb", ex / "old.ipynb"]
    generate(tmp_path)
    assert sorted(p.name for p in ex.iterdir()) == ["a.ipynb"]
    assert generate(tmp_path, check=True) == []


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_has_no_solution_and_checks_every_question(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert "# BEGIN SOLUTION" not in text and "# SOLUTION" not in text
    set_name = nb.metadata["vgrad"]["exercise_set"]
    calls = [m.groupdict() for c in nb.cells if (m := CHECK_CALL.match(c.source.strip()))]
    assert [c["qid"] for c in calls] == checks.questions_of(set_name)
    for call in calls:
        assert call["answer"] == REGISTRY[call["qid"]].answer


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_untouched_exercise_runs_and_scores_zero(path):
    nb = nbformat.read(path, as_version=4)
    namespace: dict = {}
    results = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(cell.source, str(path), "exec"), namespace)
        if CHECK_CALL.match(cell.source.strip()):
            results.append(eval(cell.source, namespace))
    assert results and all(isinstance(r, Result) for r in results)
    assert all(r.points == 0 < r.max_points for r in results), [str(r) for r in results]
