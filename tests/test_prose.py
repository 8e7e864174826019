"""prose.glue_values glues plain Python numbers under prefixed names, and refuses non-numbers."""

from __future__ import annotations

import numpy as np
import pytest

from vgrad_course.lessons import prose


@pytest.fixture
def glued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        prose, "glue", lambda name, value, display: calls.append((name, value, display))
    )
    return calls


def test_values_are_glued_as_python_numbers_with_the_prefix(glued):
    out = prose.glue_values({"a": np.float32(0.5), "n": np.int64(3), "x": 2.0}, prefix="ch_")
    assert glued == [("ch_a", 0.5, False), ("ch_n", 3, False), ("ch_x", 2.0, False)]
    assert [type(v) for v in out.values()] == [float, int, float]


@pytest.mark.parametrize("bad", ["0.5", None, np.array([1.0, 2.0]), True])
def test_a_value_that_is_not_a_number_is_refused(glued, bad):
    with pytest.raises(TypeError, match="glue a real number"):
        prose.glue_values({"bad": bad})
    assert glued == []
