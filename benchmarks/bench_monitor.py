"""Cost of recording per-step gradient norms during ``fit``.

Three ways to train the same fresh model on the same data for the same epochs:

- ``plain``: ``training.train`` with no callback;
- ``monitor``: with ``GradientMonitor``, which reads the norms the training step already computed;
- ``naive``: with a callback that runs a second forward+backward pass per step
  (``probes.layer_grad_norms`` on the step's batch), the obvious way to do it.

Each run builds a fresh model (so each includes tracing the training step once, as in a chapter).
Prints the median of interleaved runs and the ratios to ``plain``. Target: monitor <= 1.15x.

Run: ``.venv/bin/python benchmarks/bench_monitor.py [--epochs 3] [--repeats 3]``
"""

from __future__ import annotations

import argparse

# isort: off
import vgrad_course as vg  # before TensorFlow: it mutes TensorFlow's start-up messages
# isort: on

import keras
from _common import interleaved, machine, verdict

from vgrad_course import data, models, probes, training

BATCH = 32


class NaiveGradNorms(keras.callbacks.Callback):
    """Per-step gradient norms by a second tape pass on the step's batch (the naive way)."""

    def __init__(self, x, y, loss) -> None:
        super().__init__()
        self.x, self.y, self.loss, self.rows = x, y, loss, []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        sl = slice(batch * BATCH, (batch + 1) * BATCH)
        self.rows.append(
            probes.layer_grad_norms(self.model, self.x[sl], self.y[sl], loss=self.loss)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--width", type=int, default=128)
    args = parser.parse_args()
    vg.setup(seed=0)
    (x, y), _ = data.mnist1d(num_samples=4000)
    loss = training.classification_loss()
    steps = args.epochs * -(-len(x) // BATCH)

    def fit(callback_factory) -> None:
        vg.reseed(0)
        model = models.build_mlp(args.depth, args.width, activation="relu")
        training.compile_model(model, loss=loss, optimizer="adam", lr=1e-3)
        callbacks = [callback_factory()] if callback_factory else []
        training.train(
            model, x, y, epochs=args.epochs, batch_size=BATCH, callbacks=callbacks, shuffle=False
        )
        if callbacks and isinstance(callbacks[0], probes.GradientMonitor):
            assert len(callbacks[0].global_norm) == steps, len(callbacks[0].global_norm)
        if callbacks and isinstance(callbacks[0], NaiveGradNorms):
            assert len(callbacks[0].rows) == steps, len(callbacks[0].rows)

    variants = {
        "plain": lambda: fit(None),
        "monitor": lambda: fit(probes.GradientMonitor),
        "naive": lambda: fit(lambda: NaiveGradNorms(x, y, loss)),
    }
    fit(None)  # warm-up: imports, first tracing of Keras internals
    print(machine())
    print(
        f"MLP depth {args.depth} width {args.width}, MNIST-1D {len(x)} samples, batch {BATCH}, "
        f"{args.epochs} epochs = {steps} steps; median of {args.repeats} interleaved runs"
    )
    times = interleaved(variants, repeats=args.repeats)
    for name, t in times.items():
        print(f"  {name:8s} {t:6.2f} s  ({1e3 * t / steps:.2f} ms/step)")
    print(verdict("monitor / plain", times["monitor"] / times["plain"], 1.15))
    print(f"naive / plain = {times['naive'] / times['plain']:.2f} (for comparison)")


if __name__ == "__main__":
    main()
