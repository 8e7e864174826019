import numpy as np
import pytest

from vgrad_course import data, models, probes
from vgrad_course.lessons import reproductions, sequence_training


def _record(measured, bound=1.0, higher=True):
    return reproductions.Reproduction(
        "key",
        "Someone 2000",
        "their setup",
        "their result",
        "our setup",
        "q",
        measured,
        bound,
        higher,
        "detail",
    )


@pytest.mark.parametrize(
    ("measured", "higher", "expected"),
    [
        (2.0, True, True),
        (0.5, True, False),
        (0.5, False, True),
        (2.0, False, False),
        (float("inf"), True, True),
        (float("nan"), True, False),
        (float("nan"), False, False),
    ],
)
def test_passed_compares_with_the_bound(measured, higher, expected):
    assert _record(measured, higher=higher).passed is expected


def test_table_has_one_row_per_record_and_marks_failures():
    table = reproductions.reproductions_table([_record(2.0), _record(0.1)])
    lines = table.splitlines()
    assert len(lines) == 4
    assert lines[2].count("|") == lines[0].count("|") == 8
    assert "✓" in lines[2] and "✗" in lines[3]
    with pytest.raises(ValueError):
        reproductions.reproductions_table([])


def test_registry_covers_the_required_papers():
    keys = {f.__name__ for f in reproductions.REPRODUCTIONS}
    assert {
        "bengio1994",
        "glorot2010",
        "pascanu2013",
        "le2015",
        "he2015",
        "ioffe2015",
        "he2016",
    } <= keys


def test_bengio1994_matches_a_direct_probe():
    record = reproductions.bengio1994(seq_len=12, units=8, seed=3)
    model = models.build_rnn("simple", 8, input_dim=2, seed=3)
    x, y = data.adding_problem(64, 12, seed=3)
    norms = probes.input_grad_norms(model, x, y, loss="mse")
    assert record.measured == pytest.approx(norms[0] / norms[-1], rel=1e-5)
    assert record.paper == "bengio1994learning"


def test_first_over_last_reference_values():
    assert sequence_training.first_over_last(np.array([1.0, 2.0, 4.0])) == 0.25
    assert sequence_training.first_over_last(np.array([0.0, 0.0])) == 0.0
    assert sequence_training.first_over_last(np.array([1.0, 0.0])) == float("inf")
    with pytest.raises(ValueError):
        sequence_training.first_over_last(np.array([1.0]))


def test_irnn_gradient_is_flat_at_initialisation():
    # identity recurrence, ReLU: with tiny input weights the Jacobian is (almost) the identity
    record = reproductions.le2015(seq_len=20, units=8)
    assert record.measured > 0.5


def test_margin_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    up, down = _record(4.0, bound=2.0), _record(0.5, bound=2.0, higher=False)
    assert reproductions.margin(up) == 2.0 and reproductions.margin(down) == 4.0
    assert reproductions.margin(_record(0.0, higher=False)) == float("inf")
    ax = reproductions.plot_margins([up, down, _record(float("inf"))], cap=100.0)
    widths = [p.get_width() for p in ax.patches]
    assert widths == [2.0, 4.0, 100.0]
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError):
        reproductions.margin(_record(1.0, bound=0.0))


def test_degradation_margin_needs_both_halves_of_the_claim():
    # deep plain worse than the shallow plain net and than the deep residual net
    assert reproductions.degradation_margin(1.0, 1.5, 0.8) == pytest.approx(0.5)
    # the residual net is worse than the shallow plain net: the margin shrinks
    assert reproductions.degradation_margin(1.0, 1.5, 1.3) == pytest.approx(0.2)
    # no degradation at all: negative
    assert reproductions.degradation_margin(1.5, 1.0, 0.8) < 0
    assert np.isnan(reproductions.degradation_margin(1.0, float("nan"), 0.8))


def test_he2016_record_matches_its_extras():
    record = reproductions.he2016(depth=3, shallow=1, width=4, epochs=1, seed=1)
    extras = dict(record.extras)
    expected = reproductions.degradation_margin(
        extras["plain_shallow"], extras["plain_deep"], extras["residual_deep"]
    )
    assert record.measured == pytest.approx(expected)
    assert extras["first_over_last"] > 0
    assert record.paper == "he2016deep" and record.bound > 0
