"""Reproductions of the deep feed-forward results: Glorot 2010, He 2015, Ioffe 2015, He 2016.

Each function runs one small experiment on MNIST-1D (a few seconds on two CPU cores) and
returns a :class:`~.records.Reproduction`. The remedies trained here (batch normalization,
residual connections, He initialisation) are the registry's (:mod:`~vgrad_course.lessons.remedies`)
applied to a :class:`~vgrad_course.lessons.configs.MLPConfig`, as in the chapters that teach them.
The papers' fixed facts come from ``papers.json`` (:func:`~.records.record`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vgrad_course import data, models, probes, training
from vgrad_course.lessons import comparison, remedies
from vgrad_course.lessons.configs import MLPConfig
from vgrad_course.lessons.reproductions import records
from vgrad_course.seeds import effective_seed, make_rng

#: Seed 0 draws from MNIST-1D's default data set (generator seed 42); seed ``s`` from ``42 + s``.
MNIST1D_SEED: int = 42


def _mnist_batch(n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` standardised MNIST-1D training examples of the data set of ``seed``.

    The seed chooses the data set (generated with ``MNIST1D_SEED + seed``, cached on disk after
    the first call) and the examples drawn from its 3,200 training examples.
    """
    (x, y), _ = data.mnist1d(num_samples=4000, seed=MNIST1D_SEED + seed)
    idx = make_rng(seed).permutation(len(x))[:n]
    return x[idx], y[idx]


def _std_ratio(model: object, x: np.ndarray) -> float:
    """Return the activation std of the last hidden layer over that of the first."""
    stats = list(probes.activation_stats(model, x).values())
    return float(stats[-1].std / stats[0].std)


def glorot2010(*, depth: int = 10, width: int = 128, seed: int = 0) -> records.Reproduction:
    """Normalised initialisation keeps activations alive across depth (Glorot & Bengio 2010).

    Compares the "standard" heuristic U[-1/sqrt(n), 1/sqrt(n)] with the normalised
    (Glorot) initialisation in a deep tanh network, before training.

    Args:
        depth: Hidden tanh layers.
        width: Units per layer (the ``n`` of the standard heuristic).
        seed: Seed of the data and initializers.

    Returns:
        The :class:`~.records.Reproduction` record.

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
    return records.record(
        "glorot2010understanding", measured=gain, depth=depth, width=width, **ratios
    )


def he2015(*, depth: int = 30, width: int = 64, seed: int = 0) -> records.Reproduction:
    """He initialisation keeps a 30-layer ReLU net's signal alive; Glorot's does not (He 2015).

    Both networks are measured on the same 512 examples, before training.

    Args:
        depth: Hidden ReLU layers.
        width: Units per layer.
        seed: Seed of the data and initializers.

    Returns:
        The record; its value is the He net's last-over-first activation std ratio divided by
        the Glorot net's.

    Used in: "Appendix: reproductions at a glance".
    """
    x, _ = _mnist_batch(512, seed=seed)
    ratios = {}
    for init in ("glorot_uniform", "he_normal"):
        model = models.build_mlp(depth, width, activation="relu", initializer=init, seed=seed)
        ratios[init] = _std_ratio(model, x)
    gain = ratios["he_normal"] / ratios["glorot_uniform"]
    return records.record("he2015delving", measured=gain, depth=depth, width=width, **ratios)


def ioffe2015(*, depth: int = 12, width: int = 64, seed: int = 0) -> records.Reproduction:
    """Batch normalization lets a deep sigmoid network train (Ioffe & Szegedy 2015).

    The sick network is :class:`~vgrad_course.lessons.configs.MLPConfig`'s baseline (sigmoid,
    N(0, 0.05²) init, SGD 0.1); its twin is the registry's ``"batch_norm"`` remedy applied to
    it. Both train for 3 epochs on the same 2,000 examples in the same order
    (:func:`~vgrad_course.lessons.comparison.train_configs`).

    Args:
        depth: Hidden sigmoid layers.
        width: Units per layer.
        seed: Seed of the data, the data order and the initializers.

    Returns:
        The record; its value is the training loss the remedy removes (without − with).

    Used in: "Appendix: reproductions at a glance".
    """
    n, epochs = 2000, 3
    x, y = _mnist_batch(n, seed=seed)
    variants = remedies.variants_of(MLPConfig(depth=depth, width=width), ["batch_norm"])
    histories = comparison.train_configs(variants, x, y, epochs=epochs, batch_size=64, seed=seed)
    loss = comparison.final_values(histories)
    setup = {"depth": depth, "width": width, "n": n, "epochs": epochs}
    removed = loss["baseline"] - loss["batch_norm"]
    return records.record("ioffe2015batch", measured=removed, **setup, **loss)


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
) -> records.Reproduction:
    """Deeper plain nets train worse, even well initialised; residual nets do not (He 2016).

    Three networks are trained on the same data in the same order: plain ReLU MLPs of
    ``shallow`` and ``depth`` layers, both the registry's ``"he_init"`` remedy applied to
    :class:`~vgrad_course.lessons.configs.MLPConfig`, and its ``"residual"`` remedy applied to
    the deep one (a residual MLP of ``depth`` blocks). The record's value is
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
        The :class:`~.records.Reproduction` record.

    Used in: "Appendix: reproductions at a glance".
    """
    x, y = _mnist_batch(2000, seed=seed)
    sick = MLPConfig(depth=depth, width=width, optimizer="momentum", lr=lr)
    plain = remedies.get_remedy("he_init").apply(sick)
    variants = {
        "plain_shallow": dataclasses.replace(plain, depth=shallow),
        "plain_deep": plain,
        "residual_deep": remedies.get_remedy("residual").apply(plain),
    }
    loss = training.classification_loss()
    norms = probes.hidden_kernel_norms(plain.build(seed=seed), x[:512], y[:512], loss=loss)
    first_over_last = float(norms[0] / norms[-1])
    histories = comparison.train_configs(variants, x, y, epochs=epochs, batch_size=64, seed=seed)
    final = comparison.final_values(histories)
    margin = degradation_margin(final["plain_shallow"], final["plain_deep"], final["residual_deep"])
    setup = {"depth": depth, "shallow": shallow, "width": width, "lr": lr, "epochs": epochs}
    extras = (("first_over_last", first_over_last), *final.items())
    return records.record(
        "he2016deep",
        measured=margin,
        extras=extras,
        first_over_last=first_over_last,
        **setup,
        **final,
    )
