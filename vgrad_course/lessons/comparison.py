"""Compare variants of a network, configurations trained in one loop, and tabulate the result."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from vgrad_course import probes, training
from vgrad_course.lessons.configs import Config, MLPConfig, RNNConfig
from vgrad_course.lessons.remedies import Remedy
from vgrad_course.palette import BAD, GOOD, GREY
from vgrad_course.reproducibility import reseed


def train_configs(
    configs: Mapping[str, Config],
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    seed: int = 0,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    record_grad_norms: bool = False,
) -> dict[str, dict[str, np.ndarray]]:
    """Build, compile and train each configuration from the same seed; return every history.

    This is how the course compares variants: each is a configuration (a remedy applied to a
    baseline, see :func:`~vgrad_course.lessons.remedies.variants_of`, or a
    ``dataclasses.replace`` of it), and before each one the random generators are reseeded with
    ``seed``, so all of them see the same data order and, where shapes agree, the same initial
    weights. They differ only in what their configurations change.

    Args:
        configs: ``{label: MLPConfig or RNNConfig}``.
        x: Training inputs.
        y: Training targets.
        epochs: Passes over the data.
        batch_size: Examples per step.
        seed: The seed restored before each variant (and of every initializer).
        validation_data: Optional ``(x_val, y_val)``.
        record_grad_norms: Also record the global gradient norm of every step (before any
            clipping) under the key ``"grad_norm"`` (one value per step, not per epoch).

    Returns:
        ``{label: {metric: np.ndarray}}`` in the order of ``configs``.

    Used in: "Gradient clipping", "Weight initialisation", "Activation functions",
    "Batch normalization", "Residual connections", "Putting it together".
    """
    if not configs:
        raise ValueError("configs is empty: give at least one {label: configuration}")
    histories: dict[str, dict[str, np.ndarray]] = {}
    for label, config in configs.items():
        if not isinstance(config, MLPConfig | RNNConfig):
            raise TypeError(f"variant {label!r} must be a configuration, got {config!r}")
        reseed(seed)
        model = config.model_for(x, seed=seed)
        monitor = probes.GradientMonitor() if record_grad_norms else None
        history = training.train(
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
        histories: The output of :func:`train_configs`.
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


def remedy_table(
    losses: Mapping[str, np.ndarray],
    remedies: Mapping[str, Remedy],
    *,
    baseline: str = "baseline",
) -> str:
    """Format final training losses as a Markdown table, best first, with the change vs baseline.

    Args:
        losses: ``{key: training loss per epoch}`` (the ``"loss"`` of each history of
            :func:`train_configs`).
        remedies: The registry (``{key: Remedy}``) used to name the rows.
        baseline: The key of the untreated network in ``losses``.

    Returns:
        A Markdown table (display it with ``IPython.display.Markdown``).

    Used in: "Putting it together".
    """
    if baseline not in losses:
        raise ValueError(f"losses has no {baseline!r} entry to compare against")
    ref = float(losses[baseline][-1])
    rows = [
        "| Remedy | Taught in | Final training loss | Change vs baseline |",
        "| --- | --- | ---: | ---: |",
    ]
    for key in sorted(losses, key=lambda k: float(losses[k][-1])):
        final = float(losses[key][-1])
        if key == baseline:
            rows.append(f"| *no remedy (baseline)* | — | {final:.3f} | — |")
            continue
        if key not in remedies:
            raise ValueError(f"unknown remedy {key!r} in losses")
        r = remedies[key]
        rows.append(f"| {r.name} | {r.chapter} | {final:.3f} | {final - ref:+.3f} |")
    return "\n".join(rows)


def plot_final_losses(
    losses: Mapping[str, np.ndarray],
    remedies: Mapping[str, Remedy],
    *,
    baseline: str = "baseline",
    min_gain: float = 0.05,
    ax: Axes | None = None,
) -> Axes:
    """Draw the final training loss of each variant as a horizontal bar, best at the top.

    Args:
        losses: ``{key: training loss per epoch}`` (the ``"loss"`` of each history of
            :func:`train_configs`).
        remedies: The registry (``{key: Remedy}``) used to name the bars.
        baseline: The key of the untreated network; drawn as a dashed reference line.
        min_gain: Bars at least this far below the baseline are coloured as helping.
        ax: Axes to draw on (a new figure if None).

    Returns:
        The Axes drawn on.

    Used in: "Putting it together".
    """
    if baseline not in losses:
        raise ValueError(f"losses has no {baseline!r} entry to compare against")
    if ax is None:
        _, ax = plt.subplots()
    keys = sorted((k for k in losses if k != baseline), key=lambda k: losses[k][-1])
    finals = [float(losses[k][-1]) for k in keys]
    ref = float(losses[baseline][-1])
    colours = [GOOD if f <= ref - min_gain else GREY for f in finals]
    ax.barh(np.arange(len(keys)), finals, color=colours)
    ax.set_yticks(np.arange(len(keys)), [remedies[k].name for k in keys])
    ax.invert_yaxis()
    ax.axvline(ref, color=BAD, linestyle="--", linewidth=1.2)
    ax.set_xlabel("final training loss (nats); dashed: no remedy")
    return ax
