"""The private package copy a submission's kernel imports: complete, and every change caught."""

from __future__ import annotations

import os
import subprocess
import sys

from vgrad_course.grading.sandbox import (
    PACKAGE,
    kernel_pythonpath,
    modified_files,
    private_package,
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
