import numpy as np
import pytest

from vgrad_course import data, remedies, sequence_training


def test_baseline_mse_is_the_variance_of_the_target():
    _, y = data.adding_problem(200_000, 10, seed=3)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(sequence_training.ADDING_BASELINE_MSE, rel=0.02)


def test_train_adding_records_one_value_per_block_and_matches_evaluate():
    cfg = remedies.RNNConfig(units=4)
    run = sequence_training.train_adding(cfg, 6, steps=4, batch_size=8, eval_every=2, n_val=32)
    np.testing.assert_array_equal(run.steps, [2, 4])
    assert run.val_mse.shape == (2,) and run.label == "simple"
    x_val, y_val = data.adding_problem(32, 6, seed=10_000)
    mse = np.mean((run.model.predict(x_val, verbose=0) - y_val) ** 2)
    assert run.final_mse == pytest.approx(mse, rel=1e-4)


def test_train_adding_is_deterministic():
    cfg = remedies.RNNConfig(cell="gru", units=3)
    a = sequence_training.train_adding(cfg, 5, steps=3, batch_size=4, eval_every=1, n_val=8)
    b = sequence_training.train_adding(cfg, 5, steps=3, batch_size=4, eval_every=1, n_val=8)
    np.testing.assert_array_equal(a.val_mse, b.val_mse)


@pytest.mark.parametrize(
    "kwargs", [{"steps": 5, "eval_every": 2}, {"steps": 0}, {"batch_size": 1.5}]
)
def test_train_adding_rejects_bad_budgets(kwargs):
    with pytest.raises(ValueError):
        sequence_training.train_adding(remedies.RNNConfig(units=2), 4, **kwargs)


def test_train_adding_rejects_mlp_config():
    with pytest.raises(TypeError):
        sequence_training.train_adding(remedies.MLPConfig(), 4)
