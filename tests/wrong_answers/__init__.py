"""Plausible wrong answers to every graded question, one module per exercise set.

Each module defines ``WRONG``: question id -> answers a careful student might still hand in
(a wrong sign, a transpose, an off-by-one, fan-in for fan-out, a mean for a sum, an in-place
update, an overflow, a miss on one side of a band). ``tests/test_checker.py`` checks that none
of them earns full marks and that each failure comes with a message. Add a question's wrong
answers to its set's module.
"""

from __future__ import annotations

import importlib

from vgrad_course.grading import checks

WRONG: dict[str, list] = {}
for _name in checks.SETS:
    WRONG.update(importlib.import_module(f"wrong_answers.{_name}").WRONG)
