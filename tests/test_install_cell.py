"""Chapters run where the launch buttons send readers: the first cell installs the package.

The decision logic runs offline here: with ``vgrad_course`` "missing" the cell issues the
documented pip command (from ``_config.yml``'s repository and the package's version); with it
present, nothing.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("install_cell", ROOT / ".ci" / "install_cell.py")
install_cell = importlib.util.module_from_spec(_spec)
sys.modules["install_cell"] = install_cell
_spec.loader.exec_module(install_cell)


def _run_cell(monkeypatch, *, installed: bool) -> list[list[str]]:
    calls: list[list[str]] = []
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "vgrad_course":
            return real(name) if installed else None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    exec(compile(install_cell.cell_source(), "<install cell>", "exec"), {})
    return calls


def test_missing_package_issues_the_documented_install(monkeypatch):
    calls = _run_cell(monkeypatch, installed=False)
    url = install_cell.repository_url()
    version = install_cell.package_version()
    assert calls == [
        [
            sys.executable,
            *"-m pip install --quiet".split(),
            f"vgrad-course @ git+{url}@v{version}",
        ]
    ]
    readme = (ROOT / "README.md").read_text()
    assert "pip install" in readme and "@v" in readme  # the README documents the command


def test_installed_package_means_nothing_runs(monkeypatch):
    assert _run_cell(monkeypatch, installed=True) == []


@pytest.mark.parametrize("path", install_cell.notebooks(), ids=lambda p: p.name)
def test_every_chapter_and_exercise_starts_with_the_current_cell(path):
    cells = json.loads(path.read_text())["cells"]
    first = next(c for c in cells if c["cell_type"] == "code")
    assert install_cell.TAG in first["metadata"].get("tags", []), (
        f"{path.name}: no install cell first; run `python .ci/install_cell.py`"
    )
    assert "".join(first["source"]) == install_cell.cell_source(), (
        f"{path.name}: the install cell is out of date; run `python .ci/install_cell.py`"
    )
    assert install_cell.HIDE in first["metadata"]["tags"]


def test_exercises_carry_the_cell_too():
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        first = next(c for c in cells if c["cell_type"] == "code")
        assert "".join(first["source"]) == install_cell.cell_source(), path.name


def test_the_cell_fits_the_book_column():
    assert max(len(line) for line in install_cell.cell_source().splitlines()) <= 79


def test_a_malformed_repository_url_is_refused(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: github.com/owner\n")
    with pytest.raises(ValueError, match="repository.url"):
        install_cell.repository_url(tmp_path)


def test_check_mode_reports_a_stale_notebook_and_rewrite_fixes_it(tmp_path):
    for name in ("_config.yml", "pyproject.toml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    for folder in install_cell.FOLDERS:
        (tmp_path / folder).mkdir()
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "id": "a",
                "metadata": {},
                "source": "x = 1",
                "outputs": [],
                "execution_count": None,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "book" / "01_x.ipynb").write_text(json.dumps(nb))
    assert install_cell.main(["--root", str(tmp_path), "--check"]) == 1
    assert install_cell.main(["--root", str(tmp_path)]) == 0
    assert install_cell.main(["--root", str(tmp_path), "--check"]) == 0
    cells = json.loads((tmp_path / "book" / "01_x.ipynb").read_text())["cells"]
    assert "".join(cells[1]["source"]) == "x = 1" and len(cells) == 2


#: Import names whose distribution is called differently.
_DISTRIBUTION = {"IPython": "ipython", "myst_nb": "myst-nb"}


def test_the_package_declares_every_third_party_module_it_imports():
    import ast
    import re

    declared = set()
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)\]", text, re.S | re.M).group(1)
    for item in re.findall(r'"([^"]+)"', block):
        declared.add(re.split(r"[<>=~! ]", item)[0].lower())
    imported = set()
    for path in (ROOT / "vgrad_course").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names} - {"vgrad_course"}
    missing = {_DISTRIBUTION.get(m, m).lower() for m in third_party} - declared
    assert not missing, f"pyproject.toml [project] dependencies miss {sorted(missing)}"
