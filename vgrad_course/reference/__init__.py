"""The labs' TensorFlow problems, and the trusted worker that measures them for the checks.

Labs 3 to 5 are graded on TensorFlow models, but the grader imports no TensorFlow and never
trusts numbers a student's kernel reports about itself. Each lab's problem therefore lives in
one module here, used both by the lab notebook and by the worker
(:mod:`vgrad_course.reference.worker`), a subprocess the checks start through
:mod:`vgrad_course.grading.reference_worker` and ask for measurements in plain data:

- :mod:`~vgrad_course.reference.doctor`: the sick network, its budget, and a fix trained on
  hidden seeds (lab 3), with :mod:`~vgrad_course.reference.model_config` rebuilding a
  student's model config in Keras' safe mode;
- :mod:`~vgrad_course.reference.clip_loop`: training with clipping by global norm, step by
  step, and the exploding RNN (lab 4);
- :mod:`~vgrad_course.reference.time_steps`: the gradient reaching each time step of the
  assignment's recurrent models (lab 5).

Importing this package starts nothing; TensorFlow starts with the first module that needs it.
"""

from __future__ import annotations


class InvalidInput(ValueError):
    """Raised by the worker's tasks for input a student sent that cannot be measured.

    The check shows its message to the student (an unknown layer, a wrong shape, ...).
    """
