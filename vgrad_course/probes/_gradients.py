"""Gradient probes: per-variable, per-input-step and per-layer gradient norms.

Every gradient probe computes the loss the way a Keras training step does (training mode, batch-mean
loss plus regularisation losses), so the numbers are the gradients the optimizer would see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import keras
import numpy as np
import tensorflow as tf

from vgrad_course.probes._activation_stats import as_batch

LossLike = str | Callable | keras.losses.Loss | None


def _loss_fn(model: keras.Model, loss: LossLike) -> Callable:
    """Return ``f(x, y, y_pred) -> scalar`` computing the batch-mean training loss."""
    if loss is None:
        if getattr(model, "_compile_loss", None) is None:
            raise ValueError(
                f"model {model.name!r} has no compiled loss: call model.compile(loss=...) "
                "first, or pass loss=... (e.g. loss='mse') to the probe"
            )

        def compiled(x: tf.Tensor, y: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
            return model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)

        return compiled
    loss_obj = keras.losses.get(loss) if isinstance(loss, str) else loss
    if not callable(loss_obj):
        raise ValueError(f"loss must be a Keras loss name or a callable, got {loss!r}")

    def explicit(x: tf.Tensor, y: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        value = keras.ops.mean(loss_obj(y, y_pred))
        if model.losses:
            value = value + keras.ops.sum(model.losses)
        return value

    return explicit


def _check_pair(model: keras.Model, x: tf.Tensor, y: tf.Tensor) -> None:
    """Check that inputs and targets agree in batch size and the model is built."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y disagree in batch size: {x.shape[0]} vs {y.shape[0]}")
    if not model.built:
        raise ValueError("the model is not built: give it an Input or call it on data first")


@contextmanager
def _state_preserved(model: keras.Model) -> Iterator[None]:
    """Restore non-trainable state (batch-norm statistics, RNG seeds) after a probe.

    A probe runs the model in training mode, which would otherwise update batch-norm moving
    averages and advance dropout seeds: measuring must not change the model.
    """
    saved = [v.numpy() for v in model.non_trainable_variables]
    try:
        yield
    finally:
        for v, value in zip(model.non_trainable_variables, saved, strict=True):
            v.assign(value)


def _loss_key(loss: LossLike) -> object:
    """Return a hashable identity for a loss: its name, its config, or the callable itself."""
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, keras.losses.Loss):
        return (type(loss).__qualname__, repr(sorted(loss.get_config().items())))
    return loss


def _compiled_probe(model: keras.Model, loss: LossLike, kind: str) -> Callable:
    """Return the probe computing the norms for ``(x, y)``: eager once, then compiled.

    A one-off measurement runs eagerly (tracing a graph would cost more than it saves). From
    the second call on the same model and loss, the probe is a ``tf.function`` like Keras' own
    training step, so repeated probing costs about as much as a step. The cache lives on the
    model, so it is freed with it.
    """
    loss_fn = _loss_fn(model, loss)  # validates the loss before anything is cached
    cache = model.__dict__.get("_vgrad_probe_cache")
    if cache is None:
        cache = {}
        object.__setattr__(model, "_vgrad_probe_cache", cache)
    compiled_loss = getattr(model, "_compile_loss", None)
    key = (
        kind,
        _loss_key(loss),
        id(compiled_loss),
        tuple(id(v) for v in model.trainable_variables),
    )
    entry = cache.get(key)
    if entry is not None:
        if entry["compiled"] is None:
            entry["compiled"] = tf.function(entry["eager"], reduce_retracing=True)
        return entry["compiled"]
    variables = model.trainable_variables

    def variable_norms(x: tf.Tensor, y: tf.Tensor) -> list[tf.Tensor]:
        with tf.GradientTape() as tape:
            value = loss_fn(x, y, model(x, training=True))
        grads = tape.gradient(value, variables)
        return [
            tf.zeros([], tf.float32) if g is None else tf.cast(tf.norm(g), tf.float32)
            for g in grads
        ]

    def input_norms(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss_fn(x, y, model(x, training=True))
        grad = tape.gradient(value, x)
        if grad is None:
            raise ValueError("the loss does not depend on x: is x the model's input?")
        return tf.reduce_mean(tf.norm(grad, axis=-1), axis=0)  # (seq_len,)

    eager = variable_norms if kind == "variables" else input_norms
    # Keep the keyed objects alive so that their ids cannot be reused by others.
    cache[key] = {"eager": eager, "compiled": None, "keep": (loss, compiled_loss)}
    return eager


def layer_grad_norms(
    model: keras.Model, x: object, y: object, *, loss: LossLike = None
) -> dict[str, float]:
    """Return the L2 norm of dL/dv for each trainable variable ``v`` of ``model``.

    L is the batch-mean loss in training mode, as a training step computes it.

    Args:
        model: A built Keras model.
        x: A batch of inputs.
        y: The matching targets.
        loss: A Keras loss (name or callable); None uses the model's compiled loss.

    Returns:
        ``{variable.path: norm}`` in the order of ``model.trainable_variables``.

    Raises:
        ValueError: If the model has no compiled loss and ``loss`` is None, or shapes disagree.

    Used in: "Vanishing gradients in deep networks", "Exploding gradients".
    """
    xt, yt = as_batch(x, "x"), as_batch(y, "y")
    _check_pair(model, xt, yt)
    fn = _compiled_probe(model, loss, "variables")
    with _state_preserved(model):
        norms = fn(xt, yt)
    return {v.path: float(n) for v, n in zip(model.trainable_variables, norms, strict=True)}


def input_grad_norms(
    model: keras.Model, x: object, y: object, *, loss: LossLike = None
) -> np.ndarray:
    """Return, for each time step t, the batch mean of ||dL/dx_t||_2 from one backward pass.

    Args:
        model: A built sequence model taking ``(batch, seq_len, features)`` inputs.
        x: A batch of sequences, shape ``(batch, seq_len, features)``.
        y: The matching targets.
        loss: A Keras loss (name or callable); None uses the model's compiled loss.

    Returns:
        float64 array of shape ``(seq_len,)``.

    Raises:
        ValueError: If ``x`` is not 3-D, or the model has no loss to differentiate.

    Used in: "Recurrent networks and backpropagation through time", "LSTM and GRU".
    """
    xt, yt = as_batch(x, "x"), as_batch(y, "y")
    if xt.shape.rank != 3:
        raise ValueError(
            "input_grad_norms needs sequences shaped (batch, seq_len, features); got shape "
            f"{tuple(xt.shape)}. For a single feature per step use x[..., None]."
        )
    _check_pair(model, xt, yt)
    fn = _compiled_probe(model, loss, "inputs")
    with _state_preserved(model):
        per_step = fn(xt, yt)
    return per_step.numpy().astype(np.float64)


def hidden_kernel_norms(
    model: keras.Model, x: object, y: object, *, loss: LossLike = None
) -> np.ndarray:
    """Return ||dL/dW|| of each hidden layer's kernel, input side first.

    Works on models from :func:`vgrad_course.models.build_mlp` (layers ``hidden_1..``).

    Args:
        model: A model whose hidden Dense layers are named ``hidden_1``, ``hidden_2``, ...
        x: A batch of inputs.
        y: The matching targets.
        loss: A Keras loss; None uses the model's compiled loss.

    Returns:
        float64 array with one norm per hidden layer.

    Used in: "Vanishing gradients in deep networks", "Residual connections".
    """
    norms = layer_grad_norms(model, x, y, loss=loss)
    names = sorted(
        (p for p in norms if p.startswith("hidden_") and p.endswith("/kernel")),
        key=lambda p: int(p.split("/")[0].removeprefix("hidden_")),
    )
    if not names:
        raise ValueError(f"model {model.name!r} has no layers named hidden_1, hidden_2, ...")
    return np.array([norms[p] for p in names], dtype=np.float64)
