"""Gradient probes: the training loss's gradient per variable, per hidden layer, per input step.

One tape serves every probe of the weights (:func:`layer_grad_norms`, :func:`kernel_gradients`,
:func:`hidden_kernel_norms`) and one the inputs (:func:`input_grad_norms`). Both compute the
loss the way a Keras training step does (training mode, batch-mean loss plus regularisation
losses), so the numbers are the gradients the optimizer would see, and both leave the model's
non-trainable state as they found it.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from vgrad_course.probes._model import as_batch, hidden_kernels, state_preserved

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


def _loss_key(loss: LossLike) -> object:
    """Return a hashable identity for a loss: its name, its config, or the callable itself."""
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, keras.losses.Loss):
        return (type(loss).__qualname__, repr(sorted(loss.get_config().items())))
    return loss


def _compiled_probe(model: keras.Model, loss: LossLike, kind: str) -> Callable:
    """Return the probe for ``(x, y)``: eager once, then compiled.

    ``kind`` is ``"variables"`` (the gradient of every trainable variable, the one tape of the
    weight probes) or ``"inputs"`` (the batch-mean norm of dL/dx_t per time step).

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

    def variable_grads(x: tf.Tensor, y: tf.Tensor) -> list[tf.Tensor]:
        with tf.GradientTape() as tape:
            value = loss_fn(x, y, model(x, training=True))
        grads = tape.gradient(value, variables)
        return [
            tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
            for g, v in zip(grads, variables, strict=True)
        ]

    def input_norms(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss_fn(x, y, model(x, training=True))
        grad = tape.gradient(value, x)
        if grad is None:
            raise ValueError("the loss does not depend on x: is x the model's input?")
        return tf.reduce_mean(tf.norm(grad, axis=-1), axis=0)  # (seq_len,)

    eager = variable_grads if kind == "variables" else input_norms
    # Keep the keyed objects alive so that their ids cannot be reused by others.
    cache[key] = {"eager": eager, "compiled": None, "keep": (loss, compiled_loss)}
    return eager


def _probe(model: keras.Model, x: tf.Tensor, y: tf.Tensor, loss: LossLike, kind: str) -> object:
    """Run the probe of ``kind`` on a checked batch, leaving the model's state as it was."""
    _check_pair(model, x, y)
    fn = _compiled_probe(model, loss, kind)
    with state_preserved(model):
        return fn(x, y)


def _variable_gradients(
    model: keras.Model, x: object, y: object, loss: LossLike
) -> dict[str, np.ndarray]:
    """Return ``{variable.path: dL/dv}`` for every trainable variable, from the one tape."""
    grads = _probe(model, as_batch(x, "x"), as_batch(y, "y"), loss, "variables")
    return {v.path: g.numpy() for v, g in zip(model.trainable_variables, grads, strict=True)}


def l2_norm(a: np.ndarray) -> float:
    """Return the L2 (Frobenius) norm of an array, summed in float64.

    Not ``np.linalg.norm``: its BLAS threads compete with TensorFlow's for the CPU cores, which
    made each call about 20 times slower during training on a 2-core machine.

    Args:
        a: A gradient or weight array.

    Returns:
        ``sqrt(sum(a**2))``.

    Used in: "Vanishing gradients in deep networks", "Diagnosing a network".
    """
    return float(np.sqrt(np.square(a, dtype=np.float64).sum()))


def layer_grad_norms(
    model: keras.Model, x: object, y: object, *, loss: LossLike = None
) -> dict[str, float]:
    """Return the L2 norm of dL/dv for each trainable variable ``v`` of ``model``.

    L is the batch-mean loss in training mode plus the regularisation losses, as a training
    step computes it.

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
    return {path: l2_norm(g) for path, g in _variable_gradients(model, x, y, loss).items()}


def kernel_gradients(
    model: keras.Model, x: object, y: object, *, loss: LossLike = None
) -> dict[str, np.ndarray]:
    """Return dL/dW for the kernel of every hidden layer (``hidden_1 ..``), input side first.

    Args:
        model: A model with hidden layers named ``hidden_1, hidden_2, ...``, e.g. from
            :func:`vgrad_course.models.build_mlp`.
        x: A batch of inputs.
        y: The matching targets.
        loss: A Keras loss (name or callable); None uses the model's compiled loss.

    Returns:
        ``{layer name: gradient array of the kernel's shape}``.

    Used in: "Vanishing gradients in deep networks", "Diagnosing a network".
    """
    kernels = hidden_kernels(model)
    grads = _variable_gradients(model, x, y, loss)
    return {name: grads[kernel.path] for name, kernel in kernels.items()}


def hidden_kernel_norms(
    model: keras.Model, x: object, y: object, *, loss: LossLike = None
) -> np.ndarray:
    """Return ||dL/dW|| of each hidden layer's kernel, input side first.

    Args:
        model: A model whose hidden layers are named ``hidden_1``, ``hidden_2``, ... (Dense
            layers, or residual blocks whose branch kernel is read).
        x: A batch of inputs.
        y: The matching targets.
        loss: A Keras loss; None uses the model's compiled loss.

    Returns:
        float64 array with one norm per hidden layer.

    Used in: "Vanishing gradients in deep networks", "Exploding gradients",
    "Activation functions", "Batch normalization".
    """
    kernels = hidden_kernels(model)
    norms = layer_grad_norms(model, x, y, loss=loss)
    return np.array([norms[kernel.path] for kernel in kernels.values()], dtype=np.float64)


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
    return _probe(model, xt, yt, loss, "inputs").numpy().astype(np.float64)
