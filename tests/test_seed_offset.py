"""VGRAD_SEED_OFFSET shifts every seed the package turns into randomness, exactly once."""

from __future__ import annotations

import numpy as np
import pytest

import vgrad_course as vg
from vgrad_course import data, models
from vgrad_course.lessons import descent, initialisation, jacobians, recurrence
from vgrad_course.seeds import SEED_OFFSET_VARIABLE


def _weights(model) -> list[np.ndarray]:
    return [w.numpy().copy() for w in model.weights]


def test_offset_is_zero_when_unset_or_empty(monkeypatch):
    assert vg.seed_offset() == 0
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, " ")
    assert vg.seed_offset() == 0
    assert vg.effective_seed(7) == 7


@pytest.mark.parametrize("bad", ["x", "1.5", "two"])
def test_bad_offset_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, bad)
    with pytest.raises(ValueError, match=SEED_OFFSET_VARIABLE):
        vg.reseed(0)


def test_negative_shifted_seed_is_refused(monkeypatch):
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "-3")
    assert vg.effective_seed(5) == 2
    with pytest.raises(ValueError, match="seeds must be >= 0"):
        vg.effective_seed(1)


def test_effective_seed_rejects_non_integers():
    with pytest.raises(TypeError):
        vg.effective_seed(1.0)
    with pytest.raises(TypeError):
        vg.effective_seed(True)


# Each case: a seeded call whose result under offset k must equal the same call with seed + k
# and offset 0 (the offset is applied once, where the seed becomes randomness).
CASES = {
    "adding_problem": lambda s: data.adding_problem(4, 6, seed=s)[0],
    "sign_recall": lambda s: data.sign_recall(4, 6, seed=s)[0],
    "regression_line": lambda s: data.regression_line(5, seed=s)[1],
    "make_rng": lambda s: vg.make_rng(s).normal(size=3),
    "recurrent_matrix": lambda s: recurrence.recurrent_matrix(4, 0.9, seed=s),
    "random_product_norms": lambda s: jacobians.random_product_norms(3, 4, trials=2, seed=s),
    "build_rnn": lambda s: _weights(models.build_rnn("lstm", 3, input_dim=2, seed=s)),
    "reseed": lambda s: (vg.reseed(s), np.random.random(3))[1],
}

# Builders that derive one seed per layer (``seed * 1000 + i``) shift each derived seed, so
# offset k is not the same as seed + k; they must still follow the offset, deterministically.
BUILDERS = {
    "build_mlp": lambda: _weights(models.build_mlp(2, 4, input_dim=3, output_dim=2, seed=1)),
    "residual_mlp": lambda: _weights(
        models.build_mlp(2, 4, input_dim=3, residual=True, initializer=None, seed=1)
    ),
    "linear_mlp": lambda: _weights(jacobians.build_deep_linear(3, 4, input_dim=3, seed=1)),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_builders_follow_the_offset(monkeypatch, name):
    build = BUILDERS[name]
    base = _flat(build())
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "1")
    moved, again = _flat(build()), _flat(build())
    np.testing.assert_array_equal(moved, again)
    assert not np.array_equal(base, moved), "the offset changed nothing"


@pytest.mark.parametrize("name", sorted(CASES))
def test_offset_equals_shifted_seed(monkeypatch, name):
    call = CASES[name]
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "2")
    shifted = call(1)
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "0")
    plain, other = call(3), call(1)
    np.testing.assert_array_equal(_flat(shifted), _flat(plain))
    assert not np.array_equal(_flat(shifted), _flat(other)), "the offset changed nothing"


def _flat(result: object) -> np.ndarray:
    """One flat array of whatever a case returned (an array, a list or a dict of arrays)."""
    if isinstance(result, dict):
        result = [result[k] for k in sorted(result)]
    if isinstance(result, list | tuple):
        return np.concatenate([np.ravel(np.asarray(r, dtype=float)) for r in result])
    return np.ravel(np.asarray(result, dtype=float))


def test_descent_and_initialisation_follow_the_offset(monkeypatch):
    line = descent.LineFit(*data.regression_line(40, seed=0))  # the same data in both runs

    def run() -> tuple[np.ndarray, np.ndarray]:
        path = descent.minibatch_sgd(line, (0.0, 0.0), lr=0.1, epochs=1, batch_size=8, seed=0)
        stds = initialisation.std_through_depth(3, 8, scheme="he", seed=0)["activation_std"]
        return path, stds

    base = run()
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "4")
    moved = run()
    for a, b in zip(base, moved, strict=True):
        assert not np.array_equal(a, b), "the offset changed nothing"


def test_setup_prints_numpy_scalars_as_plain_numbers():
    # MyST-NB formats a glued value from its text/plain repr: "np.float64(0.5)" would not parse.
    vg.setup(seed=0)
    assert repr(np.float64(0.5)) == "0.5"
    assert repr({"a": np.int64(3)}) == "{'a': 3}"
