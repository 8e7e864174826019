"""Compare remedies from the registry on one sick network, in one loop, and tabulate the result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from vgrad_course import training
from vgrad_course.lessons.configs import MLPConfig
from vgrad_course.lessons.remedies import Remedy
from vgrad_course.palette import BAD, GOOD, GREY
from vgrad_course.reproducibility import reseed


def train_remedies(
    baseline: MLPConfig,
    remedies: Sequence[Remedy],
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 4,
    batch_size: int = 64,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Train the baseline and each remedy applied to it, all with the same seed and data.

    Args:
        baseline: The sick network (an :class:`~.configs.MLPConfig`).
        remedies: Remedies to apply one at a time (each must apply to ``baseline``).
        x: Training inputs.
        y: Integer class labels.
        epochs: Passes over the data.
        batch_size: Examples per step.
        seed: Seed set before building each model (same initial weights where shapes agree).

    Returns:
        ``{"baseline" or remedy.key: training loss per epoch}``, baseline first.

    Used in: "Putting it together".
    """
    configs: dict[str, MLPConfig] = {"baseline": baseline}
    for remedy in remedies:
        if not remedy.applies_to(baseline):
            raise ValueError(f"remedy {remedy.key!r} does not apply to {type(baseline).__name__}")
        configs[remedy.key] = remedy.apply(baseline)
    histories = {}
    for key, config in configs.items():
        reseed(seed)
        model = config.compile(config.build(input_dim=x.shape[1], seed=seed))
        history = training.train(model, x, y, epochs=epochs, batch_size=batch_size)
        histories[key] = history["loss"]
    return histories


def remedy_table(
    histories: Mapping[str, np.ndarray],
    remedies: Mapping[str, Remedy],
    *,
    baseline: str = "baseline",
) -> str:
    """Format final training losses as a Markdown table, best first, with the change vs baseline.

    Args:
        histories: ``{key: loss per epoch}`` as returned by :func:`train_remedies`.
        remedies: The registry (``{key: Remedy}``) used to name the rows.
        baseline: The key of the untreated network in ``histories``.

    Returns:
        A Markdown table (display it with ``IPython.display.Markdown``).

    Used in: "Putting it together".
    """
    if baseline not in histories:
        raise ValueError(f"histories has no {baseline!r} entry to compare against")
    ref = float(histories[baseline][-1])
    rows = [
        "| Remedy | Taught in | Final training loss | Change vs baseline |",
        "| --- | --- | ---: | ---: |",
    ]
    for key in sorted(histories, key=lambda k: float(histories[k][-1])):
        final = float(histories[key][-1])
        if key == baseline:
            rows.append(f"| *no remedy (baseline)* | — | {final:.3f} | — |")
            continue
        if key not in remedies:
            raise ValueError(f"unknown remedy {key!r} in histories")
        r = remedies[key]
        rows.append(f"| {r.name} | {r.chapter} | {final:.3f} | {final - ref:+.3f} |")
    return "\n".join(rows)


def plot_final_losses(
    histories: Mapping[str, np.ndarray],
    remedies: Mapping[str, Remedy],
    *,
    baseline: str = "baseline",
    min_gain: float = 0.05,
    ax: Axes | None = None,
) -> Axes:
    """Draw the final training loss of each variant as a horizontal bar, best at the top.

    Args:
        histories: ``{key: loss per epoch}`` as returned by :func:`train_remedies`.
        remedies: The registry (``{key: Remedy}``) used to name the bars.
        baseline: The key of the untreated network; drawn as a dashed reference line.
        min_gain: Bars at least this far below the baseline are coloured as helping.
        ax: Axes to draw on (a new figure if None).

    Returns:
        The Axes drawn on.

    Used in: "Putting it together".
    """
    if baseline not in histories:
        raise ValueError(f"histories has no {baseline!r} entry to compare against")
    if ax is None:
        _, ax = plt.subplots()
    keys = sorted((k for k in histories if k != baseline), key=lambda k: histories[k][-1])
    finals = [float(histories[k][-1]) for k in keys]
    ref = float(histories[baseline][-1])
    colours = [GOOD if f <= ref - min_gain else GREY for f in finals]
    ax.barh(np.arange(len(keys)), finals, color=colours)
    ax.set_yticks(np.arange(len(keys)), [remedies[k].name for k in keys])
    ax.invert_yaxis()
    ax.axvline(ref, color=BAD, linestyle="--", linewidth=1.2)
    ax.set_xlabel("final training loss (nats); dashed: no remedy")
    return ax
