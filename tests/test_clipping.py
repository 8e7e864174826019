import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import clipping


def _grads(scale=1.0):
    rng = np.random.default_rng(0)
    return [
        rng.normal(size=(4, 3)).astype(np.float32) * scale,
        rng.normal(size=(3,)).astype(np.float32) * scale,
    ]


@pytest.mark.parametrize("scale,max_norm", [(1.0, 0.5), (10.0, 1.0), (0.01, 1.0), (1.0, 1e6)])
def test_clip_by_norm_matches_tf_clip_by_global_norm(scale, max_norm):
    grads = _grads(scale)
    ours = clipping.clip_by_norm(grads, max_norm)
    ref, ref_norm = tf.clip_by_global_norm([tf.constant(g) for g in grads], max_norm)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
    assert clipping.global_norm(grads) == pytest.approx(float(ref_norm), rel=1e-5)


def test_clip_by_norm_keeps_direction_and_does_not_mutate():
    grads = _grads(10.0)
    before = [g.copy() for g in grads]
    clipped = clipping.clip_by_norm(grads, 1.0)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, b)
    flat = np.concatenate([c.numpy().ravel() for c in clipped])
    orig = np.concatenate([g.ravel() for g in grads])
    assert np.linalg.norm(flat) == pytest.approx(1.0, rel=1e-5)
    cosine = flat @ orig / (np.linalg.norm(flat) * np.linalg.norm(orig))
    assert cosine == pytest.approx(1.0, abs=1e-6)
    assert clipped is not grads


def test_clip_by_value_matches_numpy_and_can_turn_direction():
    grads = [np.array([10.0, 0.1], dtype=np.float32)]
    clipped = clipping.clip_by_value(grads, 1.0)
    np.testing.assert_allclose(clipped[0].numpy(), np.clip(grads[0], -1, 1))
    np.testing.assert_array_equal(grads[0], np.array([10.0, 0.1], np.float32))  # untouched
    c, g = clipped[0].numpy(), grads[0]
    cosine = c @ g / (np.linalg.norm(c) * np.linalg.norm(g))
    assert cosine < 0.999  # the direction changed, unlike norm clipping


def test_none_entries_pass_through():
    out = clipping.clip_by_norm([None, np.ones(3, np.float32)], 1.0)
    assert out[0] is None
    assert clipping.clip_by_value([None], 1.0) == [None]


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_thresholds_raise(bad):
    with pytest.raises(ValueError):
        clipping.clip_by_norm(_grads(), bad)
    with pytest.raises(ValueError):
        clipping.clip_by_value(_grads(), bad)


def test_non_list_input_raises_type_error():
    with pytest.raises(TypeError):
        clipping.clip_by_norm(np.ones(3), 1.0)


def test_nan_gradients_get_a_clear_error():
    with pytest.raises(ValueError, match="not finite"):
        clipping.clip_by_norm([np.array([np.nan, 1.0], np.float32)], 1.0)


def test_cosine_similarity_matches_numpy():
    rng = np.random.default_rng(0)
    a = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    b = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    va = np.concatenate([t.ravel() for t in a])
    vb = np.concatenate([t.ravel() for t in b])
    expected = va @ vb / np.linalg.norm(va) / np.linalg.norm(vb)
    assert clipping.cosine_similarity(a, b) == pytest.approx(expected)
    assert clipping.cosine_similarity(a, [2 * t for t in a]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="zero"):
        clipping.cosine_similarity([np.zeros(2)], [np.ones(2)])
