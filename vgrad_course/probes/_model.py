"""How every probe touches a model: its batches, its hidden layers in depth order, its state.

A probe measures a model without changing it. This module holds what all probes share: turning
array-likes into batches, finding the layers named ``hidden_1, hidden_2, ...`` (or ``act_1,
...``) in depth order, and restoring the non-trainable state (batch-norm statistics, RNG
seeds) that running a model in training mode would otherwise advance.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keras
import numpy as np
import tensorflow as tf

#: Name prefix of the hidden layers of :func:`vgrad_course.models.build_mlp` (and of the
#: residual blocks and deep linear networks of the lessons); their activations use ``act_``.
HIDDEN_PREFIX = "hidden_"


def as_batch(x: object, name: str) -> tf.Tensor:
    """Convert ``x`` to a float32 tensor with a batch axis, or raise a clear error.

    Args:
        x: An array-like batch (inputs or targets).
        name: What it is, for the error message.

    Returns:
        A float32 tensor whose first axis is a non-empty batch.

    Used in: "Vanishing gradients in deep networks",
    "Recurrent networks and backpropagation through time".
    """
    try:
        t = tf.convert_to_tensor(np.asarray(x, dtype=np.float32))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric array-like, got {type(x).__name__}") from exc
    if t.shape.rank is None or t.shape.rank < 1 or t.shape[0] == 0:
        raise ValueError(f"{name} must have a non-empty batch axis, got shape {tuple(t.shape)}")
    return t


@contextmanager
def state_preserved(model: keras.Model) -> Iterator[None]:
    """Restore non-trainable state (batch-norm statistics, RNG seeds) after a probe.

    A probe runs the model in training mode, which would otherwise update batch-norm moving
    averages and advance dropout seeds: measuring must not change the model.

    Args:
        model: The model probed inside the ``with`` block.

    Used in: "Vanishing gradients in deep networks",
    "Recurrent networks and backpropagation through time".
    """
    saved = [v.numpy() for v in model.non_trainable_variables]
    try:
        yield
    finally:
        for v, value in zip(model.non_trainable_variables, saved, strict=True):
            v.assign(value)


def hidden_layers(model: keras.Model, *, prefix: str = HIDDEN_PREFIX) -> list[keras.layers.Layer]:
    """Return the layers named ``<prefix>1, <prefix>2, ...`` of ``model``, input side first.

    Args:
        model: A model whose hidden layers follow the course's naming (``hidden_1 ..``, their
            activations ``act_1 ..``), e.g. from :func:`vgrad_course.models.build_mlp`.
        prefix: ``"hidden_"`` for the weight layers, ``"act_"`` for their activations.

    Returns:
        The layers, ordered by the number after the prefix (so ``hidden_10`` follows
        ``hidden_9``).

    Raises:
        ValueError: If no layer is named that way.

    Used in: "Vanishing gradients in deep networks", "Diagnosing a network".
    """
    numbered = [
        (int(layer.name.removeprefix(prefix)), layer)
        for layer in model.layers
        if layer.name.startswith(prefix) and layer.name.removeprefix(prefix).isdigit()
    ]
    if not numbered:
        raise ValueError(
            f"model {model.name!r} has no layers named {prefix}1, {prefix}2, ... "
            "(build it with vgrad_course.models.build_mlp)"
        )
    return [layer for _, layer in sorted(numbered, key=lambda pair: pair[0])]


def hidden_kernels(model: keras.Model) -> dict[str, keras.Variable]:
    """Return the weight matrix of every hidden layer, input side first.

    A hidden layer is a Dense layer or a block holding exactly one Dense layer (a residual
    block's branch); its kernel is the one trainable variable named ``kernel``.

    Args:
        model: A model with hidden layers named ``hidden_1, hidden_2, ...``.

    Returns:
        ``{layer name: kernel variable}`` in depth order.

    Used in: "Vanishing gradients in deep networks", "Exploding gradients",
    "Diagnosing a network".
    """
    kernels = {}
    for layer in hidden_layers(model):
        found = [v for v in layer.trainable_variables if v.name == "kernel"]
        if len(found) != 1:
            raise ValueError(f"layer {layer.name!r} has {len(found)} kernels, expected one")
        kernels[layer.name] = found[0]
    return kernels
