"""Dying ReLUs: which units never fire on the data, and whether they come back to life.

How many units of a layer are dead is an activation statistic
(:attr:`vgrad_course.probes.LayerStats.dead`, from :func:`vgrad_course.probes.activation_stats`).
This lesson module adds *which* units they are, so a chapter can follow the same units
through training and see some revive.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from vgrad_course import probes, training


def dead_unit_masks(model: keras.Model, x: object) -> list[np.ndarray]:
    """Return, per hidden ReLU layer, a boolean mask of the units that output 0 for every input.

    Such a unit is *dead* on this data: the gradient reaching its own weights and bias is zero
    for every example. It can still come back to life when the layers below it change its
    inputs (see :func:`track_dead_units`). The mean of each mask is that layer's
    :attr:`~vgrad_course.probes.LayerStats.dead`.

    Args:
        model: A ReLU network from :func:`vgrad_course.models.build_mlp` (activation layers
            ``act_1``, ``act_2``, ...).
        x: A batch of inputs.

    Returns:
        One boolean array per hidden layer (input side first), True where the unit is dead.

    Used in: "Activation functions".
    """
    layers = probes.hidden_layers(model, prefix="act_")
    not_relu = [a.name for a in layers if getattr(a.activation, "__name__", "") != "relu"]
    if not_relu:
        raise ValueError(f"dead units are a ReLU notion; {not_relu} are not ReLU layers")
    outputs = probes.layer_outputs(model, x)  # one forward pass
    return [np.all(out.reshape(len(out), -1) <= 0, axis=0) for out in outputs.values()]


def track_dead_units(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: Sequence[int],
    batch_size: int = 50,
    x_probe: np.ndarray | None = None,
) -> np.ndarray:
    """Train a compiled model in stages and record which ReLU units are dead after each.

    A unit dead after one stage and alive after a later one has *revived*: its own weights
    got no gradient, but the layers below it moved its inputs.

    Args:
        model: A compiled model as for :func:`dead_unit_masks` (ReLU layers of equal width).
        x: Training inputs.
        y: Training targets.
        epochs: Epochs of each stage, e.g. ``(1, 2)``: one epoch, then two more.
        batch_size: Examples per step.
        x_probe: Inputs on which a unit must be silent to count as dead (default ``x``).

    Returns:
        Boolean array ``(len(epochs) + 1, n_layers, width)``: the dead units before training
        and after every stage.

    Used in: "Activation functions".
    """
    x_probe = x if x_probe is None else x_probe
    masks = [np.stack(dead_unit_masks(model, x_probe))]
    for n in epochs:
        training.train(model, x, y, epochs=int(n), batch_size=batch_size)
        masks.append(np.stack(dead_unit_masks(model, x_probe)))
    return np.stack(masks)
