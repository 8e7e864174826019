"""Learning-rate warm-up: a linear ramp for Keras, and why Adam's first steps need one.

Adam divides each parameter's step by ``sqrt(v_hat)``, a running mean of the squared gradient.
After one step that mean rests on one sample, so the step is ``lr * g / |g| = ±lr`` for every
parameter, whatever the gradient's size or noise; only after tens of steps does ``v_hat``
average enough samples for the step to shrink to its usual size (Liu et al. 2020, who call the
early spread of ``1 / sqrt(v_hat)`` the variance of the adaptive learning rate). A warm-up
(Goyal et al. 2017) lowers the learning rate while that happens. :class:`LinearWarmup` is the
schedule; :func:`adam_early_steps` measures the effect on simulated noisy gradients.
"""

from __future__ import annotations

import keras
import numpy as np

from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_int, check_positive


@keras.saving.register_keras_serializable(package="vgrad_course")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Ramp the learning rate linearly up to ``learning_rate`` over ``warmup_steps`` steps.

    Keras calls a schedule with the optimizer's step count before the step (0 for the first
    step), so step ``i`` uses ``learning_rate * min(1, (i + 1) / warmup_steps)``: the first
    step takes ``1 / warmup_steps`` of the full rate, step ``warmup_steps`` and later the full
    rate. ``warmup_steps=1`` is a constant rate. Use it as
    ``keras.optimizers.Adam(learning_rate=LinearWarmup(1e-2, 50))``; it survives Keras'
    serialisation, alone or inside the optimizer's config.

    Args:
        learning_rate: The rate after the warm-up (> 0).
        warmup_steps: Length of the ramp in optimizer steps (>= 1).

    Used in: "How the optimiser sets the scale".
    """

    def __init__(self, learning_rate: float, warmup_steps: int) -> None:
        self.learning_rate = check_positive("learning_rate", learning_rate)
        self.warmup_steps = check_int("warmup_steps", warmup_steps)

    def __call__(self, step: object) -> object:
        """Return the learning rate of the step that follows ``step`` completed steps."""
        done = keras.ops.cast(step, "float32") + 1.0
        return self.learning_rate * keras.ops.minimum(1.0, done / self.warmup_steps)

    def get_config(self) -> dict[str, float | int]:
        """Return the arguments that rebuild this schedule."""
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps}


def adam_early_steps(
    snr: float,
    *,
    n: int = 10_000,
    steps: int = 100,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Run Adam's averages on noisy gradients and measure its steps in their first ``steps``.

    Each of ``n`` parameters sees gradients ``g_t = snr + noise``, the noise standard normal
    and independent across steps and parameters: the mean gradient is ``snr`` times its noise.
    The step is Keras' without ``epsilon`` (it is negligible at this scale), in units of the
    learning rate: ``m_hat / sqrt(v_hat)``.

    Args:
        snr: Mean gradient over its noise's standard deviation (>= 0).
        n: Number of parameters.
        steps: Number of steps.
        beta_1: Decay of the gradient's running average.
        beta_2: Decay of the squared gradient's running average.
        seed: Seed of the noise (shifted by ``VGRAD_SEED_OFFSET``).

    Returns:
        ``{"step": ..., "spread": ...}``, one value per step (index 0: the first step):
        ``step`` the mean of ``|m_hat / sqrt(v_hat)|`` over the parameters (exactly 1 at the
        first step), and ``spread`` the ratio of the 90th to the 10th percentile of the
        adaptive learning rate ``1 / sqrt(v_hat)`` across the parameters.

    Used in: "How the optimiser sets the scale".
    """
    if isinstance(snr, bool) or not np.isfinite(snr) or snr < 0:
        raise ValueError(f"snr must be a finite number >= 0, got {snr!r}")
    n, steps = check_int("n", n), check_int("steps", steps)
    rng = make_rng(seed)
    m, v = np.zeros(n), np.zeros(n)
    step, spread = np.zeros(steps), np.zeros(steps)
    for t in range(1, steps + 1):
        g = snr + rng.standard_normal(n)
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
        step[t - 1] = np.mean(np.abs(m_hat) / np.sqrt(v_hat))
        low, high = np.percentile(1 / np.sqrt(v_hat), [10, 90])
        spread[t - 1] = high / low
    return {"step": step, "spread": spread}
