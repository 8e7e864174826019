"""GradientMonitor: the gradient norms of every training step, and the first sign of an explosion.

The monitor runs no second backward pass. A recorder wraps the optimizer's ``apply_gradients``:
inside the compiled training step, while its switch is on, it writes the norms of the very
gradients the optimizer receives to one row of a buffer on the device. The callback reads the
buffer once per epoch, so it has no per-batch hook and Keras keeps dispatching the batch-end
work of ``fit`` asynchronously, as in an unmonitored fit.

Tracing a training step costs about as much as a few hundred steps of a small MLP, so the step
with the recorder is traced at most once per model and then kept:

- when the model's step has not been traced yet (a monitor on its first fit, or
  :meth:`GradientMonitor.prepare` right after ``compile``), the recorder is built into the
  model's own step, switched off while no monitor is attached: attaching flips the switch;
- when the step was traced without it (the model was fitted before), the first monitored fit
  traces a monitored copy of the step and keeps it beside the model's own. Detaching puts the
  model's own step back (no re-trace), and later monitored fits swap the copy in again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import keras
import numpy as np
import tensorflow as tf

from vgrad_course.validation import check_int

_RECORDER = "_vgrad_grad_recorder"
#: Rows reserved per epoch when Keras does not know the number of steps (e.g. a generator).
_UNKNOWN_STEPS = 10_000


class _Recorder:
    """The gradient-norm recorder of one model: its switch, its norms and its two steps."""

    def __init__(self, model: keras.Model) -> None:
        self.optimizer = model.optimizer
        self.variables = list(model.trainable_variables)
        self.paths = [v.path for v in self.variables]
        n = len(self.variables)
        # One row per step of the current epoch; resized (not re-traced) for each fit.
        self.rows = tf.Variable(tf.zeros([1, n]), shape=tf.TensorShape([None, n]), trainable=False)
        self.count = tf.Variable(0, trainable=False)  # rows written since the last read
        self.last = tf.Variable(0, trainable=False)  # index of the buffer's last row
        self.switch = tf.Variable(False, trainable=False)
        self.capacity = 1
        self.built_in = False  # True: every training step of the model holds the recorder
        self.plain: Callable | None = None  # the model's own step (swapped out while monitoring)
        self.monitored: Callable | None = None  # the step traced with the recorder

    def serves(self, model: keras.Model) -> bool:
        """Whether this recorder still matches the model's optimizer and variables."""
        current = model.trainable_variables
        return (
            model.optimizer is self.optimizer
            and len(current) == len(self.variables)
            and all(a is b for a, b in zip(current, self.variables, strict=True))
        )

    def install(self) -> None:
        """Shadow the optimizer's ``apply_gradients`` with one that records the gradients' norms.

        A step traced while the recorder is built in records only while switched on; a
        monitored copy (traced during a monitored fit) always records.
        """
        original = type(self.optimizer).apply_gradients.__get__(self.optimizer)
        order = {id(v): i for i, v in enumerate(self.variables)}
        rows, count, last, switch = self.rows, self.count, self.last, self.switch

        def record(pairs: list) -> tf.Tensor:
            # One op per variable (EuclideanNorm): the recorder's cost is its number of ops.
            norms = [tf.zeros([], tf.float32)] * len(order)
            for g, v in pairs:
                i = order.get(id(v))
                if i is not None and g is not None:
                    norm = tf.math.reduce_euclidean_norm(tf.convert_to_tensor(g))
                    norms[i] = norm if norm.dtype == tf.float32 else tf.cast(norm, tf.float32)
            # Write in place (reading `rows` here would make the update copy the whole buffer);
            # past the last row, overwrite it: the reader detects the overflow from `count`.
            row = tf.minimum(count.read_value(), last.read_value())
            rows.scatter_nd_update([[row]], [tf.stack(norms)])
            count.assign_add(1)
            return tf.constant(True)

        def apply_gradients(grads_and_vars: Iterable) -> object:
            pairs = list(grads_and_vars)
            if self.built_in:  # the model's own step: record only while a monitor is attached
                tf.cond(switch, lambda: record(pairs), lambda: tf.constant(False))
            else:  # a monitored copy, only ever run while monitoring
                record(pairs)
            return original(pairs)

        # An instance attribute shadows the method for this optimizer only.
        self.optimizer.apply_gradients = apply_gradients

    def uninstall(self) -> None:
        """Remove the wrapper: steps traced from now on are the optimizer's own."""
        if "apply_gradients" in vars(self.optimizer):
            del self.optimizer.apply_gradients

    def start(self, capacity: int) -> None:
        """Make room for ``capacity`` steps and switch recording on."""
        self.capacity = max(capacity, 1)
        self.rows.assign(tf.zeros([self.capacity, len(self.paths)]))
        self.last.assign(self.capacity - 1)
        self.count.assign(0)
        self.switch.assign(True)

    def read(self) -> np.ndarray:
        """Return the rows written since the last read, shape ``(steps, variables)``."""
        n = int(self.count.numpy())
        if n > self.capacity:
            raise RuntimeError(
                f"GradientMonitor expected at most {self.capacity} steps per epoch and "
                f"saw {n}; pass steps_per_epoch to fit"
            )
        self.count.assign(0)
        return self.rows.numpy()[:n].astype(np.float64)


def _recorder(model: keras.Model) -> _Recorder:
    """Return the model's recorder, making a new one if the model was recompiled or rebuilt."""
    if getattr(model, "optimizer", None) is None:
        raise ValueError("GradientMonitor needs a compiled model (model.compile(...)).")
    recorder = model.__dict__.get(_RECORDER)
    if recorder is None or not recorder.serves(model):
        if recorder is not None:
            recorder.uninstall()
        recorder = _Recorder(model)
        object.__setattr__(model, _RECORDER, recorder)  # not tracked as a Keras attribute
    return recorder


class GradientMonitor(keras.callbacks.Callback):
    """Record the L2 norm of every trainable variable's gradient at every training step.

    Norms are those of the raw gradients, before any clipping the optimizer applies
    (``clipnorm``/``clipvalue``/``global_clipnorm``), which is what one inspects to choose
    a clipping threshold. The model computes what it would without the monitor: its weights
    and losses are those of an unmonitored fit. Neither attaching nor detaching re-traces the
    training step, except on the first monitored fit of a model already fitted without one,
    which traces a monitored copy of its step once (:meth:`prepare` avoids even that).

    Example:
        >>> monitor = GradientMonitor()
        >>> model.fit(x, y, epochs=2, callbacks=[monitor], verbose=0)  # doctest: +SKIP
        >>> monitor.history["dense/kernel"].shape  # doctest: +SKIP
        (steps,)

    Attributes:
        history: After ``fit``: ``{variable.path: np.ndarray of one norm per step}``.
            Each call of ``fit`` starts a fresh history.

    Used in: "Exploding gradients", "Gradient clipping", "Diagnosing a network".
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, np.ndarray] = {}
        self._rows: list[np.ndarray] = []
        self._recorder: _Recorder | None = None

    @staticmethod
    def prepare(model: keras.Model) -> keras.Model:
        """Build the recorder, switched off, into a compiled model's own training step.

        Call it after ``compile`` and before the first ``fit``: every later fit, monitored or
        not, then runs the same traced step, and a monitor attaches without re-tracing. On a
        model that has been fitted already, the next fit traces its step once more.

        Args:
            model: A compiled model.

        Returns:
            The same model.
        """
        recorder = _recorder(model)
        if not recorder.built_in:
            recorder.built_in = True
            recorder.install()
            if model.train_function is not None:
                model.make_train_function(force=True)
        return model

    def set_model(self, model: keras.Model) -> None:
        """Attach to ``model``; if its step is about to be traced for the first time, prepare it.

        Keras calls this before ``fit`` makes the training function, so on a compiled model
        that has no training function yet the recorder goes into the model's own step, whose
        first trace is then the only one.
        """
        super().set_model(model)
        if getattr(model, "optimizer", None) is not None and model.train_function is None:
            self.prepare(model)

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Switch the recorder on, swapping in the monitored step if the model has none."""
        model = self.model
        recorder = _recorder(model)
        if int(getattr(model, "steps_per_execution", 1) or 1) != 1:
            raise ValueError(
                "GradientMonitor records one norm per step and needs steps_per_execution=1; "
                f"the model was compiled with steps_per_execution={model.steps_per_execution}."
            )
        self._rows, self.history = [], {}
        if not recorder.built_in:
            recorder.install()  # also for a re-trace of the copy (e.g. a last, smaller batch)
            current = model.train_function
            if current is recorder.plain and recorder.monitored is not None:
                model.train_function = recorder.monitored
            elif current is not recorder.monitored:  # new model, or recompiled: trace once
                recorder.plain = current
                model.make_train_function(force=True)
                recorder.monitored = model.train_function
        recorder.start((self.params or {}).get("steps") or _UNKNOWN_STEPS)
        self._recorder = recorder

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Collect the norms the epoch's steps wrote (one read per epoch, none per batch)."""
        self._rows.append(self._recorder.read())

    def on_train_end(self, logs: dict | None = None) -> None:
        """Switch the recorder off, put the model's own step back and publish ``history``."""
        recorder, self._recorder = self._recorder, None
        self._rows.append(recorder.read())  # steps after the last epoch end, if any
        recorder.switch.assign(False)
        if not recorder.built_in:
            recorder.uninstall()
            self.model.train_function = recorder.plain
        rows = np.concatenate(self._rows).reshape(-1, len(recorder.paths))
        self.history = {path: rows[:, i].copy() for i, path in enumerate(recorder.paths)}

    @property
    def global_norm(self) -> np.ndarray:
        """The global gradient norm (over all variables) at each recorded step."""
        if not self.history:
            return np.zeros(0)
        stacked = np.stack(list(self.history.values()), axis=1)
        return np.sqrt((stacked**2).sum(axis=1))


def detect_explosion(
    history: GradientMonitor | np.ndarray | list[float], *, factor: float = 10.0, window: int = 5
) -> int | None:
    """Return the first step whose value is non-finite, or a jump to a new high.

    A jump is a value more than ``factor`` times the median of the (up to) ``window`` previous
    finite values, so a single earlier spike does not hide a later one and slow drifts are not
    flagged. It must also exceed every earlier finite value: near a minimum, mini-batch
    gradient norms fall far below their starting size and then fluctuate by a factor 10 or
    more from batch to batch, which is noise, not an explosion.

    Args:
        history: A :class:`GradientMonitor` (its :attr:`~GradientMonitor.global_norm` is
            scanned) or a 1-D array (gradient norms or losses per step).
        factor: The jump that counts as an explosion (> 1).
        window: How many previous steps form the reference.

    Returns:
        The 0-based index of the first exploding step, or None if there is none.

    Used in: "Exploding gradients".
    """
    if not factor > 1:
        raise ValueError(f"factor must be > 1, got {factor}")
    window = check_int("window", window)
    source = history.global_norm if isinstance(history, GradientMonitor) else history
    values = np.asarray(source, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"expected one value per step, got shape {values.shape}")
    for step, value in enumerate(values):
        if not np.isfinite(value):
            return step
        previous = values[max(0, step - window) : step]
        previous = previous[np.isfinite(previous)]
        earlier = values[:step][np.isfinite(values[:step])]
        if previous.size and value > factor * np.median(previous) and value > earlier.max():
            return step
    return None
