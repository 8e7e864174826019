"""Shared fixtures: every test starts from the same seeded, quiet set-up."""

from __future__ import annotations

import pytest

import vgrad_course as vg
from vgrad_course.reproducibility import SEED_OFFSET_VARIABLE


@pytest.fixture(autouse=True)
def _seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    # `make test` re-executes the notebooks under another seed offset; the unit tests check the
    # package itself and always run at offset 0 (tests of the offset set it themselves).
    monkeypatch.delenv(SEED_OFFSET_VARIABLE, raising=False)
    vg.setup(seed=0)
