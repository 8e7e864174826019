"""The record of one reproduction, and how to tabulate and plot a set of them.

Every reproduction (:mod:`.recurrent`, :mod:`.feedforward`) runs its experiment and returns
:func:`record`, a :class:`Reproduction` whose fixed facts (citation, what the paper did and
found, the bound) come from ``papers.json`` next to this module; the facts that depend on the
run (our setup, the quantity, the raw numbers) are ``str.format`` templates there, filled from
the reproduction's arguments and results. The appendix chapter shows a list of records with
:func:`table` and :func:`plot_margins`.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from vgrad_course.palette import BAD, GOOD, GREY


@dataclass(frozen=True, kw_only=True)
class Reproduction:
    """The record of one reproduction (built with keywords only).

    Attributes:
        paper: BibTeX key of the paper.
        citation: Short citation, e.g. ``"Bengio et al. 1994"``.
        paper_setup: What the paper did.
        paper_result: The paper's headline result.
        our_setup: What we ran.
        quantity: What ``measured`` is.
        measured: The number we measured.
        bound: The bound it must clear.
        higher_is_better: True if ``measured`` must exceed ``bound``, False if it must stay below.
        detail: The raw numbers behind ``measured``.
        extras: Further named measurements a chapter may check, as ``(name, value)`` pairs.
    """

    paper: str
    citation: str
    paper_setup: str
    paper_result: str
    our_setup: str
    quantity: str
    measured: float
    bound: float
    higher_is_better: bool
    detail: str
    extras: tuple[tuple[str, float], ...] = ()

    @property
    def passed(self) -> bool:
        """Whether the measured value clears its bound (a NaN never does)."""
        if np.isnan(self.measured):
            return False
        return self.measured > self.bound if self.higher_is_better else self.measured < self.bound


#: The papers' facts, one object per paper in the order of the appendix (shipped with the code).
DATA_FILE: str = "papers.json"
#: The fields of an entry that are ``str.format`` templates; they may also name ``measured``.
TEMPLATES: tuple[str, ...] = ("our_setup", "quantity", "detail")
_TEXTS = ("paper", "citation", "paper_setup", "paper_result", *TEMPLATES)


def _parameters(template: str) -> frozenset[str]:
    """Return the names a ``str.format`` template uses (``{depth}``, ``{loss:.2f}``, ...)."""
    fields = [
        (name, spec) for _, name, spec, _ in string.Formatter().parse(template) if name is not None
    ]
    if not all(name.isidentifier() and "{" not in spec for name, spec in fields):
        raise ValueError(f"template {template!r}: every field must be a plain name, as {{depth}}")
    return frozenset(name for name, _ in fields)


def _papers(entries: object, *, source: str = DATA_FILE) -> dict[str, dict]:
    """Check the data file's entries and return them by paper key, bounds as floats.

    Raises:
        ValueError: Naming the entry: a missing or unknown field, a text that is not a string,
            a template that does not parse or uses something other than a plain name, a bound
            that is not a positive number, a direction that is not a boolean, a duplicate paper.
    """
    if not isinstance(entries, list):
        raise ValueError(f"{source} must hold a list of papers, got {type(entries).__name__}")
    fields = {*_TEXTS, "bound", "higher_is_better"}
    papers: dict[str, dict] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"{source}, entry {i}: expected an object, got {entry!r}")
        where = f"{source}, entry {i} ({entry.get('paper', 'no paper')!r})"
        if set(entry) != fields:
            raise ValueError(
                f"{where}: missing fields {sorted(fields - set(entry))}, "
                f"unknown fields {sorted(set(entry) - fields)}"
            )
        bound, higher = entry["bound"], entry["higher_is_better"]
        if not all(isinstance(entry[f], str) for f in _TEXTS):
            raise ValueError(f"{where}: the fields {list(_TEXTS)} must be strings")
        if entry["paper"] in papers:
            raise ValueError(f"{where}: duplicate paper {entry['paper']!r}")
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not bound > 0:
            raise ValueError(f"{where}: bound must be a positive number, got {bound!r}")
        if not isinstance(higher, bool):
            raise ValueError(f"{where}: higher_is_better must be true or false, got {higher!r}")
        try:
            uses = frozenset().union(*(_parameters(entry[f]) for f in TEMPLATES))
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        papers[entry["paper"]] = entry | {"bound": float(bound), "parameters": uses}
    return papers


_PAPERS = _papers(
    json.loads(resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8"))
)


def record(
    paper: str, *, measured: float, extras: tuple[tuple[str, float], ...] = (), **params: object
) -> Reproduction:
    """Return the record of a reproduction: the paper's facts, with its templates filled in.

    Args:
        paper: BibTeX key of the paper, the key of an entry of ``papers.json``.
        measured: The number we measured (templates may show it as ``{measured}``).
        extras: Further named measurements a chapter may check, as ``(name, value)`` pairs.
        **params: Exactly the names the entry's templates use besides ``measured``: the
            reproduction's arguments (``seq_len=...``) and raw results.

    Returns:
        The :class:`Reproduction`.

    Raises:
        TypeError: If a name the templates use is not given, or a name they do not use is.
        ValueError: If ``papers.json`` has no entry for ``paper``, or a value does not suit
            its template's format (``{units:.2f}`` given a string).

    Used in: "Appendix: reproductions at a glance".
    """
    if paper not in _PAPERS:
        raise ValueError(f"{DATA_FILE} has no paper {paper!r}; known: {list(_PAPERS)}")
    entry = _PAPERS[paper]
    missing = sorted(entry["parameters"] - {"measured"} - params.keys())
    unused = sorted(params.keys() - entry["parameters"])
    if missing or unused:
        raise TypeError(
            f"record({paper!r}): the templates of {DATA_FILE} need {missing} (not given) "
            f"and do not use {unused} (given)"
        )
    texts = {f: entry[f] for f in _TEXTS}
    for field in TEMPLATES:
        try:
            texts[field] = entry[field].format(measured=measured, **params)
        except (ValueError, TypeError) as err:
            raise ValueError(f"record({paper!r}): cannot fill its {field}: {err}") from None
    return Reproduction(
        **texts,
        measured=measured,
        bound=entry["bound"],
        higher_is_better=entry["higher_is_better"],
        extras=extras,
    )


def table(records: Sequence[Reproduction]) -> str:
    """Format reproduction records as a Markdown table.

    Args:
        records: The records to show, one row each.

    Returns:
        A Markdown table (display it with ``IPython.display.Markdown``).

    Used in: "Appendix: reproductions at a glance".
    """
    if not records:
        raise ValueError("no records to tabulate")
    head = "| Paper | Their setup | Their result | Our setup | We measured | Bound | Passed |"
    rows = [head, "|" + " --- |" * 7]
    for r in records:
        sign = ">" if r.higher_is_better else "<"
        cells = [
            r.citation,
            r.paper_setup,
            r.paper_result,
            r.our_setup,
            f"{r.quantity} = **{r.measured:.3g}** ({r.detail})",
            f"{sign} {r.bound:g}",
            "✓" if r.passed else "✗",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def margin(record: Reproduction) -> float:
    """Return how far a record clears its bound, as a factor (> 1 means it passed).

    Args:
        record: A reproduction record with a positive bound.

    Returns:
        ``measured / bound`` if higher is better, else ``bound / measured`` (inf when
        ``measured`` is 0 in the latter case).

    Used in: "Appendix: reproductions at a glance".
    """
    if record.bound <= 0:
        raise ValueError(f"margin needs a positive bound, got {record.bound}")
    if record.higher_is_better:
        return float(record.measured / record.bound)
    return float("inf") if record.measured == 0 else float(record.bound / record.measured)


def plot_margins(
    records: Sequence[Reproduction], *, ax: Axes | None = None, cap: float = 1e4
) -> Axes:
    """Draw one horizontal bar per reproduction: the factor by which it clears its bound.

    Args:
        records: Reproduction records.
        ax: Axes to draw on (a new figure if None).
        cap: Bars longer than this (including infinite margins) are drawn at ``cap``, marked ≥.

    Returns:
        The Axes drawn on.

    Used in: "Appendix: reproductions at a glance".
    """
    if ax is None:
        _, ax = plt.subplots()
    factors = [margin(r) for r in records]
    shown = [min(f, cap) for f in factors]
    ypos = np.arange(len(records))
    ax.barh(ypos, shown, color=[GOOD if r.passed else BAD for r in records])
    for y, f, s in zip(ypos, factors, shown, strict=True):
        ax.text(s, y, f" {'≥' if f > cap else ''}{s:.3g}×", va="center", fontsize=8)
    ax.axvline(1.0, color=GREY, linestyle="--", linewidth=1)
    ax.set_yticks(ypos, [r.citation for r in records])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("margin over the asserted bound (×, log scale; 1 = just passing)")
    return ax
