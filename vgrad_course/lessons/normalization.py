"""Batch normalization: what it computes, and why training and inference modes differ.

Ioffe & Szegedy (2015). In training mode a BatchNormalization layer normalises with the
statistics of the current batch and updates exponential moving averages of them; in
inference mode it normalises with those moving averages.
"""

from __future__ import annotations

import keras
import numpy as np


def batch_normalize(
    z: np.ndarray, *, gamma: float = 1.0, beta: float = 0.0, eps: float = 1e-3
) -> np.ndarray:
    """Normalise each feature of a batch to zero mean and unit variance, then scale and shift.

    Computes ``gamma * (z - mean) / sqrt(var + eps) + beta`` with the batch mean and (biased)
    variance of each column; ``eps`` matches Keras' default.

    Args:
        z: Pre-activations, shape ``(batch, features)``.
        gamma: Scale applied after normalising.
        beta: Shift applied after normalising.
        eps: Added to the variance for numerical safety.

    Returns:
        float64 array of the same shape.

    Used in: "Batch normalization".
    """
    a = np.asarray(z, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2:
        raise ValueError(f"z must have shape (batch >= 2, features), got {a.shape}")
    return gamma * (a - a.mean(axis=0)) / np.sqrt(a.var(axis=0) + eps) + beta


def _bn_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """Return the model's BatchNormalization layers in order, or raise if there are none."""
    layers = [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]
    if not layers:
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer")
    return layers


def moving_variance_gap(model: keras.Model, x: object) -> np.ndarray:
    """Return, per BN layer, the median ratio of moving variance to the variance on ``x``.

    A ratio near 1 means inference mode normalises like training mode would on this data;
    far from 1, the two modes give different outputs.

    Args:
        model: A functional model with BatchNormalization layers.
        x: Inputs whose statistics are the reference (e.g. the training set).

    Returns:
        float64 array, one ratio per BN layer, input side first.

    Used in: "Batch normalization".
    """
    xt = np.asarray(x, dtype=np.float32)
    ratios = []
    for layer in _bn_layers(model):
        z = np.asarray(keras.Model(model.inputs, layer.input)(xt, training=False))
        moving = np.asarray(layer.moving_variance)
        ratios.append(float(np.median(moving / (z.var(axis=0) + 1e-12))))
    return np.array(ratios)


def recalibrate(model: keras.Model, x: object) -> keras.Model:
    """Set every BN layer's moving statistics to the exact mean and variance on ``x``, in place.

    Layers are processed input side first, so each one sees inputs already normalised by
    the recalibrated layers before it. Weights are not changed.

    Args:
        model: A functional model with BatchNormalization layers.
        x: Inputs (e.g. the training set).

    Returns:
        The same model.

    Used in: "Batch normalization".
    """
    xt = np.asarray(x, dtype=np.float32)
    for layer in _bn_layers(model):
        z = np.asarray(keras.Model(model.inputs, layer.input)(xt, training=False))
        layer.moving_mean.assign(z.mean(axis=0))
        layer.moving_variance.assign(z.var(axis=0))
    return model


def accuracy(model: keras.Model, x: object, y: object, *, training: bool = False) -> float:
    """Return the classification accuracy of a logit model in inference or training mode.

    In training mode BN layers use the statistics of ``x`` itself (one batch); the moving
    averages they would update are restored afterwards, so the model is left unchanged.

    Args:
        model: A model that outputs class scores.
        x: Inputs.
        y: Integer labels.
        training: Run the forward pass in training mode.

    Returns:
        The fraction of correct predictions.

    Used in: "Batch normalization".
    """
    saved = [v.numpy().copy() for v in model.non_trainable_variables]
    scores = np.asarray(model(np.asarray(x, dtype=np.float32), training=training))
    for v, value in zip(model.non_trainable_variables, saved, strict=True):
        v.assign(value)
    labels = np.asarray(y).reshape(-1)
    if scores.shape[0] != labels.shape[0]:
        raise ValueError(f"x and y disagree in batch size: {scores.shape[0]} vs {labels.size}")
    return float(np.mean(scores.argmax(axis=-1) == labels))
