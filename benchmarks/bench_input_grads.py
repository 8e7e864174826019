"""Cost of ``probes.input_grad_norms`` (||dL/dx_t|| for every time step t in one backward pass).

For a SimpleRNN on the adding problem at sequence lengths T=100 and T=400, prints:

- the cost ratio cost(T=400) / cost(T=100) of ``input_grad_norms`` (target <= 5: linear in T);
- its cost relative to one compiled training step (``train_on_batch``) on the same batch and
  model (target <= 2);
- a hand-written ``tf.function`` of the same computation (the probe should cost the same;
  its values are checked against the probe's);
- the naive method, one backward pass per time step (the gradient with respect to x_t alone,
  T passes). It is timed on a few time steps and extrapolated to T, as it says.

Run: ``.venv/bin/python benchmarks/bench_input_grads.py [--repeats 5]``
"""

from __future__ import annotations

import argparse
import time

# isort: off
import vgrad_course as vg

vg.backend.load_tensorflow()  # before Keras: the course's kernels, start-up messages muted
# isort: on

import keras
import numpy as np
import tensorflow as tf
from _common import interleaved, machine, verdict

from vgrad_course import data, models, probes, training

BATCH = 64
UNITS = 64
NAIVE_STEPS = 5  # time steps actually timed for the naive method


def naive_input_grad_norm(model: keras.Model, x: np.ndarray, y: np.ndarray, t: int) -> float:
    """Batch-mean ||dL/dx_t|| by a backward pass with respect to x_t alone."""
    before, x_t, after = (
        tf.constant(x[:, :t]),
        tf.constant(x[:, t : t + 1]),
        tf.constant(x[:, t + 1 :]),
    )
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        pred = model(tf.concat([before, x_t, after], axis=1), training=True)
        loss = keras.ops.mean(keras.losses.mean_squared_error(y, pred))
    grad = tape.gradient(loss, x_t)[:, 0]
    return float(tf.reduce_mean(tf.norm(grad, axis=-1)))


def compiled_input_grad_norms(model: keras.Model):
    """A hand-written reference: the probe's computation as one ``tf.function``."""

    @tf.function(reduce_retracing=True)
    def norms(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=pred, training=True)
        return tf.reduce_mean(tf.norm(tape.gradient(loss, x), axis=-1), axis=0)

    return lambda x, y: norms(tf.constant(x), tf.constant(y)).numpy().astype(np.float64)


def measure(seq_len: int, repeats: int) -> dict[str, float]:
    """Time the probe, a training step, the reference and the naive method at ``seq_len``."""
    x, y = data.adding_problem(BATCH, seq_len, seed=0)
    vg.reseed(0)
    model = models.build_rnn("simple", UNITS, seq_len=seq_len, input_dim=2)
    training.compile_model(model, loss="mse", optimizer="adam", lr=1e-3)
    model.train_on_batch(x, y)  # warm-up: trace the training step
    probes.input_grad_norms(model, x, y)  # warm-up
    compiled = compiled_input_grad_norms(model)
    start = time.perf_counter()
    first = compiled(x, y)  # includes tracing
    first_call = time.perf_counter() - start
    # Check the naive method agrees with the probe before timing it.
    reference = probes.input_grad_norms(model, x, y)
    for t in (0, seq_len - 1):
        naive = naive_input_grad_norm(model, x, y, t)
        assert np.isclose(naive, reference[t], rtol=1e-3, atol=1e-12), (t, naive, reference)
    np.testing.assert_allclose(first, reference, rtol=1e-4, atol=1e-12)
    times = interleaved(
        {
            "input_grad_norms": lambda: probes.input_grad_norms(model, x, y),
            "train_step": lambda: model.train_on_batch(x, y),
            "compiled": lambda: compiled(x, y),
            "naive_per_pass": lambda: [
                naive_input_grad_norm(model, x, y, t) for t in range(NAIVE_STEPS)
            ],
        },
        repeats=repeats,
    )
    times["naive_per_pass"] /= NAIVE_STEPS
    naive_total = times["naive_per_pass"] * seq_len
    print(
        f"T={seq_len}: input_grad_norms {1e3 * times['input_grad_norms']:.0f} ms, "
        f"one training step {1e3 * times['train_step']:.0f} ms, "
        f"naive {1e3 * times['naive_per_pass']:.0f} ms per pass x {seq_len} passes "
        f"= {naive_total:.1f} s (extrapolated from {NAIVE_STEPS} passes)"
    )
    print(
        "  "
        + verdict(
            f"input_grad_norms / training step (T={seq_len})",
            times["input_grad_norms"] / times["train_step"],
            2.0,
        )
    )
    print(
        f"  reference, hand-written tf.function: {1e3 * times['compiled']:.0f} ms after a first"
        f" call of {first_call:.1f} s with tracing = "
        f"{times['compiled'] / times['train_step']:.2f}x a training step"
    )
    print(f"  naive / input_grad_norms = {naive_total / times['input_grad_norms']:.0f}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    vg.setup(seed=0)
    print(machine())
    print(f"SimpleRNN({UNITS}) on the adding problem, batch {BATCH}; median of {args.repeats}")
    cost = {seq_len: measure(seq_len, args.repeats) for seq_len in (100, 400)}
    ratio = cost[400]["input_grad_norms"] / cost[100]["input_grad_norms"]
    print(verdict("input_grad_norms cost(T=400) / cost(T=100)", ratio, 5.0))
    ratio = cost[400]["compiled"] / cost[100]["compiled"]
    print(f"reference cost(T=400) / cost(T=100) = {ratio:.2f}")


if __name__ == "__main__":
    main()
