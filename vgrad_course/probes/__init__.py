"""Probes: what a practitioner measures to see gradients vanish or explode.

This is the one public home of every probe; the private modules behind it each hold one kind:

- gradients (``_gradients``): :func:`layer_grad_norms`, :func:`input_grad_norms`,
  :func:`hidden_kernel_norms`: one compiled tape that computes the loss the way a Keras training
  step does (training mode, regularisation losses included) and leaves the model's state as it
  found it.
- activation statistics (``_activation_stats``): :func:`activation_stats`, :class:`LayerStats`.
- the monitor (``_monitor``): :class:`GradientMonitor`, the gradient norms of every training step
  read from the step's own backward pass, and :func:`detect_explosion`.
- the dashboard (``_dashboard``): :func:`diagnose` and :func:`dashboard`, which combine them.

Import from here (``from vgrad_course import probes``), never from the private modules.
"""

from __future__ import annotations

from vgrad_course.probes._activation_stats import (
    TANH_SATURATION,
    LayerStats,
    activation_stats,
    saturation_mask,
)
from vgrad_course.probes._dashboard import (
    UPDATE_RATIO_GUIDE,
    Diagnosis,
    UpdateRatioTracker,
    dashboard,
    diagnose,
    plot_dashboard,
    summary_table,
)
from vgrad_course.probes._gradients import (
    hidden_kernel_norms,
    input_grad_norms,
    layer_grad_norms,
)
from vgrad_course.probes._monitor import GradientMonitor

__all__ = [
    "TANH_SATURATION",
    "UPDATE_RATIO_GUIDE",
    "Diagnosis",
    "GradientMonitor",
    "LayerStats",
    "UpdateRatioTracker",
    "activation_stats",
    "dashboard",
    "diagnose",
    "hidden_kernel_norms",
    "input_grad_norms",
    "layer_grad_norms",
    "plot_dashboard",
    "saturation_mask",
    "summary_table",
]
