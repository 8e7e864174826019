"""The registry of remedies: one entry per cure for vanishing or exploding gradients.

A remedy is data, not code: the settings it changes in a baseline configuration. Two
baseline configurations (:mod:`vgrad_course.lessons.configs`) describe the two sick patients of the
course, a deep feed-forward network (:class:`MLPConfig`) and a recurrent network
(:class:`RNNConfig`). Applying a remedy returns a new configuration, so chapters compare
remedies by looping over :data:`REMEDIES`::

    for remedy in remedies.remedies_for("deep-mlp"):
        config = remedy.apply(configs.MLPConfig())
        model = config.build(seed=0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from vgrad_course.lessons.configs import Config

PROBLEMS: tuple[str, ...] = ("deep-mlp", "rnn")


@dataclass(frozen=True)
class Remedy:
    """One remedy: what it is, where it is taught, and the settings it changes.

    Attributes:
        key: Short identifier (the key in :data:`REMEDIES`).
        name: Human-readable name.
        description: One line on what it does and why it helps.
        chapter: Document name of the chapter that teaches it (e.g. ``"07_clipping"``).
        paper: BibTeX key of the paper that introduced or analysed it.
        problem: The sick network it targets: ``"deep-mlp"`` or ``"rnn"``.
        changes: ``(field, value)`` pairs it sets in a configuration.
    """

    key: str
    name: str
    description: str
    chapter: str
    paper: str
    problem: str
    changes: tuple[tuple[str, object], ...]

    def __post_init__(self) -> None:
        if self.problem not in PROBLEMS:
            raise ValueError(f"problem must be one of {PROBLEMS}, got {self.problem!r}")
        if not self.changes:
            raise ValueError(f"remedy {self.key!r} changes nothing")

    def applies_to(self, config: Config) -> bool:
        """Return True if every setting this remedy changes exists in ``config``.

        Args:
            config: An :class:`MLPConfig` or :class:`RNNConfig`.

        Returns:
            Whether :meth:`apply` can be used on ``config``.

        Used in: "Putting it together".
        """
        if not dataclasses.is_dataclass(config) or isinstance(config, type):
            raise TypeError(f"config must be a configuration instance, got {config!r}")
        names = {f.name for f in dataclasses.fields(config)}
        return all(field in names for field, _ in self.changes)

    def apply(self, config: Config) -> Config:
        """Return a copy of ``config`` with this remedy's settings (the original is unchanged).

        Args:
            config: An :class:`MLPConfig` or :class:`RNNConfig`.

        Returns:
            A new configuration of the same type.

        Raises:
            TypeError: If the configuration has no field this remedy needs.

        Used in: "Putting it together".
        """
        if not self.applies_to(config):
            raise TypeError(
                f"remedy {self.key!r} sets {[f for f, _ in self.changes]}, which "
                f"{type(config).__name__} does not have"
            )
        return dataclasses.replace(config, **dict(self.changes))


_ENTRIES = (
    Remedy(
        "clip_norm",
        "Gradient clipping by norm",
        "Rescale the whole gradient when its norm exceeds a threshold; keeps the direction.",
        "07_clipping",
        "pascanu2013difficulty",
        "rnn",
        (("global_clipnorm", 1.0),),
    ),
    Remedy(
        "clip_value",
        "Gradient clipping by value",
        "Clamp each gradient entry to [-c, c]; bounds the step but can change its direction.",
        "07_clipping",
        "mikolov2012statistical",
        "rnn",
        (("clipvalue", 0.5),),
    ),
    Remedy(
        "glorot_init",
        "Glorot (Xavier) initialisation",
        "Scale weights by 2/(fan_in + fan_out) so signal variance is kept forwards and backwards.",
        "08_initialisation",
        "glorot2010understanding",
        "deep-mlp",
        (("initializer", "glorot_normal"),),
    ),
    Remedy(
        "he_init",
        "He initialisation (with ReLU)",
        "Variance 2/fan_in compensates ReLU zeroing half its inputs; the pair He et al. used.",
        "08_initialisation",
        "he2015delving",
        "deep-mlp",
        (("initializer", "he_normal"), ("activation", "relu")),
    ),
    Remedy(
        "relu",
        "Non-saturating activation (ReLU)",
        "Replace the sigmoid by ReLU, whose derivative is 1 wherever the unit is active.",
        "09_activations",
        "glorot2010understanding",
        "deep-mlp",
        (("activation", "relu"),),
    ),
    Remedy(
        "batch_norm",
        "Batch normalization",
        "Standardise each pre-activation over the batch, keeping units out of saturation.",
        "10_batch_norm",
        "ioffe2015batch",
        "deep-mlp",
        (("batch_norm", True),),
    ),
    Remedy(
        "residual",
        "Residual connections",
        "Add the identity around each layer, so the backward signal has a path with factor 1.",
        "11_residual",
        "he2016deep",
        "deep-mlp",
        (("residual", True),),
    ),
    Remedy(
        "adam",
        "Adam optimiser",
        "Divide each step by a running gradient scale: small gradients still give sizeable steps.",
        "14_together",
        "kingma2015adam",
        "deep-mlp",
        (("optimizer", "adam"), ("lr", 1e-3)),
    ),
    Remedy(
        "lstm",
        "LSTM",
        "Gated cell whose additive cell-state update gives gradients a highway through time.",
        "12_lstm_gru",
        "hochreiter1997lstm",
        "rnn",
        (("cell", "lstm"),),
    ),
    Remedy(
        "gru",
        "GRU",
        "A lighter gated cell: the update gate interpolates between old and new state.",
        "12_lstm_gru",
        "cho2014learning",
        "rnn",
        (("cell", "gru"),),
    ),
    Remedy(
        "irnn",
        "IRNN (identity-initialised ReLU RNN)",
        "Recurrent weights start at the identity with ReLU units: the state is copied forward.",
        "13_irnn",
        "le2015simple",
        "rnn",
        (("cell", "irnn"),),
    ),
)

#: Every remedy of the course, by key, in the order the book teaches them.
REMEDIES: dict[str, Remedy] = {r.key: r for r in _ENTRIES}


def get_remedy(key: str) -> Remedy:
    """Return the remedy registered under ``key``.

    Args:
        key: A key of :data:`REMEDIES`, e.g. ``"batch_norm"``.

    Returns:
        The :class:`Remedy`.

    Raises:
        ValueError: If no remedy has that key.

    Used in: "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)".
    """
    if key not in REMEDIES:
        raise ValueError(f"unknown remedy {key!r}; known: {sorted(REMEDIES)}")
    return REMEDIES[key]


def remedies_for(problem: str) -> list[Remedy]:
    """Return the remedies that target ``problem``, in teaching order.

    Args:
        problem: ``"deep-mlp"`` or ``"rnn"``.

    Returns:
        A list of :class:`Remedy`.

    Used in: no chapter calls it directly (a helper for your own experiments).
    """
    if problem not in PROBLEMS:
        raise ValueError(f"problem must be one of {PROBLEMS}, got {problem!r}")
    return [r for r in REMEDIES.values() if r.problem == problem]


def variants_of(baseline: Config, keys: Sequence[str], *, label: str = "baseline") -> dict:
    """Return the baseline and each named remedy applied to it, ready to compare.

    This is the one way the course builds the variants of a comparison: every chapter that
    compares remedies names them by registry key and trains the configurations this returns.

    Args:
        baseline: The sick configuration (an :class:`MLPConfig` or :class:`RNNConfig`).
        keys: Keys of :data:`REMEDIES`, each applied on its own to ``baseline``.
        label: The key under which the untreated baseline is returned.

    Returns:
        ``{label: baseline, key: remedy applied to baseline, ...}`` in the order given.

    Raises:
        ValueError: An unknown key, a repeated key, or ``label`` among the keys.
        TypeError: A remedy that does not apply to ``baseline``.

    Used in: "Putting it together".
    """
    if len(set(keys)) != len(keys) or label in keys:
        raise ValueError(f"remedy keys must be distinct and differ from {label!r}, got {keys}")
    return {label: baseline} | {key: get_remedy(key).apply(baseline) for key in keys}
