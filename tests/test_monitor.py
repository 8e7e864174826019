import numpy as np
import pytest

import vgrad_course as vg
from vgrad_course import data, models, probes, training


def _model(**clip):
    model = models.build_rnn("simple", 8, seq_len=10, input_dim=2, seed=0)
    return training.compile_model(model, loss="mse", optimizer="sgd", lr=0.05, **clip)


def test_monitor_records_one_norm_per_step_per_variable():
    x, y = data.adding_problem(64, 10)
    model = _model()
    monitor = probes.GradientMonitor()
    training.train(model, x, y, epochs=3, batch_size=16, callbacks=[monitor])
    assert list(monitor.history) == [v.path for v in model.trainable_variables]
    for norms in monitor.history.values():
        assert norms.shape == (12,) and np.all(np.isfinite(norms)) and np.all(norms >= 0)
    assert monitor.global_norm.shape == (12,)


@pytest.mark.parametrize("clip", [{}, {"clipnorm": 1e-3}, {"global_clipnorm": 1e-3}])
def test_first_step_equals_an_independent_probe_before_clipping(clip):
    x, y = data.adding_problem(32, 10)
    model = _model(**clip)
    expected = probes.layer_grad_norms(model, x, y)
    monitor = probes.GradientMonitor()
    training.train(model, x, y, epochs=1, batch_size=32, callbacks=[monitor], shuffle=False)
    for path, value in expected.items():
        assert monitor.history[path][0] == pytest.approx(value, rel=1e-4), path


def test_monitor_does_not_change_training_and_is_removed_afterwards():
    x, y = data.adding_problem(64, 10)
    vg.reseed(0)
    plain = _model()
    h1 = training.train(plain, x, y, epochs=2, batch_size=16)
    vg.reseed(0)
    monitored = _model()
    monitor = probes.GradientMonitor()
    h2 = training.train(monitored, x, y, epochs=2, batch_size=16, callbacks=[monitor])
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-6)
    for a, b in zip(plain.get_weights(), monitored.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert "apply_gradients" not in vars(monitored.optimizer)
    # A second fit starts a fresh history.
    training.train(monitored, x, y, epochs=1, batch_size=16, callbacks=[monitor])
    assert next(iter(monitor.history.values())).shape == (4,)


def test_monitor_needs_a_compiled_model():
    model = models.build_rnn("simple", 4, seq_len=10, input_dim=2)
    monitor = probes.GradientMonitor()
    monitor.set_model(model)
    with pytest.raises(ValueError, match="compiled"):
        monitor.on_train_begin()
