"""The grader: the exercise checker, the checks, and grading a class's notebooks.

- :mod:`~vgrad_course.grading.checker`: ``check(qid, answer)``, the question registry, results.
- :mod:`~vgrad_course.grading.checks`: one module per exercise set (the questions).
- :mod:`~vgrad_course.grading.protocol`: how answers leave a student's kernel (JSON and arrays).
- :mod:`~vgrad_course.grading.kernel`, :mod:`~vgrad_course.grading.session`,
  :mod:`~vgrad_course.grading.sandbox`: running one submission in its own kernel and folder.
- :mod:`~vgrad_course.grading.cli`: ``python -m vgrad_course.grade``, a folder to a gradebook.
- :mod:`~vgrad_course.grading.exercises`: solutions -> exercise notebooks.

Nothing here imports TensorFlow: grading a class starts no TensorFlow in the grader's process.
"""
