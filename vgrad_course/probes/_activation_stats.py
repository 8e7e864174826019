"""Each layer's outputs and their statistics: mean, spread, how many units are saturated or off.

The forward-pass counterpart of the gradient probes (the public home is
:mod:`vgrad_course.probes`): saturated tanh or sigmoid units and dead ReLU units are where
gradients stop.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from vgrad_course.probes._model import as_batch, hidden_layers, state_preserved


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one layer's output on a batch.

    Attributes:
        mean: Mean of the activations.
        std: Standard deviation of the activations.
        saturated: Fraction of units in the flat tails of a saturating activation (tanh,
            sigmoid; see :func:`saturation_mask`); 0 for other activations.
        activation: The name of the layer's activation function.
        inactive: ReLU only: fraction of outputs that are 0 (about half in a healthy network:
            each input switches off its own units, which is normal).
        dead: ReLU only: fraction of units that output 0 on *every* input of the batch (no
            gradient ever reaches them: this is the ReLU failure, see "Activation functions").
    """

    mean: float
    std: float
    saturated: float
    activation: str
    inactive: float = 0.0
    dead: float = 0.0


#: ``|tanh(z)|`` above this counts as saturated (there ``tanh'(z) < 0.06``).
TANH_SATURATION: float = 0.97


def saturation_mask(values: np.ndarray, activation: str) -> np.ndarray:
    """Return a boolean mask of units whose activation derivative is (nearly) zero.

    ``tanh``: |a| > 0.97 (derivative < 0.06); ``sigmoid``: a < 0.015 or a > 0.985 (derivative
    below 6% of its maximum, the same fraction). ReLU has no saturating tail: its switched-off
    units are counted separately (:attr:`LayerStats.inactive`, :attr:`LayerStats.dead`).

    Args:
        values: Activations (outputs of the activation function).
        activation: Name of the activation function.

    Returns:
        Boolean array of the same shape; all False for other activations.

    Used in: "Vanishing gradients in deep networks", "Activation functions", "Diagnosing a network".
    """
    a = np.asarray(values)
    if activation == "tanh":
        return np.abs(a) > TANH_SATURATION
    if activation == "sigmoid":
        return (a < 0.015) | (a > 0.985)
    return np.zeros(a.shape, dtype=bool)


def _outputs(model: keras.Model, layers: list[keras.layers.Layer], x: object) -> list[np.ndarray]:
    """Return the outputs of ``layers`` on the batch ``x`` (inference mode, state untouched)."""
    xt = as_batch(x, "x")
    try:
        probe = keras.Model(model.inputs, [layer.output for layer in layers])
    except (AttributeError, ValueError) as exc:
        raise ValueError("probing layer outputs needs a functional or Sequential model") from exc
    with state_preserved(model):
        outputs = probe(xt, training=False)
    if not isinstance(outputs, list | tuple):
        outputs = [outputs]
    return [keras.ops.convert_to_numpy(o) for o in outputs]


def layer_outputs(model: keras.Model, x: object) -> dict[str, np.ndarray]:
    """Return the output of every activation layer ``act_1 ..`` of a :func:`build_mlp` model.

    Args:
        model: A model from :func:`vgrad_course.models.build_mlp`.
        x: A batch of inputs.

    Returns:
        ``{layer name: activations of shape (batch, width)}``, input side first.

    Used in: "Vanishing gradients in deep networks".
    """
    layers = hidden_layers(model, prefix="act_")
    return dict(zip([layer.name for layer in layers], _outputs(model, layers, x), strict=True))


def _activation_name(layer: keras.layers.Layer) -> str:
    """Return the name of a layer's activation function, or ``"linear"``."""
    fn = getattr(layer, "activation", None)
    if fn is None:
        return "linear"
    return getattr(fn, "__name__", type(fn).__name__)


def activation_stats(
    model: keras.Model, x: object, *, layers: list[str] | None = None
) -> dict[str, LayerStats]:
    """Return mean, std and saturated (or, for ReLU, inactive and dead) fractions per layer.

    By default the probed layers are those with a non-linear activation (Dense or
    recurrent layers with an ``activation`` and Activation layers), in model order.

    Args:
        model: A built functional or Sequential model.
        x: A batch of inputs.
        layers: Names of the layers to probe (default: every layer with a non-linear activation).

    Returns:
        ``{layer.name: LayerStats}`` in model order.

    Used in: "Vanishing gradients in deep networks", "Weight initialisation",
    "Diagnosing a network".
    """
    if not model.built:
        raise ValueError("the model is not built: give it an Input or call it on data first")
    if layers is None:
        chosen = [
            layer
            for layer in model.layers
            if hasattr(layer, "activation") and _activation_name(layer) != "linear"
        ]
    else:
        by_name = {layer.name: layer for layer in model.layers}
        missing = [n for n in layers if n not in by_name]
        if missing:
            raise ValueError(f"no layers named {missing} in model {model.name!r}")
        chosen = [by_name[n] for n in layers]
    if not chosen:
        raise ValueError(f"model {model.name!r} has no layers with a non-linear activation")
    outputs = _outputs(model, chosen, x)
    stats = {}
    for layer, a in zip(chosen, outputs, strict=True):
        name = _activation_name(layer)
        off = a.reshape(len(a), -1) <= 0.0 if name == "relu" else np.zeros((1, 1), bool)
        stats[layer.name] = LayerStats(
            mean=float(a.mean()),
            std=float(a.std()),
            saturated=float(saturation_mask(a, name).mean()),
            activation=name,
            inactive=float(off.mean()),
            dead=float(off.all(axis=0).mean()),
        )
    return stats
