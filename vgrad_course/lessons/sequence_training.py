"""Train recurrent models on the adding problem within a fixed budget of optimiser steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from vgrad_course import data, models, probes, training
from vgrad_course.lessons.configs import RNNConfig

#: MSE of always predicting the mean target (1.0) on the adding problem: Var(U1 + U2) = 1/6.
ADDING_BASELINE_MSE: float = 1.0 / 6.0


@dataclass(frozen=True)
class SequenceRun:
    """The outcome of one training run on the adding problem.

    Attributes:
        label: Name of the run (usually the cell).
        val_mse: Validation MSE after each evaluation block (one per ``eval_every`` steps).
        steps: Optimiser steps completed at each evaluation.
        model: The trained model.
    """

    label: str
    val_mse: np.ndarray
    steps: np.ndarray
    model: keras.Model

    @property
    def final_mse(self) -> float:
        """Validation MSE at the end of training."""
        return float(self.val_mse[-1])


def _check_budget(config: RNNConfig, steps: int, batch_size: int, eval_every: int) -> None:
    """Raise a clear error for a config that is not an RNNConfig or a malformed step budget."""
    if not isinstance(config, RNNConfig):
        raise TypeError(f"config must be an RNNConfig, got {type(config).__name__}")
    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_every", eval_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if steps % eval_every:
        raise ValueError(f"steps ({steps}) must be a multiple of eval_every ({eval_every})")


def train_adding(
    config: RNNConfig,
    seq_len: int,
    *,
    steps: int = 600,
    batch_size: int = 50,
    eval_every: int = 100,
    n_val: int = 500,
    label: str | None = None,
    seed: int = 0,
) -> SequenceRun:
    """Train the model ``config`` describes on the adding problem for a fixed number of steps.

    Every step sees a fresh batch (the training set holds ``steps * batch_size`` sequences and
    is read once), as in the papers; the validation MSE is measured every ``eval_every`` steps.

    Args:
        config: The recurrent model and optimiser (see :class:`~.configs.RNNConfig`).
        seq_len: Sequence length T.
        steps: Optimiser steps in total (a multiple of ``eval_every``).
        batch_size: Sequences per step.
        eval_every: Steps between validation measurements.
        n_val: Validation sequences (generated with a different seed).
        label: Name of the run (default: the cell name).
        seed: Seed of the data and of the initializers.

    Returns:
        A :class:`SequenceRun`.

    Used in: "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)".
    """
    _check_budget(config, steps, batch_size, eval_every)
    x, y = data.adding_problem(steps * batch_size, seq_len, seed=seed)
    x_val, y_val = data.adding_problem(n_val, seq_len, seed=seed + 10_000)
    model = config.compile(config.build(seq_len=seq_len, seed=seed))
    val_mse = []
    chunk = eval_every * batch_size
    for start in range(0, len(x), chunk):
        training.train(
            model, x[start : start + chunk], y[start : start + chunk], batch_size=batch_size
        )
        val_mse.append(float(model.evaluate(x_val, y_val, batch_size=n_val, verbose=0)))
    done = np.arange(1, len(val_mse) + 1) * eval_every
    return SequenceRun(label or config.cell, np.asarray(val_mse), done, model)


def adding_input_grads(
    model: keras.Model, seq_len: int, *, n: int = 64, seed: int = 0
) -> np.ndarray:
    """Return the mean ||dL/dx_t|| per time step of ``model`` on a fresh adding-problem batch.

    Args:
        model: A recurrent model taking ``(batch, seq_len, 2)`` inputs.
        seq_len: Sequence length T.
        n: Sequences in the batch.
        seed: Seed of the batch.

    Returns:
        float64 array of shape ``(seq_len,)`` (see :func:`vgrad_course.probes.input_grad_norms`).

    Used in: "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)",
    "Appendix: reproductions at a glance".
    """
    x, y = data.adding_problem(n, seq_len, seed=seed)
    return probes.input_grad_norms(model, x, y, loss="mse")


def first_over_last(norms: np.ndarray) -> float:
    """Return ``norms[0] / norms[-1]``: how much of the gradient reaches the first step.

    Args:
        norms: Per-step gradient norms, e.g. from :func:`adding_input_grads`.

    Returns:
        The ratio (0 if the last norm is 0 and the first too; inf if only the last is 0).

    Used in: "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)",
    "Appendix: reproductions at a glance".
    """
    v = np.asarray(norms, dtype=np.float64)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"norms must be a 1-D array of at least 2 steps, got shape {v.shape}")
    if v[-1] == 0:
        return 0.0 if v[0] == 0 else float("inf")
    return float(v[0] / v[-1])


def first_over_last_at_init(
    cell: str,
    x: object,
    y: object,
    *,
    seeds: Sequence[int],
    units: int = 32,
    loss: str = "mse",
    **build_options: object,
) -> np.ndarray:
    """Return the first-to-last input-gradient ratio of a freshly built RNN, one per seed.

    How much gradient reaches the first step at initialisation depends on the random
    recurrent matrix; a few seeds show whether one model's ratio is typical.

    Args:
        cell: A cell of :func:`vgrad_course.models.build_rnn` (``"simple"``, ``"lstm"``...).
        x: A batch of sequences, shape ``(batch, seq_len, features)``.
        y: The matching targets.
        seeds: Seeds of the models' initializers, one model per seed.
        units: Hidden units.
        loss: The loss to differentiate (a Keras name).
        **build_options: Further keywords of :func:`~vgrad_course.models.build_rnn`
            (``seq_len``, ``input_dim``, ``output_activation``, ``forget_bias``...).

    Returns:
        float64 array with :func:`first_over_last` of
        :func:`vgrad_course.probes.input_grad_norms` for each seed.

    Used in: "Recurrent networks and backpropagation through time",
    "Identity-initialised ReLU RNNs (IRNN)".
    """
    ratios = []
    for seed in seeds:
        model = models.build_rnn(cell, units, seed=seed, **build_options)
        ratios.append(first_over_last(probes.input_grad_norms(model, x, y, loss=loss)))
    return np.asarray(ratios, dtype=np.float64)


def train_adding_seeds(
    config: RNNConfig,
    seq_len: int,
    seeds: Sequence[int],
    *,
    steps: int = 600,
    batch_size: int = 50,
    eval_every: int = 100,
    n_val: int = 500,
    stop_below: float | None = None,
    label: str | None = None,
) -> list[SequenceRun]:
    """Train the model ``config`` describes once per seed, sharing one compiled training step.

    Each run starts from that seed's initialisation with a fresh optimizer state and reads that
    seed's data (the same sequences as :func:`train_adding` with ``seed=seed``) in order, a
    fresh batch at every step. The model is built and its training step traced only once:
    between seeds its weights are replaced and the optimizer's slots and step counter reset.
    Steps go through ``train_on_batch`` and evaluations through ``test_on_batch``, which skip
    the per-call set-up of ``fit`` and ``evaluate``; tracing and that set-up cost more than
    a few hundred steps of a small RNN, so several seeds cost little more than one.

    Args:
        config: The recurrent model and optimiser (see :class:`~.configs.RNNConfig`).
        seq_len: Sequence length T.
        seeds: Seeds of the data and the initializers, one run per seed.
        steps: Most optimiser steps per run (a multiple of ``eval_every``).
        batch_size: Sequences per step.
        eval_every: Steps between validation measurements.
        n_val: Validation sequences (generated with a different seed).
        stop_below: Stop a run at the first evaluation whose validation MSE is below this
            (None: always train for ``steps``).
        label: Name of the runs (default: the cell name).

    Returns:
        One :class:`SequenceRun` per seed, in order; each holds its own copy of its model.

    Used in: "LSTM and GRU".
    """
    _check_budget(config, steps, batch_size, eval_every)
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    model = config.compile(config.build(seq_len=seq_len, seed=seeds[0]))
    model.optimizer.build(model.trainable_variables)
    fresh_optimizer = [v.numpy() for v in model.optimizer.variables]
    runs = []
    for seed in seeds:
        model.set_weights(config.build(seq_len=seq_len, seed=seed).get_weights())
        for variable, value in zip(model.optimizer.variables, fresh_optimizer, strict=True):
            variable.assign(value)
        x, y = data.adding_problem(steps * batch_size, seq_len, seed=seed)
        x_val, y_val = data.adding_problem(n_val, seq_len, seed=seed + 10_000)
        val_mse = []
        for step in range(steps):
            batch = slice(step * batch_size, (step + 1) * batch_size)
            model.train_on_batch(x[batch], y[batch])
            if (step + 1) % eval_every == 0:
                val_mse.append(float(model.test_on_batch(x_val, y_val, return_dict=True)["loss"]))
                if stop_below is not None and val_mse[-1] < stop_below:
                    break
        trained = keras.models.clone_model(model)
        trained.set_weights(model.get_weights())
        done = np.arange(1, len(val_mse) + 1) * eval_every
        runs.append(SequenceRun(label or config.cell, np.asarray(val_mse), done, trained))
    return runs


def first_step_below(run: SequenceRun, threshold: float) -> int | None:
    """Return the first evaluated step at which ``run``'s validation MSE is below ``threshold``.

    Args:
        run: A run from :func:`train_adding` or :func:`train_adding_seeds`.
        threshold: The MSE that counts as solved (e.g. a fraction of the baseline).

    Returns:
        The optimiser step of that evaluation, or None if the run never got below.

    Used in: "LSTM and GRU".
    """
    below = np.flatnonzero(np.asarray(run.val_mse) < threshold)
    return int(run.steps[below[0]]) if below.size else None
