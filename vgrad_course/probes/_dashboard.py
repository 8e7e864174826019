"""Diagnosing a network: per-layer activations, gradients and update:data ratios in one report.

The numbers are the ones a practitioner reads (Karpathy, makemore part 3): the activation
mean, std and saturated fraction of each hidden layer, the std of each layer's weight gradient,
and ``log10(||dW|| / ||W||)``, the size of each optimizer step relative to the weights, which
should sit near -3. :func:`dashboard` trains a model briefly, collects them all, and draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from vgrad_course import training
from vgrad_course.probes._activation_stats import activation_stats
from vgrad_course.probes._gradients import kernel_gradients, l2_norm
from vgrad_course.probes._model import hidden_kernels, hidden_layers
from vgrad_course.reproducibility import reseed

#: The guide line for ``log10(update / data)`` (Karpathy, makemore part 3).
UPDATE_RATIO_GUIDE: float = -3.0


class UpdateRatioTracker(keras.callbacks.Callback):
    """Record ``log10(||W_after - W_before|| / ||W_before||)`` of each hidden kernel per step.

    Attributes:
        history: After ``fit``: array of shape ``(recorded steps, hidden layers)``.
        names: The hidden layer names, one per column of ``history``.

    Used in: "Vanishing gradients in deep networks", "Diagnosing a network".
    """

    def __init__(self, *, every: int = 1) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.every = every
        self.names: list[str] = []
        self.history = np.zeros((0, 0))
        self._rows: list[np.ndarray] = []
        self._before: list[np.ndarray] | None = None
        self._step = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Find the hidden kernels and reset the history."""
        self._kernels = hidden_kernels(self.model)
        self.names = list(self._kernels)
        self._rows, self._step = [], 0

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Copy the kernels before a step that will be recorded."""
        if self._step % self.every == 0:
            self._before = [k.numpy().copy() for k in self._kernels.values()]

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Compare the kernels after the step with the copies."""
        if self._before is not None:
            after = [k.numpy() for k in self._kernels.values()]
            row = [
                l2_norm(a - b) / max(l2_norm(b), 1e-30)
                for a, b in zip(after, self._before, strict=True)
            ]
            self._rows.append(np.log10(np.maximum(row, 1e-30)))
            self._before = None
        self._step += 1

    def on_train_end(self, logs: dict | None = None) -> None:
        """Publish ``history``."""
        self.history = np.asarray(self._rows, dtype=np.float64).reshape(-1, len(self.names))


@dataclass(frozen=True)
class Diagnosis:
    """Everything :func:`diagnose` measured, one entry per hidden layer where it applies.

    Attributes:
        names: Hidden layer names, input side first.
        act_mean: Activation mean per layer after training.
        act_std: Activation std per layer after training.
        saturated: Fraction of saturated (or, for ReLU, inactive) units per layer.
        grad_norm: ``||dL/dW||`` per layer after training.
        grad_std: Std of the entries of ``dL/dW`` per layer after training.
        update_ratio: ``log10(||dW||/||W||)``, shape ``(recorded steps, layers)``.
        loss: Training loss per epoch.
        val_accuracy: Validation accuracy per epoch (empty without validation data).
    """

    names: list[str]
    act_mean: np.ndarray
    act_std: np.ndarray
    saturated: np.ndarray
    grad_norm: np.ndarray
    grad_std: np.ndarray
    update_ratio: np.ndarray
    loss: np.ndarray
    val_accuracy: np.ndarray


def diagnose(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    optimizer: str | keras.optimizers.Optimizer = "sgd",
    lr: float = 0.1,
    epochs: int = 5,
    batch_size: int = 64,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    probe_size: int = 512,
    seed: int = 0,
    track_every: int = 1,
) -> Diagnosis:
    """Train a classifier briefly while tracking update ratios, then probe every hidden layer.

    Args:
        model: An uncompiled model from :func:`vgrad_course.models.build_mlp` (logit outputs).
        x: Training inputs.
        y: Integer class labels.
        optimizer: Optimizer name (see :func:`vgrad_course.training.make_optimizer`) or a
            fresh optimizer instance, e.g. ``make_optimizer("adam", epsilon=1e-12)``.
        lr: Learning rate (ignored when ``optimizer`` is an instance).
        epochs: Training epochs.
        batch_size: Examples per step.
        validation_data: Optional ``(x_val, y_val)`` for the accuracy curve.
        probe_size: Number of training examples used for the activation and gradient probes.
        seed: Reseeds every generator before training, so the batch order is the same for
            every model compared.
        track_every: Record the update ratio at every this-many-th step only (cheaper).

    Returns:
        A :class:`Diagnosis`.

    Used in: "Vanishing gradients in deep networks", "Diagnosing a network".
    """
    loss = training.classification_loss()
    metrics = ["accuracy"] if validation_data is not None else None
    training.compile_model(model, loss=loss, optimizer=optimizer, lr=lr, metrics=metrics)
    tracker = UpdateRatioTracker(every=track_every)
    reseed(seed)
    history = training.train(
        model,
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        callbacks=[tracker],
    )
    xp, yp = x[:probe_size], y[:probe_size]
    grads = kernel_gradients(model, xp, yp)  # the compiled loss, as the steps had it
    acts = activation_stats(model, xp, layers=[a.name for a in hidden_layers(model, prefix="act_")])
    return Diagnosis(
        names=list(grads),
        act_mean=np.array([s.mean for s in acts.values()]),
        act_std=np.array([s.std for s in acts.values()]),
        saturated=np.array([s.saturated for s in acts.values()]),
        grad_norm=np.array([l2_norm(g) for g in grads.values()]),
        grad_std=np.array([g.std() for g in grads.values()]),
        update_ratio=tracker.history,
        loss=history["loss"],
        val_accuracy=history.get("val_accuracy", np.zeros(0)),
    )


def plot_dashboard(
    reports: dict[str, Diagnosis], *, axes: Sequence[plt.Axes] | None = None
) -> Figure:
    """Draw a 2x2 dashboard comparing diagnoses: activations, gradients, updates, loss.

    Args:
        reports: ``{label: Diagnosis}``, e.g. ``{"healthy": ..., "sick": ...}``.
        axes: Four Axes to draw on (a new 2x2 figure if None).

    Returns:
        The Figure drawn on.

    Used in: "Diagnosing a network".
    """
    if not reports:
        raise ValueError("reports is empty: pass {label: Diagnosis}")
    if axes is None:
        fig, grid = plt.subplots(2, 2, figsize=(10, 6.5), layout="constrained")
        axes = grid.ravel()
    if len(axes) != 4:
        raise ValueError(f"axes must hold 4 Axes, got {len(axes)}")
    ax_act, ax_grad, ax_upd, ax_loss = axes
    for i, (label, rep) in enumerate(reports.items()):
        colour = f"C{i}"
        depth = np.arange(1, len(rep.names) + 1)
        ax_act.plot(depth, rep.act_mean, ls=":", color=colour, label=f"{label}: mean")
        ax_act.plot(depth, rep.act_std, marker="o", color=colour, label=f"{label}: std")
        ax_act.plot(
            depth, rep.saturated, ls="--", marker="x", color=colour, label=f"{label}: saturated"
        )
        ax_grad.plot(depth, rep.grad_std, marker="o", color=colour, label=label)
        ax_upd.plot(depth, rep.update_ratio.mean(axis=0), marker="o", color=colour, label=label)
        ax_loss.plot(np.arange(1, len(rep.loss) + 1), rep.loss, color=colour, label=label)
    ax_upd.axhline(UPDATE_RATIO_GUIDE, color="0.4", ls=":", label="guide 1e-3")
    ax_act.set(xlabel="layer", ylabel="activation mean, std; saturated fraction")
    ax_act.set_title("activations")
    ax_grad.set(xlabel="layer", ylabel="std of ∂L/∂W", yscale="log")
    ax_grad.set_title("weight gradients")
    ax_upd.set(xlabel="layer", ylabel="mean log10(‖ΔW‖/‖W‖)")
    ax_upd.set_title("update:data ratio")
    ax_loss.set(xlabel="epoch", ylabel="training loss")
    ax_loss.set_title("loss")
    ax_act.set_ylim(min(0.0, ax_act.get_ylim()[0]), 1.45)
    ax_act.legend(fontsize=7, ncol=3, loc="upper center")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (ax_grad, ax_upd, ax_loss):
        ax.legend(fontsize=8)
    return ax_act.figure


def dashboard(
    models_by_label: dict[str, keras.Model],
    x: np.ndarray,
    y: np.ndarray,
    **options: object,
) -> tuple[dict[str, Diagnosis], Figure]:
    """Diagnose each model on the same data and draw the comparison dashboard.

    Args:
        models_by_label: ``{label: uncompiled build_mlp model}``.
        x: Training inputs.
        y: Integer class labels.
        **options: Passed to :func:`diagnose` (optimizer, lr, epochs, batch_size, ...).

    Returns:
        ``(reports, figure)``: ``{label: Diagnosis}`` and the dashboard Figure.

    Used in: "Diagnosing a network".
    """
    reports = {label: diagnose(m, x, y, **options) for label, m in models_by_label.items()}
    return reports, plot_dashboard(reports)


def summary_table(reports: dict[str, Diagnosis]) -> str:
    """Return a plain-text table with one row per diagnosis (loss, saturation, gradients, updates).

    Args:
        reports: ``{label: Diagnosis}``.

    Returns:
        A multi-line string, ready to ``print``.

    Used in: "Diagnosing a network".
    """
    header = ["model", "loss", "val acc", "max sat %", "g1/gL std", "log10 upd 1", "log10 upd L"]
    rows = [header]
    for label, r in reports.items():
        ratio = r.update_ratio.mean(axis=0)
        acc = f"{r.val_accuracy[-1]:.2f}" if r.val_accuracy.size else "-"
        rows.append(
            [
                label,
                f"{r.loss[-1]:.3f}",
                acc,
                f"{100 * r.saturated.max():.1f}",
                f"{r.grad_std[0] / r.grad_std[-1]:.1e}",
                f"{ratio[0]:.2f}",
                f"{ratio[-1]:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )
