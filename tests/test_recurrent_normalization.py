import numpy as np
import pytest

from vgrad_course import data, probes, training
from vgrad_course.lessons import recurrent_normalization as rn
from vgrad_course.lessons.sequence_training import VALIDATION_SEED_SHIFT

SEQ_LEN = 8


def _weights(model):
    return {v.path.split("/")[-1]: v.numpy() for v in model.weights}


def test_both_cells_start_from_the_same_w_u_and_head():
    plain = _weights(rn.build_model("plain", seq_len=SEQ_LEN, units=6, seed=3))
    ln = _weights(rn.build_model("layer_norm", seq_len=SEQ_LEN, units=6, seed=3))
    for name in ("kernel", "recurrent_kernel"):
        np.testing.assert_array_equal(plain[name], ln[name])
    assert set(ln) == {"kernel", "recurrent_kernel", "gamma", "beta", "bias"}
    other = _weights(rn.build_model("layer_norm", seq_len=SEQ_LEN, units=6, seed=4))
    assert not np.allclose(other["recurrent_kernel"], ln["recurrent_kernel"])


@pytest.mark.parametrize("cell", rn.CELLS)
def test_recurrent_scale_multiplies_u(cell):
    one = rn.build_model(cell, seq_len=SEQ_LEN, units=6, seed=1)
    three = rn.build_model(cell, seq_len=SEQ_LEN, units=6, recurrent_scale=3.0, seed=1)
    u1 = one.get_layer("rnn").cell.recurrent_kernel.numpy()
    u3 = three.get_layer("rnn").cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(u3, 3.0 * u1, rtol=1e-5, atol=1e-6)


def test_gradient_profiles_equal_probes_of_models_built_at_each_scale():
    x, y = data.sign_recall(16, SEQ_LEN, seed=0)
    scales = (0.5, 2.0)
    profiles = rn.gradient_profiles(x, y, scales=scales, seeds=(0, 1), units=6)
    assert set(profiles) == set(rn.CELLS)
    for cell, p in profiles.items():
        assert p.shape == (2, len(scales), SEQ_LEN)
        for j, c in enumerate(scales):
            model = rn.build_model(cell, seq_len=SEQ_LEN, units=6, recurrent_scale=c, seed=1)
            direct = probes.input_grad_norms(model, x, y, loss="binary_crossentropy")
            np.testing.assert_allclose(p[1, j], direct, rtol=1e-4)


def test_train_sign_recall_equals_training_a_fresh_model_per_run():
    options = {"seq_len": 4, "n": 100, "n_val": 40, "epochs": 2, "units": 4}
    cells = ("layer_norm",)
    runs = rn.train_sign_recall(scales=(2.0,), seeds=(0, 1), cells=cells, lr=1e-2, **options)
    assert set(runs) == {("layer_norm", 2.0)}
    for acc in runs.values():
        assert acc.shape == (2, 2) and np.all((0 <= acc) & (acc <= 1))
    # The second run reuses the model of the first: it must be a fresh start all the same.
    model = rn.build_model("layer_norm", seq_len=4, units=4, recurrent_scale=2.0, seed=1)
    training.compile_model(
        model, loss="binary_crossentropy", optimizer="adam", lr=1e-2, metrics=["accuracy"]
    )
    x, y = data.sign_recall(100, 4, seed=1)
    x_val, y_val = data.sign_recall(40, 4, seed=1 + VALIDATION_SEED_SHIFT)
    expected = []
    for _ in range(2):
        for start in (0, 50):
            model.train_on_batch(x[start : start + 50], y[start : start + 50])
        expected.append(model.test_on_batch(x_val, y_val, return_dict=True)["accuracy"])
    np.testing.assert_allclose(runs[("layer_norm", 2.0)][1], expected, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rn.build_model("lstm", seq_len=4), "cell must be one of"),
        (lambda: rn.build_model("plain", seq_len=4, recurrent_scale=0), "recurrent_scale"),
        (lambda: rn.build_model("layer_norm", seq_len=0), "seq_len must be"),
        (lambda: rn.gradient_profiles(*data.sign_recall(4, 3), scales=()), "at least one"),
        (lambda: rn.gradient_profiles(*data.sign_recall(4, 3), scales=(-1,)), "scale must"),
        (lambda: rn.train_sign_recall(scales=(1,), seeds=(), seq_len=3), "at least one"),
        (lambda: rn.train_sign_recall(scales=(1,), seeds=(0,), seq_len=3, epochs=0), "epochs"),
        (lambda: rn.train_sign_recall(scales=(1,), seeds=(0,), seq_len=3, cells=()), "one cell"),
        (lambda: rn.train_sign_recall(scales=(1,), seeds=(0,), seq_len=3, cells=("x",)), "cell"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
