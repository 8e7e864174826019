"""The lab "Doctor a sick network": its references against independent computations, and the
safety of rebuilding a student's model.

TensorFlow's tape checks the NumPy backward pass of the probe part; the package's own probes,
run here, check what the reference worker measures on the sick network; and the safe rebuild
refuses configs that name code (a ``Lambda``, a module outside Keras, a serialised function),
are too large, or do not fit the task, before anything runs.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import models, probes, training
from vgrad_course.grading.checks import lab_doctor
from vgrad_course.grading.checks._lab_doctor_reference import OPTIMIZERS, rms_reference
from vgrad_course.grading.reference_worker import ask
from vgrad_course.grading.registry import Fail
from vgrad_course.reference import InvalidInput, doctor
from vgrad_course.reference.model_config import rebuild


@pytest.mark.parametrize("case", lab_doctor.PROBES, ids=lambda c: c[1])
def test_the_probe_reference_agrees_with_tensorflows_tape(case):
    weights, activation, x, y = case
    params = [tf.Variable(w) for w in weights]  # float64 throughout
    act = keras.activations.get(activation)
    with tf.GradientTape() as tape:
        h = tf.constant(x)
        for kernel, bias in zip(params[0:-2:2], params[1:-2:2], strict=True):
            h = act(h @ kernel + bias)
        logits = h @ params[-2] + params[-1]
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        )
    grads = tape.gradient(loss, params[0::2])
    ours = rms_reference(*case)
    np.testing.assert_allclose(ours, [np.sqrt(np.mean(g.numpy() ** 2)) for g in grads], rtol=1e-9)


def test_the_worker_measures_the_sick_network_as_the_package_probes_do():
    measured = ask("doctor.sick", {"seed": lab_doctor.SEED})[1]
    (x, y), _ = doctor.lab_data()
    model = doctor.compile_for_lab(doctor.sick_model(lab_doctor.SEED), *doctor.SICK_OPTIMIZER)
    norms = probes.layer_grad_norms(model, x[:500], y[:500])
    kernels = [v for v in model.trainable_variables if v.name == "kernel"]
    rms = [norms[v.path] / np.sqrt(np.prod(v.shape)) for v in kernels]
    np.testing.assert_allclose(measured["rms"], rms, rtol=1e-4)
    assert np.argmin(measured["rms"]) == 0 and measured["rms"][0] / measured["rms"][-1] < 1e-5
    tracker = probes.UpdateRatioTracker()
    doctor.train(model, seed=lab_doctor.SEED, epochs=1, callbacks=[tracker])
    np.testing.assert_allclose(measured["updates"], tracker.history.mean(axis=0), atol=1e-3)
    assert measured["updates"][0] < -6 and measured["updates"][-1] > -2.5  # both problems


def test_the_fixs_probe_leaves_its_batch_norm_statistics_alone():
    # The fix is trained from its initialisation, not from one probe step after it.
    model = models.build_mlp(8, 64, activation="relu", batch_norm=True, input_dim=40)
    before = [v.numpy() for v in model.non_trainable_variables]
    (x, y), _ = doctor.lab_data()
    rms = doctor.gradient_rms(model, x[:500], y[:500])
    assert len(rms) == 9 and np.all(rms > 0)
    for old, new in zip(before, model.non_trainable_variables, strict=True):
        np.testing.assert_array_equal(old, new.numpy())


def test_a_fix_is_trained_from_the_hidden_seeds_and_the_same_request_gives_the_same_runs():
    fix = models.build_mlp(8, 64, activation="relu", initializer="he_normal").to_json()
    request = {"model": fix, "optimizer": "momentum", "lr": 0.05, "seeds": [5, 6]}
    runs = doctor.grade_fix(fix, "momentum", 0.05, [5, 6])
    again = ask("doctor.fix", request)[1]  # in the worker, another process
    for key, value in runs.items():
        np.testing.assert_allclose(again[key], value, rtol=1e-6)
    assert np.all(runs["accuracy"] >= lab_doctor.ACCURACY) and np.all(runs["finite"] == 1)
    assert runs["hidden"].tolist() == [8, 8] and runs["ratio"][0] != runs["ratio"][1]


def test_rebuild_reseeds_every_initializer():
    fix = models.build_mlp(3, 16, activation="relu", initializer="he_normal", seed=0).to_json()
    one, same, other = (rebuild(fix, seed=s, inputs=40, outputs=10) for s in (1, 1, 2))
    for a, b, c in zip(one.get_weights(), same.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.ndim == 1 or not np.allclose(a, c)  # kernels differ; zero biases do not


def _lambda_json(marker) -> str:
    def touch(t):
        open(marker, "w").close()  # would prove that code ran
        return t

    inputs = keras.Input((40,))
    return keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Lambda(touch)(inputs))).to_json()


def _edited(**change) -> str:
    config = json.loads(models.build_mlp(2, 8).to_json())
    layer = config["config"]["layers"][1]
    for key, value in change.items():
        layer[key] = value
    return json.dumps(config)


HOSTILE = {
    "module outside Keras": (_edited(module="os", class_name="system"), "Keras' own only"),
    "serialised function": (_edited(class_name="function", module="builtins"), "function"),
    "unknown layer": (_edited(class_name="TorchModuleWrapper"), "not allowed"),
    "custom registered class": (_edited(registered_name="evil>Layer"), "Keras' own only"),
    "not a model": (json.dumps({"class_name": "Dense", "config": {}}), "keras.Sequential"),
    "not JSON": ("{'layers': ", "not valid JSON"),
    "nested too deeply": ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_configs_are_refused_with_a_message(name):
    text, fragment = HOSTILE[name]
    with pytest.raises(InvalidInput, match=fragment):
        rebuild(text, seed=0, inputs=40, outputs=10)


def test_a_lambda_is_refused_before_its_code_can_run(tmp_path):
    marker = tmp_path / "ran"
    text = _lambda_json(str(marker))
    marker.unlink(missing_ok=True)  # building the model here called the function once
    with pytest.raises(InvalidInput, match="Lambda"):
        rebuild(text, seed=0, inputs=40, outputs=10)
    with pytest.raises(Fail, match="Lambda"):  # and through the worker, as the check sees it
        ask("doctor.fix", {"model": text, "optimizer": "sgd", "lr": 0.1, "seeds": [1]})
    assert not marker.exists()


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"depth": 2, "width": 600}, "at most 512"),
        ({"depth": 2, "width": 8, "input_dim": 7}, "must read"),
        ({"depth": 2, "width": 8, "output_activation": "softmax"}, "logits"),
    ],
)
def test_models_that_do_not_fit_the_task_are_refused(options, fragment):
    text = models.build_mlp(**{"input_dim": 40, "output_dim": 10, **options}).to_json()
    with pytest.raises(InvalidInput, match=fragment):
        rebuild(text, seed=0, inputs=40, outputs=10)


def test_bad_optimizers_and_rates_are_refused():
    fix = models.build_mlp(8, 8).to_json()
    with pytest.raises(InvalidInput, match="optimizer"):
        doctor.grade_fix(fix, "adamw", 0.1, [1])
    with pytest.raises(InvalidInput, match="learning rate"):
        doctor.grade_fix(fix, "sgd", -1.0, [1])
    assert OPTIMIZERS == training.OPTIMIZERS
