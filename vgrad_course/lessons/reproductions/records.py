"""The record of one reproduction, and how to tabulate and plot a set of them.

Every reproduction (:mod:`.recurrent`, :mod:`.feedforward`) returns a :class:`Reproduction`;
the appendix chapter shows a list of them with :func:`table` and :func:`plot_margins`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
