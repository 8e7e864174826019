"""The book states the course version and the commit it was built from (book/_ext/)."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

import vgrad_course

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"


def _extension():
    spec = importlib.util.spec_from_file_location(
        "course_version", ROOT / "book" / "_ext" / "course_version.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_package_version_is_pyprojects():
    assert vgrad_course.__version__ == _extension().course_version()


def test_commit_is_the_checkouts_or_says_unknown(tmp_path, monkeypatch):
    ext = _extension()
    head = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    if head:
        assert ext.build_commit() == head
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    assert ext.build_commit(tmp_path) == "unknown commit"  # not a git checkout
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123")
    assert ext.build_commit(tmp_path) == "0123456789ab"


def test_footer_escapes_and_a_missing_version_is_an_error(tmp_path):
    ext = _extension()
    assert "&lt;b&gt;" in ext.footer_html("<b>", "abc")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(ValueError, match="no version"):
        ext.course_version(tmp_path)


def test_the_built_book_states_version_and_commit():
    page = SITE / "book" / "intro.html"
    if not page.is_file():
        pytest.skip("the book is not built: run `make book`")
    text = page.read_text()
    assert f"vgrad-course {vgrad_course.__version__}, built from commit" in text
