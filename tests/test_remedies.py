import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from vgrad_course import models
from vgrad_course.lessons import configs, remedies


def test_registry_entries_are_complete_and_consistent():
    bib = open("book/references.bib", encoding="utf-8").read()
    assert len(remedies.REMEDIES) >= 10
    for key, r in remedies.REMEDIES.items():
        assert r.key == key
        assert r.problem in remedies.PROBLEMS
        assert r.name and r.description and r.changes
        assert f"{{{r.paper}," in bib, r.paper
        assert r.chapter[:2].isdigit()
        with pytest.raises(dataclasses.FrozenInstanceError):
            r.key = "x"


def test_every_remedy_applies_to_its_baseline_and_changes_it():
    baselines = {"deep-mlp": configs.MLPConfig(), "rnn": configs.RNNConfig()}
    for r in remedies.REMEDIES.values():
        base = baselines[r.problem]
        new = r.apply(base)
        assert type(new) is type(base)
        assert new != base
        for field, value in r.changes:
            assert getattr(new, field) == value
        # the original is untouched
        assert base == baselines[r.problem]


def test_apply_rejects_foreign_config():
    with pytest.raises(TypeError):
        remedies.get_remedy("lstm").apply(configs.MLPConfig())
    with pytest.raises(TypeError):
        remedies.get_remedy("batch_norm").apply(configs.RNNConfig())
    with pytest.raises(TypeError):
        remedies.get_remedy("batch_norm").applies_to(configs.MLPConfig)


def test_clipping_applies_to_both_problems():
    clip = remedies.get_remedy("clip_norm")
    assert clip.applies_to(configs.MLPConfig()) and clip.applies_to(configs.RNNConfig())


def _remedy_fields(**changed):
    """The fields of a valid hand-made remedy, with ``changed`` replacing some of them."""
    fields = {"key": "k", "name": "n", "description": "d", "chapter": "07_x", "paper": "p"}
    return fields | {"problem": "rnn", "changes": (("lr", 1.0),)} | changed


def test_lookup_errors():
    with pytest.raises(ValueError):
        remedies.get_remedy("dropout")
    with pytest.raises(ValueError):
        remedies.remedies_for("cnn")
    with pytest.raises(ValueError):
        remedies.Remedy(**_remedy_fields(problem="cnn"))
    with pytest.raises(TypeError):  # keyword-only: a record's fields are named where it is made
        remedies.Remedy("k", "n", "d", "07_x", "p", "rnn", (("lr", 1.0),))


def test_remedies_for_partitions_the_registry():
    mlp = remedies.remedies_for("deep-mlp")
    rnn = remedies.remedies_for("rnn")
    assert {r.key for r in mlp} | {r.key for r in rnn} == set(remedies.REMEDIES)
    assert {"lstm", "gru", "irnn"} <= {r.key for r in rnn}


def test_residual_remedy_builds_the_pre_activation_net_of_chapter_11():
    # Whatever initializer the baseline had, the remedy's branches start small (the default
    # of models.build_mlp(residual=True)), as "Residual connections" recommends.
    he = remedies.get_remedy("he_init").apply(configs.MLPConfig(depth=3, width=8))
    cfg = remedies.get_remedy("residual").apply(he)
    assert cfg.initializer is None and cfg.residual
    model = cfg.build(seed=1)
    reference = models.build_mlp(3, 8, activation="relu", residual=True, seed=1)
    assert all(model.get_layer(f"hidden_{i}").preactivation for i in (1, 2, 3))
    assert [v.shape for v in model.weights] == [v.shape for v in reference.weights]
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_compile_uses_the_configured_optimiser_and_clipping():
    cfg = remedies.get_remedy("clip_norm").apply(configs.MLPConfig(depth=2, width=4))
    model = cfg.compile(cfg.build())
    assert model.optimizer.global_clipnorm == 1.0
    assert float(model.optimizer.learning_rate) == pytest.approx(cfg.lr)
    rnn = remedies.get_remedy("gru").apply(configs.RNNConfig(units=4))
    model = rnn.compile(rnn.build(seq_len=5))
    assert model.get_layer("rnn").__class__.__name__ == "GRU"
    assert model.optimizer.__class__.__name__ == "Adam"
    value = remedies.get_remedy("clip_value").apply(configs.RNNConfig(clipnorm=None))
    assert configs.clip_options(value) == {"clipvalue": 0.1}
    both = dataclasses.replace(value, clipnorm=1.0)
    assert configs.clip_options(both) == {"clipnorm": 1.0, "clipvalue": 0.1}
    with pytest.raises(ValueError, match="at most one"):
        both.compile(both.build(seq_len=3))


def test_configs_build_for_their_inputs_and_are_keyword_only():
    x = np.zeros((4, 7, 2), np.float32)
    model = configs.RNNConfig(units=3, recurrent_scale=1.5).model_for(x)
    assert model.input_shape == (None, 7, 2) and model.optimizer is not None
    reference = models.build_rnn("simple", 3, seq_len=7, input_dim=2, recurrent_scale=1.5)
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    mlp = configs.MLPConfig(depth=2, width=4, bias_init=-1.0).model_for(np.zeros((2, 5)))
    assert mlp.input_shape == (None, 5)
    np.testing.assert_array_equal(mlp.get_layer("hidden_2").bias.numpy(), -1.0)
    with pytest.raises(TypeError):
        configs.MLPConfig(3, 8)


ROOT = Path(__file__).resolve().parents[1]
DATA = json.loads((ROOT / "vgrad_course" / "lessons" / "remedies.json").read_text("utf-8"))


def test_registry_is_the_data_file_in_file_order():
    assert list(remedies.REMEDIES) == [entry["key"] for entry in DATA]
    for entry, remedy in zip(DATA, remedies.REMEDIES.values(), strict=True):
        assert dataclasses.asdict(remedy) == entry | {
            "changes": tuple(tuple(pair) for pair in entry["changes"].items())
        }
    # JSON's types arrive as the configurations expect them
    assert dict(remedies.get_remedy("residual").changes) == {"residual": True, "initializer": None}
    assert dict(remedies.get_remedy("adam").changes)["lr"] == 1e-3


def _broken(index, **fields):
    entries = copy.deepcopy(DATA)
    entries[index] |= fields
    return entries


def _without(index, field):
    entries = copy.deepcopy(DATA)
    del entries[index][field]
    return entries


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (_without(2, "paper"), r"entry 2 \('glorot_init'\): missing fields \['paper'\]"),
        (_broken(3, year=2015), r"entry 3 \('he_init'\): .*unknown fields \['year'\]"),
        (_broken(1, key="clip_norm"), r"entry 1 \('clip_norm'\): duplicate key 'clip_norm'"),
        (_broken(4, problem="cnn"), r"entry 4 \('relu'\): .*problem must be one of"),
        (_broken(4, changes={"dropout": 0.5}), r"'relu'.*\['dropout'\].*neither MLPConfig"),
        (_broken(4, changes=[["lr", 1.0]]), r"'relu'.*'changes' must be an object"),
        (_broken(4, changes={}), r"'relu'.*changes nothing"),
        (_broken(5, name=3), r"entry 5 \('batch_norm'\): .*non-empty string"),
        (DATA[:2] + ["relu"], r"entry 2: expected an object"),
        ({"relu": DATA[4]}, r"must hold a list"),
    ],
)
def test_a_broken_data_file_is_an_error_naming_the_entry(entries, message):
    with pytest.raises(ValueError, match=message):
        remedies._registry(entries)


def test_a_remedy_may_change_only_configuration_fields():
    with pytest.raises(ValueError, match="neither MLPConfig nor RNNConfig"):
        remedies.Remedy(**_remedy_fields(changes=(("dropout", 0.5),)))


def test_every_json_data_file_ships_in_the_wheel():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    packages = [p.parent for p in (ROOT / "vgrad_course").rglob("__init__.py")]
    shipped = set()
    for package, patterns in package_data.items():
        # setuptools globs each pattern in the package's folder ("*": in every package's)
        folders = packages if package == "*" else [ROOT.joinpath(*package.split("."))]
        shipped |= {path for folder in folders for p in patterns for path in folder.glob(p)}
    data_files = set((ROOT / "vgrad_course").rglob("*.json"))
    assert {p.name for p in data_files} >= {"remedies.json", "papers.json"}
    assert data_files <= shipped, sorted(str(p.relative_to(ROOT)) for p in data_files - shipped)
