"""Reproductions of the recurrent-network results: Bengio 1994, Pascanu 2013 and Le 2015.

Each function runs one small experiment on the adding problem (a few seconds on two CPU cores)
and returns a :class:`~.records.Reproduction` whose fixed facts come from ``papers.json``
(:func:`~.records.record`).
"""

from __future__ import annotations

import numpy as np

from vgrad_course import data, models, training
from vgrad_course.lessons import sequence_training
from vgrad_course.lessons.reproductions import records


def _first_over_last(cell: str, units: int, seq_len: int, *, seed: int) -> float:
    """Return ||dL/dx_1|| / ||dL/dx_T|| of a fresh ``cell`` RNN on an adding-problem batch."""
    model = models.build_rnn(cell, units, input_dim=2, seed=seed)
    norms = sequence_training.adding_input_grads(model, seq_len, seed=seed)
    return sequence_training.first_over_last(norms)


def bengio1994(*, seq_len: int = 100, units: int = 32, seed: int = 0) -> records.Reproduction:
    """Gradients from distant inputs vanish in a tanh RNN (Bengio, Simard & Frasconi 1994).

    Args:
        seq_len: Sequence length T.
        units: Hidden units of the tanh RNN.
        seed: Seed of the data and initializers.

    Returns:
        The :class:`~.records.Reproduction` record.

    Used in: "Appendix: reproductions at a glance".
    """
    ratio = _first_over_last("simple", units, seq_len, seed=seed)
    return records.record("bengio1994learning", measured=ratio, units=units, seq_len=seq_len)


def pascanu2013(*, seq_len: int = 20, gain: float = 1.5, seed: int = 0) -> records.Reproduction:
    """Clipping the gradient norm tames an exploding RNN (Pascanu, Mikolov & Bengio 2013).

    A tanh RNN whose recurrent matrix has spectral radius ``gain`` > 1 is trained by SGD with
    and without ``global_clipnorm=1``; a diverged run's loss counts as infinite.

    Args:
        seq_len: Sequence length T of the adding problem.
        gain: Spectral radius of the (orthogonal) recurrent matrix at initialisation.
        seed: Seed of the data and initializers.

    Returns:
        The :class:`~.records.Reproduction` record.

    Used in: "Appendix: reproductions at a glance".
    """
    x, y = data.adding_problem(40 * 32, seq_len, seed=seed)
    worst = {}
    for label, clip in (("unclipped", None), ("clipped", 1.0)):
        model = models.build_rnn("simple", 32, input_dim=2, recurrent_scale=gain, seed=seed)
        training.compile_model(model, loss="mse", optimizer="sgd", lr=0.1, global_clipnorm=clip)
        losses = [
            training.train(model, x[i : i + 320], y[i : i + 320], batch_size=32)["loss"][0]
            for i in range(0, len(x), 320)
        ]
        worst[label] = float(np.max(losses)) if np.all(np.isfinite(losses)) else float("inf")
    ratio = worst["unclipped"] / worst["clipped"]
    return records.record(
        "pascanu2013difficulty", measured=ratio, gain=gain, seq_len=seq_len, **worst
    )


def le2015(*, seq_len: int = 100, units: int = 32, seed: int = 0) -> records.Reproduction:
    """An identity-initialised ReLU RNN passes gradients back undiminished (Le et al. 2015).

    The IRNN and a tanh RNN of the same size are measured on the same batch at initialisation.

    Args:
        seq_len: Sequence length T.
        units: Hidden units of both networks.
        seed: Seed of the data and initializers.

    Returns:
        The :class:`~.records.Reproduction` record (its value: the IRNN's ratio).

    Used in: "Appendix: reproductions at a glance".
    """
    irnn = _first_over_last("irnn", units, seq_len, seed=seed)
    tanh = _first_over_last("simple", units, seq_len, seed=seed)
    return records.record("le2015simple", measured=irnn, tanh=tanh, units=units, seq_len=seq_len)
