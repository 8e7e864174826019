"""The checker: placeholders score 0, wrong answers lose points with a message, never a crash."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from wrong_answers import WRONG
from wrong_answers.backprop import naive_sigmoid_derivative
from wrong_answers.bptt import rnn_jac_transposed
from wrong_answers.clipping import clip_each, clip_value
from wrong_answers.gd import step_in_place

from vgrad_course.grading import checks, labs
from vgrad_course.grading.checker import NotFullMarks, Result, check, run_cases, unscored
from vgrad_course.grading.checks.clipping import reference_clip, reference_clip_each
from vgrad_course.grading.registry import REGISTRY

checks.load_all()


def _bn(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + beta


#: Answers that are right: a few, to show the corpus is not failing everything.
RIGHT = {
    "gd.step": lambda w, g, lr: w - lr * g,
    "clipping.clip_global": lambda gs, m: [
        g * min(1.0, m / np.sqrt(sum(np.sum(x**2) for x in gs))) for g in gs
    ],
    "batch_norm.forward": _bn,
    "init.he_std": lambda n: np.sqrt(2 / n),
}


def test_every_question_has_wrong_answers():
    assert set(WRONG) == set(REGISTRY)


def test_sets_have_three_questions_of_mixed_kinds():
    assert len(checks.SETS) >= 10
    for name in checks.SETS:
        qids = checks.questions_of(name)
        assert len(qids) >= 3, name
        assert {REGISTRY[q].kind for q in qids} == {"value", "function"}, name


@pytest.mark.parametrize("qid", sorted(WRONG))
def test_wrong_answers_lose_points_with_a_message(qid):
    for answer in WRONG[qid]:
        result = check(qid, answer)
        assert result.attempted
        assert result.points < result.max_points, (qid, answer)
        failed = [c for c in result.cases if not c.passed]
        assert failed and all(len(c.message) > 10 for c in failed), str(result)


@pytest.mark.parametrize("qid", sorted(RIGHT))
def test_right_answers_earn_full_marks(qid):
    result = check(qid, RIGHT[qid], strict=True)
    assert result.points == result.max_points > 0


@pytest.mark.parametrize("qid", sorted(REGISTRY))
def test_placeholder_scores_zero_not_attempted(qid):
    result = check(qid, ...)
    assert (result.points, result.attempted) == (0, False)
    assert result.max_points > 0
    assert "not attempted" in str(result) and "not attempted" in result._repr_html_()


def test_strict_mode_raises(monkeypatch):
    with pytest.raises(NotFullMarks, match="gd.max_lr"):
        check("gd.max_lr", ..., strict=True)
    monkeypatch.setenv("VGRAD_STRICT", "1")
    with pytest.raises(NotFullMarks):
        check("gd.step", lambda w, g, lr: w)
    monkeypatch.setenv("VGRAD_STRICT", "0")
    assert check("gd.step", lambda w, g, lr: w).points < 4


def _boom(*args):
    raise RuntimeError("student bug")


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (_boom, "raised RuntimeError: student bug"),
        (lambda gs, m: [g * np.nan for g in gs], "NaN"),
        (lambda gs, m: "clipped", "one array per gradient"),
        (lambda gs, m: [np.zeros(3) for g in gs], "shape"),
        (lambda gs, m: None, "NoneType"),
        (42, "expected a function"),
    ],
)
def test_bad_student_code_never_crashes_the_checker(answer, fragment):
    result = check("clipping.clip_global", answer)
    assert result.points == 0
    assert any(fragment in c.message for c in result.cases), str(result)


@pytest.mark.parametrize("answer", ["0.5", [0.5, 0.5], np.nan, None, object()])
def test_bad_values_score_zero_with_a_message(answer):
    result = check("gd.max_lr", answer)
    assert result.points == 0 and all(c.message for c in result.cases), str(result)


def test_wrong_sign_and_factor_are_diagnosed():
    assert "wrong sign" in str(check("gd.step", lambda w, g, lr: w + lr * g))
    assert "factor of 20" in str(check("gd.step", lambda w, g, lr: w - g))
    assert "clipping by value" in str(check("clipping.clip_global", clip_value))
    assert "transposed" in str(check("bptt.rnn_jacobian", rnn_jac_transposed))
    assert "too small" in str(check("exploding.critical_scale", 0.9))


def test_rendering_is_readable_and_escaped():
    result = check("gd.step", lambda w, g, lr: w + lr * g)
    text = str(result)
    assert text.startswith("gd.step: 1/5") and "[FAIL]" in text and "[PASS]" in text
    html = result._repr_html_()
    assert "<ul" in html and "1/5" in html
    shown = []
    result._repr_pretty_(type("P", (), {"text": lambda self, s: shown.append(s)})(), False)
    assert shown == [text]
    evil = Result("x<script>", ())
    assert "<script>" not in evil._repr_html_()


def test_unknown_question_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown question"):
        check("nope.nothing", 1)


def test_run_cases_counts_points_per_case():
    result = run_cases("clipping.clip_global", clip_each)
    assert result.max_points == 5 and 0 < result.points < 5


# References the checks compute, and the experiment helpers in vgrad_course.grading.labs,
# against independent references.


@pytest.mark.parametrize("max_norm", [0.5, 2.5, 100.0])
def test_the_clipping_reference_agrees_with_tensorflow(max_norm):
    # The grader starts no TensorFlow, so its reference is NumPy; TensorFlow checks it here.
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 4)) * 5, rng.normal(size=(4,)), rng.normal(size=(2, 2))]
    expected, _ = tf.clip_by_global_norm([tf.constant(g) for g in grads], max_norm)
    for ours, theirs in zip(reference_clip(grads, max_norm), expected, strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("max_norm", [0.3, 1.0, 3.0])
def test_the_per_variable_clipping_reference_agrees_with_tensorflow(max_norm):
    rng = np.random.default_rng(5)
    grads = [rng.normal(size=(3, 4)) * 2, rng.normal(size=(4,)) * 0.1, rng.normal(size=(2, 2))]
    ours = reference_clip_each(grads, max_norm)
    theirs = [tf.clip_by_norm(tf.constant(g), max_norm).numpy() for g in grads]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_labs_orthogonal_and_linear_rnn_gain():
    q = labs.orthogonal(6, seed=3)
    assert np.allclose(q @ q.T, np.eye(6))
    assert np.isclose(labs.linear_rnn_gain(1.0, n=8, steps=30), 1.0)
    assert np.isclose(labs.linear_rnn_gain(0.9, n=8, steps=30), 0.9**30)
    with pytest.raises(ValueError):
        labs.orthogonal(0)


#: Forward activations written out here, independently of vgrad_course.activations.
_FORWARD = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0.0),
}


@pytest.mark.parametrize(
    ("activation", "residual"),
    [("tanh", False), ("tanh", True), ("sigmoid", False), ("relu", True)],
)
def test_labs_mlp_probe_matches_finite_differences(activation, residual):
    act = _FORWARD[activation]
    depth, width, batch, seed, std = 3, 4, 5, 7, 0.8
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.0, std, size=(width, width)) for _ in range(depth)]
    x = rng.normal(size=(batch, width))
    c = rng.normal(size=width)

    def loss(v):
        h = v
        for w in weights:
            h = h + act(h @ w) if residual else act(h @ w)
        return float(np.sum(h * c) / batch)

    eps, grad = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = eps
        grad[idx] = (loss(x + step) - loss(x - step)) / (2 * eps)
    probe = labs.mlp_probe(
        depth,
        width,
        activation=activation,
        weight_std=std,
        residual=residual,
        batch=batch,
        seed=seed,
    )
    assert np.isclose(probe["input_grad_norm"][0], np.linalg.norm(grad) / np.sqrt(batch))
    assert probe["act_std"].shape == probe["weight_grad_norm"].shape == (depth,)


def test_labs_quartic_descent_clips_the_step():
    path = labs.quartic_descent(2.0, lr=0.1, steps=20)
    assert path.shape == (21, 2)
    assert np.all(np.linalg.norm(np.diff(path, axis=0), axis=1) <= 0.2 + 1e-12)
    assert not np.all(np.isfinite(labs.quartic_descent(None)))
    with pytest.raises(ValueError):
        labs.quartic_descent(0.0)


def test_unscored_questions_say_why_not_not_attempted():
    result = unscored("gd.step", "not scored: grading stopped before this question")
    assert result.points == 0 and result.max_points == check("gd.step", ...).max_points
    assert "grading stopped" in str(result) and "not attempted" not in str(result)
    assert "grading stopped" in result._repr_html_()


#: One-sided misses of a band or a bracket earn nothing (the credit meant: the answer is in it).
ONE_SIDED = {
    "gd.max_lr": [0.51, 0.49],
    "exploding.critical_scale": [0.9, 1.1],
    "init.gain": [1.0, 2.0],
    "gated.forget_bias": [1.0, 8.0],
    "clipping.threshold": [0.1, 1000.0],
}


@pytest.mark.parametrize("qid", sorted(ONE_SIDED))
def test_a_miss_on_either_side_earns_nothing(qid):
    for answer in ONE_SIDED[qid]:
        assert check(qid, answer).points == 0, (qid, answer)


def test_an_overflow_in_student_code_is_reported_as_such():
    text = str(check("backprop.sigmoid_derivative", naive_sigmoid_derivative))
    assert "overflowed" in text and "3/4" in text


def test_an_in_place_update_is_seen_and_named():
    text = str(check("gd.step", step_in_place))
    assert "changed w in place" in text and "4/5" in text


def test_formula_targets_are_not_called_measured():
    for qid, answer in [("init.he_std", lambda n: np.sqrt(1 / n)), ("vanishing.bound", 1e-11)]:
        text = str(check(qid, answer))
        assert "measured value" not in text, text


def test_the_features_axis_hint_fires_for_normalising_rows():
    def by_row(x, g, b):
        return g * (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True) + b

    assert "over the features (axis 1)" in str(check("batch_norm.forward", by_row))


def test_per_tensor_clipping_gets_no_constant_factor_hint():
    text = str(check("clipping.clip_global", clip_each))
    assert "constant factor" not in text, text


def test_in_the_graders_kernel_check_runs_no_case(monkeypatch):
    calls = []
    monkeypatch.setenv("VGRAD_GRADING", "1")
    result = check("gd.step", lambda w, g, lr: calls.append(1) or w - lr * g)
    assert calls == [] and result.points == 0 and not result.attempted
    assert "scored by the grader" in str(result)
