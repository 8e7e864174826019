"""Remedies, measured: dead ReLUs, moving statistics, residual stacks, recurrent gains.

Small NumPy experiments of the exercise sets on activations, batch normalization, residual
connections and gated or identity-initialised recurrences; the checks re-run them with your
setting. Like :mod:`vgrad_course.grading.labs`, they are deterministic given ``seed``, used as
given (``VGRAD_SEED_OFFSET`` does not shift them): the check and your notebook must run the
very same experiment.
"""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import activate, derivative
from vgrad_course.validation import check_int, check_positive


def relu_dead_fractions(
    bias: float, *, depth: int = 3, width: int = 64, batch: int = 256, seed: int = 0
) -> np.ndarray:
    """Fraction of dead units per layer of a He-initialised ReLU MLP with every bias ``bias``.

    Layer ``k`` computes ``h <- ReLU(h @ W_k + bias)`` with weights ``N(0, 2 / width)``, on
    ``batch`` inputs ``N(0, 1)`` of size ``width``. A unit is dead when it outputs 0 for every
    input of the batch.

    Args:
        bias: Every unit's bias (the shift; negative kills units).
        depth: Number of layers.
        width: Units per layer (also the input size).
        batch: Number of inputs.
        seed: Random seed.

    Returns:
        The fraction of dead units of each layer, shape ``(depth,)``.

    Used in: "Graded exercises".
    """
    depth, width = check_int("depth", depth), check_int("width", width)
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(check_int("batch", batch), width))
    dead = np.zeros(depth)
    for k in range(depth):
        z = h @ rng.normal(0.0, np.sqrt(2.0 / width), size=(width, width)) + float(bias)
        dead[k] = np.mean(np.all(z <= 0, axis=0))
        h = np.maximum(z, 0.0)
    return dead


def moving_variance(
    momentum: float, *, steps: int, batch_var: float = 0.002, start: float = 1.0
) -> float:
    """A batch-norm moving variance after ``steps`` updates ``m <- momentum m + (1 - momentum) v``.

    Every batch has the same variance ``v = batch_var``; the moving value starts at ``start``
    (Keras starts it at 1).

    Args:
        momentum: The layer's momentum, in ``[0, 1]`` (Keras' default: 0.99).
        steps: Number of training steps.
        batch_var: The variance of every batch.
        start: The moving variance before training.

    Returns:
        The moving variance after the last step.

    Used in: "Graded exercises".
    """
    momentum = float(momentum)
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum should lie in [0, 1], got {momentum}")
    moving = float(start)
    for _ in range(check_int("steps", steps)):
        moving = momentum * moving + (1.0 - momentum) * float(batch_var)
    return moving


def residual_stack_stds(
    depth: int, width: int, *, branch_std: float, batch: int = 256, seed: int = 0
) -> np.ndarray:
    """Std of the signal through pre-activation residual blocks ``h <- h + ReLU(h) @ W``.

    Every branch matrix ``W`` has entries ``N(0, branch_std^2)``; the inputs are ``N(0, 1)``.

    Args:
        depth: Number of blocks.
        width: Units per block (also the input size).
        branch_std: Standard deviation of every branch weight.
        batch: Number of inputs.
        seed: Random seed.

    Returns:
        The std of ``h``: the input's, then after each block, shape ``(depth + 1,)``.

    Used in: "Graded exercises".
    """
    depth, width = check_int("depth", depth), check_int("width", width)
    branch_std = check_positive("branch_std", branch_std)
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(check_int("batch", batch), width))
    stds = [h.std()]
    for _ in range(depth):
        h = h + np.maximum(h, 0.0) @ rng.normal(0.0, branch_std, size=(width, width))
        stds.append(h.std())
    return np.array(stds)


def recurrent_gain(
    recurrent: np.ndarray, *, activation: str = "relu", steps: int = 100, seed: int = 0
) -> float:
    """Spectral norm of ``dh_T/dh_0`` for ``h_t = act(h_{t-1} @ U)`` with zero input.

    The state starts at a positive ``h_0`` (entries uniform in ``[0.1, 1]``); the product of
    the per-step Jacobians ``U diag(act'(z_t))`` is accumulated exactly as BPTT does.

    Args:
        recurrent: The recurrent matrix ``U``, shape ``(n, n)``.
        activation: A name in :data:`vgrad_course.activations.ACTIVATIONS`, e.g. ``"relu"``.
        steps: Number of time steps ``T``.
        seed: Seed of ``h_0``.

    Returns:
        ``||dh_T/dh_0||_2``.

    Used in: "Graded exercises".
    """
    u = np.asarray(recurrent, dtype=np.float64)
    if u.ndim != 2 or u.shape[0] != u.shape[1]:
        raise ValueError(f"recurrent should be a square matrix, got shape {u.shape}")
    h = np.random.default_rng(seed).uniform(0.1, 1.0, size=len(u))
    jac = np.eye(len(u))
    for _ in range(check_int("steps", steps)):
        z = h @ u
        jac = (jac @ u) * derivative(activation, z)  # rows index h_0, columns h_t
        h = activate(activation, z)
    return float(np.linalg.norm(jac, 2))
