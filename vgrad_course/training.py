"""Training helpers: one place that compiles and fits models quietly and reproducibly."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import keras
import numpy as np

from vgrad_course.probes import GradientMonitor

OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam", "rmsprop")


def classification_loss() -> keras.losses.Loss:
    """Return the loss for integer class labels and logit outputs (our MLPs output logits).

    Returns:
        ``SparseCategoricalCrossentropy(from_logits=True)``.

    Used in: every chapter that trains on MNIST-1D.
    """
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def make_optimizer(
    name: str = "adam",
    lr: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    *,
    clipnorm: float | None = None,
    clipvalue: float | None = None,
    global_clipnorm: float | None = None,
    epsilon: float | None = None,
) -> keras.optimizers.Optimizer:
    """Create a Keras optimizer by name, with optional gradient clipping.

    Args:
        name: ``"sgd"``, ``"momentum"`` (SGD with momentum 0.9), ``"adam"`` or ``"rmsprop"``.
        lr: Learning rate (> 0), or a Keras ``LearningRateSchedule`` (e.g. a warm-up, chapter 20's
            ``warmup.LinearWarmup``), used as given.
        clipnorm: Clip each variable's gradient to this norm.
        clipvalue: Clip each gradient entry to ``[-clipvalue, clipvalue]``.
        global_clipnorm: Clip all gradients together to this global norm.
        epsilon: For ``"adam"`` and ``"rmsprop"``: the constant added to the root of the
            squared-gradient average before dividing by it (None keeps Keras' default, 1e-7).

    Returns:
        A new optimizer.

    Used in: every training chapter; "Gradient clipping" for the clipping options;
    "Vanishing gradients in deep networks" for Adam's ``epsilon``.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    is_schedule = isinstance(lr, keras.optimizers.schedules.LearningRateSchedule)
    is_number = isinstance(lr, numbers.Real) and not isinstance(lr, bool)  # NumPy's too
    if not is_schedule and not (is_number and lr > 0):
        raise ValueError(f"lr must be a number > 0 or a LearningRateSchedule, got {lr!r}")
    if is_number:
        lr = float(lr)  # Keras refuses a NumPy float
    clip = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
    clip = {k: v for k, v in clip.items() if v is not None}
    if len(clip) > 1:
        raise ValueError(f"use at most one clipping option, got {sorted(clip)}")
    eps = {} if epsilon is None else {"epsilon": epsilon}
    if eps and name not in ("adam", "rmsprop"):
        raise ValueError(f"epsilon applies to adam and rmsprop only, not {name!r}")
    if eps and not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, **clip)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate=lr, momentum=0.9, **clip)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr, **clip, **eps)
    return keras.optimizers.Adam(learning_rate=lr, **clip, **eps)


def compile_model(
    model: keras.Model,
    *,
    loss: str | keras.losses.Loss,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    lr: float = 1e-3,
    metrics: Sequence[str] | None = None,
    **clip: float | None,
) -> keras.Model:
    """Compile ``model`` in place with a named optimizer and return it.

    Args:
        model: The model to compile.
        loss: A Keras loss, e.g. ``"mse"`` or ``"sparse_categorical_crossentropy"``.
        optimizer: An optimizer name (see :func:`make_optimizer`) or an optimizer instance.
        lr: Learning rate when ``optimizer`` is a name.
        metrics: Keras metric names.
        **clip: ``clipnorm``, ``clipvalue`` or ``global_clipnorm`` (see :func:`make_optimizer`).

    Returns:
        The same model, compiled, with the gradient monitor's recorder built into its training
        step and switched off (see :meth:`vgrad_course.probes.GradientMonitor.prepare`): a
        plain fit is unchanged, and a monitored fit never re-traces the step.

    Used in: every training chapter.
    """
    opt = optimizer if not isinstance(optimizer, str) else make_optimizer(optimizer, lr, **clip)
    model.compile(optimizer=opt, loss=loss, metrics=list(metrics or []))
    # A GradientMonitor can then attach to any later fit without tracing the step again.
    return GradientMonitor.prepare(model)


def train(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    shuffle: bool = True,
) -> dict[str, np.ndarray]:
    """Fit a compiled model without progress bars and return its per-epoch history.

    Args:
        model: A compiled model.
        x: Training inputs.
        y: Training targets.
        epochs: Number of passes over the data.
        batch_size: Examples per step.
        validation_data: Optional ``(x_val, y_val)``.
        callbacks: Keras callbacks, e.g. a :class:`~vgrad_course.probes.GradientMonitor`.
        shuffle: Shuffle the training data each epoch (seeded by :func:`vgrad_course.setup`).

    Returns:
        ``{metric: np.ndarray of one value per epoch}`` (``loss``, ``val_loss``, ...).

    Used in: every training chapter.
    """
    if getattr(model, "optimizer", None) is None:
        raise ValueError(
            "compile the model first, e.g. vg.training.compile_model(model, loss='mse')"
        )
    history = model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        callbacks=list(callbacks or []),
        shuffle=shuffle,
        verbose=0,
    )
    return {k: np.asarray(v, dtype=np.float64) for k, v in history.history.items()}
