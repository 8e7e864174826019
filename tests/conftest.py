"""Shared fixtures: every test starts from the same seeded, quiet set-up."""

from __future__ import annotations

import pytest

import vgrad_course as vg


@pytest.fixture(autouse=True)
def _seeded() -> None:
    vg.setup(seed=0)
