import dataclasses

import numpy as np
import pytest

import vgrad_course as vg
from vgrad_course import data, models, probes, training
from vgrad_course.lessons import comparison, configs, remedies


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 5)).astype(np.float32)
    y = rng.integers(0, 10, size=48)
    return x, y


def test_train_configs_matches_manual_runs():
    # The reference is written out by hand: reseed, build with Keras' own layers, compile, fit.
    x, y = _data()
    base = configs.MLPConfig(depth=2, width=4)
    variants = remedies.variants_of(base, ["batch_norm"]) | {
        "fast": dataclasses.replace(base, lr=0.5)
    }
    hist = comparison.train_configs(variants, x, y, epochs=2, batch_size=16, seed=4)
    assert list(hist) == ["baseline", "batch_norm", "fast"]
    for key, (bn, lr) in {
        "baseline": (False, 0.1),
        "batch_norm": (True, 0.1),
        "fast": (False, 0.5),
    }.items():
        vg.reseed(4)
        model = models.build_mlp(
            2, 4, input_dim=5, activation="sigmoid", initializer=0.05, batch_norm=bn, seed=4
        )
        training.compile_model(model, loss=training.classification_loss(), optimizer="sgd", lr=lr)
        manual = training.train(model, x, y, epochs=2, batch_size=16)["loss"]
        np.testing.assert_allclose(hist[key]["loss"], manual, rtol=1e-6)
        assert hist[key]["accuracy"].shape == (2,)
    assert not np.allclose(hist["fast"]["loss"], hist["baseline"]["loss"])


def test_train_configs_records_raw_gradient_norms_of_recurrent_variants():
    x, y = data.adding_problem(40, 6, seed=0)
    base = configs.RNNConfig(units=4, optimizer="sgd", lr=0.5)
    clipped = remedies.get_remedy("clip_norm").apply(base)
    variants = {"plain": base, "clipped": clipped}
    full = comparison.train_configs(variants, x, y, epochs=3, batch_size=40, record_grad_norms=True)
    # Independent reference for the first (full-batch) step: a tape at the initial weights.
    vg.reseed(0)
    norms = probes.layer_grad_norms(base.model_for(x), x, y, loss="mse")
    first = np.sqrt(sum(n**2 for n in norms.values()))
    assert first > 1.0  # so clipping at 1 acts
    for h in full.values():
        assert h["grad_norm"].shape == (3,)
        assert h["grad_norm"][0] == pytest.approx(first, rel=1e-4)  # raw, before clipping
    assert full["clipped"]["grad_norm"][1] != pytest.approx(full["plain"]["grad_norm"][1])
    hist = comparison.train_configs(variants, x, y, epochs=2, batch_size=10)
    assert "grad_norm" not in hist["plain"] and hist["plain"]["loss"].shape == (2,)
    finals = comparison.final_values(hist)
    assert finals["plain"] == pytest.approx(hist["plain"]["loss"][-1])
    with pytest.raises(ValueError, match="has no"):
        comparison.final_values(hist, "val_loss")


def test_train_configs_rejects_what_is_not_a_configuration():
    x, y = _data()
    with pytest.raises(ValueError, match="empty"):
        comparison.train_configs({}, x, y)
    with pytest.raises(TypeError, match="configuration"):
        comparison.train_configs({"a": lambda: None}, x, y)
    with pytest.raises(TypeError):
        remedies.variants_of(configs.MLPConfig(), ["lstm"])


def test_remedy_table_sorts_and_reports_changes():
    losses = {
        "baseline": np.array([2.3, 2.0]),
        "relu": np.array([2.0, 2.5]),
        "residual": np.array([2.0, 1.5]),
    }
    table = comparison.remedy_table(losses, remedies.REMEDIES)
    lines = table.splitlines()
    assert len(lines) == 5
    assert "Residual" in lines[2] and "-0.500" in lines[2]
    assert "baseline" in lines[3]
    assert "ReLU" in lines[4] and "+0.500" in lines[4]
    with pytest.raises(ValueError):
        comparison.remedy_table({"relu": np.ones(2)}, remedies.REMEDIES)
    with pytest.raises(ValueError):
        comparison.remedy_table({"baseline": np.ones(1), "x": np.ones(1)}, remedies.REMEDIES)


def test_plot_final_losses_draws_sorted_bars():
    import matplotlib

    from vgrad_course.palette import GOOD, GREY

    matplotlib.use("Agg")
    losses = {
        "baseline": np.array([2.3]),
        "relu": np.array([2.4]),
        "residual": np.array([1.5]),
    }
    ax = comparison.plot_final_losses(losses, remedies.REMEDIES)
    assert [p.get_width() for p in ax.patches] == [1.5, 2.4]
    green, grey = (matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches)
    assert (green.lower(), grey.lower()) == (GOOD.lower(), GREY.lower())
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Residual connections",
        "Non-saturating activation (ReLU)",
    ]
    with pytest.raises(ValueError):
        comparison.plot_final_losses({"relu": np.ones(1)}, remedies.REMEDIES)
