import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import models, training
from vgrad_course.lessons import normalization, smoothness
from vgrad_course.lessons import scale_invariance as si
from vgrad_course.lessons.clipping_runs import batch_indices
from vgrad_course.seeds import SEED_OFFSET_VARIABLE

DEPTH, WIDTH, LR = 2, 8, 0.1


def _data(n=60, features=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = rng.integers(0, 10, n)
    y[:10] = np.arange(10)  # every class present: 10 outputs
    return x, y


@pytest.fixture(scope="module")
def trained():
    """Two seeds of every kind of variant, a few steps, with snapshots (offset 0)."""
    saved = os.environ.pop(SEED_OFFSET_VARIABLE, None)
    try:
        x, y = _data()
        variants = {
            "sgd": si.Variant(),
            "decay": si.Variant(weight_decay=0.5),
            "schedule": si.Variant(schedule_of=0.5),
            "plain": si.Variant(batch_norm=False),
        }
        kw = dict(seeds=[0, 1], lr=LR, steps=6, batch_size=20, width=WIDTH, snapshot_every=3)
        runs = si.train_runs(x, y, variants, eval_data=(x, y), **kw)
        yield x, y, runs
    finally:
        if saved is not None:
            os.environ[SEED_OFFSET_VARIABLE] = saved


def _keras_step(model, xb, yb, *, weight_decay=None):
    """One Keras SGD step with decay on the hidden kernels only; returns the weights after."""
    opt = keras.optimizers.SGD(learning_rate=LR, weight_decay=weight_decay)
    kernels = [model.get_layer(f"hidden_{i}").kernel for i in range(1, DEPTH + 1)]
    others = [v for v in model.trainable_variables if all(v is not k for k in kernels)]
    opt.exclude_from_weight_decay(var_list=others)
    loss = training.classification_loss()
    with tf.GradientTape() as tape:
        value = loss(yb, model(xb, training=True))
    opt.apply_gradients(
        zip(tape.gradient(value, model.trainable_variables), model.trainable_variables, strict=True)
    )
    return float(value)


@pytest.mark.parametrize("batch_norm,decay", [(True, 0.0), (True, 0.5), (False, 0.0)])
def test_one_step_matches_keras_sgd_with_weight_decay(batch_norm, decay):
    x, y = _data()
    variant = si.Variant(batch_norm=batch_norm, weight_decay=decay)
    run = si.train_runs(
        x,
        y,
        {"v": variant},
        seeds=[0, 3],
        lr=LR,
        steps=1,
        batch_size=20,
        eval_data=(x, y),
        width=WIDTH,
    )["v"]
    for i, seed in enumerate([0, 3]):
        model = models.build_mlp(
            DEPTH, WIDTH, input_dim=6, activation="relu", batch_norm=batch_norm, seed=seed
        )
        before = [model.get_layer(f"hidden_{k}").kernel.numpy() for k in (1, 2)]
        idx = batch_indices(len(x), 1, 20, seed=seed)[0]
        loss = _keras_step(model, x[idx], y[idx], weight_decay=decay or None)
        assert run.loss[i, 0] == pytest.approx(loss, rel=1e-5)
        np.testing.assert_allclose(
            run.kernel_norm[i, 0], [np.linalg.norm(w) for w in before], rtol=1e-5
        )
        stacked = si.to_keras(run, i)
        for a, b in zip(stacked.trainable_variables, model.trainable_variables, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, err_msg=a.path)


def test_l2_regularizer_and_weight_decay_take_the_same_sgd_step():
    """The chapter's statement about Keras: L2(l2) in the loss == SGD(weight_decay=2 l2)."""
    x, y = _data()
    out = []
    for reg, decay in [(keras.regularizers.L2(0.05), None), (None, 0.1)]:
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(4, kernel_regularizer=reg, use_bias=False)]
        )
        opt = keras.optimizers.SGD(learning_rate=LR, weight_decay=decay)
        with tf.GradientTape() as tape:
            value = keras.ops.mean(keras.ops.square(model(x))) + sum(model.losses)
        opt.apply_gradients(
            zip(
                tape.gradient(value, model.trainable_variables),
                model.trainable_variables,
                strict=True,
            )
        )
        out.append(model.trainable_variables[0].numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-5, atol=1e-7)


def test_scale_check_against_keras_and_restores_the_model():
    x, y = _data()
    model = models.build_mlp(DEPTH, WIDTH, input_dim=6, activation="relu", batch_norm=True)
    kernel = model.get_layer("hidden_1").kernel
    w0, state = kernel.numpy(), [v.numpy() for v in model.non_trainable_variables]
    check = si.scale_check(model, x, y, scales=(0.5, 4.0))
    np.testing.assert_array_equal(kernel.numpy(), w0)
    for v, s in zip(model.non_trainable_variables, state, strict=True):
        np.testing.assert_array_equal(v.numpy(), s)
    loss = training.classification_loss()
    with tf.GradientTape() as tape:
        value = loss(y, model(x, training=True))
    g = tape.gradient(value, kernel).numpy()
    assert check["loss"][0] == pytest.approx(float(value), rel=1e-6)
    assert check["grad_norm"][0] == pytest.approx(np.linalg.norm(g), rel=1e-5)
    np.testing.assert_allclose(check["loss"], check["loss"][0], rtol=1e-4)  # invariant
    np.testing.assert_allclose(
        check["scale"] * check["grad_norm"], check["grad_norm"][0], rtol=0.02
    )
    assert np.abs(check["cosine"]).max() < 0.01
    with pytest.raises(ValueError, match="scale"):
        si.scale_check(model, x, y, scales=(0.0,))


def test_kernel_lr_schedule_and_the_decay_equivalence_on_a_scale_invariant_loss():
    lr, wd, steps = 0.3, 0.2, 40
    rates = si.kernel_lr_schedule(lr, steps, weight_decay=wd)
    np.testing.assert_allclose(rates, lr * (1 - lr * wd) ** (-2.0 * np.arange(steps) - 1))
    np.testing.assert_allclose(si.kernel_lr_schedule(lr, 3, weight_decay=0.0), lr)
    # L(w) = |w/|w| - t|^2 / 2 is scale-invariant: decay == growing rate, exactly.
    target = np.array([0.6, -0.8, 0.0])

    def grad(w):
        r = np.linalg.norm(w)
        u = w / r
        return (np.eye(3) - np.outer(u, u)) @ (u - target) / r

    w = v = np.array([1.0, 2.0, 0.5])
    for t in range(steps):
        w = (1 - lr * wd) * w - lr * grad(w)
        v = v - rates[t] * grad(v)
    np.testing.assert_allclose(w, (1 - lr * wd) ** steps * v, rtol=1e-9)
    for bad in (-0.1, 1 / lr):
        with pytest.raises(ValueError, match="weight_decay"):
            si.kernel_lr_schedule(lr, steps, weight_decay=bad)


def test_runs_record_pythagoras_and_the_decay_twin(trained):
    x, y, runs = trained
    sgd = runs["sgd"]
    assert sgd.loss.shape == (2, 6) and sgd.kernel_norm.shape == (2, 7, DEPTH)
    grown = sgd.kernel_norm[:, :-1] ** 2 + (LR * sgd.grad_norm) ** 2
    np.testing.assert_allclose(grown, sgd.kernel_norm[:, 1:] ** 2, rtol=2e-3)
    np.testing.assert_allclose(sgd.effective_lr, LR / sgd.kernel_norm[:, :-1] ** 2)
    decay, twin = runs["decay"], runs["schedule"]
    assert np.all(decay.kernel_norm[:, -1] < sgd.kernel_norm[:, -1])
    np.testing.assert_allclose(decay.loss, twin.loss, rtol=1e-3)  # same function, few steps
    np.testing.assert_allclose(decay.effective_lr / twin.effective_lr, 1 - LR * 0.5, rtol=1e-2)
    assert sorted(sgd.snapshots) == [0, 3] and sgd.batches.shape == (6, 2, 20)


def test_accuracy_matches_keras_with_recalibrated_statistics(trained):
    x, y, runs = trained
    for label in ("sgd", "plain"):
        for i in range(2):
            model = si.to_keras(runs[label], i)
            if runs[label].batch_norm:
                normalization.recalibrate(model, x)
            assert runs[label].test_accuracy[i] == normalization.accuracy(model, x, y)


def test_along_gradient_by_hand_and_by_finite_differences(trained):
    x, y, runs = trained
    run = runs["sgd"]
    profile = smoothness.along_gradient(run, x, y, steps=[1e-2, 0.5])
    assert profile["loss"].shape == (2, 2, 3) and profile["grad_change"].shape == (2, 2, 2)
    t, seed = 3, 1
    ws = [tf.constant(w) for w in run.snapshots[t]]
    bn = tf.ones([2])
    xb, yb = tf.gather(x, run.batches[t]), tf.gather(y, run.batches[t])
    loss0, g0 = smoothness.loss_and_grads(ws, bn, xb, yb)
    moved = [w - 0.5 * g for w, g in zip(ws, g0, strict=True)]
    loss1, g1 = smoothness.loss_and_grads(moved, bn, xb, yb)
    assert profile["loss"][seed, 1, 2] == pytest.approx(float(loss1[seed]), rel=1e-5)
    change = np.sqrt(
        sum(np.sum((a[seed] - b[seed]).numpy() ** 2) for a, b in zip(g1, g0, strict=True))
    )
    assert profile["grad_change"][seed, 1, 1] == pytest.approx(change, rel=1e-4)
    # The directional derivative along -g is -|g|^2: a finite difference agrees.
    slope = (profile["loss"][..., 1] - profile["loss"][..., 0]) / 1e-2
    np.testing.assert_allclose(slope, -(profile["grad_norm"] ** 2), rtol=0.05)


def test_measures_on_a_hand_made_profile():
    profile = {
        "step": np.array([0.1, 1.0]),
        "loss": np.array([[[2.0, 1.5, 3.0]]]),
        "grad_change": np.array([[[0.2, 4.0]]]),
        "grad_norm": np.array([[2.0]]),
    }
    near = smoothness.measures(profile, up_to=0.5)
    assert near["loss_variation"][0, 0] == pytest.approx(0.5)
    assert near["grad_variation"][0, 0] == pytest.approx(0.2)
    assert near["beta"][0, 0] == pytest.approx(0.2 / (0.1 * 2.0))
    assert smoothness.measures(profile)["loss_variation"][0, 0] == pytest.approx(1.5)
    with pytest.raises(ValueError, match="up_to"):
        smoothness.measures(profile, up_to=0.01)


def test_bad_inputs_are_refused(trained):
    x, y, runs = trained
    with pytest.raises(ValueError, match="variant"):
        si.train_runs(x, y, {}, seeds=[0], lr=LR, steps=1, batch_size=10, eval_data=(x, y))
    with pytest.raises(ValueError, match="snapshots"):
        no_snapshots = si.Runs(**{**runs["sgd"].__dict__, "snapshots": {}})
        smoothness.along_gradient(no_snapshots, x, y, steps=[0.1])
    with pytest.raises(ValueError, match="step"):
        smoothness.along_gradient(runs["sgd"], x, y, steps=[-1.0])
    with pytest.raises(ValueError, match="steps"):
        si.train_runs(
            x, y, {"a": si.Variant()}, seeds=[0], lr=LR, steps=0, batch_size=10, eval_data=(x, y)
        )
