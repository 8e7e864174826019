"""The update:data ratio: how large each optimizer step is relative to the weights it changes.

``log10(||W_after - W_before|| / ||W_before||)`` of each hidden kernel, per step. Karpathy
(makemore part 3) suggests it should sit near -3: much lower and the layer barely learns,
much higher and the step is too large for the weights.
"""

from __future__ import annotations

import keras
import numpy as np

from vgrad_course.probes._gradients import l2_norm
from vgrad_course.probes._model import hidden_kernels

#: The guide line for ``log10(update / data)`` (Karpathy, makemore part 3).
UPDATE_RATIO_GUIDE: float = -3.0


class UpdateRatioTracker(keras.callbacks.Callback):
    """Record ``log10(||W_after - W_before|| / ||W_before||)`` of each hidden kernel per step.

    Attributes:
        history: After ``fit``: array of shape ``(recorded steps, hidden layers)``.
        names: The hidden layer names, one per column of ``history``.

    Used in: "Vanishing gradients in deep networks", "Diagnosing a network".
    """

    def __init__(self, *, every: int = 1) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.every = every
        self.names: list[str] = []
        self.history = np.zeros((0, 0))
        self._rows: list[np.ndarray] = []
        self._before: list[np.ndarray] | None = None
        self._step = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Find the hidden kernels and reset the history."""
        self._kernels = hidden_kernels(self.model)
        self.names = list(self._kernels)
        self._rows, self._step = [], 0

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Copy the kernels before a step that will be recorded."""
        if self._step % self.every == 0:
            self._before = [k.numpy().copy() for k in self._kernels.values()]

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Compare the kernels after the step with the copies."""
        if self._before is not None:
            after = [k.numpy() for k in self._kernels.values()]
            row = [
                l2_norm(a - b) / max(l2_norm(b), 1e-30)
                for a, b in zip(after, self._before, strict=True)
            ]
            self._rows.append(np.log10(np.maximum(row, 1e-30)))
            self._before = None
        self._step += 1

    def on_train_end(self, logs: dict | None = None) -> None:
        """Publish ``history``."""
        self.history = np.asarray(self._rows, dtype=np.float64).reshape(-1, len(self.names))
