"""Reproductions of the recurrent-network results: Bengio 1994, Pascanu 2013 and Le 2015.

Each function runs one small experiment on the adding problem (a few seconds on two CPU cores)
and returns a :class:`~.records.Reproduction`.
"""

from __future__ import annotations

import numpy as np

from vgrad_course import data, models, training
from vgrad_course.lessons import sequence_training
from vgrad_course.lessons.reproductions.records import Reproduction


def _first_over_last(cell: str, units: int, seq_len: int, *, seed: int) -> float:
    """Return ||dL/dx_1|| / ||dL/dx_T|| of a fresh ``cell`` RNN on an adding-problem batch."""
    model = models.build_rnn(cell, units, input_dim=2, seed=seed)
    norms = sequence_training.adding_input_grads(model, seq_len, seed=seed)
    return sequence_training.first_over_last(norms)


def bengio1994(*, seq_len: int = 100, units: int = 32, seed: int = 0) -> Reproduction:
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
    return Reproduction(
        paper="bengio1994learning",
        citation="Bengio et al. 1994",
        paper_setup="latching tasks, recurrent nets trained by gradient descent",
        paper_result="the gradient from inputs k steps back decays exponentially in k",
        our_setup=f"tanh RNN({units}), adding problem T={seq_len}, at initialisation",
        quantity="‖∂L/∂x_1‖ / ‖∂L/∂x_T‖",
        measured=ratio,
        bound=1e-2,
        higher_is_better=False,
        detail=f"first/last = {ratio:.1e}",
    )


def pascanu2013(*, seq_len: int = 20, gain: float = 1.5, seed: int = 0) -> Reproduction:
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
    for clip in (None, 1.0):
        model = models.build_rnn("simple", 32, input_dim=2, recurrent_scale=gain, seed=seed)
        training.compile_model(model, loss="mse", optimizer="sgd", lr=0.1, global_clipnorm=clip)
        losses = [
            training.train(model, x[i : i + 320], y[i : i + 320], batch_size=32)["loss"][0]
            for i in range(0, len(x), 320)
        ]
        worst[clip] = float(np.max(losses)) if np.all(np.isfinite(losses)) else float("inf")
    return Reproduction(
        paper="pascanu2013difficulty",
        citation="Pascanu et al. 2013",
        paper_setup="RNNs on synthetic long-term tasks, SGD with and without norm clipping",
        paper_result="tanh RNN gradients can explode only if W_rec's largest singular value "
        "exceeds 1; clipping the norm keeps training stable",
        our_setup=f"tanh RNN(32), ρ = {gain}, adding T={seq_len}, SGD 0.1, 40 steps",
        quantity="largest loss: unclipped ÷ clipped (diverged = ∞)",
        measured=worst[None] / worst[1.0],
        bound=1e3,
        higher_is_better=True,
        detail=f"unclipped {worst[None]:.3g}, clipped {worst[1.0]:.3g}",
    )


def le2015(*, seq_len: int = 100, units: int = 32, seed: int = 0) -> Reproduction:
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
    return Reproduction(
        paper="le2015simple",
        citation="Le et al. 2015",
        paper_setup="IRNN on the adding problem (T up to 400) and pixel-by-pixel MNIST",
        paper_result="IRNN comparable to LSTM; tanh RNN stuck at the baseline on long sequences",
        our_setup=f"IRNN({units}) vs tanh RNN({units}), adding T={seq_len}, at initialisation",
        quantity="‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ of the IRNN",
        measured=irnn,
        bound=0.1,
        higher_is_better=True,
        detail=f"IRNN {irnn:.2f}, tanh RNN {tanh:.1e}",
    )
