import numpy as np
import pytest
import tensorflow as tf

from vgrad_course import training
from vgrad_course.lessons import configs, cumulative_remedies, remedies
from vgrad_course.reproducibility import reseed

SICK = configs.MLPConfig(
    depth=3, width=8, activation="sigmoid", initializer="glorot_uniform", optimizer="sgd", lr=0.1
)
STEPS = ("he_init", "batch_norm", "residual")


def _data(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 40)).astype(np.float32), rng.integers(0, 10, n)


def test_ladder_adds_each_remedy_to_the_previous_rung():
    ladder = cumulative_remedies.remedy_ladder(SICK, STEPS)
    assert list(ladder) == ["sick", *STEPS]
    assert ladder["sick"] is SICK
    for before, key in zip(["sick", *STEPS], STEPS, strict=False):
        # Each rung is exactly the registry's remedy applied to the rung below it.
        assert ladder[key] == remedies.get_remedy(key).apply(ladder[before])
    last = ladder["residual"]
    assert (last.activation, last.batch_norm, last.residual) == ("relu", True, True)
    assert last.initializer is None  # the residual remedy's small branches win over He's


def test_ladder_rejects_repeated_clashing_and_unknown_keys():
    with pytest.raises(ValueError, match="distinct"):
        cumulative_remedies.remedy_ladder(SICK, ["he_init", "he_init"])
    with pytest.raises(ValueError, match="differ from label"):
        cumulative_remedies.remedy_ladder(SICK, ["he_init"], label="he_init")
    with pytest.raises(ValueError, match="unknown remedy"):
        cumulative_remedies.remedy_ladder(SICK, ["no_such_remedy"])


def test_rms_is_the_norm_over_the_root_of_the_size():
    grads = {"a": np.full((4, 4), 2.0), "b": np.array([[3.0, -4.0]])}
    expected = [np.linalg.norm(g) / np.sqrt(g.size) for g in grads.values()]
    np.testing.assert_allclose(cumulative_remedies.rms(grads), expected)


def _tape_kernel_grads(model, x, y) -> list[np.ndarray]:
    """dL/dW of every hidden kernel, from a tape written here (the independent reference)."""
    loss_fn = training.classification_loss()
    kernels = [model.get_layer(f"hidden_{i}").kernel for i in range(1, 4)]
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    return [g.numpy() for g in tape.gradient(loss, kernels)]


def test_recorder_films_the_histograms_of_the_gradients_every_few_steps():
    x, y = _data(40)
    model = SICK.model_for(x)
    model.run_eagerly = True  # a tiny model: faster than tracing its training step
    reference = _tape_kernel_grads(model, x[:16], y[:16])  # before training
    recorder = cumulative_remedies.GradientRecorder(x[:16], y[:16], every=2)
    training.train(model, x, y, epochs=2, batch_size=10, callbacks=[recorder])
    film = recorder.film()
    np.testing.assert_array_equal(film.steps, [0, 2, 4, 6, 8])  # 4 steps an epoch, 2 epochs
    assert film.density.shape == (5, 3, len(cumulative_remedies.LOG_EDGES) - 1)
    width = np.diff(cumulative_remedies.LOG_EDGES)
    for layer, g in enumerate(reference):
        logs = np.log10(np.abs(g.astype(np.float64)))
        inside = np.mean((logs >= -14) & (logs <= 0))
        assert (film.density[0, layer] * width).sum() == pytest.approx(inside, abs=1e-6)
        assert film.median_log[0, layer] == pytest.approx(np.median(logs), abs=1e-4)
    # A frame counts every weight once: its histogram is a density over all the layer's entries.
    expected = np.histogram(np.log10(np.abs(reference[1])), cumulative_remedies.LOG_EDGES)[0]
    np.testing.assert_allclose(film.density[0, 1] * width * reference[1].size, expected, atol=0.5)


def test_recorder_refuses_bad_settings_and_an_empty_film():
    x, y = _data(4)
    with pytest.raises(ValueError, match="every"):
        cumulative_remedies.GradientRecorder(x, y, every=0)
    with pytest.raises(ValueError, match="nothing recorded"):
        cumulative_remedies.GradientRecorder(x, y, every=1).film()


def test_run_ladder_matches_fresh_models_trained_one_by_one():
    """Reusing one compiled model per rung gives what a new model for every seed gives."""
    x, y = _data(40)
    val, probe = _data(20, seed=1), (x[:16], y[:16])
    config = remedies.get_remedy("batch_norm").apply(SICK)  # BN: non-trainable state too
    runs = cumulative_remedies.run_ladder(
        {"bn": config},
        x,
        y,
        seeds=(3, 4),
        epochs=2,
        batch_size=10,
        validation_data=val,
        probe=probe,
        film=["bn"],
        film_every=4,
    )
    for row, seed in enumerate((3, 4)):
        model = config.model_for(x, seed=seed)
        grads = _tape_kernel_grads(model, *probe)
        rms = [np.sqrt(np.mean(np.square(g, dtype=np.float64))) for g in grads]
        np.testing.assert_allclose(runs.init_rms["bn"][row], rms, rtol=1e-5)
    model.run_eagerly = True  # the reference for the restarted run (seed 4): no graph at all
    reseed(4)
    history = training.train(model, x, y, epochs=2, batch_size=10)
    np.testing.assert_allclose(runs.loss["bn"][1], history["loss"], rtol=1e-4)
    scores = model(val[0], training=False).numpy()
    assert runs.accuracy["bn"][1] == pytest.approx(np.mean(scores.argmax(-1) == val[1]))
    scores = model(val[0], training=True).numpy()  # batch statistics of the validation set
    assert runs.batch_stat_accuracy["bn"][1] == pytest.approx(np.mean(scores.argmax(-1) == val[1]))
    assert list(runs.films) == ["bn"] and list(runs.films["bn"].steps) == [0, 4, 8]


def test_run_ladder_checks_its_arguments():
    x, y = _data(20)
    common = dict(epochs=1, batch_size=10, validation_data=_data(10), probe=(x[:8], y[:8]))
    with pytest.raises(ValueError, match="not in the ladder"):
        cumulative_remedies.run_ladder({"sick": SICK}, x, y, seeds=(0,), film=["relu"], **common)
    with pytest.raises(ValueError, match="seeds is empty"):
        cumulative_remedies.run_ladder({"sick": SICK}, x, y, seeds=(), **common)
    with pytest.raises(ValueError, match="epochs"):
        cumulative_remedies.run_ladder({"sick": SICK}, x, y, seeds=(0,), **common | {"epochs": 0})
    with pytest.raises(ValueError, match="batch_size"):
        cumulative_remedies.run_ladder(
            {"sick": SICK}, x, y, seeds=(0,), **common | {"batch_size": 0}
        )


def test_film_player_is_an_offline_player_with_one_frame_per_film_frame():
    rng = np.random.default_rng(0)
    bins = len(cumulative_remedies.LOG_EDGES) - 1

    def film(frames: int) -> cumulative_remedies.GradientFilm:
        return cumulative_remedies.GradientFilm(
            steps=np.arange(frames) * 5,
            density=rng.random((frames, 3, bins)),
            median_log=rng.random((frames, 3)),
        )

    player = cumulative_remedies.film_player({"a": film(3), "b": film(3)}, layers=(1, 3), dpi=20)
    assert player.data.count("data:image/png;base64") == 3
    assert "https://" not in player.data and "http://" not in player.data
    with pytest.raises(ValueError, match="differ in length"):
        cumulative_remedies.film_player({"a": film(3), "b": film(4)}, layers=(1,))
