"""Plot helpers: each takes the data first, draws on ``ax`` (or a new one) and returns the Axes.

None of them calls ``plt.show()`` or saves a file; the notebook decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes

from vgrad_course.palette import BAD, PALETTE


def use_course_style() -> None:
    """Apply the course's plot style, legible on light and dark book themes.

    Used in: every chapter, through :func:`vgrad_course.setup`.
    """
    mpl.rcParams.update(
        {
            # An opaque white card with dark ink is readable on a light or a dark page.
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "text.color": "#222222",
            "axes.labelcolor": "#222222",
            "axes.edgecolor": "#444444",
            "xtick.color": "#444444",
            "ytick.color": "#444444",
            "axes.prop_cycle": cycler(color=list(PALETTE)),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "font.size": 10,
            "legend.frameon": False,
            "lines.linewidth": 1.8,
        }
    )


def _axes(ax: Axes | None) -> Axes:
    """Return ``ax`` or a fresh Axes of a new figure."""
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _finish(ax: Axes, *, xlabel: str, ylabel: str, title: str | None, logy: bool) -> Axes:
    """Label the axes, set the scale and add a legend when there are labelled artists."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return ax


def _plot_by_index(
    ax: Axes, values_by_label: Mapping[str, Sequence[float] | np.ndarray], *, marker: str | None
) -> None:
    """Draw each sequence of values against its position 1, 2, ... (layer or time step)."""
    for label, values in values_by_label.items():
        v = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(v) + 1), v, marker=marker, markersize=3, label=label)


def plot_curves(
    series: Mapping[str, Sequence[float] | np.ndarray],
    *,
    x: Sequence[float] | np.ndarray | None = None,
    ax: Axes | None = None,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    logy: bool = False,
    title: str | None = None,
    baseline: float | None = None,
    baseline_label: str = "baseline",
) -> Axes:
    """Plot one line per named series (loss curves, norms over training...).

    Args:
        series: ``{label: values}``.
        x: Shared x values (default: 1, 2, ... as for epochs or steps).
        ax: Axes to draw on (a new figure if None).
        xlabel: Label of the x axis (with units).
        ylabel: Label of the y axis (with units).
        logy: Use a log-scale y axis (use it for gradient norms).
        title: Optional title.
        baseline: Draw a dashed horizontal reference line at this value.
        baseline_label: Legend text of the reference line.

    Returns:
        The Axes drawn on.

    Used in: every training chapter.
    """
    ax = _axes(ax)
    for label, values in series.items():
        v = np.asarray(values, dtype=float)
        xs = np.arange(1, len(v) + 1) if x is None else np.asarray(x, dtype=float)
        if xs.shape != v.shape:
            raise ValueError(f"series {label!r} has {v.shape} values but x has {xs.shape}")
        ax.plot(xs, v, label=label)
    if baseline is not None:
        ax.axhline(baseline, color="0.4", linestyle="--", linewidth=1, label=baseline_label)
    return _finish(ax, xlabel=xlabel, ylabel=ylabel, title=title, logy=logy)


def plot_layer_values(
    values_by_model: Mapping[str, Sequence[float] | np.ndarray],
    *,
    ax: Axes | None = None,
    xlabel: str = "layer (input → output)",
    ylabel: str = "gradient norm ‖∂L/∂W‖",
    logy: bool = True,
    title: str | None = None,
) -> Axes:
    """Plot one per-layer quantity (gradient norm, activation std...) against depth.

    Args:
        values_by_model: ``{label: one value per layer, input side first}``.
        ax: Axes to draw on (a new figure if None).
        xlabel: Label of the x axis.
        ylabel: Label of the y axis.
        logy: Use a log-scale y axis.
        title: Optional title.

    Returns:
        The Axes drawn on.

    Used in: "Vanishing gradients in deep networks", "Weight initialisation".
    """
    ax = _axes(ax)
    _plot_by_index(ax, values_by_model, marker="o")
    return _finish(ax, xlabel=xlabel, ylabel=ylabel, title=title, logy=logy)


def plot_per_step(
    norms_by_model: Mapping[str, Sequence[float] | np.ndarray],
    *,
    ax: Axes | None = None,
    ylabel: str = "mean ‖∂L/∂x_t‖",
    title: str | None = None,
) -> Axes:
    """Plot per-time-step input-gradient norms (from ``input_grad_norms``) on a log scale.

    Exact zeros cannot be drawn on a log axis: they are left out rather than faked.

    Args:
        norms_by_model: ``{label: array of shape (seq_len,)}``, step 1 first.
        ax: Where to draw (default: a new figure).
        ylabel: The y axis' label.
        title: A title, if any.

    Returns:
        The Axes, for further styling.

    Used in: "Recurrent networks and backpropagation through time", "LSTM and GRU".
    """
    ax = _axes(ax)
    masked = {k: np.where(np.asarray(v, float) > 0, v, np.nan) for k, v in norms_by_model.items()}
    _plot_by_index(ax, masked, marker=None)
    return _finish(ax, xlabel="time step t", ylabel=ylabel, title=title, logy=True)


def plot_histograms(
    values_by_layer: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    bins: int = 60,
    xlabel: str = "value",
    title: str | None = None,
    value_range: tuple[float, float] | None = None,
) -> Axes:
    """Overlay normalised histograms, one per layer (Glorot & Bengio 2010, figures 3-7).

    Args:
        values_by_layer: ``{layer label: values}`` (any shape; flattened).
        ax: Axes to draw on (a new figure if None).
        bins: Number of bins.
        xlabel: Label of the x axis.
        title: Optional title.
        value_range: ``(low, high)`` of the bins (default: the range of all values).

    Returns:
        The Axes drawn on.

    Used in: "Vanishing gradients in deep networks".
    """
    ax = _axes(ax)
    flat = {k: np.ravel(np.asarray(v, dtype=float)) for k, v in values_by_layer.items()}
    if value_range is None:
        finite = np.concatenate([v[np.isfinite(v)] for v in flat.values()] or [np.zeros(1)])
        value_range = (float(finite.min()), float(finite.max()) or 1.0)
    for label, v in flat.items():
        ax.hist(v, bins=bins, range=value_range, density=True, histtype="step", label=label)
    return _finish(ax, xlabel=xlabel, ylabel="density", title=title, logy=False)


def plot_activation_stats(
    stats: Mapping[str, object],
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Plot per-layer activation mean ± std and the saturated (or dead ReLU) fraction (right axis).

    Args:
        stats: The output of :func:`vgrad_course.probes.activation_stats`.
        ax: Axes to draw on (a new figure if None).
        title: Optional title.

    Returns:
        The (left) Axes drawn on.

    Used in: no chapter calls it directly (a helper for your own experiments).
    """
    ax = _axes(ax)
    names = list(stats)
    depth = np.arange(1, len(names) + 1)
    mean = np.array([stats[n].mean for n in names])
    std = np.array([stats[n].std for n in names])
    # Saturated tanh/sigmoid units, or dead ReLU units: the two ways a unit stops passing gradient.
    bad = np.array([stats[n].saturated + getattr(stats[n], "dead", 0.0) for n in names])
    ax.errorbar(depth, mean, yerr=std, marker="o", capsize=3, label="mean ± std")
    right = ax.twinx()
    right.bar(depth, 100 * bad, alpha=0.25, color=BAD, label="saturated or dead %")
    right.set_ylabel("saturated or dead units (%)")
    right.set_ylim(0, 100)
    right.grid(False)
    ax.set_zorder(right.get_zorder() + 1)
    ax.patch.set_visible(False)
    return _finish(
        ax, xlabel="layer (input → output)", ylabel="activation", title=title, logy=False
    )
