"""Repository invariants: notebooks without outputs, the TOC, lint."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sphinx_external_toc.parsing import parse_toc_yaml
from test_grading_walls import TF_FREE_LIBRARY

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("book", "exercises", "solutions")


def _notebooks():
    return sorted(
        p
        for d in NOTEBOOK_DIRS
        for p in (ROOT / d).rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )


def _toc_files():
    return list(parse_toc_yaml(ROOT / "_toc.yml"))  # docnames, read as Jupyter Book reads them


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} cell {i} has outputs: clear them"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has a count"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_every_toc_entry_exists():
    for entry in _toc_files():
        matches = [ROOT / f"{entry}{ext}" for ext in ("", ".md", ".ipynb")]
        assert any(m.is_file() for m in matches), f"_toc.yml lists missing file {entry}"


def test_every_book_notebook_is_in_the_toc():
    listed = {str(Path(f).with_suffix("")) for f in _toc_files()}
    for path in (ROOT / "book").rglob("*.ipynb"):
        rel = str(path.relative_to(ROOT).with_suffix(""))
        assert rel in listed, f"{rel} is not in _toc.yml"


def test_requirements_are_pinned_compatibly():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert "~=" in line, f"pin with ~=: {line}"


def test_package_is_ruff_clean():
    # book/, exercises/ and solutions/ have a ruff.toml: their code fits the rendered column (79).
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run(
        [ruff, "check", "vgrad_course", "tests", "book", ".ci", "exercises", "solutions"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the package's architecture: three wings with walls (README "The package") ------------------

PACKAGE = ROOT / "vgrad_course"
MAX_MODULE_LINES = 300


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _wing(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    if parts[0] in ("lessons", "grading"):
        return parts[0]
    return "entry" if parts == ("grade.py",) else "library"


def _package_imports(path: Path) -> list[str]:
    """Every ``vgrad_course...`` module a file imports (absolute imports only)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: use absolute imports"
            base = node.module or ""
            found += [f"{base}.{a.name}" for a in node.names] if base == "vgrad_course" else [base]
    return [m for m in found if m.split(".")[0] == "vgrad_course"]


def _imported_top(module: str) -> str:
    """``vgrad_course.lessons.x`` -> ``lessons``; ``vgrad_course.data`` -> ``data``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_wing_reaches_into_another(path):
    wing = _wing(path)
    for module in _package_imports(path):
        top = _imported_top(module)
        if wing == "library":
            assert top not in ("lessons", "grading", "grade"), f"{path}: library imports {module}"
        elif wing == "lessons":
            assert top not in ("grading", "grade"), f"{path}: a lesson imports {module}"
        elif wing == "grading":
            # tests/test_grading_walls.py checks the grader's wall in detail (and its imports).
            ok = top == "grading" or module in TF_FREE_LIBRARY
            assert ok, f"{path}: grader imports {module}"
        else:
            assert top == "grading", f"{path}: the entry point imports {module}"
        inside_probes = path.parent.name == "probes"
        if ".probes._" in module and not inside_probes:
            raise AssertionError(f"{path}: import {module} from vgrad_course.probes instead")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_300_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {n} lines: split it by concept"


def _run_python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_the_package_starts_nothing():
    out = _run_python(
        "import os, sys; import vgrad_course as vg; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules)); "
        "print(sorted(k for k in os.environ if k.startswith(('TF_', 'KERAS_'))))"
    )
    assert out.split("\n")[:2] == ["[]", "[]"], out


def test_grade_help_under_importtime_shows_no_tensorflow():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vgrad_course.grade", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "usage" in result.stdout.lower()
    assert not [m for m in imported if m.split(".")[0] in ("tensorflow", "keras")]


#: Modules of the package that import no TensorFlow (the grader's wall: tests/test_grading_walls).
_LIGHT = r"(grading|activations|palette|seeds|validation)"
_HEAVY_IMPORT = re.compile(
    r"^\s*(import (keras|tensorflow)|from (keras|tensorflow)[\w.]* import"
    rf"|from vgrad_course import (?!.*\b{_LIGHT}\b)"
    rf"|from vgrad_course\.(?!{_LIGHT}\b)\w+)",
    re.M,
)


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_call_setup_before_starting_tensorflow(path):
    """``vg.setup`` starts TensorFlow quietly with the course's kernels: it must come first."""
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    # The install cell (.ci/install_cell.py) comes first and imports nothing of the course.
    first = next(c for c in code if "install-course" not in c["metadata"].get("tags", []))
    source = "".join(first["source"])
    setup = source.find("vg.setup(")
    heavy = _HEAVY_IMPORT.search(source)
    if heavy is None:
        return
    assert 0 <= setup < heavy.start(), f"{path.name}: call vg.setup(...) before {heavy.group(0)!r}"


def _readme_tree() -> set[str]:
    """The paths in the README's package tree (the fenced block that starts ``vgrad_course/``)."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```text\nvgrad_course/\n(.*?)```", text, re.S)
    assert block, "README.md has no ```text block starting with vgrad_course/ (the module map)"
    paths, stack = set(), []
    for line in block.group(1).splitlines():
        m = re.match(r"^([│├└─ ]*)(\S+)", line)
        if not m or not m.group(2).endswith((".py", "/")):
            continue
        depth = len(m.group(1)) // 4 - 1  # "├── " is depth 0
        stack[depth:] = [m.group(2).rstrip("/")]
        paths.add("/".join(stack))
    return paths


def test_readme_module_map_matches_the_tree():
    listed = _readme_tree()
    actual = set()
    for p in _modules():
        rel = p.relative_to(PACKAGE)
        if rel.parts[:2] == ("grading", "checks"):
            actual.add("grading/checks")  # one module per exercise set: listed as the folder
        else:
            actual.add(str(rel))
            actual.update(str(parent) for parent in rel.parents if str(parent) != ".")
    missing, stale = sorted(actual - listed), sorted(listed - actual)
    assert not missing and not stale, f"not in README: {missing}; not in the tree: {stale}"


@pytest.mark.parametrize("path", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.name)
def test_book_code_fits_the_rendered_column(path):
    """Every line of a chapter's code cells is at most 79 characters, with no exemption."""
    nb = json.loads(path.read_text())
    long = [
        f"cell {i}: {line}"
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if len(line) > 79
    ]
    assert not long, "\n".join(long)
