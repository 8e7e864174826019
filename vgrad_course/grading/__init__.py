"""The grader: the exercise checker, the checks, and grading a class's notebooks.

What a student imports (the first cell of every exercise notebook)::

    from vgrad_course.grading import labs  # the small experiments the exercises run
    from vgrad_course.grading.checker import check

The modules, each importing only the ones listed before it:

- :mod:`~vgrad_course.grading.registry`: what a question is; ``question`` registers one.
- :mod:`~vgrad_course.grading.labs`: NumPy experiments that exercises run and checks re-run.
- :mod:`~vgrad_course.grading.checks`: one module per exercise set (the questions).
- :mod:`~vgrad_course.grading.checker`: ``check(qid, answer)`` and its per-case results.
- :mod:`~vgrad_course.grading.protocol`: how answers leave a student's kernel (JSON and arrays).
- :mod:`~vgrad_course.grading.kernel`: the grader's side of one live kernel.
- :mod:`~vgrad_course.grading.sandbox`: the private package copy each kernel imports, and the
  snapshot that restores the submissions a notebook touched.
- :mod:`~vgrad_course.grading.session`: running and scoring one submission.
- :mod:`~vgrad_course.grading.cli`: ``python -m vgrad_course.grade``, a folder to a gradebook.
- :mod:`~vgrad_course.grading.exercises`: solutions -> exercise notebooks.

The wall: these modules import the standard library, NumPy, the notebook tools (nbformat,
nbclient, tqdm) and, of the rest of the package, only its TensorFlow-free modules
(:mod:`~vgrad_course.activations`, :mod:`~vgrad_course.validation`,
:mod:`~vgrad_course.seeds`, :mod:`~vgrad_course.palette`). Grading a class starts no
TensorFlow in the grader's process; ``tests/test_grading_walls.py`` checks both.
"""
