"""The offline animation player: every frame embedded, no network link, a size limit."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib import _animation_data

from vgrad_course import animation


def _sine_player(frames: int = 4, **kw: object) -> str:
    fig, ax = plt.subplots(figsize=(3, 2))
    x = np.linspace(0, 6, 50)
    (line,) = ax.plot(x, np.sin(x))
    return animation.to_html(fig, lambda i: line.set_ydata(np.sin(x + i)), frames, **kw).data


def test_player_embeds_every_frame_and_links_nothing():
    html = _sine_player(frames=5)
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html
    assert len(re.findall(r"data:image/png;base64", html)) == 5
    assert 'class="anim-buttons"' in html and "<i class=" not in html


def test_every_icon_matplotlib_uses_has_a_character():
    used = set(re.findall(r'<i class="([^"]+)"></i>', _animation_data.DISPLAY_TEMPLATE))
    assert used == set(animation.ICONS), used ^ set(animation.ICONS)


def test_the_figure_is_closed_so_only_the_player_shows():
    before = plt.get_fignums()
    _sine_player()
    assert plt.get_fignums() == before


def test_a_larger_dpi_gives_larger_frames():
    assert len(_sine_player(dpi=120)) > 1.5 * len(_sine_player(dpi=40))


def test_too_large_a_player_is_refused_with_advice():
    with pytest.raises(ValueError, match="fewer frames, a lower dpi"):
        _sine_player(frames=3, max_bytes=10_000)


@pytest.mark.parametrize(("kw", "match"), [({"frames": 1}, "frames"), ({"dpi": 0}, "dpi")])
def test_bad_settings_are_refused(kw, match):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match=match):
        animation.to_html(fig, lambda i: None, **{"frames": 3, **kw})
    plt.close(fig)


def test_a_template_that_still_links_out_is_refused():
    with pytest.raises(ValueError, match="network"):
        animation.offline_player('<img src="https://example.org/x.png">')
