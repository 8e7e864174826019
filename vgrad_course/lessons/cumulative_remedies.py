"""Remedies added one after another to one sick network, and its gradients filmed in training.

A *ladder* starts from a sick configuration and adds one remedy of the registry
(:mod:`vgrad_course.lessons.remedies`) per rung, keeping the earlier ones. :func:`run_ladder`
trains every rung from several seeds under one budget, compiling each rung once (for the next
seed its weights and optimizer state are reset, so Keras traces one training step per rung);
a :class:`GradientRecorder` films the histograms of ``log10 |dL/dW|`` per layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML

from vgrad_course import probes, training
from vgrad_course.animation import to_html
from vgrad_course.lessons.configs import MLPConfig
from vgrad_course.lessons.normalization import accuracy
from vgrad_course.lessons.remedies import get_remedy
from vgrad_course.reproducibility import reseed
from vgrad_course.validation import check_int

#: The bins of the filmed histograms: log10 |dL/dW| from 1e-14 to 1 in steps of 0.2.
LOG_EDGES: np.ndarray = np.linspace(-14.0, 0.0, 71)
#: Added to |dL/dW| before the log, so that an exact zero lands far left of every bin.
TINY = 1e-30


def remedy_ladder(
    baseline: MLPConfig, keys: Sequence[str], *, label: str = "sick"
) -> dict[str, MLPConfig]:
    """Return the baseline and, for each remedy key, the previous rung with that remedy added.

    Args:
        baseline: The sick configuration.
        keys: Registry keys in the order the remedies are added (e.g. ``("he_init",
            "batch_norm", "residual")``); a later remedy wins where two set the same field.
        label: The key of the baseline in the result.

    Returns:
        ``{label: baseline, keys[0]: rung 1, keys[1]: rung 2, ...}``: rung ``i`` holds the
        remedies ``keys[0] .. keys[i - 1]``.

    Raises:
        ValueError: On an unknown or repeated key, or a key equal to ``label``.

    Used in: "The source's sick network, remedied step by step".
    """
    if len(set(keys)) != len(keys) or label in keys:
        raise ValueError(f"keys must be distinct and differ from label {label!r}, got {keys}")
    ladder = {label: baseline}
    config = baseline
    for key in keys:
        config = get_remedy(key).apply(config)
        ladder[key] = config
    return ladder


def rms(grads: Mapping[str, np.ndarray]) -> np.ndarray:
    """Return the root-mean-square entry of each gradient array, in the mapping's order.

    That is ``||dL/dW||`` over the square root of its number of entries: a first layer with
    fewer inputs is not smaller for that reason alone.

    Args:
        grads: ``{layer name: dL/dW}``, e.g. from :func:`vgrad_course.probes.kernel_gradients`.

    Returns:
        float64 array, ``sqrt(mean(g ** 2))`` per array.

    Used in: "The source's sick network, remedied step by step".
    """
    return np.array([np.sqrt(np.mean(np.square(g, dtype=np.float64))) for g in grads.values()])


@dataclass(frozen=True)
class GradientFilm:
    """Per-layer gradient histograms of one training run, one frame every few steps.

    Attributes:
        steps: Optimizer steps taken before each frame (0: at initialisation).
        density: Shape ``(frames, layers, bins)``, bins :data:`LOG_EDGES`: the fraction of a
            layer's weights whose gradient falls in each bin, divided by the bin width
            (entries outside the bins are left out, so a layer's area can be below 1).
        median_log: Shape ``(frames, layers)``: the median of ``log10 |dL/dW|``.
    """

    steps: np.ndarray
    density: np.ndarray
    median_log: np.ndarray


class GradientRecorder(keras.callbacks.Callback):
    """Record the hidden layers' kernel gradients on a fixed batch every ``every`` steps.

    The first frame is taken when training begins (the initialisation), then one after every
    ``every`` optimizer steps, counted across epochs. The gradients come from
    :func:`vgrad_course.probes.kernel_gradients` with the model's compiled loss.

    Args:
        x: The fixed batch of inputs.
        y: Its labels.
        every: Steps between frames.

    Used in: "The source's sick network, remedied step by step".
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, *, every: int) -> None:
        super().__init__()
        self.x, self.y, self.step = x, y, 0
        self.every = check_int("every", every)
        self.steps: list[int] = []
        self.density: list[list[np.ndarray]] = []
        self.median_log: list[list[float]] = []

    def record(self) -> None:
        """Take one frame now: histogram every hidden layer's kernel gradient on the batch."""
        grads = probes.kernel_gradients(self.model, self.x, self.y)
        logs = [np.log10(np.abs(g.astype(np.float64)) + TINY).ravel() for g in grads.values()]
        width = np.diff(LOG_EDGES)
        self.density.append([np.histogram(v, LOG_EDGES)[0] / v.size / width for v in logs])
        self.median_log.append([float(np.median(v)) for v in logs])
        self.steps.append(self.step)

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Film the initialisation (once, if the recorder serves several fits)."""
        if not self.steps:
            self.record()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Count the step and take a frame every ``every`` steps."""
        self.step += 1
        if self.step % self.every == 0:
            self.record()

    def film(self) -> GradientFilm:
        """Return the recorded frames.

        Returns:
            A :class:`GradientFilm`.

        Raises:
            ValueError: If no frame was recorded.
        """
        if not self.steps:
            raise ValueError("nothing recorded yet: pass the recorder to a fit first")
        return GradientFilm(
            steps=np.array(self.steps),
            density=np.array(self.density),
            median_log=np.array(self.median_log),
        )


@dataclass(frozen=True)
class LadderRuns:
    """What :func:`run_ladder` measured, by rung label; one row per seed.

    Attributes:
        init_rms: ``{label: (seeds, layers)}``: :func:`rms` of each hidden layer's ``dL/dW``
            on the probe batch before training.
        loss: ``{label: (seeds, epochs)}``: training loss per epoch.
        accuracy: ``{label: (seeds,)}``: validation accuracy after training, in inference mode
            (what Keras reports: batch norm uses its moving averages).
        batch_stat_accuracy: ``{label: (seeds,)}``: the same, but with every batch-norm layer
            normalising with the statistics of the whole validation set (equal to ``accuracy``
            for a network without batch norm).
        films: ``{label: GradientFilm}`` of the first seed, for the filmed rungs.
    """

    init_rms: dict[str, np.ndarray]
    loss: dict[str, np.ndarray]
    accuracy: dict[str, np.ndarray]
    batch_stat_accuracy: dict[str, np.ndarray]
    films: dict[str, GradientFilm]


def _restart(model: keras.Model, fresh: keras.Model, optimizer_state: list[np.ndarray]) -> None:
    """Give ``model`` the weights of ``fresh`` and its optimizer the state it had when built."""
    model.set_weights(fresh.get_weights())  # trainable and non-trainable (BN statistics)
    for variable, value in zip(model.optimizer.variables, optimizer_state, strict=True):
        variable.assign(value)


def run_ladder(
    ladder: Mapping[str, MLPConfig],
    x: np.ndarray,
    y: np.ndarray,
    *,
    seeds: Sequence[int],
    epochs: int,
    batch_size: int,
    validation_data: tuple[np.ndarray, np.ndarray],
    probe: tuple[np.ndarray, np.ndarray],
    film: Sequence[str] = (),
    film_every: int = 6,
) -> LadderRuns:
    """Train every rung of a ladder from each seed under one budget; film some of them.

    Before each run the generators are reseeded with the run's seed (same batch order for
    every rung) and the model starts from the weights :meth:`MLPConfig.build` gives for that
    seed, with the optimizer as new: the same start as a freshly built and compiled model.

    Args:
        ladder: ``{label: configuration}``, e.g. from :func:`remedy_ladder`.
        x: Training inputs.
        y: Integer labels.
        seeds: The seeds of the runs (at least one); the first one's runs are filmed.
        epochs: Passes over ``x``.
        batch_size: Examples per step.
        validation_data: ``(x_val, y_val)``, evaluated after training.
        probe: The fixed batch ``(x, y)`` of the gradient measurements and films.
        film: Labels of the rungs to film (first seed only).
        film_every: Steps between two frames of a film.

    Returns:
        A :class:`LadderRuns`.

    Used in: "The source's sick network, remedied step by step".
    """
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    unknown = sorted(set(film) - set(ladder))
    if unknown:
        raise ValueError(f"cannot film {unknown}: not in the ladder {list(ladder)}")
    epochs, batch_size = check_int("epochs", epochs), check_int("batch_size", batch_size)
    runs = LadderRuns({}, {}, {}, {}, {})
    for label, config in ladder.items():
        model = config.model_for(x, seed=seeds[0])  # compiled once per rung
        model.optimizer.build(model.trainable_variables)
        optimizer_state = [v.numpy() for v in model.optimizer.variables]
        init_rms, loss, acc, batch_acc = [], [], [], []
        for i, seed in enumerate(seeds):
            fresh = config.build(input_dim=x.shape[-1], seed=seed) if i else model
            # Probing a model once runs eagerly: no tracing for a single measurement.
            init_rms.append(rms(probes.kernel_gradients(fresh, *probe, loss=model.loss)))
            if i:
                _restart(model, fresh, optimizer_state)
            recorder, filmed = GradientRecorder(*probe, every=film_every), i == 0 and label in film
            reseed(seed)
            history = training.train(
                model,
                x,
                y,
                epochs=epochs,
                batch_size=batch_size,
                callbacks=[recorder] if filmed else None,
            )
            loss.append(history["loss"])
            acc.append(accuracy(model, *validation_data))
            batch_acc.append(accuracy(model, *validation_data, training=True))
            if filmed:
                runs.films[label] = recorder.film()
        runs.init_rms[label], runs.loss[label] = np.array(init_rms), np.array(loss)
        runs.accuracy[label], runs.batch_stat_accuracy[label] = np.array(acc), np.array(batch_acc)
    return runs


def film_player(films: Mapping[str, GradientFilm], *, layers: Sequence[int], dpi: int = 60) -> HTML:
    """Play films side by side, frame by frame, as an offline HTML player.

    Args:
        films: ``{title: GradientFilm}``, all with the same number of frames.
        layers: Hidden layers to draw, counted from 1 (input side).
        dpi: Resolution of each frame.

    Returns:
        The player (show it as the last expression of a cell).

    Raises:
        ValueError: If the films differ in length.

    Used in: "The source's sick network, remedied step by step".
    """
    counts = {len(f.steps) for f in films.values()}
    if len(counts) != 1:
        raise ValueError(f"the films differ in length: {sorted(counts)} frames")
    fig, axes = plt.subplots(1, len(films), figsize=(4 * len(films), 2.8), layout="constrained")
    drawn = []  # (film, title, one histogram per layer): drawn once, then updated in place
    for ax, (title, film) in zip(np.atleast_1d(axes), films.items(), strict=True):
        bars = [ax.stairs(film.density[0, i - 1], LOG_EDGES, label=f"layer {i}") for i in layers]
        top = film.density[:, [i - 1 for i in layers]].max()
        ax.set(xlabel="log10 |∂L/∂W|", ylabel="density", ylim=(0, 1.05 * top))
        ax.locator_params(nbins=4)  # few tick labels: each frame is drawn three times
        ax.legend(loc="upper left", fontsize=8)
        drawn.append((film, ax.set_title(title), bars, title))
    fig.canvas.draw()  # lay the figure out once; the frames change only data and titles
    fig.set_layout_engine("none")

    def update(frame: int) -> None:
        for film, text, bars, title in drawn:
            text.set_text(f"{title}, step {film.steps[frame]}")
            for bar, i in zip(bars, layers, strict=True):
                bar.set_data(film.density[frame, i - 1])

    return to_html(fig, update, counts.pop(), dpi=dpi)
