import numpy as np
import pytest

import vgrad_course as vg
from vgrad_course import models, training
from vgrad_course.lessons import variants


def _build():
    return models.build_mlp(1, 4, input_dim=3, output_dim=1)


def test_train_variants_reproduces_a_manual_seeded_run():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    hist = variants.train_variants(
        {"a": _build, "b": _build},
        x,
        y,
        loss="mse",
        epochs=2,
        batch_size=16,
        seed=3,
        options={"b": {"lr": 0.1}},
        record_grad_norms=True,
    )
    vg.reseed(3)
    model = training.compile_model(_build(), loss="mse")
    manual = training.train(model, x, y, epochs=2, batch_size=16)
    np.testing.assert_allclose(hist["a"]["loss"], manual["loss"], rtol=1e-6)
    assert not np.allclose(hist["b"]["loss"], hist["a"]["loss"])
    assert hist["a"]["grad_norm"].shape == (8,)
    assert variants.final_values(hist)["a"] == pytest.approx(manual["loss"][-1])
    with pytest.raises(ValueError, match="not in builders"):
        variants.train_variants({"a": _build}, x, y, loss="mse", options={"c": {}})
