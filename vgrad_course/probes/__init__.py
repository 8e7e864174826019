"""Probes: what a practitioner measures to see gradients vanish or explode.

This is the one public home of every probe; the private modules behind it each hold one kind:

- gradients (``_gradients``): :func:`layer_grad_norms`, :func:`kernel_gradients`,
  :func:`hidden_kernel_norms` and :func:`input_grad_norms`: one compiled tape for the weights
  and one for the inputs, each computing the loss the way a Keras training step does
  (training mode, regularisation losses included).
- activations (``_activation_stats``): :func:`activation_stats`, :class:`LayerStats`,
  :func:`layer_outputs`.
- the monitor (``_monitor``): :class:`GradientMonitor`, the gradient norms of every training step
  read from the step's own backward pass, and :func:`detect_explosion`, which scans them.
- the update:data ratio (``_update_ratio``): :class:`UpdateRatioTracker`, the size of each
  optimizer step relative to the weights.
- what they share (``_model``): batches, :func:`hidden_layers` in depth order, and the
  restoring of non-trainable state, so that every probe leaves the model as it found it.

The one-call diagnosis that trains a model and reads all of them is a lesson
(:mod:`vgrad_course.lessons.diagnosis`): probes measure, they do not train.

Import from here (``from vgrad_course import probes``), never from the private modules.
"""

from __future__ import annotations

from vgrad_course.probes._activation_stats import (
    TANH_SATURATION,
    LayerStats,
    activation_stats,
    layer_outputs,
    saturation_mask,
)
from vgrad_course.probes._gradients import (
    hidden_kernel_norms,
    input_grad_norms,
    kernel_gradients,
    layer_grad_norms,
)
from vgrad_course.probes._model import hidden_layers
from vgrad_course.probes._monitor import GradientMonitor, detect_explosion
from vgrad_course.probes._update_ratio import UPDATE_RATIO_GUIDE, UpdateRatioTracker

__all__ = [
    "TANH_SATURATION",
    "UPDATE_RATIO_GUIDE",
    "GradientMonitor",
    "LayerStats",
    "UpdateRatioTracker",
    "activation_stats",
    "detect_explosion",
    "hidden_kernel_norms",
    "hidden_layers",
    "input_grad_norms",
    "kernel_gradients",
    "layer_grad_norms",
    "layer_outputs",
    "saturation_mask",
]
