"""Where to put layer norm in a residual stack: after the addition (post-LN) or in the branch.

A residual stack of ``depth`` blocks of constant width carries a stream ``x_l``; each block adds
a branch ``F(u) = ReLU(u W_in + b_in) W_out + b_out`` (a two-layer MLP, the shape of a
Transformer's feed-forward sub-layer; there is no attention here) and a layer norm ``LN``:

- post-LN (the original Transformer): ``x_{l+1} = LN(x_l + F(x_l))``;
- pre-LN (Xiong et al. 2020): ``x_{l+1} = x_l + F(LN(x_l))``, and one more ``LN`` before the
  output layer.

The stack reads MNIST-1D through a linear projection ``x_0 = x P + b`` and ends in a Dense layer
of logits. Every kernel starts from Keras' ``glorot_uniform``, every bias at 0, every layer norm
at scale 1 and shift 0 (epsilon 1e-3, Keras' default). It is written in NumPy with its backward
pass (the tests check it against Keras), so that many depths and seeds cost little.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from vgrad_course import plotting
from vgrad_course.lessons.norm_axes import (
    adam_update,
    batch_order,
    glorot_uniform,
    norm_backward,
    norm_forward,
    softmax_cross_entropy,
)
from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_choice, check_int, check_positive

#: Where the layer norm sits: after the addition, or at the start of the branch.
PLACEMENTS: tuple[str, ...] = ("post", "pre")
#: Examples per backward pass: larger products make NumPy's BLAS start threads that spin.
CHUNK = 64


def init_stack(
    depth: int, width: int, *, input_dim: int = 40, output_dim: int = 10, seed: int = 0
) -> dict[str, np.ndarray]:
    """Return the initial parameters of a residual stack (the same for both placements).

    Names: ``project_kernel``/``project_bias``; for block ``l`` = 1..depth ``kernel_in_l``,
    ``bias_in_l``, ``kernel_out_l``, ``bias_out_l``, ``gamma_l``, ``beta_l``; the final layer
    norm's ``gamma_final``/``beta_final`` (used by pre-LN only); ``output_kernel``/``output_bias``.

    Args:
        depth: Residual blocks.
        width: Width of the stream and of the branches.
        input_dim: Features per example.
        output_dim: Classes.
        seed: Seed of the generator (shifted by ``VGRAD_SEED_OFFSET``).

    Returns:
        ``{name: array}``.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    depth, width = check_int("depth", depth), check_int("width", width)
    rng = make_rng(seed)
    p = {"project_kernel": glorot_uniform(rng, check_int("input_dim", input_dim), width)}
    p["project_bias"] = np.zeros(width)
    for i in range(1, depth + 1):
        for part in ("in", "out"):
            p[f"kernel_{part}_{i}"] = glorot_uniform(rng, width, width)
            p[f"bias_{part}_{i}"] = np.zeros(width)
    for i in [*range(1, depth + 1), "final"]:
        p[f"gamma_{i}"], p[f"beta_{i}"] = np.ones(width), np.zeros(width)
    p["output_kernel"] = glorot_uniform(rng, width, check_int("output_dim", output_dim))
    p["output_bias"] = np.zeros(output_dim)
    return p


def _ln(p: dict, i: object, h: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Apply layer norm ``i`` (scale and shift included); return the output and its cache."""
    z_hat, cache = norm_forward(h, "layer")
    return z_hat * p[f"gamma_{i}"] + p[f"beta_{i}"], (z_hat, cache)


def _ln_backward(p: dict, i: object, grad: np.ndarray, saved: tuple, grads: dict) -> np.ndarray:
    """Store layer norm ``i``'s scale and shift gradients; return dL/d(its input)."""
    z_hat, cache = saved
    grads[f"gamma_{i}"], grads[f"beta_{i}"] = (grad * z_hat).sum(axis=0), grad.sum(axis=0)
    return norm_backward(grad * p[f"gamma_{i}"], cache)


def stack_loss_and_grads(
    params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, *, placement: str
) -> tuple[float, dict[str, np.ndarray], list[np.ndarray]]:
    """Return the mean cross-entropy, its gradient per parameter and dL/dx_l for the stream.

    Args:
        params: From :func:`init_stack` (or trained).
        x: Inputs, shape ``(batch, input_dim)``.
        y: Integer labels.
        placement: ``"post"`` or ``"pre"``.

    Returns:
        ``(loss, grads, stream)``: ``stream[l]`` is dL/dx_l, shape ``(batch, width)``, for
        ``l = 0 .. depth`` (``x_0`` is the projection's output). Pre-LN's ``gamma_final`` and
        ``beta_final`` get gradients; post-LN leaves them out.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    check_choice("placement", placement, PLACEMENTS)
    p, pre = params, placement == "pre"
    depth = sum(name.startswith("kernel_in_") for name in p)
    x = np.asarray(x, dtype=np.float64)
    h, saved = x @ p["project_kernel"] + p["project_bias"], []
    for i in range(1, depth + 1):
        u, norm_in = _ln(p, i, h) if pre else (h, None)
        z = u @ p[f"kernel_in_{i}"] + p[f"bias_in_{i}"]
        a = np.maximum(z, 0.0)
        s = h + a @ p[f"kernel_out_{i}"] + p[f"bias_out_{i}"]
        h, norm_out = (s, None) if pre else _ln(p, i, s)
        saved.append((u, z, a, norm_in, norm_out))
    top, final = _ln(p, "final", h) if pre else (h, None)
    d, loss = softmax_cross_entropy(top @ p["output_kernel"] + p["output_bias"], y)
    grads = {"output_kernel": top.T @ d, "output_bias": d.sum(axis=0)}
    dh = d @ p["output_kernel"].T
    if pre:
        dh = _ln_backward(p, "final", dh, final, grads)
    stream = [dh]
    for i in range(depth, 0, -1):
        u, z, a, norm_in, norm_out = saved[i - 1]
        ds = dh if pre else _ln_backward(p, i, dh, norm_out, grads)
        grads[f"kernel_out_{i}"], grads[f"bias_out_{i}"] = a.T @ ds, ds.sum(axis=0)
        dz = (ds @ p[f"kernel_out_{i}"].T) * (z > 0)
        grads[f"kernel_in_{i}"], grads[f"bias_in_{i}"] = u.T @ dz, dz.sum(axis=0)
        du = dz @ p[f"kernel_in_{i}"].T
        dh = ds + (_ln_backward(p, i, du, norm_in, grads) if pre else du)
        stream.append(dh)
    grads["project_kernel"], grads["project_bias"] = x.T @ dh, dh.sum(axis=0)
    return loss, grads, stream[::-1]


def branch_grad_norms(params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> np.ndarray:
    """Return, per block (input side first), the norm of the gradient of both branch kernels.

    ``sqrt(||dL/dW_in||^2 + ||dL/dW_out||^2)`` for each block.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    depth = sum(name.startswith("kernel_in_") for name in params)
    return np.array(
        [
            np.sqrt(sum(np.square(grads[f"kernel_{part}_{i}"]).sum() for part in ("in", "out")))
            for i in range(1, depth + 1)
        ]
    )


def gradient_profiles(
    x: np.ndarray,
    y: np.ndarray,
    *,
    depths: Sequence[int],
    seeds: Sequence[int] = (0, 1, 2),
    width: int = 64,
) -> dict[tuple[str, int], np.ndarray]:
    """Measure the branch-kernel gradient norm of every block at initialisation.

    For each placement, depth and seed, the stack of :func:`init_stack` (the same weights for
    both placements) is differentiated once on the batch ``(x, y)``.

    Args:
        x: A batch of inputs (differentiated in chunks of ``CHUNK`` examples).
        y: Its labels.
        depths: Numbers of blocks.
        seeds: Seeds of the initial weights.
        width: Width of the stack.

    Returns:
        ``{(placement, depth): array of shape (len(seeds), depth)}``, input side first.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    if not depths or not seeds:
        raise ValueError("give at least one depth and one seed")
    profiles = {}
    for depth in depths:
        starts = [init_stack(depth, width, input_dim=np.shape(x)[1], seed=s) for s in seeds]
        for placement in PLACEMENTS:
            rows = []
            for p in starts:
                grads = {}
                for start in range(0, len(x), CHUNK):  # the gradient of the mean loss
                    part = slice(start, start + CHUNK)
                    g = stack_loss_and_grads(p, x[part], y[part], placement=placement)[1]
                    for name, value in g.items():
                        grads[name] = grads.get(name, 0.0) + value * len(x[part]) / len(x)
                rows.append(branch_grad_norms(p, grads))
            profiles[(placement, depth)] = np.array(rows)
    return profiles


def train_stack(
    x: np.ndarray,
    y: np.ndarray,
    *,
    placement: str,
    depth: int,
    lr: float,
    steps: int,
    batch_size: int = 64,
    warmup: int = 0,
    width: int = 64,
    seed: int = 0,
) -> np.ndarray:
    """Train a residual stack with Keras' Adam at a fixed learning rate, or after a warm-up.

    Args:
        x: Training inputs.
        y: Integer labels.
        placement: ``"post"`` or ``"pre"``.
        depth: Residual blocks.
        lr: Adam's learning rate.
        steps: Optimiser steps.
        batch_size: Examples per step.
        warmup: Steps over which the learning rate rises linearly from ``lr / warmup`` to
            ``lr`` (0: none, the learning rate is ``lr`` from the first step).
        width: Width of the stack.
        seed: Seed of the initial weights and of the batch order.

    Returns:
        The training loss of every step's batch.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    lr = check_positive("lr", lr)
    warmup = check_int("warmup", warmup, minimum=0)
    params = init_stack(depth, width, input_dim=np.shape(x)[1], seed=seed)
    state, losses = {}, []
    for t, idx in enumerate(batch_order(len(x), steps, batch_size, seed=seed), start=1):
        loss, grads, _ = stack_loss_and_grads(params, x[idx], y[idx], placement=placement)
        adam_update(params, grads, state, lr=lr * min(1.0, t / warmup) if warmup else lr)
        losses.append(loss)
    return np.array(losses)


def plot_profiles(profiles: dict, depths: Sequence[int]) -> np.ndarray:
    """Per-block branch gradient norms (median over seeds), post-LN and pre-LN side by side.

    Args:
        profiles: ``{(placement, depth): array (seeds, depth)}`` from :func:`gradient_profiles`.
        depths: The depths to draw, one curve each, against the relative position ``l / L``.

    Returns:
        The two Axes.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    _, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True, layout="constrained")
    for ax, placement in zip(axes, PLACEMENTS, strict=True):
        for depth in depths:
            plotting.plot_curves(
                {f"L = {depth}": np.median(profiles[placement, depth], axis=0)},
                x=np.arange(1, depth + 1) / depth,
                ax=ax,
                title=f"{placement}-LN",
                xlabel="block ℓ / L (input → output)",
                ylabel="‖∂L/∂W‖ of block ℓ's branch",
                logy=True,
            )
    return axes


def plot_training(losses: dict[str, np.ndarray], *, window: int = 20) -> Axes:
    """Training loss per placement: the median over seeds, as a moving average.

    Args:
        losses: ``{placement: array (seeds, steps)}`` from :func:`train_stack` runs.
        window: Steps in the moving average.

    Returns:
        The Axes.

    Used in: "Layer normalisation, RMSNorm, and where to put them".
    """
    kernel = np.ones(check_int("window", window)) / window
    curves = {
        f"{placement}-LN": np.convolve(np.median(runs, axis=0), kernel, "valid")
        for placement, runs in losses.items()
    }
    return plotting.plot_curves(
        curves,
        xlabel="step",
        ylabel=f"training loss (median of {len(next(iter(losses.values())))} seeds)",
        baseline=np.log(10),
        baseline_label="ln 10 (chance)",
    )
