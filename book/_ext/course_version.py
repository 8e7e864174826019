"""Sphinx extension: each page's footer states the course version and commit.

The version comes from ``pyproject.toml`` (``vgrad_course.__version__``
matches it, tested); the commit is ``git rev-parse`` of the checkout, else
``GITHUB_SHA`` (a CI checkout without history), else "unknown commit" (a source
archive). Registered in ``_config.yml`` under ``sphinx.local_extensions``.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def course_version(root: Path = ROOT) -> str:
    """Return the version ``pyproject.toml``'s ``[project]`` table declares."""
    text = (root / "pyproject.toml").read_text()
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, flags=re.M)
    if found is None:
        raise ValueError(f"no version in {root / 'pyproject.toml'}")
    return found.group(1)


def build_commit(root: Path = ROOT) -> str:
    """Return the short hash of the commit checked out at ``root``."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = os.environ.get("GITHUB_SHA", "")
        return sha[:12] if sha else "unknown commit"


def footer_html(version: str, commit: str) -> str:
    """Return the footer line: the course version and the commit."""
    return (
        f'<p class="course-version">vgrad-course {html.escape(version)}, '
        f"built from commit <code>{html.escape(commit)}</code></p>"
    )


def _add_footer(app: object, config: object) -> None:
    options = dict(getattr(config, "html_theme_options", None) or {})
    line = footer_html(course_version(), build_commit())
    options["extra_footer"] = (options.get("extra_footer") or "") + line
    config.html_theme_options = options  # type: ignore[attr-defined]
    version = course_version()
    config.version = config.release = version  # type: ignore[attr-defined]


def setup(app: object) -> dict[str, object]:
    """Register the footer with Sphinx."""
    app.connect("config-inited", _add_footer)  # type: ignore[attr-defined]
    return {"parallel_read_safe": True, "parallel_write_safe": True}
