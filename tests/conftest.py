"""Shared fixtures: every test starts from the same seeded, quiet set-up."""

from __future__ import annotations

import pytest

import vgrad_course as vg
from vgrad_course.backend import load_tensorflow
from vgrad_course.seeds import SEED_OFFSET_VARIABLE

# Test modules import Keras at collection: start TensorFlow first, with the course's defaults.
load_tensorflow()


@pytest.fixture(autouse=True)
def _seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    # `make test` re-executes the notebooks under another seed offset; the unit tests check the
    # package itself and always run at offset 0 (tests of the offset set it themselves).
    monkeypatch.delenv(SEED_OFFSET_VARIABLE, raising=False)
    vg.setup(seed=0)
