"""The course's assignment as written: SimpleRNN, LSTM and GRU on the sign of a sequence's mean.

Gaussian sequences, label 1 when the mean is positive; one recurrent layer of 10 units and a
sigmoid output, Adam, 5 epochs; then one bar per weight tensor (its gradient norm on the first
example). :func:`train_cells` trains and measures every cell under several seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, NullLocator

from vgrad_course import models, palette, plotting, probes, training
from vgrad_course.animation import to_html
from vgrad_course.lessons.bptt_contributions import step_contributions
from vgrad_course.reproducibility import reseed
from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_choice, check_int

#: The three cells of the assignment, in its order, and their names in plots.
CELLS: dict[str, str] = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
#: The loss of a sigmoid output and 0/1 labels.
LOSS = "binary_crossentropy"


def mean_sign(n: int, seq_len: int = 50, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate the assignment's data: Gaussian sequences, label 1 when their mean is positive.

    Args:
        n: Number of sequences.
        seq_len: Steps per sequence.
        seed: Seed of the NumPy generator.

    Returns:
        ``(x, y)``: ``x`` float32 ``(n, seq_len, 1)`` from N(0, 1), ``y`` float32 ``(n, 1)``.

    Used in: "The assignment, as written: SimpleRNN, LSTM and GRU at length 50".
    """
    n, seq_len = check_int("n", n), check_int("seq_len", seq_len)
    x = make_rng(seed).normal(0.0, 1.0, size=(n, seq_len, 1))
    y = (x.mean(axis=(1, 2)) > 0).astype(np.float32)[:, None]
    return x.astype(np.float32), y


@dataclass(frozen=True)
class CellRun:
    """One trained model of the assignment and what was measured on it.

    Attributes:
        cell: ``"simple"``, ``"lstm"`` or ``"gru"``.
        seed: The seed of its initialisation and of the shuffling.
        val_accuracy: Accuracy on the validation sequences after training.
        bars: ``{weight tensor: ||dL/dv||}`` on the first training example, after training.
        profile: Mean ``||dL/dx_t||`` (t = 1..seq_len) over the probed validation sequences,
            after training.
        frames: The same profile during training, one row per frame (the first before
            training), or None; ``frame_steps``: the optimiser step of each frame.
        contributions: ``(before, after)`` training, the per-step terms of the recurrent
            kernel's gradient on the first training example (see
            :func:`~vgrad_course.lessons.bptt_contributions.step_contributions`), or None.
    """

    cell: str
    seed: int
    val_accuracy: float
    bars: dict[str, float]
    profile: np.ndarray
    frames: np.ndarray | None
    frame_steps: np.ndarray | None
    contributions: tuple[np.ndarray, np.ndarray] | None


class _ProfileRecorder(keras.callbacks.Callback):
    """Record the per-step input-gradient profile before training and every ``every`` steps."""

    def __init__(self, x: np.ndarray, y: np.ndarray, every: int) -> None:
        super().__init__()
        self.x, self.y, self.every = x, y, every
        self.frames: list[np.ndarray] = []
        self.steps: list[int] = []
        self.done = 0  # optimiser steps so far, over all epochs

    def _record(self) -> None:
        self.frames.append(probes.input_grad_norms(self.model, self.x, self.y, loss=LOSS))
        self.steps.append(self.done)

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Record the profile at initialisation."""
        self._record()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Record the profile after every ``every``-th optimiser step."""
        self.done += 1
        if self.done % self.every == 0:
            self._record()


def _bar_label(path: str) -> str:
    """Label a bar: ``rnn/lstm_cell/kernel`` -> ``kernel``, ``head/bias`` -> ``dense bias``."""
    parts = path.split("/")
    return parts[-1] if parts[0] == "rnn" else f"dense {parts[-1]}"


def train_cells(
    data: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    cells: Sequence[str] = tuple(CELLS),
    units: int = 10,
    epochs: int = 5,
    batch_size: int = 32,
    lr: float = 1e-3,
    record: Sequence[str] = ("simple", "lstm"),
    record_every: int = 8,
    n_probe: int = 256,
    decompose: Sequence[str] = ("simple", "lstm"),
) -> dict[str, list[CellRun]]:
    """Train the assignment's model for every cell and seed, measuring each run as it ends.

    Each cell's model is built and compiled once (its training step is traced once); for
    every seed its weights are set to that seed's initialisation and the optimizer state is
    reset, so extra seeds cost only their training steps.

    Args:
        data: ``(x, y)`` training sequences, e.g. from :func:`mean_sign`; ``x[:1]`` is the
            assignment's "first example".
        validation: ``(x_val, y_val)``; its first ``n_probe`` sequences give the frames.
        seeds: One run per seed.
        cells: Cells of :func:`vgrad_course.models.build_rnn` (``"simple"``, ``"lstm"``...).
        units: Units of the recurrent layer.
        epochs: Passes over the training data.
        batch_size: Sequences per Adam step.
        lr: Adam's learning rate (Keras' default 1e-3).
        record: Cells whose per-step profile is recorded during training.
        record_every: Optimiser steps between two frames.
        n_probe: Validation sequences averaged in each frame and in ``profile``.
        decompose: Cells whose recurrent-kernel gradient is split into per-step terms.

    Returns:
        ``{cell: [CellRun per seed]}`` in the order of ``cells``.

    Used in: "The assignment, as written: SimpleRNN, LSTM and GRU at length 50".
    """
    for cell in (*cells, *record, *decompose):
        check_choice("cell", cell, models.RNN_CELLS)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    if np.ndim(data[0]) != 3:
        raise ValueError(f"x must be (n, seq_len, features), got shape {np.shape(data[0])}")
    record_every, n_probe = check_int("record_every", record_every), check_int("n_probe", n_probe)
    shape = {"seq_len": data[0].shape[1], "input_dim": data[0].shape[2]}
    build = {"units": check_int("units", units), "output_activation": "sigmoid", **shape}
    fit = {"epochs": check_int("epochs", epochs), "batch_size": check_int("batch_size", batch_size)}
    probe = (validation[0][:n_probe], validation[1][:n_probe])
    runs = {}
    for cell in cells:
        model = models.build_rnn(cell, seed=seeds[0], **build)
        training.compile_model(model, loss=LOSS, optimizer="adam", lr=lr)
        model.optimizer.build(model.trainable_variables)
        fresh = [v.numpy() for v in model.optimizer.variables]
        runs[cell] = []
        for seed in seeds:
            model.set_weights(models.build_rnn(cell, seed=seed, **build).get_weights())
            for variable, value in zip(model.optimizer.variables, fresh, strict=True):
                variable.assign(value)  # a fresh Adam: step 0, zero moments
            recorder = _ProfileRecorder(*probe, record_every) if cell in record else None
            reseed(seed)  # the shuffling of the epochs
            run = _train_and_measure(
                model, data, validation, probe, recorder, cell in decompose, fit
            )
            runs[cell].append(CellRun(cell=cell, seed=seed, **run))
    return runs


def _train_and_measure(
    model: keras.Model,
    data: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    probe: tuple[np.ndarray, np.ndarray],
    recorder: _ProfileRecorder | None,
    decompose: bool,
    fit: dict[str, int],
) -> dict[str, object]:
    """Train ``model`` as it is and return the measurements of a :class:`CellRun`."""
    first = (data[0][:1], data[1][:1])
    before = step_contributions(model, *first, loss=LOSS) if decompose else None
    training.train(model, *data, callbacks=[recorder] if recorder else None, **fit)
    predicted = np.asarray(model.predict_on_batch(validation[0])) > 0.5
    norms = probes.layer_grad_norms(model, *first, loss=LOSS)
    after = step_contributions(model, *first, loss=LOSS) if decompose else None
    return {
        "val_accuracy": float(np.mean(predicted == (validation[1] > 0.5))),
        "bars": {_bar_label(path): norm for path, norm in norms.items()},
        "profile": probes.input_grad_norms(model, *probe, loss=LOSS),
        "frames": np.asarray(recorder.frames) if recorder else None,
        "frame_steps": np.asarray(recorder.steps) if recorder else None,
        "contributions": (before, after) if decompose else None,
    }


def early_over_late(norms: np.ndarray, k: int = 10) -> float:
    """Return the mean of the first ``k`` per-step norms over the mean of the last ``k``.

    Args:
        norms: Per-step gradient norms, step 1 first (e.g. one frame of ``CellRun.frames``).
        k: Steps averaged at each end (``2k`` at most the number of steps).

    Returns:
        The ratio: about 1 when every step receives as much gradient as the last ones.

    Used in: "The assignment, as written: SimpleRNN, LSTM and GRU at length 50".
    """
    v = np.asarray(norms, dtype=np.float64)
    k = check_int("k", k)
    if v.ndim != 1 or 2 * k > v.size:
        raise ValueError(f"norms must be 1-D with at least {2 * k} steps, got shape {v.shape}")
    return float(v[:k].mean() / v[-k:].mean())


def plot_assignment(runs: Mapping[str, Sequence[CellRun]], *, seed_index: int = 0) -> Figure:
    """Draw the assignment's bar charts (one per cell) above the per-step input gradients.

    Args:
        runs: ``{cell: runs}`` from :func:`train_cells`.
        seed_index: Which run of each cell to draw.

    Returns:
        The figure: one bar chart per cell (shared log scale), the profiles below.

    Used in: "The assignment, as written: SimpleRNN, LSTM and GRU at length 50".
    """
    fig, axes = plt.subplots(2, len(runs), figsize=(10, 6.2), layout="constrained", squeeze=False)
    heights = [v for own in runs.values() for v in own[seed_index].bars.values()]
    for ax, (cell, own) in zip(axes[0], runs.items(), strict=True):
        bars = own[seed_index].bars
        colours = [palette.GREY if k.startswith("dense") else palette.BLUE for k in bars]
        ax.bar(list(bars), list(bars.values()), color=colours)
        ax.set(yscale="log", ylim=(min(heights) / 2, max(heights) * 2), title=CELLS[cell])
        ax.tick_params(axis="x", labelrotation=60)
    axes[0, 0].set_ylabel("‖∂L/∂v‖, first example")
    gs = axes[1, 0].get_gridspec()
    for ax in axes[1]:
        ax.remove()
    bottom = fig.add_subplot(gs[1, :])
    profiles = {CELLS[c]: own[seed_index].profile for c, own in runs.items()}
    title = "the same models, per time step (mean over validation sequences)"
    plotting.plot_per_step(profiles, ax=bottom, title=title)
    return fig


def animate_profiles(
    frames: Mapping[str, np.ndarray], steps: np.ndarray, *, steps_per_epoch: int
) -> HTML:
    """Animate per-step input-gradient profiles during training, over those at initialisation.

    Args:
        frames: ``{label: array (n_frames, seq_len)}``, e.g. ``CellRun.frames``.
        steps: The optimiser step of each frame.
        steps_per_epoch: Optimiser steps per epoch (for the frame titles).

    Returns:
        An offline HTML player (:func:`vgrad_course.animation.to_html`).

    Used in: "The assignment, as written: SimpleRNN, LSTM and GRU at length 50".
    """
    data = {k: np.asarray(v, dtype=np.float64) for k, v in frames.items()}
    positive = np.concatenate([v[v > 0] for v in data.values()])
    fig, ax = plt.subplots(figsize=(5.2, 2.8))
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.16, top=0.9)  # fixed: no re-layout
    t = np.arange(1, next(iter(data.values())).shape[1] + 1)
    lines = {}
    for colour, (label, v) in zip(palette.PALETTE, data.items(), strict=False):
        ax.plot(t, v[0], color=colour, linestyle="--", linewidth=0.8)
        (lines[label],) = ax.plot(t, v[0], color=colour, linewidth=1.2, label=label)
    ax.set(yscale="log", xlabel="time step t", ylabel="mean ‖∂L/∂x_t‖")
    ax.set_ylim(positive.min() / 2, positive.max() * 2)
    ax.grid(visible=False)  # fewer lines: smaller frames
    ax.yaxis.set_minor_locator(NullLocator())  # plain-text decades: no mathtext per frame
    ax.yaxis.set_major_formatter(LogFormatter())
    ax.legend(loc="lower right")

    def update(i: int) -> None:
        for label, line in lines.items():
            line.set_ydata(np.where(data[label][i] > 0, data[label][i], np.nan))
        epoch = steps[i] / steps_per_epoch
        ax.set_title(f"after {steps[i]} steps (epoch {epoch:.2g}); dashed: at start", fontsize=9)

    return to_html(fig, update, len(steps), dpi=60)
