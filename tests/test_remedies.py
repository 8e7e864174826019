import dataclasses

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


def test_lookup_errors():
    with pytest.raises(ValueError):
        remedies.get_remedy("dropout")
    with pytest.raises(ValueError):
        remedies.remedies_for("cnn")
    with pytest.raises(ValueError):
        remedies.Remedy(
            key="k",
            name="n",
            description="d",
            chapter="07_x",
            paper="p",
            problem="cnn",
            changes=(("lr", 1.0),),
        )
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
