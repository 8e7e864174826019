"""Wrong answers for the set "Gradient flow in depth (Part IV)"."""

from __future__ import annotations

import numpy as np

B1, B2, EPS = 0.9, 0.999, 1e-7


def adam_paper_epsilon(w, g, m, v, t, lr):  # epsilon beside sqrt(v_hat), not sqrt(v)
    m = B1 * m + (1 - B1) * g
    v = B2 * v + (1 - B2) * g**2
    m_hat, v_hat = m / (1 - B1**t), v / (1 - B2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + EPS), m, v


def adam_no_bias_correction(w, g, m, v, t, lr):
    m = B1 * m + (1 - B1) * g
    v = B2 * v + (1 - B2) * g**2
    return w - lr * m / (np.sqrt(v) + EPS), m, v


def adam_epsilon_inside_sqrt(w, g, m, v, t, lr):
    m = B1 * m + (1 - B1) * g
    v = B2 * v + (1 - B2) * g**2
    alpha = lr * np.sqrt(1 - B2**t) / (1 - B1**t)
    return w - alpha * m / np.sqrt(v + EPS), m, v


def adam_t_from_zero(w, g, m, v, t, lr):  # off by one in the step count
    m = B1 * m + (1 - B1) * g
    v = B2 * v + (1 - B2) * g**2
    alpha = lr * np.sqrt(1 - B2 ** (t + 1)) / (1 - B1 ** (t + 1))
    return w - alpha * m / (np.sqrt(v) + EPS), m, v


def adam_betas_swapped(w, g, m, v, t, lr):
    m = B2 * m + (1 - B2) * g
    v = B1 * v + (1 - B1) * g**2
    alpha = lr * np.sqrt(1 - B1**t) / (1 - B2**t)
    return w - alpha * m / (np.sqrt(v) + EPS), m, v


def adam_in_place(w, g, m, v, t, lr):
    m *= B1
    m += (1 - B1) * g
    v *= B2
    v += (1 - B2) * g**2
    alpha = lr * np.sqrt(1 - B2**t) / (1 - B1**t)
    w -= alpha * m / (np.sqrt(v) + EPS)
    return w, m, v


def layer_norm_over_batch(x, gamma, beta):  # batch norm's axis
    mean, var = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-3) * gamma + beta


def layer_norm_ddof1(x, gamma, beta):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True, ddof=1)
    return (x - mean) / np.sqrt(var + 1e-3) * gamma + beta


def layer_norm_eps_outside(x, gamma, beta):
    mean, std = x.mean(axis=-1, keepdims=True), x.std(axis=-1, keepdims=True)
    return (x - mean) / (std + 1e-3) * gamma + beta


def layer_norm_torch_eps(x, gamma, beta):  # PyTorch's default epsilon, 1e-5
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * gamma + beta


def layer_norm_rms(x, gamma, beta):  # RMSNorm: no centring
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-3) * gamma + beta


def _quadrature(points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    z, weights = np.polynomial.hermite_e.hermegauss(points)
    return z, weights / weights.sum()


def _fixed_point(sigma_w, sigma_b):
    z, weights = _quadrature()
    q = 1.0
    for _ in range(500):
        q = sigma_w**2 * np.sum(weights * np.tanh(np.sqrt(q) * z) ** 2) + sigma_b**2
    return q


def chi1_q_one(sigma_w, sigma_b):  # no fixed point: q = 1
    z, weights = _quadrature()
    return sigma_w**2 * np.sum(weights * (1 - np.tanh(z) ** 2) ** 2)


def chi1_no_sigma_w(sigma_w, sigma_b):
    z, weights = _quadrature()
    q = _fixed_point(sigma_w, sigma_b)
    return np.sum(weights * (1 - np.tanh(np.sqrt(q) * z) ** 2) ** 2)


def chi1_mean_slope_squared(sigma_w, sigma_b):  # E[phi']^2 instead of E[phi'^2]
    z, weights = _quadrature()
    q = _fixed_point(sigma_w, sigma_b)
    return sigma_w**2 * np.sum(weights * (1 - np.tanh(np.sqrt(q) * z) ** 2)) ** 2


def chi1_no_bias(sigma_w, sigma_b):  # sigma_b left out of the map
    z, weights = _quadrature()
    q = _fixed_point(sigma_w, 0.0)
    return sigma_w**2 * np.sum(weights * (1 - np.tanh(np.sqrt(q) * z) ** 2) ** 2)


WRONG = {
    "part_iv.k2_needed": [17, 19, 12, 30],
    "part_iv.adam_step": [
        adam_paper_epsilon,
        adam_no_bias_correction,
        adam_epsilon_inside_sqrt,
        adam_t_from_zero,
        adam_betas_swapped,
        adam_in_place,
    ],
    "part_iv.layer_norm": [
        layer_norm_over_batch,
        layer_norm_ddof1,
        layer_norm_eps_outside,
        layer_norm_torch_eps,
        layer_norm_rms,
    ],
    "part_iv.bn_factors": [
        [4.0, 16.0],  # as if the gradient grew with the weights
        [0.25, 0.25],  # the turn scales like the gradient
        [1.0, 1.0],  # "batch norm makes the scale irrelevant"
        [0.25, 0.5],
    ],
    "part_iv.chi1": [chi1_q_one, chi1_no_sigma_w, chi1_mean_slope_squared, chi1_no_bias],
    "part_iv.noise_ratio": [4, 256, 1, 8],  # std, B^2, none, half
}
