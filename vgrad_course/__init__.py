"""vgrad_course: the companion package of the course on vanishing and exploding gradients.

The package has three wings, one folder each:

- the **library** (this folder's modules and :mod:`vgrad_course.probes`): data, models,
  training, clipping, plotting, reproducibility and the probes that measure gradients. It
  imports nothing from the other two wings.
- the **lessons** (:mod:`vgrad_course.lessons`): the experiments the chapters run, built on
  the library.
- the **grader** (:mod:`vgrad_course.grading`): the exercise checker, the checks, the
  grading session and its command line. It imports no TensorFlow.

Importing the package does nothing but make those names available: sub-modules load when first
used (``vg.probes``, ``vg.lessons.jacobians``), and TensorFlow starts only when a module that
needs it is imported. Every notebook starts with::

    import vgrad_course as vg

    vg.setup(seed=0)  # start TensorFlow quietly, seed everything, set the plot style
"""

from __future__ import annotations

import importlib
from types import ModuleType

__version__ = "0.1.0"

#: The functions of :mod:`vgrad_course.reproducibility` and :mod:`vgrad_course.seeds`
#: available as ``vg.<name>``.
_FUNCTIONS: dict[str, str] = {
    "setup": "reproducibility",
    "reseed": "reproducibility",
    "effective_seed": "seeds",
    "make_rng": "seeds",
    "seed_offset": "seeds",
}
_SUBMODULES: tuple[str, ...] = (
    "activations",
    "backend",
    "clipping",
    "data",
    "gated_residual",
    "grading",
    "layers",
    "lessons",
    "models",
    "palette",
    "plotting",
    "probes",
    "reproducibility",
    "seeds",
    "training",
    "validation",
)

__all__ = [*_FUNCTIONS, *_SUBMODULES, "__version__"]


def __getattr__(name: str) -> ModuleType | object:
    """Import a sub-module or one of the set-up functions on first use (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _FUNCTIONS:
        module = importlib.import_module(f"{__name__}.{_FUNCTIONS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """List the lazily available names next to the module's own."""
    return sorted({*globals(), *__all__})
