"""Keep nbval away from the solution notebooks.

tests/test_grade.py executes every solution notebook in a fresh kernel through
the grader and asserts full marks, a stronger check than running them; running
them twice would only cost time.
"""

collect_ignore_glob = ["*.ipynb"]
