"""The grader's one tamper defence: each submission's kernel imports a private package copy.

:func:`private_package` copies the whole installed ``vgrad_course`` (every file of its folder:
the library, the lessons and this grader) for one submission and returns a manifest of the
copy; :func:`kernel_pythonpath` puts the copy first on the kernel's ``PYTHONPATH``. A notebook
that edits the checker through ``vgrad_course.grading.checker.__file__`` (or any other module)
therefore edits only its own copy: the installed package stays byte-identical, submissions
graded side by side never see the edit, and :func:`modified_files` names what changed against
the manifest, so the change is attributed to exactly that submission. The grader itself scores
with the checks it imported from the installed package before the submission ran.

Student code still runs with the grader's permissions: a notebook that looks up the installed
package (or any other file) by absolute path can write to it. Grade untrusted work in a
container or a throw-away account.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

#: The installed package (the grader's own copy): this file's grandparent folder.
PACKAGE = Path(__file__).resolve().parents[1]
#: Python's own caches: neither copied nor compared.
CACHES = ("__pycache__", "*.pyc")
_NOT_A_FILE = "not a regular file"


def private_package(dest: Path) -> dict[str, str]:
    """Copy the package to ``dest/vgrad_course`` for one submission's kernel.

    Args:
        dest: An empty (or missing) folder, e.g. inside the submission's temporary folder;
            the folder to put first on the kernel's ``PYTHONPATH``.

    Returns:
        The copy's manifest: the SHA-256 of every file, by its path relative to the package
        (what :func:`modified_files` compares with).

    Used in: "Graded exercises" (the grader).
    """
    shutil.copytree(PACKAGE, dest / PACKAGE.name, ignore=shutil.ignore_patterns(*CACHES))
    return _manifest(dest / PACKAGE.name)


def kernel_pythonpath(dest: Path) -> str:
    """The ``PYTHONPATH`` that makes a kernel import the private copy in ``dest`` first.

    Args:
        dest: The folder given to :func:`private_package`.

    Returns:
        ``dest`` followed by the grader's own ``PYTHONPATH`` entries, if any.

    Used in: "Graded exercises" (the grader).
    """
    entries = [str(dest), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return os.pathsep.join(entries)


def modified_files(dest: Path, manifest: dict[str, str]) -> list[str]:
    """The files of a private copy that differ from its manifest: changed, added or removed.

    Args:
        dest: The folder given to :func:`private_package`.
        manifest: What :func:`private_package` returned.

    Returns:
        Their paths relative to the package, sorted (empty when the copy is intact).

    Used in: "Graded exercises" (the grader).
    """
    now = _manifest(dest / PACKAGE.name)
    return sorted(p for p in manifest.keys() | now.keys() if manifest.get(p) != now.get(p))


def _manifest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (caches left out; links and devices marked)."""
    manifest: dict[str, str] = {}
    for here, dirs, files in os.walk(folder):  # never follows a link to a folder
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        linked = [d for d in dirs if os.path.islink(os.path.join(here, d))]
        for name in [*files, *linked]:
            path = Path(here, name)
            if name.endswith(".pyc"):
                continue
            rel = path.relative_to(folder).as_posix()
            regular = path.is_file() and not path.is_symlink()
            manifest[rel] = (
                hashlib.sha256(path.read_bytes()).hexdigest() if regular else _NOT_A_FILE
            )
    return manifest
