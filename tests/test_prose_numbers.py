"""Every number a chapter's prose states is glued from the computation or is a literal of its code.

The scanner is in ``tests/prose_numbers.py`` (run it as a script for a per-chapter report).
"""

from __future__ import annotations

import pytest
from prose_numbers import chapters, code_numbers, prose_numbers, uncovered


def _values(markdown: str) -> list[float]:
    return [value for _, value in prose_numbers(markdown)]


def test_scanner_finds_plain_and_scientific_numbers():
    text = "The loss ends near 0.6, about $10^{-6}$ of it, and 3×10^-5 or 5,000 steps."
    assert _values(text) == [0.6, 1e-6, 3e-5, 5000.0]


def test_scanner_ignores_glue_citations_math_code_and_years():
    text = (
        "The loss ends at {glue:text}`final_loss:.2f` {cite:p}`he2016deep`, as in 2016.\n"
        "See chapter 12 and {doc}`05_rnn_bptt`.\n\n$$\\eta < 2/\\lambda_{max} + 7$$\n\n"
        "```python\nlr = 0.123\n```\n## 4. A heading\n:label: ex-9\n5. A list item\n"
    )
    assert _values(text) == []


def test_code_literals_cover_settings_and_bounds():
    known = code_numbers('budget = {"lr": 0.05, "epochs": 3}\nassert 3e5 < ratio < 3e6\n')
    assert {0.05, 3.0, 3e5, 3e6} <= known


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_every_prose_number_is_glued_or_in_the_code(path):
    missing = uncovered(path)
    assert not missing, (
        f"{path.name} states numbers that are neither glued nor in its code: {missing}. "
        "Glue measured values ({glue:text}`name`) and assert the range the wording promises."
    )
