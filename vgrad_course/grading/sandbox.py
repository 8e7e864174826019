"""What a submission may and may not touch while it is graded.

Each submission's kernel imports a *private copy* of this package (first on its
``PYTHONPATH``), so a notebook that edits the checker on disk edits only its own copy: the
change is attributed to exactly that submission, and graders running side by side cannot see
it. The grader's own files and the submitted notebooks are also snapshotted and restored, in
case a notebook writes to them by absolute path.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path

#: The installed package (the grader's own copy).
PACKAGE = Path(__file__).resolve().parent
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def grader_files() -> list[Path]:
    """The grader's own source files: the checker, the checks and the grading modules.

    Returns:
        Their paths (a submission that modifies one is caught and the file restored).

    Used in: "Graded exercises" (the grader).
    """
    names = ["checker.py", "grade.py", "grading_protocol.py", "grading_sandbox.py"]
    names.append("grading_session.py")
    return [PACKAGE / n for n in names] + sorted((PACKAGE / "checks").glob("*.py"))


def snapshot(paths: list[Path]) -> dict[Path, bytes]:
    """Bytes of files that a submission must not change (to detect and undo tampering).

    Args:
        paths: The files to protect (missing ones are skipped).

    Returns:
        Each file's content.
    """
    return {p: p.read_bytes() for p in paths if p.is_file()}


def restore(saved: dict[Path, bytes]) -> list[Path]:
    """Rewrite every file whose bytes differ from a :func:`snapshot`.

    Args:
        saved: The snapshot.

    Returns:
        The files that had changed (and are now restored).
    """
    changed = []
    for path, data in saved.items():
        now = path.read_bytes() if path.is_file() else None
        if now != data:
            path.write_bytes(data)
            changed.append(path)
    return changed


def private_package(dest: Path) -> Path:
    """Copy the package to ``dest/vgrad_course`` for one submission's kernel.

    Args:
        dest: An empty (or missing) folder, e.g. inside the submission's temporary folder.

    Returns:
        ``dest``, the folder to put first on the kernel's ``PYTHONPATH``.
    """
    shutil.copytree(PACKAGE, dest / PACKAGE.name, ignore=_IGNORED)
    return dest


def kernel_pythonpath(dest: Path) -> str:
    """The ``PYTHONPATH`` that makes a kernel import the private copy in ``dest`` first.

    Args:
        dest: The folder :func:`private_package` returned.

    Returns:
        ``dest`` followed by the grader's own ``PYTHONPATH`` entries, if any.
    """
    entries = [str(dest), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return os.pathsep.join(entries)


def modified_files(dest: Path) -> list[str]:
    """The files of a private copy that differ from the package: changed, added or removed.

    Args:
        dest: The folder :func:`private_package` returned.

    Returns:
        Their paths relative to the package, sorted (empty when the copy is intact).
    """
    changed: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        names = cmp.left_only + cmp.right_only + cmp.funny_files
        changed.extend(prefix + n for n in names if n != "__pycache__")
        # dircmp compares os.stat signatures first; compare the bytes.
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        changed.extend(prefix + n for n in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            if name != "__pycache__":
                walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(PACKAGE, dest / PACKAGE.name, ignore=["__pycache__"]), "")
    return sorted(changed)
