"""What a submission may not change on disk, and how the grader keeps it so: one defence each.

**The course package: a private copy.** :func:`private_package` copies the whole installed
``vgrad_course`` (the library, the lessons and this grader) for one submission and returns a
manifest of the copy; :func:`kernel_pythonpath` puts the copy first on the kernel's
``PYTHONPATH``. A notebook that edits the checker through
``vgrad_course.grading.checker.__file__`` (or any other module) therefore edits only its own
copy: the installed package stays byte-identical, submissions graded side by side never see the
edit, and :func:`modified_files` names what changed against the manifest, so the change is
attributed to exactly that submission. The grader scores with the checks it imported from the
installed package before any submission ran.

**The submissions (and an existing gradebook): a snapshot.** They stay where the instructor
put them. In the default box (bubblewrap, :mod:`vgrad_course.grading.containment`) a kernel
cannot even see them; with ``unshare`` or without a box they are within reach of any notebook
that knows their absolute path. :func:`snapshot` keeps their bytes before grading starts;
:func:`restore`, called after each notebook finishes, rewrites every file that a notebook
changed, deleted or replaced, and names them, so that the grader
(:mod:`vgrad_course.grading.cli`) can score the notebook that did it 0.

The rest of the disk is the box's business: in the bubblewrap box everything outside the
kernel's working folder, ``/tmp`` and the folders it shares with the grader is absent or
read-only; with ``unshare`` or without a box, student code can write to any file the grader's
user can, by its absolute path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping
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
            manifest[rel] = (
                hashlib.sha256(path.read_bytes()).hexdigest() if _regular(path) else _NOT_A_FILE
            )
    return manifest


def snapshot(paths: Iterable[Path]) -> dict[Path, bytes]:
    """Keep the bytes of files no submission may change, before any submission runs.

    Args:
        paths: The files to protect; missing paths and links are left out (restoring a link
            as a file would itself change the folder).

    Returns:
        Each regular file's bytes, by its path (what :func:`restore` rewrites).

    Used in: "Graded exercises" (the grader).
    """
    return {p: p.read_bytes() for p in paths if _regular(p)}


def restore(saved: Mapping[Path, bytes], *, root: Path) -> list[str]:
    """Put back every file of a :func:`snapshot` that is no longer byte-identical.

    A file that was changed, deleted, made unreadable, or replaced by a link or a folder is
    removed and rewritten with its saved bytes (its folder re-created if need be). A replaced
    file is unlinked first, so nothing is written through a link a notebook put in its place.

    Args:
        saved: What :func:`snapshot` returned.
        root: The folder to name the restored files from (the submissions folder).

    Returns:
        The files that had changed and are now restored, in the snapshot's order: their paths
        relative to ``root``, or their names alone when outside it.

    Used in: "Graded exercises" (the grader).
    """
    changed = []
    for path, data in saved.items():
        if _intact(path, data):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.is_symlink() or path.exists():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        changed.append(
            path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        )
    return changed


def _regular(path: Path) -> bool:
    """Whether ``path`` is a regular file itself, not a link to one."""
    return path.is_file() and not path.is_symlink()


def _intact(path: Path, data: bytes) -> bool:
    """Whether ``path`` is still a regular file holding exactly ``data``."""
    try:
        return _regular(path) and path.read_bytes() == data
    except OSError:  # made unreadable
        return False
