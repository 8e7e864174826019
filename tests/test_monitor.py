"""GradientMonitor against a hand-written tape; its step traced at most once; detect_explosion."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import vgrad_course as vg
from vgrad_course import data, models, probes, training


def _model(**clip):
    """A model compiled the course's way (``training.compile_model``: the recorder built in)."""
    model = models.build_rnn("simple", 8, seq_len=10, input_dim=2, seed=0)
    return training.compile_model(model, loss="mse", optimizer="sgd", lr=0.05, **clip)


def _unprepared_model():
    """The same model compiled by Keras alone: no recorder in its step."""
    model = models.build_rnn("simple", 8, seq_len=10, input_dim=2, seed=0)
    model.compile(optimizer=training.make_optimizer("sgd", 0.05), loss="mse")
    return model


def _tape_norms(model, x, y):
    """Independent reference: the gradient norms of the training loss, by a hand-written tape."""
    with tf.GradientTape() as tape:
        pred = model(tf.constant(x), training=True)
        loss = keras.ops.mean(keras.losses.mean_squared_error(y, pred)) + sum(model.losses)
    grads = tape.gradient(loss, model.trainable_variables)
    return {
        v.path: float(tf.norm(g)) for v, g in zip(model.trainable_variables, grads, strict=True)
    }


def _count_traces(model):
    """Count how often the model's training step is traced (its Python body runs once a trace)."""
    traces = []
    step = model.train_step

    def counted(batch):
        traces.append(1)
        return step(batch)

    model.train_step = counted
    return traces


def test_monitor_records_one_norm_per_step_per_variable():
    x, y = data.adding_problem(64, 10)
    model = _model()
    monitor = probes.GradientMonitor()
    training.train(model, x, y, epochs=3, batch_size=16, callbacks=[monitor])
    assert list(monitor.history) == [v.path for v in model.trainable_variables]
    for norms in monitor.history.values():
        assert norms.shape == (12,) and np.all(np.isfinite(norms)) and np.all(norms >= 0)
    stacked = np.stack(list(monitor.history.values()))
    np.testing.assert_allclose(monitor.global_norm, np.sqrt((stacked**2).sum(axis=0)))


@pytest.mark.parametrize("clip", [{}, {"clipnorm": 1e-3}, {"global_clipnorm": 1e-3}])
def test_first_step_equals_a_hand_written_tape_before_clipping(clip):
    x, y = data.adding_problem(32, 10)
    model = _model(**clip)
    expected = _tape_norms(model, x, y)
    monitor = probes.GradientMonitor()
    training.train(model, x, y, epochs=1, batch_size=32, callbacks=[monitor], shuffle=False)
    for path, value in expected.items():
        assert monitor.history[path][0] == pytest.approx(value, rel=1e-4), path


def test_monitor_does_not_change_training_and_traces_a_fresh_model_once():
    x, y = data.adding_problem(64, 10)
    vg.reseed(0)
    plain = _model()
    h1 = training.train(plain, x, y, epochs=2, batch_size=16)
    vg.reseed(0)
    monitored = _model()
    traces = _count_traces(monitored)
    monitor = probes.GradientMonitor()
    h2 = training.train(monitored, x, y, epochs=2, batch_size=16, callbacks=[monitor])
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-6)
    for a, b in zip(plain.get_weights(), monitored.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # Later fits, plain or monitored, run the same step (recorder switched off or on).
    h1 = training.train(plain, x, y, epochs=1, batch_size=16)
    h2 = training.train(monitored, x, y, epochs=1, batch_size=16)
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-6)
    training.train(monitored, x, y, epochs=1, batch_size=16, callbacks=[monitor])
    assert len(traces) == 1
    assert next(iter(monitor.history.values())).shape == (4,)  # each fit: a fresh history


def test_the_monitored_step_is_traced_once_and_the_model_keeps_its_own():
    x, y = data.adding_problem(64, 10, seed=1)
    model = _unprepared_model()
    traces = _count_traces(model)
    training.train(model, x, y, epochs=1, batch_size=16)
    own_step = model.train_function
    assert len(traces) == 1
    for _ in range(2):  # monitored, then plain, twice: one trace for the monitored copy
        expected = _tape_norms(model, x[:16], y[:16])
        monitor = probes.GradientMonitor()
        training.train(model, x, y, epochs=1, batch_size=16, callbacks=[monitor], shuffle=False)
        assert model.train_function is own_step  # detached without re-tracing
        assert "apply_gradients" not in vars(model.optimizer)  # and the wrapper removed
        for path, value in expected.items():  # the cached copy still reads this step's grads
            assert monitor.history[path][0] == pytest.approx(value, rel=1e-4), path
        training.train(model, x, y, epochs=1, batch_size=16)
    assert len(traces) == 2


def test_a_prepared_model_is_monitored_without_any_re_trace():
    x, y = data.adding_problem(64, 10, seed=2)
    vg.reseed(0)
    plain = _unprepared_model()
    vg.reseed(0)
    model = probes.GradientMonitor.prepare(_unprepared_model())
    traces = _count_traces(model)
    losses = [training.train(m, x, y, epochs=1, batch_size=16)["loss"] for m in (plain, model)]
    expected = _tape_norms(model, x[:16], y[:16])
    monitor = probes.GradientMonitor()
    training.train(model, x, y, epochs=1, batch_size=16, callbacks=[monitor], shuffle=False)
    training.train(model, x, y, epochs=1, batch_size=16)
    assert len(traces) == 1  # the first fit's, with the recorder switched off
    for path, value in expected.items():
        assert monitor.history[path][0] == pytest.approx(value, rel=1e-4), path
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)  # switched off: a plain step


def test_compile_model_prepares_so_a_fitted_model_is_monitored_without_re_trace():
    x, y = data.adding_problem(64, 10, seed=2)
    model = _model()
    traces = _count_traces(model)
    training.train(model, x, y, epochs=1, batch_size=16)  # a plain fit traces the step
    expected = _tape_norms(model, x[:16], y[:16])
    monitor = probes.GradientMonitor()
    training.train(model, x, y, epochs=1, batch_size=16, callbacks=[monitor], shuffle=False)
    assert len(traces) == 1
    for path, value in expected.items():
        assert monitor.history[path][0] == pytest.approx(value, rel=1e-4), path


def test_a_smaller_last_batch_and_a_recompiled_model_are_still_recorded():
    # Learning rate 0: the weights never move, so one tape is the reference for every fit.
    x, y = data.adding_problem(40, 10, seed=3)  # batches of 16, 16 and 8
    model = models.build_rnn("simple", 8, seq_len=10, input_dim=2, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    training.train(model, x[:32], y[:32], epochs=1, batch_size=16)  # traced without a monitor
    expected = _tape_norms(model, x[32:], y[32:])
    for _ in range(2):  # the copy, re-traced for the smaller last batch; then a new optimizer
        monitor = probes.GradientMonitor()
        training.train(model, x, y, epochs=1, batch_size=16, callbacks=[monitor], shuffle=False)
        assert monitor.global_norm.shape == (3,)
        for path, value in expected.items():
            assert monitor.history[path][2] == pytest.approx(value, rel=1e-4), path
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")


def test_monitor_needs_a_compiled_model():
    model = models.build_rnn("simple", 4, seq_len=10, input_dim=2)
    monitor = probes.GradientMonitor()
    monitor.set_model(model)
    with pytest.raises(ValueError, match="compiled"):
        monitor.on_train_begin()


def test_detect_explosion():
    assert probes.detect_explosion([1.0, 1.2, 0.9, 1.1]) is None
    assert probes.detect_explosion([1.0, 1.2, 0.9, 15.0, 1.0]) == 3
    assert probes.detect_explosion([1.0, 2.0, np.nan]) == 2
    assert probes.detect_explosion(2.0 ** np.arange(20)) is None  # steady doubling
    # SGD noise near a minimum: a 20x jump that stays below the starting norm is not flagged
    assert probes.detect_explosion([40.0, 4.0, 0.1, 0.2, 0.1, 4.0, 0.1]) is None
    assert probes.detect_explosion([40.0, 4.0, 0.1, 0.2, 0.1, 400.0]) == 5
    with pytest.raises(ValueError, match="factor"):
        probes.detect_explosion([1.0], factor=0.5)
    with pytest.raises(ValueError, match="one value per step"):
        probes.detect_explosion(np.ones((3, 2)))


def test_detect_explosion_scans_a_monitors_global_norm():
    monitor = probes.GradientMonitor()
    # global norms 5, 5, 100 (3-4-5 triangles): the jump is in the global norm, not in "a"
    monitor.history = {"a": np.array([3.0, 3.0, 60.0]), "b": np.array([4.0, 4.0, 80.0])}
    assert probes.detect_explosion(monitor) == 2
    monitor.history = {"a": np.array([3.0, 3.0, 3.0]), "b": np.array([4.0, 4.0, np.inf])}
    assert probes.detect_explosion(monitor) == 2


def test_a_dataset_of_unknown_length_is_recorded_and_an_overflow_is_reported(monkeypatch):
    from vgrad_course.probes import _monitor

    x, y = data.adding_problem(64, 10, seed=4)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(16)
    model = _model()
    monitor = probes.GradientMonitor()
    model.fit(dataset, epochs=2, callbacks=[monitor], verbose=0)  # Keras knows no step count
    # one row per optimizer step (here Keras adds a fifth, empty step when the data run out)
    steps = int(model.optimizer.iterations.numpy())
    assert steps >= 8 and monitor.global_norm.shape == (steps,)
    assert np.all(np.isfinite(monitor.global_norm)) and monitor.global_norm[0] > 0
    monkeypatch.setattr(_monitor, "_UNKNOWN_STEPS", 3)  # room for 3 rows, 4 or more steps
    with pytest.raises(RuntimeError, match="at most 3 steps"):
        model.fit(dataset, epochs=1, callbacks=[probes.GradientMonitor()], verbose=0)
