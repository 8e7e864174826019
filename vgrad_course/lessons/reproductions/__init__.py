"""Laptop-scale reproductions of the classic results on vanishing and exploding gradients.

Each reproduction runs one small experiment (a few seconds on two CPU cores) and returns a
:class:`~.records.Reproduction`: what the paper did and found, what we did, the number we
measured and the bound it must clear. The package has one module per kind of network and one
for the records:

- :mod:`.recurrent`: Bengio et al. 1994, Pascanu et al. 2013, Le et al. 2015;
- :mod:`.feedforward`: Glorot & Bengio 2010, He et al. 2015, Ioffe & Szegedy 2015,
  He et al. 2016;
- :mod:`.records`: the record (its fixed facts read from ``papers.json``), its Markdown table
  and the margins plot.

The appendix chapter runs every entry of :data:`REPRODUCTIONS` and tabulates the records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vgrad_course.lessons.reproductions import feedforward, recurrent

if TYPE_CHECKING:
    from vgrad_course.lessons.reproductions.records import Reproduction

#: Every reproduction, in chronological order of the papers.
REPRODUCTIONS: tuple[Callable[..., Reproduction], ...] = (
    recurrent.bengio1994,
    feedforward.glorot2010,
    recurrent.pascanu2013,
    recurrent.le2015,
    feedforward.he2015,
    feedforward.ioffe2015,
    feedforward.he2016,
)
