"""The registry of remedies: one entry per cure for vanishing or exploding gradients.

A remedy is data, not code: the settings it changes in a baseline configuration. Two
baseline configurations (:mod:`vgrad_course.lessons.configs`) describe the two sick patients of the
course, a deep feed-forward network (:class:`MLPConfig`) and a recurrent network
(:class:`RNNConfig`). Applying a remedy returns a new configuration, so chapters compare
remedies by looping over :data:`REMEDIES` and training the configurations with
:func:`vgrad_course.lessons.comparison.train_configs`::

    nets = remedies.variants_of(configs.MLPConfig(), ["he_init", "batch_norm"])
    histories = comparison.train_configs(nets, x, y, epochs=4, batch_size=64)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from vgrad_course.lessons.configs import Config

PROBLEMS: tuple[str, ...] = ("deep-mlp", "rnn")


@dataclass(frozen=True, kw_only=True)
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

        Used in: "Gradient clipping", "Residual connections", "Putting it together".
        """
        if not self.applies_to(config):
            raise TypeError(
                f"remedy {self.key!r} sets {[f for f, _ in self.changes]}, which "
                f"{type(config).__name__} does not have"
            )
        return dataclasses.replace(config, **dict(self.changes))


_ENTRIES = (
    Remedy(
        key="clip_norm",
        name="Gradient clipping by norm",
        description="Rescale the whole gradient when its norm exceeds a "
        "threshold; keeps the direction.",
        chapter="07_clipping",
        paper="pascanu2013difficulty",
        problem="rnn",
        changes=(("global_clipnorm", 1.0),),
    ),
    Remedy(
        key="clip_value",
        name="Gradient clipping by value",
        description="Clamp each gradient entry to [-c, c]; bounds the "
        "step but can change its direction.",
        chapter="07_clipping",
        paper="mikolov2012statistical",
        problem="rnn",
        changes=(("clipvalue", 0.1),),
    ),
    Remedy(
        key="glorot_init",
        name="Glorot (Xavier) initialisation",
        description="Scale weights by 2/(fan_in + fan_out) so signal "
        "variance is kept forwards and backwards.",
        chapter="08_initialisation",
        paper="glorot2010understanding",
        problem="deep-mlp",
        changes=(("initializer", "glorot_normal"),),
    ),
    Remedy(
        key="he_init",
        name="He initialisation (with ReLU)",
        description="Variance 2/fan_in compensates ReLU zeroing half its "
        "inputs; the pair He et al. used.",
        chapter="08_initialisation",
        paper="he2015delving",
        problem="deep-mlp",
        changes=(("initializer", "he_normal"), ("activation", "relu")),
    ),
    Remedy(
        key="relu",
        name="Non-saturating activation (ReLU)",
        description="Replace the sigmoid by ReLU, whose derivative is "
        "1 wherever the unit is active.",
        chapter="09_activations",
        paper="glorot2010understanding",
        problem="deep-mlp",
        changes=(("activation", "relu"),),
    ),
    Remedy(
        key="batch_norm",
        name="Batch normalization",
        description="Standardise each pre-activation over the batch, "
        "keeping units out of saturation.",
        chapter="10_batch_norm",
        paper="ioffe2015batch",
        problem="deep-mlp",
        changes=(("batch_norm", True),),
    ),
    Remedy(
        key="residual",
        name="Residual connections",
        description="Add the identity around each layer (pre-activation blocks whose branches "
        "start small), so the backward signal has a path with factor 1.",
        chapter="11_residual",
        paper="he2016deep",
        problem="deep-mlp",
        changes=(("residual", True), ("initializer", None)),
    ),
    Remedy(
        key="adam",
        name="Adam optimiser",
        description="Divide each step by a running gradient scale: small "
        "gradients still give sizeable steps.",
        chapter="14_together",
        paper="kingma2015adam",
        problem="deep-mlp",
        changes=(("optimizer", "adam"), ("lr", 1e-3)),
    ),
    Remedy(
        key="lstm",
        name="LSTM",
        description="Gated cell whose additive cell-state update gives "
        "gradients a highway through time.",
        chapter="12_lstm_gru",
        paper="hochreiter1997lstm",
        problem="rnn",
        changes=(("cell", "lstm"),),
    ),
    Remedy(
        key="gru",
        name="GRU",
        description="A lighter gated cell: the update gate interpolates between old and new state.",
        chapter="12_lstm_gru",
        paper="cho2014learning",
        problem="rnn",
        changes=(("cell", "gru"),),
    ),
    Remedy(
        key="irnn",
        name="IRNN (identity-initialised ReLU RNN)",
        description="Recurrent weights start at the identity with ReLU "
        "units: the state is copied forward.",
        chapter="13_irnn",
        paper="le2015simple",
        problem="rnn",
        changes=(("cell", "irnn"),),
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

    Used in: "Gradient clipping", "Residual connections", "LSTM and GRU",
    "Identity-initialised ReLU RNNs (IRNN)", "Putting it together".
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

    Used in: "Batch normalization", "Putting it together".
    """
    if len(set(keys)) != len(keys) or label in keys:
        raise ValueError(f"remedy keys must be distinct and differ from {label!r}, got {keys}")
    return {label: baseline} | {key: get_remedy(key).apply(baseline) for key in keys}
