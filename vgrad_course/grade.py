"""``python -m vgrad_course.grade``: the grader's command line.

This file is only the documented entry point; the grader lives in :mod:`vgrad_course.grading`
(the command line in :mod:`vgrad_course.grading.cli`).
"""

from __future__ import annotations

import sys

from vgrad_course.grading.cli import main

if __name__ == "__main__":
    sys.exit(main())
