"""The registry of remedies: one entry per cure for vanishing or exploding gradients.

A remedy is data, not code: the settings it changes in a baseline configuration. Two
baseline configurations (:mod:`vgrad_course.lessons.configs`) describe the two sick patients of the
course, a deep feed-forward network (:class:`MLPConfig`) and a recurrent network
(:class:`RNNConfig`). Applying a remedy returns a new configuration, so chapters compare
remedies by looping over :data:`REMEDIES` and training the configurations with
:func:`vgrad_course.lessons.comparison.train_configs`::

    nets = remedies.variants_of(configs.MLPConfig(), ["he_init", "batch_norm"])
    histories = comparison.train_configs(nets, x, y, epochs=4, batch_size=64)

The entries are data in ``remedies.json`` next to this module, one object per remedy in
teaching order (``changes`` maps configuration fields to values); they are read and checked
once, when this module is imported.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from vgrad_course.lessons.configs import Config, MLPConfig, RNNConfig

PROBLEMS: tuple[str, ...] = ("deep-mlp", "rnn")
#: The registry's data file, shipped next to this module.
DATA_FILE: str = "remedies.json"
#: Every setting a remedy may change: the fields of either configuration.
CONFIG_FIELDS: frozenset[str] = frozenset(
    f.name for config in (MLPConfig, RNNConfig) for f in dataclasses.fields(config)
)


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
            raise ValueError(
                f"remedy {self.key!r}: problem must be one of {PROBLEMS}, got {self.problem!r}"
            )
        if not self.changes:
            raise ValueError(f"remedy {self.key!r} changes nothing")
        unknown = [field for field, _ in self.changes if field not in CONFIG_FIELDS]
        if unknown:
            raise ValueError(
                f"remedy {self.key!r} changes {unknown}, which neither MLPConfig nor RNNConfig has"
            )

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


def _registry(entries: object, *, source: str = DATA_FILE) -> dict[str, Remedy]:
    """Build the registry from the data file's entries, checking each one.

    Args:
        entries: The parsed data file: a list of objects with exactly the fields of
            :class:`Remedy`, ``changes`` being an object ``{field: value}``.
        source: The file's name, for error messages.

    Returns:
        ``{key: Remedy}`` in the order of the entries.

    Raises:
        ValueError: Naming the entry: not an object, a missing or unknown field, a field of the
            wrong type, a duplicate key, an unknown problem, or a change of a setting neither
            configuration has.
    """
    if not isinstance(entries, list):
        raise ValueError(f"{source} must hold a list of remedies, got {type(entries).__name__}")
    fields = [f.name for f in dataclasses.fields(Remedy)]
    registry: dict[str, Remedy] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"{source}, entry {i}: expected an object, got {entry!r}")
        where = f"{source}, entry {i} ({entry.get('key', 'no key')!r})"
        missing = [f for f in fields if f not in entry]
        unknown = sorted(set(entry) - set(fields))
        if missing or unknown:
            raise ValueError(f"{where}: missing fields {missing}, unknown fields {unknown}")
        if not all(isinstance(entry[f], str) and entry[f] for f in fields if f != "changes"):
            raise ValueError(f"{where}: every field but 'changes' must be a non-empty string")
        if not isinstance(entry["changes"], dict):
            raise ValueError(f"{where}: 'changes' must be an object {{field: value}}")
        if entry["key"] in registry:
            raise ValueError(f"{where}: duplicate key {entry['key']!r}")
        try:
            remedy = Remedy(**(entry | {"changes": tuple(entry["changes"].items())}))
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        registry[remedy.key] = remedy
    return registry


#: Every remedy of the course, by key, in the order the book teaches them (``remedies.json``).
REMEDIES: dict[str, Remedy] = _registry(
    json.loads(resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8"))
)


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
