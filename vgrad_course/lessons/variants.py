"""Train several model variants on the same seeded data and compare their histories."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np

from vgrad_course.probes._monitor import GradientMonitor
from vgrad_course.reproducibility import reseed
from vgrad_course.training import compile_model, train


def train_variants(
    builders: Mapping[str, Callable[[], keras.Model]],
    x: np.ndarray,
    y: np.ndarray,
    *,
    loss: str | keras.losses.Loss,
    optimizer: str = "adam",
    lr: float = 1e-3,
    epochs: int = 1,
    batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    metrics: Sequence[str] | None = None,
    options: Mapping[str, Mapping[str, float]] | None = None,
    record_grad_norms: bool = False,
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """Build, compile and train each variant from the same seed; return every history.

    Before each variant the random generators are reseeded with ``seed``, so the variants
    see the same data order and differ only in what their builder (or options) changes.

    Args:
        builders: ``{label: function returning a fresh uncompiled model}``.
        x: Training inputs.
        y: Training targets.
        loss: The Keras loss.
        optimizer: Optimizer name (see :func:`vgrad_course.training.make_optimizer`).
        lr: Learning rate.
        epochs: Passes over the data.
        batch_size: Examples per step.
        validation_data: Optional ``(x_val, y_val)``.
        metrics: Keras metric names, e.g. ``["accuracy"]``.
        options: Per-variant extra compile options, e.g. ``{"clipped": {"global_clipnorm": 1}}``
            (also ``"lr"``); variants not listed use the shared settings.
        record_grad_norms: Also record the global gradient norm of every step (before any
            clipping) under the key ``"grad_norm"`` (one value per step, not per epoch).
        seed: The seed restored before each variant.

    Returns:
        ``{label: {metric: np.ndarray}}`` in the order of ``builders``.

    Used in: "Gradient clipping", "Weight initialisation", "Activation functions",
    "Batch normalization", "Residual connections".
    """
    if not builders:
        raise ValueError("builders is empty: give at least one {label: build_function}")
    options = dict(options or {})
    unknown = sorted(set(options) - set(builders))
    if unknown:
        raise ValueError(f"options name variants that are not in builders: {unknown}")
    histories: dict[str, dict[str, np.ndarray]] = {}
    for label, build in builders.items():
        if not callable(build):
            raise TypeError(f"builder {label!r} must be callable, got {type(build).__name__}")
        reseed(seed)
        model = build()
        extra = dict(options.get(label, {}))
        variant_lr = float(extra.pop("lr", lr))
        compile_model(
            model, loss=loss, optimizer=optimizer, lr=variant_lr, metrics=metrics, **extra
        )
        monitor = GradientMonitor() if record_grad_norms else None
        history = train(
            model,
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            validation_data=validation_data,
            callbacks=[monitor] if monitor else None,
        )
        if monitor is not None:
            history["grad_norm"] = monitor.global_norm
        histories[label] = history
    return histories


def final_values(
    histories: Mapping[str, Mapping[str, np.ndarray]], key: str = "loss"
) -> dict[str, float]:
    """Return the last recorded value of ``key`` for each variant.

    Args:
        histories: The output of :func:`train_variants`.
        key: The metric, e.g. ``"loss"`` or ``"val_accuracy"``.

    Returns:
        ``{label: last value}`` (NaN stays NaN: a diverged run is reported as such).

    Used in: "Gradient clipping", "Residual connections".
    """
    out = {}
    for label, history in histories.items():
        if key not in history:
            raise ValueError(f"variant {label!r} has no {key!r}; it has {sorted(history)}")
        out[label] = float(np.asarray(history[key])[-1])
    return out
