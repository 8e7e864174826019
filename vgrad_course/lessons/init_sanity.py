"""Sanity checks at initialisation: the first loss, the output layer's scale, tanh's gain.

The first loss of a ``C``-class classifier should be ``ln C`` (Karpathy's makemore, part 3);
the first SGD steps of a small tanh MLP (NumPy, weights from Keras, Keras' ``SGD`` step); and the
mean-field length map that predicts a deep tanh network's activations for each gain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import erfc

from vgrad_course.lessons.initialisation import forward_backward
from vgrad_course.probes import TANH_SATURATION, saturation_mask
from vgrad_course.seeds import effective_seed, layer_seed, make_rng
from vgrad_course.validation import check_int, check_positive

#: What :func:`train_sgd` records at each evaluation step, on the held-out batch.
EVAL_RECORDS: tuple[str, ...] = ("eval_loss", "best_loss", "temperature", "logit_std")
_ROWS = 100  # rows per matrix product: OpenBLAS runs larger ones on threads that spin

#: Gauss-Hermite nodes and weights (probabilists'): E[f(z)] = sum(w f(x)) / sqrt(2 pi).
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(101)


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Return the mean softmax cross-entropy ``mean(logsumexp(z) - z_y)``, without overflow.

    Args:
        logits: ``(batch, classes)``.
        y: ``(batch,)`` integer labels.

    Returns:
        The mean loss.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), np.asarray(y)]))


def best_temperature(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Return the ``T`` in ``[0.01, 100]`` that minimises the loss of ``logits / T``, and that loss.

    One divisor changes how confident the predictions are, not their ranking: the loss left at
    the best ``T`` is what the logits know, the rest is a wrong scale.

    Args:
        logits: ``(batch, classes)``.
        y: ``(batch,)`` integer labels.

    Returns:
        ``(T, loss at T)``.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    z = np.asarray(logits, dtype=np.float64)
    if not np.any(z.std(axis=1) > 0):  # constant logits: every T gives the same loss
        return 1.0, cross_entropy(z, y)
    bounds = (np.log(0.01), np.log(100.0))
    res = minimize_scalar(
        lambda t: cross_entropy(z / np.exp(t), y), bounds=bounds, method="bounded"
    )
    return float(np.exp(res.x)), float(res.fun)


def mlp_logits(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Return the logits of a tanh MLP (``models.build_mlp(..., activation="tanh")``) on ``x``.

    Args:
        weights: ``[kernel_1, bias_1, ..., kernel_out, bias_out]``.
        x: Inputs ``(n, features)``.

    Returns:
        ``(n, classes)`` float64 logits.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    out = []
    for start in range(0, len(x), _ROWS):
        h = np.asarray(x[start : start + _ROWS], dtype=np.float64)
        for k, b in zip(weights[0:-2:2], weights[1:-2:2], strict=True):
            h = np.tanh(h @ k + b)
        out.append(h @ weights[-2] + weights[-1])
    return np.concatenate(out)


def _loss_and_grads(w: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, list]:
    """The loss of a tanh MLP on one batch and its gradient, by backpropagation."""
    hs = [x]
    for k, b in zip(w[0:-2:2], w[1:-2:2], strict=True):
        hs.append(np.tanh(hs[-1] @ k + b))
    z = hs[-1] @ w[-2] + w[-1]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = float(np.mean(-np.log(p[rows, y])))
    p[rows, y] -= 1.0
    delta, grads = p / len(y), []
    for i in range(len(hs) - 1, -1, -1):
        grads[:0] = [hs[i].T @ delta, delta.sum(axis=0)]
        if i:
            delta = (delta @ w[2 * i].T) * (1.0 - hs[i] ** 2)
    return loss, grads


def train_sgd(
    weights: Sequence[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    lr: float,
    steps: int,
    batch_size: int,
    eval_data: tuple[np.ndarray, np.ndarray],
    eval_every: int = 10,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Train a tanh MLP classifier with plain SGD, ``w -= lr * dL/dw``, recording every step.

    The loss is the softmax cross-entropy of the logits (:func:`mlp_logits`); batches are a
    new seeded permutation of ``x`` each epoch.

    Args:
        weights: Start weights ``[kernel_1, bias_1, ..., kernel_out, bias_out]``.
        x: Training inputs ``(n, features)``.
        y: Integer labels ``(n,)``.
        lr: Learning rate.
        steps: SGD steps.
        batch_size: Examples per step (at most 100: see ``_ROWS``).
        eval_data: ``(x_eval, y_eval)``, a held-out batch measured every ``eval_every`` steps.
        eval_every: Steps between two measurements (step 0 and the last step included).
        seed: Seed of the batch order.

    Returns:
        ``"loss"``: ``(steps,)``, each batch's loss before its step; ``"eval_step"`` and, per
        name in :data:`EVAL_RECORDS`, its values there: the held-out loss, the loss at the
        :func:`best_temperature`, that temperature, and the std of the held-out logits.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    lr, steps, every = check_positive("lr", lr), check_int("steps", steps), eval_every
    n, batch_size = len(x), check_int("batch_size", batch_size)
    if batch_size > min(n, _ROWS) or check_int("eval_every", every) > steps:
        raise ValueError(f"need batch_size <= {min(n, _ROWS)} and eval_every <= {steps}")
    w = [np.array(v, dtype=np.float64) for v in weights]
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    rng, per_epoch = make_rng(seed), n // batch_size
    out: dict[str, list[float]] = {k: [] for k in ("loss", "eval_step", *EVAL_RECORDS)}
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            logits = mlp_logits(w, eval_data[0])
            temperature, best = best_temperature(logits, eval_data[1])
            values = (step, cross_entropy(logits, eval_data[1]), best, temperature, logits.std())
            for name, value in zip(("eval_step", *EVAL_RECORDS), values, strict=True):
                out[name].append(value)
        if step == steps:
            break
        if step % per_epoch == 0:
            order = rng.permutation(n)
        batch = order[(step % per_epoch) * batch_size : (step % per_epoch + 1) * batch_size]
        loss, grads = _loss_and_grads(w, x[batch], y[batch])
        out["loss"].append(loss)
        w = [v - lr * g for v, g in zip(w, grads, strict=True)]
    return {k: np.asarray(v) for k, v in out.items()}


def tanh_through_depth(
    depth: int, width: int, *, gain: float, batch: int = 256, seed: int = 0
) -> dict[str, np.ndarray]:
    """Measure a deep bias-free tanh MLP at initialisation, layer by layer, for one weight gain.

    Kernels come from Keras' ``VarianceScaling(scale=gain**2, mode="fan_in",
    distribution="untruncated_normal")``, i.e. ``N(0, gain^2 / fan_in)``; inputs are standard
    normal; the backward pass is :func:`vgrad_course.lessons.initialisation.forward_backward`.

    Args:
        depth: Layers.
        width: Units per layer (and input features).
        gain: The weight gain (1: LeCun; 5/3: the usual tanh gain).
        batch: Inputs.
        seed: Seed of the kernels (layer ``i``: ``layer_seed(seed, i)``) and the inputs.

    Returns:
        ``{"activation_std", "saturated", "gradient_std"}``, each ``(depth,)``, input side
        first; ``saturated`` is the fraction of units with ``|tanh| > 0.97``.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    scale, width = check_positive("gain", gain) ** 2, check_int("width", width)
    weights = []
    for i in range(1, check_int("depth", depth) + 1):
        seed_i = effective_seed(layer_seed(seed, i))
        init = keras.initializers.VarianceScaling(
            scale, mode="fan_in", distribution="untruncated_normal", seed=seed_i
        )
        weights.append(np.asarray(init((width, width)), dtype=np.float64))
    x = make_rng(seed).standard_normal((check_int("batch", batch), width))
    acts, grads = forward_backward(x, weights, activation="tanh", seed=seed)
    return {
        "activation_std": np.array([a.std() for a in acts]),
        "saturated": np.array([saturation_mask(a, "tanh").mean() for a in acts]),
        "gradient_std": np.array([g.std() for g in grads]),
    }


def gaussian_average(f: Callable[[np.ndarray], np.ndarray], q: float | np.ndarray) -> np.ndarray:
    """Return ``E[f(sqrt(q) z)]`` for ``z ~ N(0, 1)``, for every entry of ``q`` (quadrature).

    Args:
        f: A vectorised function of one array (e.g. ``np.tanh``).
        q: Variances (>= 0).

    Returns:
        Array of the shape of ``q``.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    q = np.asarray(q, dtype=np.float64)
    if np.any(q < 0):
        raise ValueError(f"q must be >= 0, got {q}")
    return (f(np.sqrt(q)[..., None] * _NODES) * _WEIGHTS).sum(axis=-1) / np.sqrt(2 * np.pi)


def preactivation_variances(
    depth: int, *, sigma_w: float | np.ndarray, sigma_b: float | np.ndarray = 0.0
) -> np.ndarray:
    """Iterate the length map: the mean-field variance ``q_l`` of each layer's pre-activations.

    Inputs of mean square 1, weights of variance ``sigma_w^2 / fan_in``: ``q_1 = sigma_w^2 +
    sigma_b^2``, ``q_{l+1} = sigma_w^2 E[tanh(sqrt(q_l) z)^2] + sigma_b^2`` (Poole et al. 2016).

    Args:
        depth: Number of layers.
        sigma_w: Weight scale(s), broadcast against ``sigma_b``.
        sigma_b: Standard deviation(s) of the biases.

    Returns:
        Array ``q_1 .. q_depth`` of shape ``(depth, *broadcast shape)``.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    sw2, sb2 = np.asarray(sigma_w, dtype=np.float64) ** 2, np.asarray(sigma_b, np.float64) ** 2
    q = [sw2 + sb2]
    for _ in range(check_int("depth", depth) - 1):
        q.append(_length_map(q[-1], sw2, sb2))
    return np.array(q)


def _length_map(q: np.ndarray, sw2: np.ndarray, sb2: np.ndarray) -> np.ndarray:
    return sw2 * gaussian_average(lambda h: np.tanh(h) ** 2, q) + sb2


def fixed_point(sigma_w: float | np.ndarray, sigma_b: float | np.ndarray = 0.0) -> np.ndarray:
    """Return ``q*``, where the length map from ``q_1`` settles (at most 2,000 layers).

    Args:
        sigma_w: Weight scale(s).
        sigma_b: Bias standard deviation(s).

    Returns:
        ``q*`` (small but > 0 for ``sigma_b = 0, sigma_w <= 1``, where ``q_l`` creeps to 0).

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    sw2, sb2 = np.asarray(sigma_w, dtype=np.float64) ** 2, np.asarray(sigma_b, np.float64) ** 2
    q = sw2 + sb2
    for _ in range(2000):
        q, old = _length_map(q, sw2, sb2), q
        if np.all(np.abs(q - old) <= 1e-13 * (1.0 + old)):
            break
    return q


def tanh_mean_field(depth: int, *, gain: float) -> dict[str, np.ndarray]:
    """Predict what :func:`tanh_through_depth` measures, from the length map.

    Layer ``l``: activation std ``sqrt(E[tanh(sqrt(q_l) z)^2])``, saturated fraction
    ``P(|tanh(sqrt(q_l) z)| > 0.97)``, gradient mean square ``* gain^2 E[tanh'(sqrt(q_l) z)^2]``.

    Args:
        depth: Layers.
        gain: The weight gain ``sigma_w`` (no biases).

    Returns:
        ``{"activation_std", "saturated"}``, each ``(depth,)``, and ``"gradient_ratio"``: the
        gradient std at layer 1 over that at layer ``depth``, ``sqrt(chi_2 ... chi_depth)``.

    Used in: "Initialisation, checked: the first loss, the gain, and isometry".
    """
    q = preactivation_variances(depth, sigma_w=gain)
    chi = gain**2 * gaussian_average(lambda h: (1.0 - np.tanh(h) ** 2) ** 2, q[1:])
    act = np.sqrt(gaussian_average(lambda h: np.tanh(h) ** 2, q))
    sat = erfc(np.arctanh(TANH_SATURATION) / np.sqrt(2 * q))
    return {"activation_std": act, "saturated": sat, "gradient_ratio": np.prod(chi) ** 0.5}
