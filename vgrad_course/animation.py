"""Animations that play in the static, offline book: matplotlib's JavaScript player, self-contained.

``FuncAnimation(...).to_jshtml()`` writes every frame into the page as a PNG and adds a small
JavaScript player (slider and buttons): no server, no kernel. Out of the box its buttons draw
their icons from Font Awesome on a CDN, so offline they are blank. :func:`to_html` removes that
link and draws the icons with plain Unicode characters, so the page loads nothing from the
network, and it refuses an animation larger than ``max_bytes`` (frames at low dpi keep a page
small).

Used in: chapters 07 (the cliff), 16 (gradient histograms during training) and 17 (the
per-step gradient profile during training).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import matplotlib as mpl
import matplotlib.pyplot as plt
from IPython.display import HTML
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from vgrad_course.validation import check_int, check_positive

#: The CDN stylesheet matplotlib links for its button icons (fetched at view time: not offline).
_ICON_LINK = re.compile(r"<link[^>]*font-awesome[^>]*>\s*", re.IGNORECASE)
#: matplotlib's Font Awesome icon classes, each with a Unicode character that needs no font file.
ICONS = {
    "fa fa-minus": "\u2212",  # minus: slower
    "fa fa-fast-backward": "\u23ee",  # first frame
    "fa fa-step-backward": "\u23f4\u2758",  # previous frame
    "fa fa-play fa-flip-horizontal": "\u25c0",  # play backwards
    "fa fa-pause": "\u23f8",
    "fa fa-play": "\u25b6",
    "fa fa-step-forward": "\u2758\u23f5",  # next frame
    "fa fa-fast-forward": "\u23ed",  # last frame
    "fa fa-plus": "+",  # faster
}
#: The largest animation :func:`to_html` accepts by default (the book's limit is 3 MB a page).
MAX_BYTES = 1_500_000


def offline_player(html: str) -> str:
    """Return matplotlib's player HTML with no network link: icons become Unicode characters.

    Args:
        html: the output of ``FuncAnimation.to_jshtml()``.

    Returns:
        The same player without the Font Awesome ``<link>``; every ``<i class="fa ...">`` icon
        is replaced by a ``<span>`` holding its character.

    Raises:
        ValueError: if the HTML still refers to ``http`` afterwards (a matplotlib version with
            another template).

    Used in: "Gradient clipping", "The source's sick network, remedied step by step"
    and "The assignment, as written: SimpleRNN, LSTM and GRU at length 50"
    (through :func:`to_html`).
    """
    html = _ICON_LINK.sub("", html)
    for cls, char in ICONS.items():
        html = html.replace(f'<i class="{cls}"></i>', f'<span aria-hidden="true">{char}</span>')
    if "http://" in html or "https://" in html:
        raise ValueError("the animation player still links to the network; update animation.ICONS")
    return html


def to_html(
    fig: Figure,
    update: Callable[[int], object],
    frames: int,
    *,
    interval_ms: int = 400,
    dpi: int = 60,
    max_bytes: int = MAX_BYTES,
) -> HTML:
    """Render ``update(0), …, update(frames - 1)`` on ``fig`` as a self-contained player.

    Args:
        fig: the figure to animate; it is closed afterwards, so that only the player is shown.
        update: draws frame ``i`` on the figure's axes (its return value is ignored).
        frames: the number of frames (at least 2).
        interval_ms: the time between frames when playing.
        dpi: the resolution of each frame (60 keeps a 6×3-inch frame near 20 kB).
        max_bytes: refuse a player larger than this (the page must stay small).

    Returns:
        An ``IPython.display.HTML`` object: the last expression of a cell shows it.

    Raises:
        ValueError: on fewer than 2 frames, or when the player exceeds ``max_bytes``.

    Used in: "Gradient clipping", "The source's sick network, remedied step by step"
    and "The assignment, as written: SimpleRNN, LSTM and GRU at length 50".
    """
    frames = check_int("frames", frames, minimum=2)
    interval_ms = check_int("interval_ms", interval_ms)
    dpi = check_int("dpi", dpi, minimum=10)
    check_positive("max_bytes", max_bytes)
    # Lay the figure out once, on the first frame, then keep that layout: a constrained layout
    # would otherwise be solved again for every frame (a few times per frame), and the axes
    # would jump from frame to frame as tick labels change width.
    update(0)
    fig.canvas.draw()
    fig.set_layout_engine("none")
    anim = FuncAnimation(fig, update, frames=frames, interval=interval_ms, blit=False)
    try:
        with mpl.rc_context({"savefig.dpi": dpi, "animation.embed_limit": max_bytes / 2**20 + 1}):
            html = offline_player(anim.to_jshtml(default_mode="once"))
    finally:
        plt.close(fig)
    size = len(html.encode())
    if size > max_bytes:
        raise ValueError(
            f"the animation is {size / 1e6:.2f} MB, above max_bytes={max_bytes / 1e6:.2f} MB: "
            "use fewer frames, a lower dpi or a smaller figure"
        )
    return HTML(html)
