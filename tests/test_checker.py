"""The checker: placeholders score 0, wrong answers lose points with a message, never a crash."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from vgrad_course.activations import sigmoid
from vgrad_course.grading import checks, labs
from vgrad_course.grading.checker import NotFullMarks, Result, check, run_cases, unscored
from vgrad_course.grading.checks.clipping import reference_clip
from vgrad_course.grading.registry import REGISTRY

checks.load_all()


def _bn(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + beta


def _clip_value(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads]


def _clip_each(grads, max_norm):
    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]


def _chain_no_w(h0, w, depth):
    h, g = h0, 1.0
    for _ in range(depth):
        s = float(sigmoid(w * h))
        g, h = g * s * (1 - s), s
    return g


def _rnn_forward_with_h0(W, U, xs, h0):
    h, hs = h0, [h0]
    for x in xs:
        h = np.tanh(h @ W + x @ U)
        hs.append(h)
    return np.array(hs)


def _rnn_jac_transposed(W, U, xs, h0):
    h, jac = h0, np.eye(len(h0))
    for x in xs:
        h = np.tanh(h @ W + x @ U)
        jac = np.diag(1 - h**2) @ W.T @ jac
    return jac.T


def _bn_backward_no_stats(x, grad_out, gamma):
    return grad_out * gamma / np.sqrt(x.var(0) + 1e-5)


def _residual_forward_plain_always(x, weights, residual):
    h = x
    for w in weights:
        h = np.tanh(h @ w)
    return h


def _block_jac_transposed(h, W):
    d = 1 - np.tanh(h @ W) ** 2
    return np.eye(len(h)) + W * d


# --- wrong answers a careful student still writes (issue 19's corpus) ----------------------


def _step_in_place(w, g, lr):
    w -= lr * g  # the prompt forbids it: the caller's weights change
    return w


def _naive_sigmoid_derivative(z):
    s = 1 / (1 + np.exp(-z))  # overflows for z < -709
    return s * (1 - s)


def _clip_always(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * max_norm / norm for g in grads]  # rescales up, too


def _residual_from_input(x, weights, residual):
    h = x
    for w in weights:
        h = x + np.tanh(h @ w) if residual else np.tanh(h @ w)
    return h


def _bn_ddof1(x, gamma, beta):
    return gamma * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + 1e-5) + beta


def _layer_backward_b_mean(x, w, b, c):
    d = c * (1 - np.tanh(x @ w + b) ** 2)
    return d @ w.T, x.T @ d, d.mean(0)


def _layer_backward_w_transposed(x, w, b, c):
    d = c * (1 - np.tanh(x @ w + b) ** 2)
    return d @ w.T, (x.T @ d).T, d.sum(0)


def _chain_off_by_one(h0, w, depth):
    return _chain_no_w(h0, w, depth - 1) * w ** (depth - 1)


def _rnn_forward_transposed_w(W, U, xs, h0):
    h, hs = h0, []
    for x in xs:
        h = np.tanh(h @ W.T + x @ U)
        hs.append(h)
    return np.array(hs)


def _rnn_forward_without_h0(W, U, xs, h0):
    return _rnn_forward_with_h0(W, U, xs, np.zeros_like(h0))[1:]


#: At least one plausible wrong answer per question (a mistake students make).
WRONG = {
    "gd.step": [lambda w, g, lr: w + lr * g, lambda w, g, lr: w - g, _step_in_place],
    "gd.max_lr": [1 / 4, 2.0, -0.5, 0.51],  # 0.51: the first diverging rate
    "gd.one_step_lr": [0.5, 1 / 8],
    "backprop.sigmoid_derivative": [
        lambda z: sigmoid(z),
        lambda z: np.exp(-z) / (1 + np.exp(-z)),
        _naive_sigmoid_derivative,
    ],
    "backprop.layer_backward": [
        lambda x, W, b, c: (c @ W.T, x.T @ c, c.sum(0)),  # forgot tanh'
        lambda x, W, b, c: (c, W, b),
        _layer_backward_b_mean,
        _layer_backward_w_transposed,
    ],
    "backprop.chain": [0.25, 0.0625],
    "vanishing.chain_grad": [_chain_no_w, lambda h0, w, depth: 0.25**depth, _chain_off_by_one],
    "vanishing.bound": [0.25**19, 1.0, 0.25**20 / 2, 0.0],
    "vanishing.smallest_layer": ["c", "first", 0],
    "exploding.spectral_radius": [
        lambda W: float(np.max(np.real(np.linalg.eigvals(W)))),
        lambda W: float(np.linalg.norm(W, 2)),
    ],
    "exploding.growth": [1.1 * 50, 1.1**49],
    "exploding.critical_scale": [1.1, 0.9, 0.0],  # each misses on one side
    "bptt.rnn_forward": [
        _rnn_forward_with_h0,
        lambda W, U, xs, h0: np.tanh(xs @ U),
        _rnn_forward_transposed_w,
        _rnn_forward_without_h0,
    ],
    "bptt.rnn_jacobian": [_rnn_jac_transposed, lambda W, U, xs, h0: W],
    "bptt.decay": [0.5, 0.5**9],
    "diagnosing.update_ratio": [
        lambda ws, us: np.array([np.std(u) / np.std(w) for w, u in zip(ws, us, strict=True)]),
        lambda ws, us: np.array(
            [np.log10(np.std(w) / np.std(u)) for w, u in zip(ws, us, strict=True)]
        ),
    ],
    "diagnosing.saturated_fraction": [
        lambda a: float(np.mean(a > 0.97)),
        lambda a: int(np.sum(np.abs(a) > 0.97)),
    ],
    "diagnosing.diagnosis": ["a", "c"],
    "clipping.clip_global": [_clip_value, _clip_each, lambda g, m: g, _clip_always],
    "clipping.predict_component": [1.0, 0.6, 3.0],
    "clipping.threshold": [0.1, 1000.0, -1.0],
    "init.he_std": [lambda n: np.sqrt(1 / n), lambda n: 2 / n],
    "init.glorot_std": [lambda i, o: np.sqrt(1 / i), lambda i, o: np.sqrt(1 / (i + o))],
    "init.gain": [1.0, 2.0],
    "activations.relu_derivative": [
        lambda z: np.maximum(z, 0),
        lambda z: (z >= 0)[:1],
        lambda z: (z >= 0).astype(float),
    ],
    "activations.ratio": [1.0, 2.0],
    "activations.most_flat": ["c", "a"],
    "batch_norm.forward": [
        lambda x, g, b: g * (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True) + b,
        lambda x, g, b: (x - x.mean(0)) / x.std(0),
        _bn_ddof1,
    ],
    "batch_norm.backward": [_bn_backward_no_stats, lambda x, c, g: c],
    "batch_norm.weight_scale": [10.0, 1.0],
    "residual.forward": [_residual_forward_plain_always, lambda x, ws, r: x, _residual_from_input],
    "residual.block_jacobian": [_block_jac_transposed, lambda h, W: W],
    "residual.grad_ratio": ["a", "b"],
    "gated.cell_grad": [lambda f: np.sum(f, axis=0), lambda f: np.prod(f)],
    "gated.forget_bias": [1.0, 8.0],
    "gated.irnn": [0.0, 100.0],
}

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
    assert "clipping by value" in str(check("clipping.clip_global", _clip_value))
    assert "transposed" in str(check("bptt.rnn_jacobian", _rnn_jac_transposed))
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
    result = run_cases("clipping.clip_global", _clip_each)
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
    text = str(check("backprop.sigmoid_derivative", _naive_sigmoid_derivative))
    assert "overflowed" in text and "3/4" in text


def test_an_in_place_update_is_seen_and_named():
    text = str(check("gd.step", _step_in_place))
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
    text = str(check("clipping.clip_global", _clip_each))
    assert "constant factor" not in text, text
