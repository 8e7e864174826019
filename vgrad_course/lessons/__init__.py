"""The lessons: the experiments the chapters run, one module per concept, built on the library.

A chapter imports the lesson modules it uses, e.g.
``from vgrad_course.lessons import jacobians, recurrence``; each module's docstrings name the
chapters that use it ("Used in: ..."). Lessons import the library (``vgrad_course.data``,
``models``, ``probes`` ...), never the grader.
"""
