"""Step sizes, measured: mini-batch SGD on a line, Adam's step, the stable rate of a deep chain.

Small NumPy experiments of the exercise sets on gradient descent, vanishing and exploding
gradients; the checks re-run them with your setting. Like :mod:`vgrad_course.grading.labs`,
they are deterministic given ``seed``, used as given (``VGRAD_SEED_OFFSET`` does not shift
them): the check and your notebook must run the very same experiment.
"""

from __future__ import annotations

import numpy as np

from vgrad_course.validation import check_int, check_positive


def line_fit_sgd(
    lr: float, *, epochs: int = 20, batch_size: int = 10, n: int = 200, seed: int = 0
) -> dict[str, float]:
    """Run mini-batch SGD on a noisy line fit and measure how close its last epoch ends.

    The data are ``x ~ U[-1, 1]``, ``y = 2 x - 1 + N(0, 0.3^2)`` (always drawn with seed 0);
    each step uses the gradient of ``1/2 mean((w x + b - y)^2)`` over one batch, from
    ``(w, b) = (-1, 1.5)``; each epoch shuffles the examples with a generator seeded ``seed``.

    Args:
        lr: Learning rate.
        epochs: Passes over the data.
        batch_size: Examples per step.
        n: Number of examples.
        seed: Seed of the shuffling.

    Returns:
        Over the parameters after each step of the last epoch: ``rms``, their root-mean-square
        distance to the least-squares fit; ``bias``, the distance of their mean to it;
        ``jitter``, their root-mean-square spread around their mean
        (``rms^2 = bias^2 + jitter^2``).

    Used in: "Graded exercises".
    """
    lr = check_positive("lr", lr)
    epochs, n = check_int("epochs", epochs), check_int("n", n)
    batch_size = check_int("batch_size", batch_size)
    data = np.random.default_rng(0)
    x = data.uniform(-1.0, 1.0, size=n)
    y = 2.0 * x - 1.0 + data.normal(0.0, 0.3, size=n)
    best = np.linalg.lstsq(np.stack([x, np.ones(n)], axis=1), y, rcond=None)[0]
    rng = np.random.default_rng(seed)
    p = np.array([-1.0, 1.5])
    last = []
    with np.errstate(all="ignore"):  # a rate far too large overflows: the rms says so (inf)
        for epoch in range(epochs):
            order = rng.permutation(n)
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                residual = p[0] * x[idx] + p[1] - y[idx]
                p = p - lr * np.array([np.mean(residual * x[idx]), np.mean(residual)])
                if epoch == epochs - 1:
                    last.append(p)
        path = np.array(last)
        mean = path.mean(axis=0)
        bias = float(np.linalg.norm(mean - best))
        jitter = float(np.sqrt(np.mean(np.sum((path - mean) ** 2, axis=1))))
    rms = float(np.hypot(bias, jitter)) if np.isfinite(bias + jitter) else float("inf")
    return {"rms": rms, "bias": bias, "jitter": jitter}


def adam_step_sizes(
    grads: object,
    *,
    lr: float = 1e-3,
    eps: float = 1e-7,
    steps: int = 10,
    beta1: float = 0.9,
    beta2: float = 0.999,
) -> np.ndarray:
    """Run Adam on constant gradients and return the size of each parameter's last step.

    The update is ``theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)``, with ``m_hat`` and
    ``v_hat`` the bias-corrected running averages of the gradient and of its square.

    Args:
        grads: One constant gradient per parameter (a 1-D array).
        lr: Learning rate.
        eps: Adam's epsilon.
        steps: Number of steps.
        beta1: Decay of the gradient's running average.
        beta2: Decay of the squared gradient's running average.

    Returns:
        ``|step|`` of each parameter at the last step, the shape of ``grads``.

    Used in: "Graded exercises".
    """
    g = np.asarray(grads, dtype=np.float64)
    lr, eps = check_positive("lr", lr), check_positive("eps", eps)
    m, v, step = np.zeros_like(g), np.zeros_like(g), np.zeros_like(g)
    for t in range(1, check_int("steps", steps) + 1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        step = lr * m_hat / (np.sqrt(v_hat) + eps)
    return np.abs(step)


def chain_sharpness(depth: int, *, weight: float, x: float) -> float:
    """Largest Hessian eigenvalue of a scalar deep linear chain at an exact fit.

    The chain predicts ``x * w_1 * ... * w_depth`` and the loss is ``1/2 (prediction - y)^2``;
    at every ``w_k = weight`` with ``y = x * weight^depth`` the fit is exact. The Hessian is
    measured by central differences of the gradient (it is never written down).

    Args:
        depth: Number of scalar weights.
        weight: The value of every weight.
        x: The input.

    Returns:
        ``lambda_max``; gradient descent near this point is stable for ``lr < 2 / lambda_max``.

    Used in: "Graded exercises".
    """
    depth = check_int("depth", depth)
    w0 = np.full(depth, float(weight))
    y = float(x) * float(weight) ** depth

    def grad(w: np.ndarray) -> np.ndarray:
        others = np.array([np.prod(np.delete(w, k)) for k in range(depth)])
        return (float(x) * np.prod(w) - y) * float(x) * others

    h = 1e-5
    hess = np.stack(
        [(grad(w0 + h * e) - grad(w0 - h * e)) / (2 * h) for e in np.eye(depth)], axis=1
    )
    return float(np.max(np.linalg.eigvalsh((hess + hess.T) / 2)))
