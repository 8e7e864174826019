import numpy as np
import pytest

from vgrad_course import data
from vgrad_course.lessons import configs, sequence_training


def test_baseline_mse_is_the_variance_of_the_target():
    _, y = data.adding_problem(200_000, 10, seed=3)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(sequence_training.ADDING_BASELINE_MSE, rel=0.02)


def test_train_adding_records_one_value_per_block_and_matches_evaluate():
    cfg = configs.RNNConfig(units=4)
    run = sequence_training.train_adding(cfg, 6, steps=4, batch_size=8, eval_every=2, n_val=32)
    np.testing.assert_array_equal(run.steps, [2, 4])
    assert run.val_mse.shape == (2,) and run.label == "simple"
    x_val, y_val = data.adding_problem(32, 6, seed=10_000)
    mse = np.mean((run.model.predict(x_val, verbose=0) - y_val) ** 2)
    assert run.final_mse == pytest.approx(mse, rel=1e-4)


def test_train_adding_is_deterministic():
    cfg = configs.RNNConfig(cell="gru", units=3)
    a = sequence_training.train_adding(cfg, 5, steps=3, batch_size=4, eval_every=1, n_val=8)
    b = sequence_training.train_adding(cfg, 5, steps=3, batch_size=4, eval_every=1, n_val=8)
    np.testing.assert_array_equal(a.val_mse, b.val_mse)


@pytest.mark.parametrize(
    "kwargs", [{"steps": 5, "eval_every": 2}, {"steps": 0}, {"batch_size": 1.5}]
)
def test_train_adding_rejects_bad_budgets(kwargs):
    with pytest.raises(ValueError):
        sequence_training.train_adding(configs.RNNConfig(units=2), 4, **kwargs)


def test_train_adding_rejects_mlp_config():
    with pytest.raises(TypeError):
        sequence_training.train_adding(configs.MLPConfig(), 4)


def test_first_over_last_at_init_matches_a_gradient_tape_per_seed():
    import tensorflow as tf

    from vgrad_course import models

    x, y = data.adding_problem(8, 6, seed=0)
    ratios = sequence_training.first_over_last_at_init(
        "lstm", x, y, seeds=[3, 4], units=5, seq_len=6, input_dim=2
    )
    assert ratios.shape == (2,)
    for seed, ratio in zip([3, 4], ratios, strict=True):
        model = models.build_rnn("lstm", 5, seq_len=6, input_dim=2, seed=seed)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = tf.reduce_mean(tf.square(model(xt) - y))
        per_step = tf.reduce_mean(tf.norm(tape.gradient(loss, xt), axis=-1), axis=0).numpy()
        assert ratio == pytest.approx(per_step[0] / per_step[-1], rel=1e-4)
    assert ratios[0] != ratios[1]  # a different initialisation per seed


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_train_adding_seeds_resets_model_and_optimizer_between_seeds(cell):
    cfg = configs.RNNConfig(cell=cell, units=4, lr=1e-2)
    budget = {"steps": 6, "batch_size": 8, "eval_every": 2, "n_val": 16}
    both = sequence_training.train_adding_seeds(cfg, 5, [3, 4], **budget)
    alone = sequence_training.train_adding_seeds(cfg, 5, [4], **budget)[0]
    np.testing.assert_allclose(both[1].val_mse, alone.val_mse, rtol=1e-5)
    for a, b in zip(both[1].model.get_weights(), alone.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert both[0].model is not both[1].model
    assert not np.allclose(both[0].val_mse, both[1].val_mse)


def test_train_adding_seeds_matches_a_fresh_model_fitted_in_order():
    cfg = configs.RNNConfig(cell="lstm", units=4, lr=1e-2)
    run = sequence_training.train_adding_seeds(
        cfg, 5, [7, 8], steps=4, batch_size=8, eval_every=4, n_val=16
    )[1]
    model = cfg.compile(cfg.build(seq_len=5, seed=8))
    x, y = data.adding_problem(32, 5, seed=8)
    model.fit(x, y, batch_size=8, shuffle=False, verbose=0)
    x_val, y_val = data.adding_problem(16, 5, seed=10_008)
    mse = np.mean((model.predict(x_val, verbose=0) - y_val) ** 2)
    assert run.final_mse == pytest.approx(mse, rel=1e-4)


def test_train_adding_seeds_stops_below_the_target():
    cfg = configs.RNNConfig(units=3)
    budget = {"steps": 6, "batch_size": 4, "eval_every": 2, "n_val": 8}
    full = sequence_training.train_adding_seeds(cfg, 4, [0], **budget)[0]
    target = float(full.val_mse[0]) + 1e-6  # the first evaluation is already below
    stopped = sequence_training.train_adding_seeds(cfg, 4, [0], stop_below=target, **budget)[0]
    np.testing.assert_array_equal(stopped.steps, [2])
    assert stopped.val_mse[0] == pytest.approx(full.val_mse[0], rel=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"seeds": []}, ValueError), ({"steps": 5, "eval_every": 2}, ValueError)],
)
def test_train_adding_seeds_rejects_bad_arguments(kwargs, error):
    options = {"seeds": [0], **kwargs}
    with pytest.raises(error):
        sequence_training.train_adding_seeds(configs.RNNConfig(units=2), 4, **options)


def test_first_step_below_finds_the_first_evaluation_under_the_threshold():
    run = sequence_training.SequenceRun(
        "x", np.array([0.2, 0.1, 0.04, 0.06]), np.array([5, 10, 15, 20]), None
    )
    assert sequence_training.first_step_below(run, 0.05) == 15
    assert sequence_training.first_step_below(run, 0.01) is None
