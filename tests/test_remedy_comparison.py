import numpy as np
import pytest

import vgrad_course as vg
from vgrad_course import training
from vgrad_course.lessons import configs, remedies, remedy_comparison


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 5)).astype(np.float32)
    y = rng.integers(0, 10, size=48)
    return x, y


def test_train_remedies_matches_manual_runs():
    x, y = _data()
    base = configs.MLPConfig(depth=2, width=4)
    bn = remedies.get_remedy("batch_norm")
    hist = remedy_comparison.train_remedies(base, [bn], x, y, epochs=2, batch_size=16, seed=4)
    assert list(hist) == ["baseline", "batch_norm"]
    for key, config in (("baseline", base), ("batch_norm", bn.apply(base))):
        vg.reseed(4)
        model = config.compile(config.build(input_dim=5, seed=4))
        manual = training.train(model, x, y, epochs=2, batch_size=16)["loss"]
        np.testing.assert_allclose(hist[key], manual, rtol=1e-6)


def test_train_remedies_rejects_inapplicable_remedy():
    x, y = _data()
    with pytest.raises(ValueError, match="does not apply"):
        remedy_comparison.train_remedies(
            configs.MLPConfig(depth=1, width=2), [remedies.get_remedy("lstm")], x, y
        )


def test_remedy_table_sorts_and_reports_changes():
    hist = {
        "baseline": np.array([2.3, 2.0]),
        "relu": np.array([2.0, 2.5]),
        "residual": np.array([2.0, 1.5]),
    }
    table = remedy_comparison.remedy_table(hist, remedies.REMEDIES)
    lines = table.splitlines()
    assert len(lines) == 5
    assert "Residual" in lines[2] and "-0.500" in lines[2]
    assert "baseline" in lines[3]
    assert "ReLU" in lines[4] and "+0.500" in lines[4]
    with pytest.raises(ValueError):
        remedy_comparison.remedy_table({"relu": np.ones(2)}, remedies.REMEDIES)
    with pytest.raises(ValueError):
        remedy_comparison.remedy_table({"baseline": np.ones(1), "x": np.ones(1)}, remedies.REMEDIES)


def test_plot_final_losses_draws_sorted_bars():
    import matplotlib

    matplotlib.use("Agg")
    hist = {
        "baseline": np.array([2.3]),
        "relu": np.array([2.4]),
        "residual": np.array([1.5]),
    }
    ax = remedy_comparison.plot_final_losses(hist, remedies.REMEDIES)
    assert [p.get_width() for p in ax.patches] == [1.5, 2.4]
    green, grey = (matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches)
    assert green.lower() == "#009e73" and grey.lower() == "#999999"
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Residual connections",
        "Non-saturating activation (ReLU)",
    ]
    with pytest.raises(ValueError):
        remedy_comparison.plot_final_losses({"relu": np.ones(1)}, remedies.REMEDIES)
