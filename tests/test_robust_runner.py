"""The robustness runner (.ci/robust.py): its columns, its table and its chapter selection."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("robust", ROOT / ".ci" / "robust.py")
robust = importlib.util.module_from_spec(_spec)
sys.modules["robust"] = robust  # its dataclasses look their module up
_spec.loader.exec_module(robust)


def test_default_columns_are_five_offsets_and_onednn():
    columns = robust.variants(list(robust.DEFAULT_OFFSETS), onednn=True)
    assert [c.name for c in columns] == ["+1", "+2", "+3", "+4", "+5", "onednn"]
    assert dict(columns[0].env) == {"VGRAD_SEED_OFFSET": "1", "TF_ENABLE_ONEDNN_OPTS": "0"}
    assert dict(columns[-1].env) == {"VGRAD_SEED_OFFSET": "0", "TF_ENABLE_ONEDNN_OPTS": "1"}


def test_every_chapter_is_run_and_a_filter_selects():
    assert len(robust.chapters([])) == len(list((ROOT / "book").glob("[0-9][0-9]_*.ipynb")))
    assert [p.stem for p in robust.chapters(["07_"])] == ["07_clipping"]
    with pytest.raises(SystemExit, match="no chapter"):
        robust.chapters(["no-such-chapter"])


def test_table_marks_failures_and_lists_their_first_line():
    outcomes = [
        robust.Outcome("07_clipping", "+1", True, 12.0),
        robust.Outcome("07_clipping", "onednn", False, 9.0, "AssertionError: (1.24, 11.9)"),
    ]
    text = robust.table(outcomes, ["07_clipping", "08_init"], ["+1", "onednn"])
    assert "| 07_clipping | pass 12s | **FAIL** 9s |" in text
    assert "| 08_init | — | — |" in text
    assert "- 07_clipping [onednn]: AssertionError: (1.24, 11.9)" in text


def test_offsets_are_one_comma_separated_argument():
    assert robust._offsets("0,6, 7") == [0, 6, 7]
    with pytest.raises(robust.argparse.ArgumentTypeError, match="comma-separated"):
        robust._offsets("1 2")
