"""Write the "install the course where it is missing" cell at the top of every notebook.

A chapter opened through the book's Colab or Binder button runs in an environment without the
companion package. The first cell of every chapter (``book/``) and exercise set (``solutions/``,
from which ``exercises/`` is generated) therefore installs it when ``vgrad_course`` cannot be
imported, from the repository ``_config.yml`` names (``repository.url``) at the tag of the
package's version (``v`` + ``pyproject.toml``'s version), and does nothing where it is installed
(``make setup``, the test suite, the book build). The cell is hidden in the rendered book.

Usage (from the repository root)::

    python .ci/install_cell.py           # rewrite the cell in every notebook from _config.yml
    python .ci/install_cell.py --check   # exit 1 if a notebook's cell is missing or out of date

``tests/test_install_cell.py`` runs ``--check`` and runs the cell's decision logic offline.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: The tag that marks the cell (and hides it in the rendered book).
TAG = "install-course"
HIDE = "remove-cell"
#: Folders whose notebooks get the cell (``exercises/`` is generated from ``solutions/``).
FOLDERS = ("book", "solutions")
#: What pip installs besides the package when it is missing (Colab has TensorFlow and Keras).
TEMPLATE = """\
# Colab or Binder: install the course's package first (does nothing where
# it is already installed). See "Running the code" in the book.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("vgrad_course") is None:
    repo = "{url}"
    source = f"vgrad-course @ git+{{repo}}@v{version}"
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", source]
    subprocess.run(cmd, check=True)"""


def repository_url(root: Path = ROOT) -> str:
    """Return ``repository.url`` from ``_config.yml`` (a ``https://`` address, no trailing /)."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    url = str(config.get("repository", {}).get("url", "")).rstrip("/")
    if not re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"_config.yml: repository.url must be https://host/owner/repo: {url!r}")
    return url


def package_version(root: Path = ROOT) -> str:
    """Return the version ``pyproject.toml`` declares."""
    found = re.search(r'^version\s*=\s*"([^"]+)"', (root / "pyproject.toml").read_text(), re.M)
    if found is None:
        raise ValueError("pyproject.toml declares no version")
    return found.group(1)


def cell_source(root: Path = ROOT) -> str:
    """Return the install cell's code for this repository and version."""
    return TEMPLATE.format(url=repository_url(root), version=package_version(root))


def notebooks(root: Path = ROOT) -> list[Path]:
    """Return the notebooks that carry the cell: chapters and solution notebooks."""
    return sorted(p for folder in FOLDERS for p in (root / folder).glob("*.ipynb"))


def _install_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    for cell in nb.cells:
        if cell.cell_type == "code" and TAG in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def update(path: Path, source: str, *, check: bool) -> bool:
    """Put the cell (``source``) first in the notebook; return whether it had to change."""
    nb = nbformat.read(path, as_version=4)
    cell = _install_cell(nb)
    first_code = next((c for c in nb.cells if c.cell_type == "code"), None)
    if cell is not None and cell.source == source and cell is first_code:
        return False
    if check:
        return True
    if cell is not None:
        nb.cells.remove(cell)
    new = nbformat.v4.new_code_cell(source, metadata={"tags": [TAG, HIDE]})
    new["id"] = TAG  # stable: rewriting the cell does not churn the notebook
    position = nb.cells.index(first_code) if first_code is not None else len(nb.cells)
    nb.cells.insert(position, new)
    nbformat.write(nb, path)
    return True


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or, with ``--check``, verify) the install cell of every notebook."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report, exit 1 if stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course root")
    args = parser.parse_args(argv)
    source = cell_source(args.root)
    stale = [p for p in notebooks(args.root) if update(p, source, check=args.check)]
    for path in stale:
        verb = "out of date" if args.check else "updated"
        print(f"{verb}: {path.relative_to(args.root)}")
    if args.check and stale:
        print("run `python .ci/install_cell.py` (after changing repository.url or the version)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
