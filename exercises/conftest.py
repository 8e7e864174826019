"""Keep nbval away from the exercise notebooks.

The book build (`make book`, with -W: a cell that raises fails it) runs
every exercise notebook in a kernel, and tests/test_exercises.py runs each
one again, untouched, asserting that it reaches the end and scores 0 on
every question; a third execution under nbval would only cost time.
"""

collect_ignore_glob = ["*.ipynb"]
