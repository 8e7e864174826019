"""Laptop-scale reproductions of the classic results on vanishing and exploding gradients.

Each function runs one small experiment (a few seconds on two CPU cores) and returns a
:class:`Reproduction`: what the paper did and found, what we did, the number we measured and
the bound it must clear. The appendix chapter runs them all and tabulates the records.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgrad_course import data, models, probes, training
from vgrad_course.lessons import residual, sequence_training
from vgrad_course.lessons.configs import MLPConfig
from vgrad_course.lessons.reproduction_records import (
    Reproduction,
    margin,
    plot_margins,
    reproductions_table,
)
from vgrad_course.reproducibility import reseed
from vgrad_course.seeds import effective_seed, make_rng

__all__ = [
    "REPRODUCTIONS",
    "Reproduction",
    "bengio1994",
    "degradation_margin",
    "glorot2010",
    "he2015",
    "he2016",
    "ioffe2015",
    "le2015",
    "margin",
    "pascanu2013",
    "plot_margins",
    "reproductions_table",
]


def _mnist_batch(n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` standardised MNIST-1D training examples (the cached default data set)."""
    (x, y), _ = data.mnist1d(num_samples=4000, seed=42)
    rng = make_rng(seed)
    idx = rng.permutation(len(x))[:n]
    return x[idx], y[idx]


def _first_over_last(model: object, seq_len: int, *, seed: int) -> float:
    """Return ||dL/dx_1|| / ||dL/dx_T|| of a recurrent model on an adding-problem batch."""
    norms = sequence_training.adding_input_grads(model, seq_len, seed=seed)
    return sequence_training.first_over_last(norms)


def bengio1994(*, seq_len: int = 100, units: int = 32, seed: int = 0) -> Reproduction:
    """Gradients from distant inputs vanish in a tanh RNN (Bengio, Simard & Frasconi 1994).

    Args:
        seq_len: Sequence length T.
        units: Hidden units of the tanh RNN.
        seed: Seed of the data and initializers.

    Returns:
        The :class:`Reproduction` record.

    Used in: "Appendix: reproductions at a glance".
    """
    ratio = _first_over_last(
        models.build_rnn("simple", units, input_dim=2, seed=seed), seq_len, seed=seed
    )
    return Reproduction(
        "bengio1994learning",
        "Bengio et al. 1994",
        "latching tasks, recurrent nets trained by gradient descent",
        "the gradient from inputs k steps back decays exponentially in k",
        f"tanh RNN({units}), adding problem T={seq_len}, at initialisation",
        "‖∂L/∂x_1‖ / ‖∂L/∂x_T‖",
        ratio,
        1e-2,
        False,
        f"first/last = {ratio:.1e}",
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
        The :class:`Reproduction` record.

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
        "pascanu2013difficulty",
        "Pascanu et al. 2013",
        "RNNs on synthetic long-term tasks, SGD with and without norm clipping",
        "tanh RNN gradients can explode only if W_rec's largest singular value exceeds 1; "
        "clipping the norm keeps training stable",
        f"tanh RNN(32), ρ = {gain}, adding T={seq_len}, SGD 0.1, 40 steps",
        "largest loss: unclipped ÷ clipped (diverged = ∞)",
        worst[None] / worst[1.0],
        1e3,
        True,
        f"unclipped {worst[None]:.3g}, clipped {worst[1.0]:.3g}",
    )


def le2015(*, seq_len: int = 100, units: int = 32, seed: int = 0) -> Reproduction:
    """An identity-initialised ReLU RNN passes gradients back undiminished (Le et al. 2015).

    Args:
        seq_len: Sequence length T.
        units: Hidden units.
        seed: Seed of the data and initializers.

    Returns:
        The :class:`Reproduction` record.

    Used in: "Appendix: reproductions at a glance".
    """
    irnn = _first_over_last(
        models.build_rnn("irnn", units, input_dim=2, seed=seed), seq_len, seed=seed
    )
    tanh = _first_over_last(
        models.build_rnn("simple", units, input_dim=2, seed=seed), seq_len, seed=seed
    )
    return Reproduction(
        "le2015simple",
        "Le et al. 2015",
        "IRNN on the adding problem (T up to 400) and pixel-by-pixel MNIST",
        "IRNN comparable to LSTM; tanh RNN stuck at the baseline on long sequences",
        f"IRNN({units}) vs tanh RNN({units}), adding T={seq_len}, at initialisation",
        "‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ of the IRNN",
        irnn,
        0.1,
        True,
        f"IRNN {irnn:.2f}, tanh RNN {tanh:.1e}",
    )


def _std_ratio(model: object, x: np.ndarray) -> float:
    """Return the activation std of the last hidden layer over that of the first."""
    stats = list(probes.activation_stats(model, x).values())
    return float(stats[-1].std / stats[0].std)


def glorot2010(*, depth: int = 10, width: int = 128, seed: int = 0) -> Reproduction:
    """Normalised initialisation keeps activations alive across depth (Glorot & Bengio 2010).

    Compares the "standard" heuristic U[-1/sqrt(n), 1/sqrt(n)] with the normalised
    (Glorot) initialisation in a deep tanh network, before training.

    Args:
        depth: Hidden layers.
        width: Units per layer.
        seed: Seed of the data and initializers.

    Returns:
        The :class:`Reproduction` record.

    Used in: "Appendix: reproductions at a glance".
    """
    import keras

    x, _ = _mnist_batch(512, seed=seed)
    limit = 1.0 / np.sqrt(width)
    standard = keras.initializers.RandomUniform(-limit, limit, seed=effective_seed(seed))
    ratios = {}
    for label, init in (("standard", standard), ("normalised", "glorot_uniform")):
        model = models.build_mlp(depth, width, activation="tanh", initializer=init, seed=seed)
        ratios[label] = _std_ratio(model, x)
    gain = ratios["normalised"] / ratios["standard"]
    return Reproduction(
        "glorot2010understanding",
        "Glorot & Bengio 2010",
        "5-layer tanh/sigmoid nets, standard vs normalised init, activation histograms",
        "with standard init activations shrink layer by layer; normalised init keeps them",
        f"{depth}×{width} tanh MLP on MNIST-1D, at initialisation",
        f"std(layer {depth}) / std(layer 1): normalised over standard",
        gain,
        10.0,
        True,
        f"normalised {ratios['normalised']:.2f}, standard {ratios['standard']:.1e}",
    )


def he2015(*, depth: int = 30, width: int = 64, seed: int = 0) -> Reproduction:
    """He initialisation keeps a 30-layer ReLU net's signal alive; Glorot's does not (He 2015).

    Args:
        depth: Hidden ReLU layers.
        width: Units per layer.
        seed: Seed of the data and initializers.

    Returns:
        The :class:`Reproduction` record.

    Used in: "Appendix: reproductions at a glance".
    """
    x, _ = _mnist_batch(512, seed=seed)
    ratios = {}
    for init in ("glorot_uniform", "he_normal"):
        model = models.build_mlp(depth, width, activation="relu", initializer=init, seed=seed)
        ratios[init] = _std_ratio(model, x)
    gain = ratios["he_normal"] / ratios["glorot_uniform"]
    return Reproduction(
        "he2015delving",
        "He et al. 2015",
        "30-layer plain ReLU conv net on ImageNet",
        "with Xavier init the 30-layer net stalls; with He init it converges",
        f"{depth}×{width} ReLU MLP on MNIST-1D, at initialisation",
        f"std(layer {depth}) / std(layer 1): He over Glorot",
        gain,
        100.0,
        True,
        f"He {ratios['he_normal']:.2f}, Glorot {ratios['glorot_uniform']:.1e}",
    )


def _train_loss(config: MLPConfig, *, epochs: int, n: int, seed: int) -> float:
    """Train ``config`` on ``n`` MNIST-1D examples and return the last epoch's training loss."""
    x, y = _mnist_batch(n, seed=seed)
    model = config.compile(config.build(seed=seed))
    return float(training.train(model, x, y, epochs=epochs, batch_size=64)["loss"][-1])


def _loss_pair(
    citation: str,
    key: str,
    texts: tuple[str, str, str],
    configs: tuple[MLPConfig, MLPConfig],
    *,
    epochs: int,
    n: int,
    bound: float,
    seed: int,
) -> Reproduction:
    """Train a sick and a remedied network; the record is the loss the remedy removes."""
    sick, cured = (_train_loss(c, epochs=epochs, n=n, seed=seed) for c in configs)
    return Reproduction(
        key,
        citation,
        texts[0],
        texts[1],
        texts[2] + f", {n} MNIST-1D examples, {epochs} epochs",
        "training loss: without − with the remedy",
        sick - cured,
        bound,
        True,
        f"without {sick:.2f}, with {cured:.2f}",
    )


def ioffe2015(*, depth: int = 12, width: int = 64, seed: int = 0) -> Reproduction:
    """Batch normalization lets a deep sigmoid network train (Ioffe & Szegedy 2015).

    Args:
        depth: Hidden sigmoid layers.
        width: Units per layer.
        seed: Seed of the data and initializers.

    Returns:
        The :class:`Reproduction` record.

    Used in: "Appendix: reproductions at a glance".
    """
    base = MLPConfig(depth=depth, width=width)
    texts = (
        "Inception on ImageNet; also a 3×100 sigmoid MLP on MNIST",
        "BN trains far faster and lets saturating nonlinearities be used",
        f"{depth}×{width} sigmoid MLP, N(0, 0.05²) init, SGD 0.1",
    )
    return _loss_pair(
        "Ioffe & Szegedy 2015",
        "ioffe2015batch",
        texts,
        (base, MLPConfig(depth=depth, width=width, batch_norm=True)),
        epochs=3,
        n=2000,
        bound=0.3,
        seed=seed,
    )


def degradation_margin(plain_shallow: float, plain_deep: float, residual_deep: float) -> float:
    """Return how much higher the deep plain net's training loss is than both comparisons.

    The degradation problem of He et al. (2016) has two halves: a deeper plain network trains
    *worse* than a shallower one, and a residual network of the same depth does not. The
    margin is ``plain_deep - max(plain_shallow, residual_deep)``: positive only when the deep
    plain net is worse than the shallow plain net *and* than the deep residual net.

    Args:
        plain_shallow: Final training loss of the shallower plain network.
        plain_deep: Final training loss of the deeper plain network.
        residual_deep: Final training loss of the residual network of the deeper depth.

    Returns:
        The margin in nats (NaN if any loss is NaN).

    Used in: "Appendix: reproductions at a glance".
    """
    losses = np.array([plain_shallow, plain_deep, residual_deep], dtype=np.float64)
    if np.any(np.isnan(losses)):
        return float("nan")
    return float(losses[1] - max(losses[0], losses[2]))


def he2016(
    *,
    depth: int = 64,
    shallow: int = 8,
    width: int = 32,
    lr: float = 0.01,
    epochs: int = 5,
    seed: int = 0,
) -> Reproduction:
    """Deeper plain nets train worse, even well initialised; residual nets do not (He 2016).

    Three networks are trained on the same data in the same order: plain ReLU MLPs of
    ``shallow`` and ``depth`` layers, both He-initialised, and a residual MLP of ``depth``
    blocks (:func:`vgrad_course.lessons.residual.build_residual_mlp`). The record's value is
    :func:`degradation_margin` of their final training losses. The deep plain net's gradient
    at initialisation (first over last hidden layer) is reported too: it does not vanish.

    Args:
        depth: Layers of the deep plain net and blocks of the residual net.
        shallow: Layers of the shallow plain net.
        width: Units per layer.
        lr: Learning rate of SGD with momentum 0.9.
        epochs: Passes over the 2,000 training examples (batch 64).
        seed: Seed of the data, the data order and the initializers.

    Returns:
        The :class:`Reproduction` record.

    Used in: "Appendix: reproductions at a glance".
    """
    x, y = _mnist_batch(2000, seed=seed)
    loss = training.classification_loss()
    builders = {
        "plain_shallow": lambda: models.build_mlp(
            shallow, width, initializer="he_normal", seed=seed
        ),
        "plain_deep": lambda: models.build_mlp(depth, width, initializer="he_normal", seed=seed),
        "residual_deep": lambda: residual.build_residual_mlp(depth, width, seed=seed),
    }
    final, first_over_last = {}, 0.0
    for label, build in builders.items():
        reseed(seed)
        model = build()
        if label == "plain_deep":
            norms = probes.hidden_kernel_norms(model, x[:512], y[:512], loss=loss)
            first_over_last = float(norms[0] / norms[-1])
        training.compile_model(model, loss=loss, optimizer="momentum", lr=lr)
        final[label] = float(training.train(model, x, y, epochs=epochs, batch_size=64)["loss"][-1])
    return Reproduction(
        "he2016deep",
        "He et al. 2016",
        "plain nets and ResNets of 18 and 34 layers on ImageNet (20–110 on CIFAR-10), "
        "He init and BN",
        "the deeper plain net has higher *training* error, though its signals do not vanish; "
        "the deeper ResNet has lower",
        f"plain ReLU MLPs of {shallow} and {depth} layers and a residual MLP of {depth} blocks, "
        f"width {width}, He init, momentum SGD {lr:g}, {epochs} epochs, 2000 MNIST-1D examples",
        f"training loss: plain-{depth} − max(plain-{shallow}, residual-{depth})",
        degradation_margin(final["plain_shallow"], final["plain_deep"], final["residual_deep"]),
        0.2,
        True,
        f"plain-{shallow} {final['plain_shallow']:.2f}, plain-{depth} {final['plain_deep']:.2f}, "
        f"residual-{depth} {final['residual_deep']:.2f}; at initialisation plain-{depth}'s "
        f"‖∂L/∂W_1‖ / ‖∂L/∂W_{depth}‖ = {first_over_last:.2g}",
        extras=(("first_over_last", first_over_last), *final.items()),
    )


#: Every reproduction, in chronological order of the papers.
REPRODUCTIONS: tuple[Callable[..., Reproduction], ...] = (
    bengio1994,
    glorot2010,
    pascanu2013,
    le2015,
    he2015,
    ioffe2015,
    he2016,
)
