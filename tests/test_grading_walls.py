"""The grader's walls: no TensorFlow, nothing of the package but its TensorFlow-free modules,
every import at the top of its module, and no import cycle inside the grader."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vgrad_course"
#: The library modules the grader may use: NumPy (and SciPy) only, no TensorFlow.
TF_FREE_LIBRARY = {
    "vgrad_course.activations",
    "vgrad_course.palette",
    "vgrad_course.seeds",
    "vgrad_course.validation",
}
#: Third-party packages the grader may import (its kernels run the rest).
THIRD_PARTY = {"nbclient", "nbformat", "numpy", "tqdm"}


@cache
def _grader() -> dict[str, Path]:
    """Module name -> file of every grader module, and the entry point ``vgrad_course.grade``."""
    files = [*sorted((PACKAGE / "grading").rglob("*.py")), PACKAGE / "grade.py"]
    names = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in files]
    return {n.removesuffix(".__init__"): p for n, p in zip(names, files, strict=True)}


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level?) for every import in a file.

    ``from package import name`` counts as importing ``package.name`` when that is a module.
    """
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                name = sub if sub in _grader() else node.module
                found.append((name, node.lineno, id(node) in top))
    return found


@pytest.mark.parametrize("module", sorted(_grader()))
def test_the_grader_imports_only_what_its_wall_allows(module):
    wrong = []
    for name, line, _ in _imports(_grader()[module]):
        root = name.split(".")[0]
        if root == "vgrad_course":
            ok = name in _grader() or name in TF_FREE_LIBRARY
        else:
            ok = root in sys.stdlib_module_names or root in THIRD_PARTY
        if not ok:
            wrong.append(f"line {line}: {name}")
    assert not wrong, f"{module} imports past the grader's wall: {wrong}"


@pytest.mark.parametrize("module", sorted(_grader()))
def test_no_import_is_hidden_inside_a_function(module):
    hidden = [f"line {line}: {name}" for name, line, top in _imports(_grader()[module]) if not top]
    assert not hidden, f"{module} imports inside a function (a hidden cycle?): {hidden}"


def test_the_grader_modules_import_each_other_without_a_cycle():
    graph = {
        module: {name for name, _, _ in _imports(path) if name in _grader() and name != module}
        for module, path in _grader().items()
    }
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        if module in trail:
            cycle = " -> ".join([*trail[trail.index(module) :], module])
            pytest.fail(f"import cycle: {cycle}")
        if module not in done:
            for name in sorted(graph[module]):
                visit(name, (*trail, module))
            done.add(module)

    for module in sorted(graph):
        visit(module, ())
    # The checker and the checks meet only in the registry; the checks never import the checker.
    checks = [m for m in graph if m.startswith("vgrad_course.grading.checks")]
    assert all("vgrad_course.grading.checker" not in graph[m] for m in checks)


def test_grade_help_and_every_grader_module_start_no_tensorflow():
    # One fresh interpreter: import every grader module, then run `python -m vgrad_course.grade
    # --help`; at exit (after argparse's SystemExit) list what TensorFlow or Keras loaded.
    code = (
        "import atexit, importlib, runpy, sys\n"
        "atexit.register(lambda: print('LOADED', sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('tensorflow', 'keras'))))\n"
        f"for name in {sorted(_grader())!r}:\n"
        "    importlib.import_module(name)\n"
        "sys.argv = ['grade', '--help']\n"
        "runpy.run_module('vgrad_course.grade', run_name='__main__', alter_sys=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: python -m vgrad_course.grade" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "LOADED []", result.stdout[-500:]
