"""Train and probe recurrent models on the adding problem: variants by name, a budget of steps.

A comparison is a dict of configurations, ``{label: RNNConfig}``, usually from the registry
(``remedies.variants_of(base, ["lstm", "gru"])``); :func:`train_adding` trains every variant
under the same step budget and :func:`input_grads_at_init` probes every variant before training,
so no chapter writes its own loop over variants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from vgrad_course import data, models, probes
from vgrad_course.lessons.configs import RNNConfig
from vgrad_course.reproducibility import reseed
from vgrad_course.validation import check_int, check_positive

#: MSE of always predicting the mean target (1.0) on the adding problem: Var(U1 + U2) = 1/6.
ADDING_BASELINE_MSE: float = 1.0 / 6.0

#: The validation set of seed ``s`` is generated with seed ``s + VALIDATION_SEED_SHIFT``.
VALIDATION_SEED_SHIFT: int = 10_000


@dataclass(frozen=True)
class SequenceRun:
    """The outcome of one training run on the adding problem.

    Attributes:
        label: Name of the run (the variant's key).
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


def _check_configs(
    configs: Mapping[str, RNNConfig], seeds: Sequence[int] | Mapping[str, Sequence[int]] = (0,)
) -> dict[str, list[int]]:
    """Check ``configs`` is a non-empty ``{label: RNNConfig}``; return each variant's seeds.

    ``seeds`` is one list for every variant or ``{label: seeds}``; each list must be non-empty.
    """
    if not isinstance(configs, Mapping) or not configs:
        raise TypeError(f"configs must be a non-empty {{label: RNNConfig}} dict, got {configs!r}")
    for label, config in configs.items():
        if not isinstance(config, RNNConfig):
            raise TypeError(f"configs[{label!r}] must be an RNNConfig, got {type(config).__name__}")
    by_label = seeds if isinstance(seeds, Mapping) else dict.fromkeys(configs, seeds)
    if set(by_label) != set(configs) or not all(by_label.values()):
        raise ValueError(f"seeds must name at least one seed for each of {list(configs)}")
    return {label: list(by_label[label]) for label in configs}


def train_adding(
    configs: Mapping[str, RNNConfig],
    seq_len: int,
    *,
    seeds: Sequence[int] | Mapping[str, Sequence[int]] = (0,),
    steps: int = 600,
    batch_size: int = 50,
    eval_every: int = 100,
    n_val: int = 500,
    stop_below: float | None = None,
) -> dict[str, list[SequenceRun]]:
    """Train every variant in ``configs`` on the adding problem under one budget of steps.

    Each run starts from its seed's initialisation with a fresh optimizer state and reads its
    seed's data in order, a fresh batch at every step, as in the papers. Each variant's model is
    built and traced once: between seeds its weights and optimizer state are reset, and steps go
    through ``train_on_batch`` (no per-call set-up of ``fit``), so extra seeds cost little.

    Args:
        configs: ``{label: RNNConfig}``, e.g. from ``remedies.variants_of``.
        seq_len: Sequence length T.
        seeds: Seeds of the data and the initializers, one run per seed: one list for every
            variant, or ``{label: seeds}``.
        steps: Most optimiser steps per run (a multiple of ``eval_every``).
        batch_size: Sequences per step.
        eval_every: Steps between validation measurements.
        n_val: Validation sequences (seed ``s`` uses seed ``s + VALIDATION_SEED_SHIFT``).
        stop_below: Stop a run at the first evaluation whose validation MSE is below this
            (None: always train for ``steps``).

    Returns:
        ``{label: [SequenceRun per seed]}`` in the order of ``configs``; every run holds its
        own copy of its trained model.

    Used in: "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)".
    """
    seeds_by_label = _check_configs(configs, seeds)
    budget = dict(steps=steps, batch_size=batch_size, eval_every=eval_every, n_val=n_val)
    budget = {name: check_int(name, value) for name, value in budget.items()}
    if steps % eval_every:
        raise ValueError(f"steps ({steps}) must be a multiple of eval_every ({eval_every})")
    if stop_below is not None:
        check_positive("stop_below", stop_below)
    return {
        label: _train_seeds(label, configs[label], seq_len, own, stop_below=stop_below, **budget)
        for label, own in seeds_by_label.items()
    }


def _train_seeds(
    label: str,
    config: RNNConfig,
    seq_len: int,
    seeds: list[int],
    *,
    stop_below: float | None,
    **budget: int,
) -> list[SequenceRun]:
    """Train ``config`` once per seed, sharing one compiled model (see :func:`train_adding`)."""
    steps, batch_size, eval_every = budget["steps"], budget["batch_size"], budget["eval_every"]
    model = config.compile(config.build(seq_len=seq_len, seed=seeds[0]))
    model.optimizer.build(model.trainable_variables)
    fresh_optimizer = [v.numpy() for v in model.optimizer.variables]
    runs = []
    for seed in seeds:
        model.set_weights(config.build(seq_len=seq_len, seed=seed).get_weights())
        for variable, value in zip(model.optimizer.variables, fresh_optimizer, strict=True):
            variable.assign(value)
        x, y = data.adding_problem(steps * batch_size, seq_len, seed=seed)
        x_val, y_val = data.adding_problem(
            budget["n_val"], seq_len, seed=seed + VALIDATION_SEED_SHIFT
        )
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
        runs.append(SequenceRun(label, np.asarray(val_mse), done, trained))
    return runs


def first_step_below(run: SequenceRun, threshold: float) -> int | None:
    """Return the first evaluated step at which ``run``'s validation MSE is below ``threshold``.

    Args:
        run: A run from :func:`train_adding`.
        threshold: The MSE that counts as solved (e.g. a fraction of the baseline).

    Returns:
        The optimiser step of that evaluation, or None if the run never got below.

    Used in: "LSTM and GRU".
    """
    below = np.flatnonzero(np.asarray(run.val_mse) < threshold)
    return int(run.steps[below[0]]) if below.size else None


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


def input_grads_at_init(
    configs: Mapping[str, RNNConfig], seq_len: int, *, seed: int = 0, batch_seed: int = 0
) -> dict[str, np.ndarray]:
    """Build every variant in ``configs`` and return its per-step input gradient, untrained.

    Args:
        configs: ``{label: RNNConfig}``, e.g. from ``remedies.variants_of``.
        seq_len: Sequence length T.
        seed: Seed of the initializers (every generator is reseeded with it before each build).
        batch_seed: Seed of the adding-problem batch (see :func:`adding_input_grads`).

    Returns:
        ``{label: mean ||dL/dx_t|| per step}`` in the order of ``configs``.

    Used in: "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)".
    """
    _check_configs(configs)
    norms = {}
    for label, config in configs.items():
        reseed(seed)
        model = config.build(seq_len=seq_len, seed=seed)
        norms[label] = adding_input_grads(model, seq_len, seed=batch_seed)
    return norms


def input_grads_trained(
    runs: Mapping[str, Sequence[SequenceRun]], seq_len: int, *, batch_seed: int = 0
) -> dict[str, list[np.ndarray]]:
    """Return the per-step input gradient of every trained model in ``runs``.

    Args:
        runs: ``{label: runs}`` as returned by :func:`train_adding`.
        seq_len: Sequence length T.
        batch_seed: Seed of the adding-problem batch (see :func:`adding_input_grads`).

    Returns:
        ``{label: [mean ||dL/dx_t|| per step, one array per run]}``.

    Used in: "LSTM and GRU".
    """
    return {
        label: [adding_input_grads(run.model, seq_len, seed=batch_seed) for run in own]
        for label, own in runs.items()
    }


def first_over_last(norms: np.ndarray) -> float:
    """Return ``norms[0] / norms[-1]``: how much of the gradient reaches the first step.

    Args:
        norms: Per-step gradient norms, e.g. from :func:`adding_input_grads`.

    Returns:
        The ratio (0 if the last norm is 0 and the first too; inf if only the last is 0).

    Used in: "Recurrent networks and backpropagation through time", "LSTM and GRU",
    "Identity-initialised ReLU RNNs (IRNN)", "Appendix: reproductions at a glance".
    """
    v = np.asarray(norms, dtype=np.float64)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"norms must be a 1-D array of at least 2 steps, got shape {v.shape}")
    if v[-1] == 0:
        return 0.0 if v[0] == 0 else float("inf")
    return float(v[0] / v[-1])


def first_over_last_at_init(
    cell: str,
    x: np.ndarray,
    y: np.ndarray,
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
