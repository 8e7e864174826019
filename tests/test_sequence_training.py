import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import data, models
from vgrad_course.lessons import configs, remedies, sequence_training


def _tape_per_step(model, x, y):
    """Mean ||dL/dx_t|| per step of an MSE loss, by a gradient tape (the independent reference)."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_mean(tf.square(model(xt) - y))
    return tf.reduce_mean(tf.norm(tape.gradient(loss, xt), axis=-1), axis=0).numpy()


def test_baseline_mse_is_the_variance_of_the_target():
    _, y = data.adding_problem(200_000, 10, seed=3)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(sequence_training.ADDING_BASELINE_MSE, rel=0.02)


def test_train_adding_records_one_value_per_block_and_matches_a_fresh_fit_in_order():
    cfg = configs.RNNConfig(cell="lstm", units=4, lr=1e-2)
    runs = sequence_training.train_adding(
        {"lstm": cfg}, 5, seeds=[7, 8], steps=4, batch_size=8, eval_every=2, n_val=16
    )
    run = runs["lstm"][1]
    np.testing.assert_array_equal(run.steps, [2, 4])
    assert run.val_mse.shape == (2,) and run.label == "lstm"
    model = cfg.compile(cfg.build(seq_len=5, seed=8))
    x, y = data.adding_problem(32, 5, seed=8)
    model.fit(x, y, batch_size=8, shuffle=False, verbose=0)
    x_val, y_val = data.adding_problem(16, 5, seed=8 + sequence_training.VALIDATION_SEED_SHIFT)
    mse = np.mean((model.predict(x_val, verbose=0) - y_val) ** 2)
    assert run.final_mse == pytest.approx(mse, rel=1e-4)


def test_train_adding_is_deterministic():
    cells = {"gru": configs.RNNConfig(cell="gru", units=3)}
    budget = {"steps": 3, "batch_size": 4, "eval_every": 1, "n_val": 8}
    a = sequence_training.train_adding(cells, 5, **budget)["gru"][0]
    b = sequence_training.train_adding(cells, 5, **budget)["gru"][0]
    np.testing.assert_array_equal(a.val_mse, b.val_mse)


def test_train_adding_trains_every_registry_variant_with_its_own_seeds():
    base = configs.RNNConfig(units=3, lr=1e-2)
    cells = remedies.variants_of(base, ["lstm", "gru"], label="tanh")
    budget = {"steps": 4, "batch_size": 4, "eval_every": 2, "n_val": 8}
    seeds = {"tanh": [0], "lstm": [0, 1], "gru": [2]}
    runs = sequence_training.train_adding(cells, 4, seeds=seeds, **budget)
    assert list(runs) == ["tanh", "lstm", "gru"]
    assert [len(v) for v in runs.values()] == [1, 2, 1]
    assert runs["lstm"][0].model.get_layer("rnn").__class__.__name__ == "LSTM"
    alone = sequence_training.train_adding({"gru": cells["gru"]}, 4, seeds=[2], **budget)
    np.testing.assert_allclose(runs["gru"][0].val_mse, alone["gru"][0].val_mse, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs", [{"steps": 5, "eval_every": 2}, {"steps": 0}, {"batch_size": 1.5}, {"n_val": 0}]
)
def test_train_adding_rejects_bad_budgets(kwargs):
    with pytest.raises(ValueError):
        sequence_training.train_adding({"a": configs.RNNConfig(units=2)}, 4, **kwargs)


@pytest.mark.parametrize(
    ("cells", "seeds", "error"),
    [
        ({"mlp": configs.MLPConfig()}, [0], TypeError),
        (configs.RNNConfig(), [0], TypeError),
        ({}, [0], TypeError),
        ({"a": configs.RNNConfig(units=2)}, [], ValueError),
        ({"a": configs.RNNConfig(units=2)}, {"b": [0]}, ValueError),
    ],
)
def test_train_adding_rejects_bad_variants_and_seeds(cells, seeds, error):
    with pytest.raises(error):
        sequence_training.train_adding(cells, 4, seeds=seeds, steps=2, eval_every=1)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_train_adding_resets_model_and_optimizer_between_seeds(cell):
    cells = {cell: configs.RNNConfig(cell=cell, units=4, lr=1e-2)}
    budget = {"steps": 6, "batch_size": 8, "eval_every": 2, "n_val": 16}
    both = sequence_training.train_adding(cells, 5, seeds=[3, 4], **budget)[cell]
    alone = sequence_training.train_adding(cells, 5, seeds=[4], **budget)[cell][0]
    np.testing.assert_allclose(both[1].val_mse, alone.val_mse, rtol=1e-5)
    for a, b in zip(both[1].model.get_weights(), alone.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert both[0].model is not both[1].model
    assert not np.allclose(both[0].val_mse, both[1].val_mse)


def test_train_adding_stops_below_the_target():
    cells = {"simple": configs.RNNConfig(units=3)}
    budget = {"steps": 6, "batch_size": 4, "eval_every": 2, "n_val": 8}
    full = sequence_training.train_adding(cells, 4, **budget)["simple"][0]
    target = float(full.val_mse[0]) + 1e-6  # the first evaluation is already below
    stopped = sequence_training.train_adding(cells, 4, stop_below=target, **budget)["simple"][0]
    np.testing.assert_array_equal(stopped.steps, [2])
    assert stopped.val_mse[0] == pytest.approx(full.val_mse[0], rel=1e-5)


def test_input_grads_at_init_matches_a_tape_on_each_fresh_variant():
    cells = remedies.variants_of(configs.RNNConfig(units=5), ["lstm", "irnn"])
    norms = sequence_training.input_grads_at_init(cells, 6, seed=2, batch_seed=3)
    assert list(norms) == ["baseline", "lstm", "irnn"]
    x, y = data.adding_problem(64, 6, seed=3)
    for label, config in cells.items():
        reference = _tape_per_step(config.build(seq_len=6, seed=2), x, y)
        np.testing.assert_allclose(norms[label], reference, rtol=1e-4, atol=1e-12)


def test_input_grads_trained_probes_every_run_on_its_batch():
    cells = {"gru": configs.RNNConfig(cell="gru", units=3, lr=1e-2)}
    budget = {"steps": 2, "batch_size": 4, "eval_every": 2, "n_val": 8}
    runs = sequence_training.train_adding(cells, 5, seeds=[0, 1], **budget)
    after = sequence_training.input_grads_trained(runs, 5, batch_seed=4)
    x, y = data.adding_problem(64, 5, seed=4)
    assert len(after["gru"]) == 2
    for run, norms in zip(runs["gru"], after["gru"], strict=True):
        np.testing.assert_allclose(norms, _tape_per_step(run.model, x, y), rtol=1e-4)


def test_first_over_last_at_init_matches_a_gradient_tape_per_seed():
    x, y = data.adding_problem(8, 6, seed=0)
    ratios = sequence_training.first_over_last_at_init(
        "lstm", x, y, seeds=[3, 4], units=5, seq_len=6, input_dim=2
    )
    assert ratios.shape == (2,)
    for seed, ratio in zip([3, 4], ratios, strict=True):
        model = models.build_rnn("lstm", 5, seq_len=6, input_dim=2, seed=seed)
        per_step = _tape_per_step(model, x, y)
        assert ratio == pytest.approx(per_step[0] / per_step[-1], rel=1e-4)
    assert ratios[0] != ratios[1]  # a different initialisation per seed


def test_first_step_below_finds_the_first_evaluation_under_the_threshold():
    run = sequence_training.SequenceRun(
        "x", np.array([0.2, 0.1, 0.04, 0.06]), np.array([5, 10, 15, 20]), None
    )
    assert sequence_training.first_step_below(run, 0.05) == 15
    assert sequence_training.first_step_below(run, 0.01) is None
