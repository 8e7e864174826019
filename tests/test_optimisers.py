"""The stacked optimisers of chapter 20 against Keras' own, and the warm-up lesson."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.stats import norm

import vgrad_course as vg
from vgrad_course import models, probes, training
from vgrad_course.lessons import optimisers, warmup
from vgrad_course.lessons.clipping_runs import batch_indices
from vgrad_course.seeds import SEED_OFFSET_VARIABLE

Opt = optimisers.Optimiser
RULES = {
    "sgd": Opt(name="sgd", lr=0.5),
    "momentum": Opt(name="momentum", lr=0.05),
    "rmsprop": Opt(name="rmsprop", lr=1e-3),
    "adam": Opt(name="adam", lr=1e-3),
    "adam_warmup": Opt(name="adam", lr=warmup.LinearWarmup(1e-2, 4), epsilon=1e-12),
    "adam_frozen": Opt(name="adam", lr=1e-3, frozen=(1,)),
}
SEEDS, STEPS, BATCH = (0, 1), 6, 32


def build(seed: int) -> keras.Model:
    return models.build_mlp(3, 16, activation="sigmoid", seed=seed)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 40)).astype(np.float32)
    y = rng.integers(0, 10, size=200)
    return x, y


@pytest.fixture(scope="module")
def runs(data):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(SEED_OFFSET_VARIABLE, raising=False)
        vg.setup(seed=0)
        return optimisers.train_optimisers(
            build,
            *data,
            optimisers=RULES,
            seeds=SEEDS,
            steps=STEPS,
            batch_size=BATCH,
            probe_steps=(2, STEPS),
        )


def keras_run(rule, seed, x, y, *, tracker=None):
    """The same run with Keras' optimizer, step by step: (model, optimizer, losses).

    A :class:`~vgrad_course.probes.UpdateRatioTracker` sees every step as in a fit.
    """
    model, opt = build(seed), rule.keras()
    loss_fn = training.classification_loss()
    frozen = {f"hidden_{i}" for i in rule.frozen}
    variables = [v for v in model.trainable_variables if v.path.split("/")[0] not in frozen]
    if tracker is not None:
        tracker.set_model(model)
        tracker.on_train_begin()
    losses = []
    for step, idx in enumerate(batch_indices(len(x), STEPS, BATCH, seed=seed)):
        if tracker is not None:
            tracker.on_train_batch_begin(step)
        with tf.GradientTape() as tape:
            loss = loss_fn(y[idx], model(x[idx], training=True))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        losses.append(float(loss))
        if tracker is not None:
            tracker.on_train_batch_end(step)
    if tracker is not None:
        tracker.on_train_end()
    return model, opt, np.array(losses)


@pytest.mark.parametrize("label", list(RULES))
def test_every_rule_takes_keras_steps(runs, data, label):
    # the second seed: its rows sit after the first seed's in the stack
    model, _, losses = keras_run(RULES[label], SEEDS[1], *data)
    np.testing.assert_allclose(runs[label].loss[1], losses, rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(runs[label].weights, model.trainable_variables, strict=True):
        scale = np.abs(theirs.numpy()).max()
        np.testing.assert_allclose(mine[1], theirs.numpy(), atol=1e-5 * scale)


def test_frozen_layers_do_not_move(runs):
    start = build(0).get_layer("hidden_1").kernel.numpy()
    np.testing.assert_array_equal(runs["adam_frozen"].weights[0][0], start)
    assert np.all(runs["adam_frozen"].update_ratio[:, :, 0] < -29)  # log10(0) -> -30


def test_update_ratio_matches_the_update_ratio_tracker(runs, data):
    tracker = probes.UpdateRatioTracker()
    keras_run(RULES["momentum"], SEEDS[0], *data, tracker=tracker)
    np.testing.assert_allclose(runs["momentum"].update_ratio[0], tracker.history, atol=1e-4)


def test_step_is_the_learning_rate_at_adams_first_step(runs):
    # m_hat / sqrt(v_hat) = g / |g| at t = 1: every entry moves by exactly lr (eps = 1e-12)
    np.testing.assert_allclose(runs["adam_warmup"].step[:, 0], 1.0, atol=1e-3)


def test_floor_statistics_match_keras_velocities(runs, data):
    _, opt, _ = keras_run(RULES["adam"], 1, *data)
    kernels = [v for v in opt.variables if "velocity" in v.path and "hidden" in v.path]
    kernels = [v.numpy() for v in kernels if v.numpy().ndim == 2]
    assert len(kernels) == 3
    for layer, v in enumerate(kernels):
        ratio = 0.5 * np.log10(v.astype(np.float64) + 1e-60) - np.log10(1e-7)
        assert runs["adam"].floor_ratio[1, -1, layer] == pytest.approx(ratio.mean(), abs=1e-4)
        assert runs["adam"].floor_share[1, -1, layer] == pytest.approx((ratio < 0).mean())
    assert np.all(np.isnan(runs["sgd"].floor_ratio)) and runs["adam"].probe_steps == (2, STEPS)


def test_step_response_follows_the_closed_forms():
    g, t = np.logspace(-10, 0, 11), 20
    eps, b2, rho, mu = 1e-7, optimisers.BETA_2, optimisers.RHO, optimisers.MOMENTUM
    expected = {
        "sgd": g,
        "momentum": g * (1 - mu**t) / (1 - mu),
        "rmsprop": g / np.sqrt((1 - rho**t) * g**2 + eps),
        "adam": g / (g + eps / np.sqrt(1 - b2**t)),
    }
    for name, want in expected.items():
        got = optimisers.step_response(Opt(name=name, lr=1e-3), g, steps=t)
        np.testing.assert_allclose(got, want, rtol=2e-3)


def test_keras_defaults_are_the_modules_constants():
    adam, rms = keras.optimizers.Adam(), keras.optimizers.RMSprop()
    assert (adam.beta_1, adam.beta_2, adam.epsilon) == (
        optimisers.BETA_1,
        optimisers.BETA_2,
        optimisers.EPSILON,
    )
    assert (rms.rho, rms.epsilon) == (optimisers.RHO, optimisers.EPSILON)
    assert training.make_optimizer("momentum").momentum == optimisers.MOMENTUM


def test_linear_warmup_ramps_then_holds_and_survives_serialisation():
    schedule = warmup.LinearWarmup(0.1, 4)
    np.testing.assert_allclose(
        [float(schedule(i)) for i in range(6)], [0.025, 0.05, 0.075, 0.1, 0.1, 0.1]
    )
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(again, warmup.LinearWarmup) and again.get_config() == schedule.get_config()
    opt = keras.optimizers.Adam(learning_rate=schedule)
    assert float(opt.learning_rate) == pytest.approx(0.025)  # before the first step
    rebuilt = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert rebuilt.get_config()["learning_rate"] == opt.get_config()["learning_rate"]
    assert float(rebuilt.learning_rate) == pytest.approx(0.025)
    np.testing.assert_allclose(Opt(name="adam", lr=schedule).lr_at(3), [0.025, 0.05, 0.075])


def test_adam_early_steps_starts_at_one_and_matches_gaussian_quantiles():
    early = warmup.adam_early_steps(0.0, n=20_000, steps=50, seed=3)
    assert early["step"][0] == pytest.approx(1.0)
    assert early["step"][-1] < 0.4
    # t = 1: 1/sqrt(v_hat) = 1/|g|, so q90/q10 = q(0.95)/q(0.55) of a standard normal
    assert early["spread"][0] == pytest.approx(norm.ppf(0.95) / norm.ppf(0.55), rel=0.05)
    strong = warmup.adam_early_steps(100.0, n=1000, steps=20)
    np.testing.assert_allclose(strong["step"], 1.0, atol=1e-3)  # no noise: always ±lr


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "adagrad", "lr": 1e-3}, "name must be one of"),
        ({"name": "adam", "lr": -1.0}, "lr must be a positive"),
        ({"name": "adam", "lr": 1e-3, "epsilon": 0.0}, "epsilon must be a positive"),
        ({"name": "adam", "lr": 1e-3, "frozen": (0,)}, "frozen layer must be"),
    ],
)
def test_bad_optimisers_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Opt(**kwargs)


def test_bad_runs_are_refused(data):
    x, y = data
    one = {"sgd": RULES["sgd"]}
    with pytest.raises(ValueError, match="at least one optimiser"):
        optimisers.train_optimisers(build, x, y, optimisers={}, seeds=[0], steps=1, batch_size=8)
    with pytest.raises(ValueError, match="probe_steps"):
        optimisers.train_optimisers(
            build, x, y, optimisers=one, seeds=[0], steps=2, batch_size=8, probe_steps=(3,)
        )

    def bn(seed):
        return models.build_mlp(2, 8, activation="sigmoid", batch_norm=True, seed=seed)

    with pytest.raises(ValueError, match="plain build_mlp"):
        optimisers.train_optimisers(bn, x, y, optimisers=one, seeds=[0], steps=1, batch_size=8)
    with pytest.raises(ValueError, match="same network"):
        optimisers.train_optimisers(
            lambda s: models.build_mlp(2 + s, 8, seed=s),
            x,
            y,
            optimisers=one,
            seeds=[0, 1],
            steps=1,
            batch_size=8,
        )


@pytest.mark.parametrize(
    ("args", "match"),
    [((0.0, 5), "learning_rate"), ((0.1, 0), "warmup_steps"), ((0.1, 2.5), "warmup_steps")],
)
def test_bad_warmups_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        warmup.LinearWarmup(*args)
    with pytest.raises(ValueError, match="snr"):
        warmup.adam_early_steps(-1.0)
