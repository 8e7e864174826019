"""The grader's two defences: the private package copy a kernel imports (complete, and every
change caught, in a box too), and the snapshot of the submissions (every change undone, and
named). The box itself is tested in ``test_containment.py``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vgrad_course.grading.containment import Box, probe
from vgrad_course.grading.sandbox import (
    PACKAGE,
    kernel_pythonpath,
    modified_files,
    private_package,
    restore,
    snapshot,
)


def _package_files() -> set[str]:
    return {
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_the_copy_is_the_whole_package_and_intact(tmp_path):
    dest = tmp_path / "pkg"
    manifest = private_package(dest)
    assert PACKAGE.name == "vgrad_course" and (PACKAGE / "grading" / "sandbox.py").is_file()
    # Every file of the package, the grader's own kernel and protocol included.
    assert set(manifest) == _package_files()
    assert {"grading/kernel.py", "grading/protocol.py", "grading/checker.py"} <= set(manifest)
    copy = dest / "vgrad_course" / "grading" / "checker.py"
    assert copy.read_bytes() == (PACKAGE / "grading" / "checker.py").read_bytes()
    assert modified_files(dest, manifest) == []


def test_changed_added_and_removed_files_are_all_reported(tmp_path):
    dest = tmp_path / "pkg"
    manifest = private_package(dest)
    copy = dest / "vgrad_course"
    with (copy / "grading" / "checker.py").open("a") as fh:
        fh.write("\n# tampered\n")
    (copy / "grading" / "kernel.py").write_text("")
    (copy / "grading" / "checks" / "extra.py").write_text("x = 1\n")
    (copy / "grade.py").unlink()
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "junk.pyc").write_bytes(b"compiled")  # Python's own cache: ignored
    assert modified_files(dest, manifest) == [
        "grade.py",
        "grading/checker.py",
        "grading/checks/extra.py",
        "grading/kernel.py",
    ]


def test_a_same_size_same_time_edit_is_still_caught(tmp_path):
    dest = tmp_path / "pkg"
    manifest = private_package(dest)
    target = dest / "vgrad_course" / "grading" / "checker.py"
    stat = target.stat()
    data = bytearray(target.read_bytes())
    data[0] = ord("#") if data[0] != ord("#") else ord("\n")
    target.write_bytes(bytes(data))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert modified_files(dest, manifest) == ["grading/checker.py"]


def test_a_file_replaced_by_a_link_is_caught(tmp_path):
    dest = tmp_path / "pkg"
    manifest = private_package(dest)
    target = dest / "vgrad_course" / "grading" / "registry.py"
    outside = tmp_path / "registry.py"
    outside.write_bytes(target.read_bytes())  # the same bytes, but no longer the copy's file
    target.unlink()
    target.symlink_to(outside)
    assert modified_files(dest, manifest) == ["grading/registry.py"]


def test_a_kernel_with_that_pythonpath_imports_the_copy(tmp_path):
    dest = tmp_path / "pkg"
    private_package(dest)
    code = "import importlib.util as u; print(u.find_spec('vgrad_course').origin)"  # no import
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": kernel_pythonpath(dest), "PATH": ""},
        cwd=tmp_path,  # as a grading kernel: not the repository, whose folder would come first
        check=True,
    ).stdout
    assert out.strip().startswith(str(dest))


def test_in_a_box_the_kernel_writes_its_copy_but_not_the_installed_package(tmp_path):
    if why := probe("bwrap"):
        pytest.skip(f"no bwrap box on this machine: {why}")
    dest, connection = tmp_path / "pkg", tmp_path / "kernel"
    private_package(dest)
    connection.mkdir()
    box = Box("bwrap")
    code = (
        "import importlib.util as u, os\n"
        "copy = os.path.dirname(u.find_spec('vgrad_course').origin)\n"
        f"print(copy, os.access(copy, os.W_OK), os.access({str(PACKAGE)!r}, os.W_OK))"
    )
    out = subprocess.run(
        [*box.command(connection, [dest]), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=box.environment(kernel_pythonpath(dest)),
        check=True,
    ).stdout.split()
    assert out == [str(dest / "vgrad_course"), "True", "False"]


@pytest.fixture
def submissions(tmp_path):
    """A submissions folder: two notebooks (one in a sub-folder) and a link to a file outside."""
    folder = tmp_path / "subs"
    (folder / "alice").mkdir(parents=True)
    (folder / "bob.ipynb").write_bytes(b'{"cells": []}\n')
    (folder / "alice" / "07.ipynb").write_bytes(b"\x00 any bytes \xff")
    (tmp_path / "elsewhere.txt").write_text("not a submission")
    (folder / "link.ipynb").symlink_to(tmp_path / "elsewhere.txt")
    return folder


def _bytes(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_untouched_snapshot_restores_nothing(submissions):
    saved = snapshot(sorted(submissions.rglob("*")))
    assert sorted(saved) == [submissions / "alice" / "07.ipynb", submissions / "bob.ipynb"]
    assert restore(saved, root=submissions) == []


def test_changed_deleted_and_replaced_files_are_restored_byte_identical(submissions, tmp_path):
    gradebook = tmp_path / "grades.csv"  # outside the folder: named by its name alone
    gradebook.write_text("student,total\n")
    before = _bytes(submissions)
    saved = snapshot([*sorted(submissions.rglob("*")), gradebook])
    bob, alice = submissions / "bob.ipynb", submissions / "alice" / "07.ipynb"
    bob.unlink()
    bob.symlink_to(tmp_path / "elsewhere.txt")  # a link in its place: never written through
    alice.write_bytes(b"{}")
    gradebook.unlink()
    assert restore(saved, root=submissions) == ["alice/07.ipynb", "bob.ipynb", "grades.csv"]
    assert _bytes(submissions) == before and not bob.is_symlink()
    assert gradebook.read_text() == "student,total\n"
    assert (tmp_path / "elsewhere.txt").read_text() == "not a submission"
    assert restore(saved, root=submissions) == []


def test_a_deleted_folder_and_a_folder_in_place_of_a_file_are_restored(submissions):
    before = _bytes(submissions)
    saved = snapshot(sorted(submissions.rglob("*")))
    (submissions / "alice" / "07.ipynb").unlink()
    (submissions / "alice").rmdir()
    (submissions / "bob.ipynb").unlink()
    (submissions / "bob.ipynb").mkdir()
    (submissions / "bob.ipynb" / "x").write_text("x")
    assert restore(saved, root=submissions) == ["alice/07.ipynb", "bob.ipynb"]
    assert _bytes(submissions) == before


def test_an_unreadable_file_is_restored(submissions, tmp_path):
    saved = snapshot([submissions / "bob.ipynb"])
    (submissions / "bob.ipynb").chmod(0)
    if os.access(submissions / "bob.ipynb", os.R_OK):
        pytest.skip("running as root: permissions do not apply")
    assert restore(saved, root=tmp_path) == ["subs/bob.ipynb"]
    assert (submissions / "bob.ipynb").read_bytes() == b'{"cells": []}\n'
