"""References of the lab "Doctor a sick network", computed at check time in NumPy.

The hidden MLPs of the gradient-probe part and their backward pass, written from the chain
rule: softmax cross-entropy on the logits, then each layer back to the input
(``tests/test_lab_doctor.py`` checks it against TensorFlow's tape and the reference worker).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vgrad_course.activations import activate, derivative

#: The optimizers a fix may name (those of ``vgrad_course.training.make_optimizer``).
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam", "rmsprop")
#: A hidden problem: ``(weights [W1, b1, ..., WL, bL], activation, x, integer labels)``.
Problem = tuple[list[np.ndarray], str, np.ndarray, np.ndarray]


def mlp_problem(
    seed: int, sizes: Sequence[int], activation: str, *, batch: int, scale: float
) -> Problem:
    """A hidden MLP: Gaussian kernels of std ``scale / sqrt(fan_in)``, small biases, labels."""
    rng = np.random.default_rng(seed)
    weights: list[np.ndarray] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        weights += [scale * rng.normal(size=(fan_in, fan_out)) / np.sqrt(fan_in)]
        weights += [0.1 * rng.normal(size=fan_out)]
    x = rng.normal(size=(batch, sizes[0]))
    y = rng.integers(0, sizes[-1], size=batch)
    return weights, activation, x, y


def rms_reference(
    weights: Sequence[np.ndarray], activation: str, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """The RMS of dL/dW of every kernel, L the batch-mean cross-entropy of the logits."""
    kernels, biases = weights[0::2], weights[1::2]
    inputs, pre = [], []
    h = x
    for i, (w, b) in enumerate(zip(kernels, biases, strict=True)):
        inputs.append(h)
        z = h @ w + b
        pre.append(z)
        h = z if i == len(kernels) - 1 else activate(activation, z)
    p = np.exp(h - h.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    delta = (p - np.eye(h.shape[1])[y]) / len(x)  # dL/dlogits of the batch mean
    rms = []
    for i in reversed(range(len(kernels))):
        if i < len(kernels) - 1:
            delta = delta * derivative(activation, pre[i])
        rms.append(np.sqrt(np.mean((inputs[i].T @ delta) ** 2)))
        delta = delta @ kernels[i].T
    return np.array(rms[::-1])
