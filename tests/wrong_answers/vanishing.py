"""Wrong answers for the set "Vanishing gradients in deep networks"."""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import sigmoid


def chain_no_w(h0, w, depth):
    h, g = h0, 1.0
    for _ in range(depth):
        s = float(sigmoid(w * h))
        g, h = g * s * (1 - s), s
    return g


def chain_off_by_one(h0, w, depth):
    return chain_no_w(h0, w, depth - 1) * w ** (depth - 1)


def _forward(x, weights):
    hs = [x]
    for w in weights:
        hs.append(sigmoid(hs[-1] @ w))
    return hs


def norms_no_slope(x, weights, grad_out):
    hs, g, out = _forward(x, weights), grad_out, []
    for k in reversed(range(len(weights))):
        out.append(np.linalg.norm(hs[k].T @ g))  # sigma' forgotten
        g = g @ weights[k].T
    return np.array(out[::-1])


def norms_last_first(x, weights, grad_out):
    hs, g, out = _forward(x, weights), grad_out, []
    for k in reversed(range(len(weights))):
        gz = g * hs[k + 1] * (1 - hs[k + 1])
        out.append(np.linalg.norm(hs[k].T @ gz))
        g = gz @ weights[k].T
    return np.array(out)  # in backward order: last layer first


def norms_slope_of_input(x, weights, grad_out):
    hs, g, out = _forward(x, weights), grad_out, []
    for k in reversed(range(len(weights))):
        gz = g * hs[k] * (1 - hs[k])  # sigma' of the layer's input: one layer off
        out.append(np.linalg.norm(hs[k].T @ gz))
        g = gz @ weights[k].T
    return np.array(out[::-1])


def norms_no_transpose(x, weights, grad_out):
    hs, g, out = _forward(x, weights), grad_out, []
    for k in reversed(range(len(weights))):
        gz = g * hs[k + 1] * (1 - hs[k + 1])
        out.append(np.linalg.norm(hs[k].T @ gz))
        g = gz @ weights[k] if weights[k].shape[0] == weights[k].shape[1] else gz @ weights[k].T
    return np.array(out[::-1])  # square layers: W instead of W^T


def norms_batch_mean(x, weights, grad_out):
    return norms_last_first(x, weights, grad_out)[::-1] / len(x)  # a mean over the batch


def norms_spectral(x, weights, grad_out):
    hs, g, out = _forward(x, weights), grad_out, []
    for k in reversed(range(len(weights))):
        gz = g * hs[k + 1] * (1 - hs[k + 1])
        out.append(np.linalg.norm(hs[k].T @ gz, 2))  # the spectral norm, not Frobenius
        g = gz @ weights[k].T
    return np.array(out[::-1])


WRONG = {
    "vanishing.chain_grad": [chain_no_w, lambda h0, w, depth: 0.25**depth, chain_off_by_one],
    "vanishing.bound": [0.25**19, 1.0, 0.25**20 / 2, 0.0],  # 0.0: what finite differences print
    "vanishing.smallest_layer": ["c", "first", 0],
    "vanishing.layer_norms": [
        norms_no_slope,
        norms_last_first,
        norms_slope_of_input,
        norms_no_transpose,
        norms_batch_mean,
        norms_spectral,
    ],
    # no epsilon (both lr); plain SGD (lr * g); lr * g / eps for the small one; swapped
    "vanishing.adam_steps": [(1e-3, 1e-3), (1e-5, 2e-11), (1e-3, 2e-4), (1.667e-4, 1e-3)],
    # the chapter's SGD rate 0.5; a rate for the last layer (ratio 1e-3 there); 10x too large
    "vanishing.update_lr": [0.5, 1e-3, 3e4],
}
