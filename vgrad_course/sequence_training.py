"""Train recurrent models on the adding problem within a fixed budget of optimiser steps."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from vgrad_course import data, probes, training
from vgrad_course.configs import RNNConfig

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
        config: The recurrent model and optimiser (see :class:`~vgrad_course.configs.RNNConfig`).
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
    if not isinstance(config, RNNConfig):
        raise TypeError(f"config must be an RNNConfig, got {type(config).__name__}")
    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_every", eval_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if steps % eval_every:
        raise ValueError(f"steps ({steps}) must be a multiple of eval_every ({eval_every})")
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
