"""Cost of recording per-step gradient norms during ``fit``, in the two protocols that matter.

(a) fresh model: every timed fit builds and compiles a new model, so each one traces its
    training step (as a chapter does):
    - ``plain``: no callback;
    - ``monitor``: with ``GradientMonitor`` (on a fresh model it builds its recorder into the
      step before the step's first trace);
    - ``naive``: with a callback that runs a second forward+backward pass per step
      (``probes.layer_grad_norms`` on the step's batch), the obvious way to do it.
(b) step already traced: a fresh model is fitted once without a monitor (not timed), then a
    plain fit and a monitored fit of it are timed. Two kinds of model:
    - ``prepared``: compiled by ``training.compile_model``, as every model of the course is; it
      calls ``GradientMonitor.prepare(model)``, so the model's own step holds the recorder,
      switched off, and the monitor only switches it on;
    - ``unprepared``: compiled by Keras' ``model.compile`` alone, so the step was traced
      without the recorder and the first monitored fit
      traces a monitored copy of the step once (``unprepared monitor``); a second monitored
      fit swaps the cached copy in (``unprepared monitor 2nd``).
(c) the recorder alone: 300 calls of a prepared model's compiled training step on one batch,
    recorder switched off, then on (CPU time per call).

The variants run interleaved, ``--repeats`` times, and each fit is timed twice: by the CPU time
of this process (all its threads) and by the wall clock. On a machine shared with other jobs the
wall clock of a one-second fit varies by a factor two from one run to the next, the CPU time by
about 20 %, so the verdict uses the ratio of median CPU times; the wall-clock ratios follow, from
the best (least disturbed) runs, as ``timeit`` takes them, and paired within each repeat
(median [min, max]). Target: monitor / plain <= 1.15 in (a) and in (b) for the course's
models (``prepared``).

Run: ``.venv/bin/python benchmarks/bench_monitor.py [--epochs 4] [--repeats 9]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import NamedTuple

# isort: off
import vgrad_course as vg

vg.backend.load_tensorflow()  # before Keras: the course's kernels, start-up messages muted
# isort: on

import keras
import tensorflow as tf
from _common import machine, verdict

from vgrad_course import data, models, probes, training

BATCH = 32
TARGET = 1.15


class Times(NamedTuple):
    """The duration of one fit: wall clock and CPU time of this process, in seconds."""

    wall: float
    cpu: float


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
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--samples", type=int, default=3072)
    args = parser.parse_args()
    vg.setup(seed=0)
    (x, y), _ = data.mnist1d(num_samples=4000)
    x, y = x[: args.samples], y[: args.samples]
    loss = training.classification_loss()
    steps = args.epochs * -(-len(x) // BATCH)

    def build(*, prepared: bool = False) -> keras.Model:
        vg.reseed(0)
        model = models.build_mlp(args.depth, args.width, activation="relu")
        if prepared:  # the course's way
            return training.compile_model(model, loss=loss, optimizer="adam", lr=1e-3)
        model.compile(optimizer=training.make_optimizer("adam", 1e-3), loss=loss)
        return model

    def fit(model: keras.Model, callback: keras.callbacks.Callback | None = None) -> Times:
        start, cpu = time.perf_counter(), time.process_time()
        callbacks = [callback] if callback else []
        training.train(
            model, x, y, epochs=args.epochs, batch_size=BATCH, callbacks=callbacks, shuffle=False
        )
        elapsed = Times(time.perf_counter() - start, time.process_time() - cpu)
        if isinstance(callback, probes.GradientMonitor):
            assert len(callback.global_norm) == steps, len(callback.global_norm)
        if isinstance(callback, NaiveGradNorms):
            assert len(callback.rows) == steps, len(callback.rows)
        return elapsed

    def fresh() -> dict[str, Times]:
        return {
            "plain": fit(build()),
            "monitor": fit(build(), probes.GradientMonitor()),
            "naive": fit(build(), NaiveGradNorms(x, y, loss)),
        }

    def traced() -> dict[str, Times]:
        times = {}
        for kind in ("prepared", "unprepared"):
            model = build(prepared=kind == "prepared")
            fit(model)  # the step is traced here, not timed
            times[f"{kind} plain"] = fit(model)
            times[f"{kind} monitor"] = fit(model, probes.GradientMonitor())
            if kind == "unprepared":
                times[f"{kind} monitor 2nd"] = fit(model, probes.GradientMonitor())
        return times

    def one_step(calls: int = 300) -> dict[str, float]:
        """CPU ms per call of a prepared model's compiled step, recorder off and on."""
        model = build(prepared=True)
        batch = (tf.constant(x[:BATCH]), tf.constant(y[:BATCH]))
        step = tf.function(lambda: model.train_step(batch))
        monitor = probes.GradientMonitor()
        monitor.set_model(model)
        monitor.set_params({"steps": calls, "epochs": 1})
        step()  # trace
        times = {}
        for state in ("off", "on"):
            if state == "on":
                monitor.on_train_begin()
            start = time.process_time()
            for _ in range(calls):
                step()
            times[f"step, recorder {state}"] = 1e3 * (time.process_time() - start) / calls
        monitor.on_train_end()
        assert monitor.global_norm.shape == (calls,)
        return times

    fit(build())  # warm-up: imports, first tracing of Keras internals
    print(machine())
    print(
        f"MLP depth {args.depth} width {args.width}, MNIST-1D {len(x)} samples, batch {BATCH}, "
        f"{args.epochs} epochs = {steps} steps, Adam; {args.repeats} interleaved repeats"
    )
    runs: dict[str, list[Times]] = {}
    steps_ms: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for name, t in {**fresh(), **traced()}.items():
            runs.setdefault(name, []).append(t)
        for name, ms in one_step().items():
            steps_ms.setdefault(name, []).append(ms)
    cpu = {name: [t.cpu for t in ts] for name, ts in runs.items()}
    wall = {name: [t.wall for t in ts] for name, ts in runs.items()}
    print(f"  {'':24s} {'CPU':>7s} {'wall':>7s} {'best':>7s}  (medians; best wall; ms/step)")
    for name in runs:
        c, w, b = statistics.median(cpu[name]), statistics.median(wall[name]), min(wall[name])
        print(f"  {name:24s} {c:6.2f}s {w:6.2f}s {b:6.2f}s  ({1e3 * w / steps:.2f})")
    ratios = [  # label, numerator, denominator, target
        ("(a) fresh: monitor / plain", "monitor", "plain", TARGET),
        ("(a) fresh: naive / plain", "naive", "plain", None),
        ("(b) traced, prepared: monitor / plain", "prepared monitor", "prepared plain", TARGET),
        (
            "(b) traced, not prepared: monitor / plain",
            "unprepared monitor",
            "unprepared plain",
            TARGET,
        ),
        ("    the same, 2nd monitored fit", "unprepared monitor 2nd", "unprepared plain", TARGET),
        ("recorder switched off: plain prepared / not", "prepared plain", "unprepared plain", None),
    ]
    print("Ratios (CPU time: the verdict); wall clock: best runs, paired median [min, max]")
    for label, num, den, target in ratios:
        ratio = statistics.median(cpu[num]) / statistics.median(cpu[den])
        best = min(wall[num]) / min(wall[den])
        paired = sorted(a / b for a, b in zip(wall[num], wall[den], strict=True))
        line = verdict(label, ratio, target) if target else f"{label} = {ratio:.2f}"
        low, mid, high = paired[0], statistics.median(paired), paired[-1]
        print(f"{line}; wall {best:.2f}, {mid:.2f} [{low:.2f}, {high:.2f}]")
    off, on = (statistics.median(steps_ms[f"step, recorder {s}"]) for s in ("off", "on"))
    print(
        f"(c) one compiled step, {args.repeats} x 300 calls: recorder off {off:.3f} ms, "
        f"on {on:.3f} ms (CPU): on / off = {on / off:.2f}"
    )


if __name__ == "__main__":
    main()
