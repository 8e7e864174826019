"""Diagnosing a network: per-layer activations, gradients and update:data ratios in one report.

The numbers are the ones a practitioner reads (Karpathy, makemore part 3): the activation
mean, std and saturated fraction of each hidden layer, the std of each layer's weight gradient,
and ``log10(||dW|| / ||W||)``, the size of each optimizer step relative to the weights, which
should sit near -3. :func:`diagnose` trains a model briefly and collects them all with the
probes; :func:`dashboard` does it for several models and draws the comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from vgrad_course import probes, training
from vgrad_course.reproducibility import reseed


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
    tracker = probes.UpdateRatioTracker(every=track_every)
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
    grads = probes.kernel_gradients(model, xp, yp)  # the compiled loss, as the steps had it
    act_layers = [layer.name for layer in probes.hidden_layers(model, prefix="act_")]
    acts = probes.activation_stats(model, xp, layers=act_layers)
    return Diagnosis(
        names=list(grads),
        act_mean=np.array([s.mean for s in acts.values()]),
        act_std=np.array([s.std for s in acts.values()]),
        saturated=np.array([s.saturated for s in acts.values()]),
        grad_norm=np.array([np.sqrt(np.sum(np.square(g))) for g in grads.values()]),
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
    ax_upd.axhline(probes.UPDATE_RATIO_GUIDE, color="0.4", ls=":", label="guide 1e-3")
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
