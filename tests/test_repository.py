"""Repository invariants: notebooks without outputs, the TOC, lint."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sphinx_external_toc.parsing import parse_toc_yaml

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
    # book/ruff.toml: chapter code lines fit the rendered column (79 characters).
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run(
        [ruff, "check", "vgrad_course", "tests", "book", ".ci"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
