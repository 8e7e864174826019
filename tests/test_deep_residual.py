import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vgrad_course import gated_residual as gr  # noqa: E402
from vgrad_course.lessons import deep_residual as dr  # noqa: E402

SCHEMES = ["he", "rezero", "noskip"]


def numpy_states(w, m, scheme, x):
    """Reference forward pass of member ``m``: the states h_0 .. h_L and the logits."""
    h = x @ w["project/kernel"][m] + w["project/bias"][m]
    states = [h]
    for i in range(w["stack/kernel_1"].shape[1]):
        z = np.maximum(h, 0) @ w["stack/kernel_1"][m, i] + w["stack/bias_1"][m, i]
        f = np.maximum(z, 0) @ w["stack/kernel_2"][m, i] + w["stack/bias_2"][m, i]
        g = w["stack/gate"][m, i] if scheme in ("rezero", "fixup") else 1.0
        h = (0.0 if scheme == "noskip" else 1.0) * h + g * f
        states.append(h)
    return states, np.maximum(h, 0) @ w["output/kernel"][m] + w["output/bias"][m]


def cross_entropy(logits, y):
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean()


@pytest.fixture(scope="module")
def small():
    model = gr.build_gated_resnet(3, 5, schemes=SCHEMES, seeds=[0, 1, 2], input_dim=4, output_dim=3)
    rng = np.random.default_rng(0)
    for v in model.weights:  # random gates and biases: nothing trivially zero
        v.assign(rng.normal(0, 0.5, v.shape).astype(np.float32))
    w = {v.path: v.numpy().astype(np.float64) for v in model.weights}
    x = rng.normal(size=(6, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    return model, w, x, y


def test_block_scales_match_numpy_and_finite_differences(small):
    model, w, x, y = small
    scales = dr.block_scales(model, x, y)
    assert scales["signal"].shape == scales["gradient"].shape == (3, 4)
    eps = 1e-4
    for m, scheme in enumerate(SCHEMES):
        states, _ = numpy_states(w, m, scheme, x.astype(np.float64))
        rms = [np.sqrt(np.mean(h**2)) for h in states]
        np.testing.assert_allclose(scales["signal"][m], rms, rtol=1e-4)
        # dL/dh_1 by central differences: rerun blocks 1.. from a perturbed h_1
        h1 = states[1]
        grad = np.zeros_like(h1)
        for idx in np.ndindex(h1.shape):
            f = []
            for sign in (1, -1):
                h = h1.copy()
                h[idx] += sign * eps
                sub = dict(w)
                sub["stack/kernel_1"], sub["stack/kernel_2"] = (
                    w["stack/kernel_1"][:, 1:],
                    w["stack/kernel_2"][:, 1:],
                )
                sub["stack/bias_1"], sub["stack/bias_2"] = (
                    w["stack/bias_1"][:, 1:],
                    w["stack/bias_2"][:, 1:],
                )
                sub["stack/gate"] = w["stack/gate"][:, 1:]
                # identity projection: start the member's stack from h
                sub["project/kernel"] = np.broadcast_to(np.eye(5), (3, 5, 5))
                sub["project/bias"] = np.zeros((3, 5))
                _, logits = numpy_states(sub, m, scheme, h)
                f.append(cross_entropy(logits, y))
            grad[idx] = (f[0] - f[1]) / (2 * eps)
        assert scales["gradient"][m, 1] == pytest.approx(np.linalg.norm(grad), rel=1e-3)


def test_he_stack_doubles_and_zero_gates_keep_the_identity():
    model = gr.build_gated_resnet(8, 256, schemes=["he", "rezero", "fixup"], seeds=[0, 0, 0])
    x = np.random.default_rng(0).normal(size=(64, 40)).astype(np.float32)
    scales = dr.block_scales(model, x, np.zeros(64, dtype=int))
    slope = np.polyfit(np.arange(9), np.log2(scales["signal"][0] ** 2), 1)[0]
    assert 0.85 < slope < 1.15  # the second moment doubles per block
    identity = scales["signal"][1:]
    np.testing.assert_allclose(
        identity, np.broadcast_to(identity[:, :1], identity.shape), rtol=1e-6
    )
    np.testing.assert_allclose(scales["gradient"][1], scales["gradient"][1, 0], rtol=1e-5)
    assert np.all(scales["gradient"][2] == 0)  # Fixup's zero output layer


def test_member_scores_match_numpy(small):
    model, w, x, y = small
    scores = dr.member_scores(model, x, y)
    for m, scheme in enumerate(SCHEMES):
        _, logits = numpy_states(w, m, scheme, x.astype(np.float64))
        assert scores["loss"][m] == pytest.approx(cross_entropy(logits, y), rel=1e-4)
        assert scores["accuracy"][m] == pytest.approx(np.mean(logits.argmax(-1) == y))


def test_input_gradients_match_finite_differences(small):
    model, w, x, _ = small
    grads = dr.input_gradients(model, x, output=1)
    assert grads.shape == (3, 6, 4)
    eps = 1e-4
    for m, scheme in enumerate(SCHEMES):
        for j in range(4):
            up, down = x.astype(np.float64), x.astype(np.float64)
            up[:, j] += eps
            down[:, j] -= eps
            fd = (
                numpy_states(w, m, scheme, up)[1][:, 1] - numpy_states(w, m, scheme, down)[1][:, 1]
            ) / (2 * eps)
            np.testing.assert_allclose(grads[m, :, j], fd, rtol=1e-3, atol=1e-4)


def test_input_line():
    x0 = np.arange(1.0, 5.0)
    xs, spacing = dr.input_line(x0, n=5, seed=3)
    assert xs.shape == (5, 4) and xs.dtype == np.float32
    np.testing.assert_allclose(xs[2], x0, rtol=1e-6)  # the centre
    np.testing.assert_allclose(np.linalg.norm(xs[4] - x0), np.linalg.norm(x0), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(np.diff(xs, axis=0), axis=1), spacing, rtol=1e-5)
    with pytest.raises(ValueError, match="one input vector"):
        dr.input_line(np.ones((2, 3)))
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        dr.input_line(x0, n=1)


def test_gradient_autocorrelation_against_a_loop():
    rng = np.random.default_rng(0)
    g = rng.normal(size=(2, 50, 3))
    rho = dr.gradient_autocorrelation(g, max_lag=5)
    for m in range(2):
        c = g[m] - g[m].mean(axis=0)
        for k in range(6):
            a, b = c[: 50 - k].ravel(), c[k:].ravel()
            assert rho[m, k] == pytest.approx(a @ b / np.sqrt((a @ a) * (b @ b)))
    assert rho[0, 0] == pytest.approx(1.0)
    noise = dr.gradient_autocorrelation(rng.normal(size=(1, 4000, 2)), max_lag=3)[0]
    assert np.all(np.abs(noise[1:]) < 0.05)  # white noise
    smooth = np.cumsum(rng.normal(size=(1, 4000, 2)), axis=1)  # a random walk: brown noise
    assert dr.gradient_autocorrelation(smooth, max_lag=3)[0, 3] > 0.9
    with pytest.raises(ValueError, match="max_lag must be below"):
        dr.gradient_autocorrelation(g, max_lag=49)
    with pytest.raises(ValueError, match="members, points, features"):
        dr.gradient_autocorrelation(np.ones((5, 2)), max_lag=1)


def test_correlation_length():
    rho = np.array([1.0, 0.8, 0.6, 0.4, 0.2])
    assert dr.correlation_length(rho, 0.5) == pytest.approx(1.25)  # halfway from lag 2 to 3
    assert dr.correlation_length(rho, 0.5, level=0.8) == pytest.approx(0.5)
    assert dr.correlation_length(np.ones(4), 0.1) == np.inf
    with pytest.raises(ValueError, match="level"):
        dr.correlation_length(rho, 0.5, level=1.5)
    with pytest.raises(ValueError, match="spacing must be a positive number"):
        dr.correlation_length(rho, 0.0)


def test_by_scheme():
    groups = dr.by_scheme(np.arange(5), ["b", "a", "b", "a", "c"])
    assert list(groups) == ["b", "a", "c"]
    np.testing.assert_array_equal(groups["a"], [1, 3])
    with pytest.raises(ValueError, match="5 values for 4 members"):
        dr.by_scheme(np.arange(5), ["a"] * 4)


def test_correlations_at_init_average_over_seeds():
    x, _ = dr.input_line(np.linspace(-1, 1, 40), n=20, seed=0)
    rho = dr.correlations_at_init({"a": (2, "noskip")}, x, width=8, seeds=[0, 1], max_lag=3)
    model = gr.build_gated_resnet(2, 8, schemes=["noskip"] * 2, seeds=[0, 1])
    expected = dr.gradient_autocorrelation(dr.input_gradients(model, x), max_lag=3).mean(0)
    np.testing.assert_allclose(rho["a"], expected, rtol=1e-12)


def test_plots_label_the_schemes():
    ax = dr.plot_by_block({"he": np.ones((3, 4)), "fixup": np.ones((3, 4))}, ylabel="y")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["He", "Fixup"]
    ax = dr.plot_by_member(np.arange(4.0), ["he", "he", "rezero", "rezero"], ylabel="loss")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["He", "SkipInit/ReZero"]
