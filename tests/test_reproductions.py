import copy
import dataclasses
import inspect
import json
from pathlib import Path

import numpy as np
import pytest

import vgrad_course as vg
from vgrad_course import data, models, probes, training
from vgrad_course.lessons import configs, sequence_training
from vgrad_course.lessons.reproductions import REPRODUCTIONS, feedforward, records, recurrent


def _record(measured, bound=1.0, higher=True):
    return records.Reproduction(
        paper="key",
        citation="Someone 2000",
        paper_setup="their setup",
        paper_result="their result",
        our_setup="our setup",
        quantity="q",
        measured=measured,
        bound=bound,
        higher_is_better=higher,
        detail="detail",
    )


def test_records_are_built_with_keywords_only():
    fields = [f.name for f in dataclasses.fields(records.Reproduction)]
    positional = ["key", "Someone 2000", "a", "b", "c", "q", 1.0, 2.0, True, "detail"]
    assert fields[: len(positional)] == [
        "paper",
        "citation",
        "paper_setup",
        "paper_result",
        "our_setup",
        "quantity",
        "measured",
        "bound",
        "higher_is_better",
        "detail",
    ]
    with pytest.raises(TypeError):
        records.Reproduction(*positional)


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
    table = records.table([_record(2.0), _record(0.1)])
    lines = table.splitlines()
    assert len(lines) == 4
    assert lines[2].count("|") == lines[0].count("|") == 8
    assert "✓" in lines[2] and "✗" in lines[3]
    with pytest.raises(ValueError):
        records.table([])


def test_registry_covers_the_required_papers_in_order():
    keys = [f.__name__ for f in REPRODUCTIONS]
    assert keys == [
        "bengio1994",
        "glorot2010",
        "pascanu2013",
        "le2015",
        "he2015",
        "ioffe2015",
        "he2016",
    ]


def test_bengio1994_matches_a_direct_probe():
    record = recurrent.bengio1994(seq_len=12, units=8, seed=3)
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
    record = recurrent.le2015(seq_len=20, units=8)
    assert record.measured > 0.5


def test_margin_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    up, down = _record(4.0, bound=2.0), _record(0.5, bound=2.0, higher=False)
    assert records.margin(up) == 2.0 and records.margin(down) == 4.0
    assert records.margin(_record(0.0, higher=False)) == float("inf")
    ax = records.plot_margins([up, down, _record(float("inf"))], cap=100.0)
    widths = [p.get_width() for p in ax.patches]
    assert widths == [2.0, 4.0, 100.0]
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError):
        records.margin(_record(1.0, bound=0.0))


def test_the_seed_chooses_the_mnist1d_data_set_and_the_examples():
    x0, y0 = feedforward._mnist_batch(50, seed=0)
    x1, y1 = feedforward._mnist_batch(50, seed=1)
    (train1, labels1), _ = data.mnist1d(num_samples=4000, seed=feedforward.MNIST1D_SEED + 1)
    (train0, _), _ = data.mnist1d(num_samples=4000, seed=feedforward.MNIST1D_SEED)
    idx = vg.make_rng(1).permutation(len(train1))[:50]
    np.testing.assert_array_equal(x1, train1[idx])
    np.testing.assert_array_equal(y1, labels1[idx])
    assert not np.isin(x1[:, 0], train0[:, 0]).any()  # none of seed 0's data set
    assert not np.array_equal(x0, x1)


def test_ioffe2015_trains_the_registry_batch_norm_twin_on_the_same_data_order():
    record = feedforward.ioffe2015(depth=2, width=4, seed=1)
    # an independent run: the same data, MLPConfig's sick defaults with and without BN
    (x, y), _ = data.mnist1d(num_samples=4000, seed=43)
    idx = vg.make_rng(1).permutation(len(x))[:2000]
    final = []
    for batch_norm in (False, True):
        vg.reseed(1)
        config = configs.MLPConfig(depth=2, width=4, batch_norm=batch_norm)
        model = config.compile(config.build(seed=1))
        final.append(training.train(model, x[idx], y[idx], epochs=3, batch_size=64)["loss"][-1])
    assert record.measured == pytest.approx(final[0] - final[1], rel=1e-5, abs=1e-6)
    assert record.paper == "ioffe2015batch"


def test_degradation_margin_needs_both_halves_of_the_claim():
    # deep plain worse than the shallow plain net and than the deep residual net
    assert feedforward.degradation_margin(1.0, 1.5, 0.8) == pytest.approx(0.5)
    # the residual net is worse than the shallow plain net: the margin shrinks
    assert feedforward.degradation_margin(1.0, 1.5, 1.3) == pytest.approx(0.2)
    # no degradation at all: negative
    assert feedforward.degradation_margin(1.5, 1.0, 0.8) < 0
    assert np.isnan(feedforward.degradation_margin(1.0, float("nan"), 0.8))


def test_he2016_record_matches_its_extras():
    record = feedforward.he2016(depth=3, shallow=1, width=4, epochs=1, seed=1)
    extras = dict(record.extras)
    expected = feedforward.degradation_margin(
        extras["plain_shallow"], extras["plain_deep"], extras["residual_deep"]
    )
    assert record.measured == pytest.approx(expected)
    # the deep plain net at initialisation: a He-initialised ReLU MLP, probed directly
    x, y = feedforward._mnist_batch(512, seed=1)
    plain = models.build_mlp(3, 4, activation="relu", initializer="he_normal", seed=1)
    norms = probes.hidden_kernel_norms(plain, x, y, loss=training.classification_loss())
    assert extras["first_over_last"] == pytest.approx(norms[0] / norms[-1], rel=1e-5)
    assert record.paper == "he2016deep" and record.bound > 0


PAPERS = json.loads(
    (
        Path(__file__).resolve().parents[1] / "vgrad_course/lessons/reproductions/papers.json"
    ).read_text("utf-8")
)


def test_each_reproduction_records_its_own_paper_in_the_data_file_order():
    bib = Path("book/references.bib").read_text(encoding="utf-8")
    assert len(PAPERS) == len(REPRODUCTIONS)
    for entry, reproduce in zip(PAPERS, REPRODUCTIONS, strict=True):
        assert f'"{entry["paper"]}"' in inspect.getsource(reproduce), reproduce.__name__
        assert "{" + entry["paper"] + "," in bib, entry["paper"]


def test_record_fills_the_templates_from_the_arguments():
    r = records.record("bengio1994learning", measured=7.4321e-4, units=8, seq_len=12)
    assert r.citation == "Bengio et al. 1994" and r.paper == "bengio1994learning"
    assert r.our_setup == "tanh RNN(8), adding problem T=12, at initialisation"
    assert r.detail == "first/last = 7.4e-04"
    assert (r.bound, r.higher_is_better, r.measured, r.extras) == (0.01, False, 7.4321e-4, ())
    final = {"plain_shallow": 1.714, "plain_deep": 2.3, "residual_deep": 1.481}
    setup = {"depth": 3, "shallow": 1, "width": 4, "lr": 0.05, "epochs": 2}
    r = records.record(
        "he2016deep", measured=0.5, extras=(("a", 1.0),), first_over_last=2.07, **setup, **final
    )
    assert r.our_setup == (
        "plain ReLU MLPs of 1 and 3 layers and a residual MLP of 3 blocks, width 4, He init, "
        "momentum SGD 0.05, 2 epochs, 2000 MNIST-1D examples"
    )
    assert r.quantity == "training loss: plain-3 − max(plain-1, residual-3)"
    assert r.detail == (
        "plain-1 1.71, plain-3 2.30, residual-3 1.48; at initialisation plain-3's "
        "‖∂L/∂W_1‖ / ‖∂L/∂W_3‖ = 2.1"
    )
    assert r.extras == (("a", 1.0),) and isinstance(r.bound, float)


def test_record_says_which_template_parameter_is_missing_or_unused():
    with pytest.raises(TypeError, match=r"need \['seq_len'\] \(not given\)"):
        records.record("bengio1994learning", measured=1.0, units=8)
    with pytest.raises(TypeError, match=r"do not use \['depth'\]"):
        records.record("bengio1994learning", measured=1.0, units=8, seq_len=3, depth=2)
    with pytest.raises(ValueError, match="no paper 'smith2020'"):
        records.record("smith2020", measured=1.0)
    with pytest.raises(ValueError, match="cannot fill its detail"):
        records.record("bengio1994learning", measured="tiny", units=8, seq_len=3)


def _broken(**fields):
    return [PAPERS[0] | fields, *copy.deepcopy(PAPERS[1:])]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [{k: v for k, v in PAPERS[0].items() if k != "bound"}],
            r"entry 0 \('bengio1994learning'\): missing fields \['bound'\], unknown fields \[\]",
        ),
        (_broken(year=1994), r"unknown fields \['year'\]"),
        ([PAPERS[0], PAPERS[1], PAPERS[0]], r"entry 2 \('bengio1994learning'\): duplicate"),
        (_broken(bound=0), "bound must be a positive number"),
        (_broken(bound="0.01"), "bound must be a positive number"),
        (_broken(bound=True), "bound must be a positive number"),
        (_broken(higher_is_better="no"), "higher_is_better must be true or false"),
        (_broken(citation=1994), "must be strings"),
        (_broken(detail="first/last = {}"), r"'bengio1994learning'\): template .*plain name"),
        (_broken(detail="{ratio.real}"), "plain name"),
        (_broken(detail="{ratio:{width}}"), "plain name"),
        (_broken(our_setup="RNN({units)"), r"'bengio1994learning'\): expected '}'"),
        ([PAPERS[0], "he2016deep"], r"entry 1: expected an object"),
        ({"bengio1994learning": PAPERS[0]}, "must hold a list"),
    ],
)
def test_a_broken_papers_file_is_an_error_naming_the_entry(entries, message):
    with pytest.raises(ValueError, match=message):
        records._papers(entries)
