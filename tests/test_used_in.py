"""Every "Used in:" line of the package's docstrings names real pages that really use the code.

The package documents, for each public function, the chapters that call it. This test keeps
those lines honest: each title must be a page of the book, and the function must be reachable
from that page's code (called directly, or by a package function the page calls).
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vgrad_course"
#: Pages that use package code without being a chapter notebook: the exercises page (its
#: README, rendered in the book, gives the grader's commands) and the exercise notebooks.
OTHER_PAGES = {"Graded exercises": ["exercises", "solutions"]}


@cache
def _chapters() -> dict[str, str]:
    """Title -> code of every book notebook."""
    pages = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        title = "".join(cells[0]["source"]).splitlines()[0].lstrip("# ").strip()
        pages[title] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for title, folders in OTHER_PAGES.items():
        notebooks = sorted(p for f in folders for p in (ROOT / f).glob("*.ipynb"))
        code = [json.loads(p.read_text())["cells"] for p in notebooks]
        pages[title] = "\n".join("".join(c["source"]) for cells in code for c in cells)
        pages[title] += "\n".join((ROOT / f / "README.md").read_text() for f in folders[:1])
    return pages


@cache
def _sources() -> dict[str, str]:
    """Name -> source of every function and class in the package (same names concatenated)."""
    out: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                out[node.name] = out.get(node.name, "") + (ast.get_source_segment(text, node) or "")
        for node in tree.body:  # module-level tables, e.g. REPRODUCTIONS = (bengio1994, ...)
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        out[target.id] = ast.get_source_segment(text, node) or ""
        if '__name__ == "__main__"' in text:  # `python -m vgrad_course.<module>` runs main()
            out[path.stem] = "main"
    return out


def _names(code: str) -> set[str]:
    return set(re.findall(r"\w+", code))


@cache
def _reachable(title: str) -> frozenset[str]:
    """Package names the page's code reaches, following calls inside the package by name."""
    sources = _sources()
    uses = {name: _names(code) & sources.keys() for name, code in sources.items()}
    seen: set[str] = set()
    todo = list(_names(_chapters()[title]) & sources.keys())
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += uses[name] - seen
    return frozenset(seen)


def _claims() -> list[tuple[str, str, str]]:
    """(module, object, page title) for every "Used in:" entry of a public object."""
    claims = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.ClassDef) or node.name.startswith("_"):
                continue
            match = re.search(r"Used in:(.*?)(?:\n\s*\n|$)", ast.get_docstring(node) or "", re.S)
            for title in re.findall(r'"([^"]+)"', match.group(1) if match else ""):
                claims.append((str(path.relative_to(PACKAGE)), node.name, title))
    return claims


def test_there_are_claims_to_check():
    assert len(_claims()) > 100


@pytest.mark.parametrize(("module", "name", "title"), _claims(), ids=lambda v: str(v))
def test_used_in_names_a_page_that_uses_it(module, name, title):
    assert title in _chapters(), f"{module}:{name} says it is used in {title!r}: no such page"
    assert name in _reachable(title), f"{module}:{name} is not used in {title!r}"
