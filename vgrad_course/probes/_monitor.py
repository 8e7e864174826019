"""GradientMonitor: per-variable gradient norms at every training step, at almost no cost.

The callback does not run a second backward pass. At the start of ``fit`` it wraps the
optimizer's ``apply_gradients`` so that, inside the compiled training step, the norms of the
very gradients the optimizer receives are written to a small variable; after each batch the
callback reads that variable. At the end of ``fit`` the optimizer is restored.
"""

from __future__ import annotations

from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf


class GradientMonitor(keras.callbacks.Callback):
    """Record the L2 norm of every trainable variable's gradient at every training step.

    Norms are those of the raw gradients, before any clipping the optimizer applies
    (``clipnorm``/``clipvalue``/``global_clipnorm``), which is what one inspects to choose
    a clipping threshold.

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
        self._paths: list[str] = []
        self._norms: tf.Variable | None = None
        self._optimizer: keras.optimizers.Optimizer | None = None

    # -- wiring -----------------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        """Wrap the optimizer and rebuild the training function so the wrapper is traced."""
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            raise ValueError("GradientMonitor needs a compiled model (model.compile(...)).")
        if int(getattr(model, "steps_per_execution", 1) or 1) != 1:
            raise ValueError(
                "GradientMonitor records one norm per step and needs steps_per_execution=1; "
                f"the model was compiled with steps_per_execution={model.steps_per_execution}."
            )
        variables = model.trainable_variables
        self._paths = [v.path for v in variables]
        self._rows = []
        self.history = {}
        self._norms = tf.Variable(
            tf.zeros([len(variables)], tf.float32), trainable=False, name="grad_norms"
        )
        self._optimizer = optimizer
        original = optimizer.apply_gradients
        norms_var = self._norms
        order = {id(v): i for i, v in enumerate(variables)}

        def apply_gradients(grads_and_vars: Iterable) -> object:
            pairs = list(grads_and_vars)
            norms = [tf.zeros([], tf.float32)] * len(order)
            for g, v in pairs:
                i = order.get(id(v))
                if i is not None and g is not None:
                    dense = tf.convert_to_tensor(g)
                    norms[i] = tf.cast(tf.norm(dense), tf.float32)
            norms_var.assign(tf.stack(norms))
            return original(pairs)

        # An instance attribute shadows the method for this optimizer only.
        optimizer.apply_gradients = apply_gradients
        model.make_train_function(force=True)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Read the norms written by the step that just ran."""
        self._rows.append(self._norms.numpy().copy())

    def on_train_end(self, logs: dict | None = None) -> None:
        """Restore the optimizer and publish ``history``."""
        self._restore()
        rows = np.asarray(self._rows, dtype=np.float64).reshape(-1, len(self._paths))
        self.history = {path: rows[:, i].copy() for i, path in enumerate(self._paths)}

    def _restore(self) -> None:
        """Remove the wrapper so later ``fit`` calls without the monitor run unchanged."""
        if self._optimizer is not None and "apply_gradients" in vars(self._optimizer):
            del self._optimizer.apply_gradients
            self.model.make_train_function(force=True)
        self._optimizer = None

    # -- summaries --------------------------------------------------------------------------
    @property
    def global_norm(self) -> np.ndarray:
        """The global gradient norm (over all variables) at each recorded step."""
        if not self.history:
            return np.zeros(0)
        stacked = np.stack(list(self.history.values()), axis=1)
        return np.sqrt((stacked**2).sum(axis=1))
