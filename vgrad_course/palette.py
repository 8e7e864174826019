"""The course's colours: one colour-blind-safe palette for plots and the grader's feedback.

No imports beyond the standard library, so every wing may use it.
"""

from __future__ import annotations

#: Colour-blind-safe cycle (Okabe & Ito) that reads on both light and dark pages.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # green
    "#CC79A7",  # purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)

#: Colours by the role they play across the course (all from :data:`PALETTE`).
BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, BLACK, YELLOW = PALETTE
#: Passed / helps.
GOOD: str = GREEN
#: Failed / hurts / a reference line.
BAD: str = VERMILLION
#: Partly.
PARTIAL: str = ORANGE
#: Neutral bars and backgrounds.
GREY: str = "#999999"
