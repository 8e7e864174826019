"""The private package copy a submission's kernel imports, and the snapshot/restore guard."""

from __future__ import annotations

import os
import subprocess
import sys

from vgrad_course.grading.sandbox import (
    PACKAGE,
    kernel_pythonpath,
    modified_files,
    private_package,
    restore,
    snapshot,
)


def test_an_intact_copy_has_no_modified_files(tmp_path):
    dest = private_package(tmp_path / "pkg")
    assert modified_files(dest) == []
    assert (dest / "vgrad_course" / "checker.py").read_bytes() == (
        PACKAGE / "checker.py"
    ).read_bytes()


def test_changed_added_and_removed_files_are_all_reported(tmp_path):
    dest = private_package(tmp_path / "pkg")
    copy = dest / "vgrad_course"
    with (copy / "checker.py").open("a") as fh:
        fh.write("\n# tampered\n")
    (copy / "checks" / "extra.py").write_text("x = 1\n")
    (copy / "grade.py").unlink()
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "junk.pyc").write_bytes(b"compiled")  # Python's own cache: ignored
    assert modified_files(dest) == ["checker.py", "checks/extra.py", "grade.py"]


def test_a_same_size_same_time_edit_is_still_caught(tmp_path):
    dest = private_package(tmp_path / "pkg")
    target = dest / "vgrad_course" / "checker.py"
    stat = target.stat()
    data = bytearray(target.read_bytes())
    data[0] = ord("#") if data[0] != ord("#") else ord("\n")
    target.write_bytes(bytes(data))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert modified_files(dest) == ["checker.py"]


def test_a_kernel_with_that_pythonpath_imports_the_copy(tmp_path):
    dest = private_package(tmp_path / "pkg")
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


def test_restore_rewrites_exactly_the_changed_files(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("A")
    b.write_text("B")
    saved = snapshot([a, b, tmp_path / "missing.txt"])
    a.write_text("changed")
    assert restore(saved) == [a]
    assert a.read_text() == "A" and b.read_text() == "B"
    b.unlink()
    assert restore(saved) == [b] and b.read_text() == "B"
