"""Gradient descent on small problems: quadratics, a line fit, full-batch and mini-batch steps.

Everything here is plain NumPy so that every number can be checked by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from vgrad_course.palette import GREY
from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_int, check_positive

GradFn = Callable[[np.ndarray], np.ndarray]
LossFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Quadratic:
    """The quadratic bowl ``L(w) = 1/2 * sum_i c_i (w_i - m_i)^2`` with curvatures ``c_i``.

    Attributes:
        curvatures: The second derivatives ``c_i > 0`` along each axis.
        center: The minimiser ``m`` (zeros if None).

    Used in: "Gradient descent".
    """

    curvatures: tuple[float, ...]
    center: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        c = np.asarray(self.curvatures, dtype=float)
        if c.ndim != 1 or c.size == 0 or not np.all(c > 0):
            raise ValueError(f"curvatures must be positive numbers, got {self.curvatures!r}")
        if self.center is not None and len(self.center) != c.size:
            raise ValueError(f"center needs {c.size} values, got {self.center!r}")

    @property
    def _c(self) -> np.ndarray:
        return np.asarray(self.curvatures, dtype=float)

    @property
    def _m(self) -> np.ndarray:
        return np.zeros(len(self.curvatures)) if self.center is None else np.asarray(self.center)

    def loss(self, w: np.ndarray) -> np.ndarray:
        """Return the loss at ``w`` (shape ``(..., d)``; broadcasts over leading axes)."""
        return 0.5 * np.sum(self._c * (np.asarray(w, dtype=float) - self._m) ** 2, axis=-1)

    def grad(self, w: np.ndarray) -> np.ndarray:
        """Return the gradient ``c * (w - m)`` at ``w``."""
        return self._c * (np.asarray(w, dtype=float) - self._m)

    @property
    def max_stable_lr(self) -> float:
        """The largest learning rate for which gradient descent converges: ``2 / max(c)``."""
        return 2.0 / float(self._c.max())


def gradient_descent(grad_fn: GradFn, w0: object, *, lr: float, steps: int) -> np.ndarray:
    """Run ``steps`` steps of ``w <- w - lr * grad_fn(w)`` and return every iterate.

    A diverging run is not stopped: its iterates grow to ``inf``/``nan`` (without warnings),
    which is exactly what one wants to see.

    Args:
        grad_fn: Function returning the gradient at ``w``.
        w0: Starting point (scalar or vector).
        lr: Learning rate (> 0).
        steps: Number of steps (>= 0).

    Returns:
        Array of shape ``(steps + 1, d)``: ``w0`` then each iterate.

    Used in: "Gradient descent".
    """
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps, minimum=0)
    w = np.atleast_1d(np.asarray(w0, dtype=float)).copy()
    path = [w.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            w = w - lr * np.asarray(grad_fn(w), dtype=float)
            path.append(w.copy())
    return np.stack(path)


def largest_convergent_lr(grad_fn: GradFn, w0: object, lrs: object, *, steps: int = 200) -> float:
    """Return the largest learning rate in ``lrs`` for which gradient descent makes progress.

    A run "converges" when, after ``steps`` steps, the gradient norm is below half its
    starting value; on a quadratic this happens exactly when ``lr < 2 / max curvature``
    (for ``steps`` large enough).

    Args:
        grad_fn: Function returning the gradient at ``w``.
        w0: Starting point.
        lrs: Candidate learning rates (any order).
        steps: Steps per run.

    Returns:
        The largest convergent learning rate, or ``nan`` if none converges.

    Used in: "Gradient descent".
    """
    candidates = np.sort(np.asarray(lrs, dtype=float).reshape(-1))
    if candidates.size == 0:
        raise ValueError("lrs must contain at least one learning rate")
    start = np.linalg.norm(grad_fn(np.atleast_1d(np.asarray(w0, dtype=float))))
    best = float("nan")
    with np.errstate(over="ignore", invalid="ignore"):
        for lr in candidates:
            end = np.linalg.norm(grad_fn(gradient_descent(grad_fn, w0, lr=lr, steps=steps)[-1]))
            if np.isfinite(end) and end < 0.5 * start:
                best = float(lr)
    return best


@dataclass(frozen=True)
class LineFit:
    """Least-squares fit of ``y = w x + b``: ``L(w, b) = 1/2 mean((w x + b - y)^2)``.

    Attributes:
        x: Inputs, shape ``(n,)`` or ``(n, 1)``.
        y: Targets, same length.

    Used in: "Gradient descent".
    """

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=float).reshape(-1)
        y = np.asarray(self.y, dtype=float).reshape(-1)
        if x.size == 0 or x.size != y.size:
            raise ValueError(f"x and y need the same non-zero length, got {x.size} and {y.size}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    def loss(self, params: np.ndarray) -> np.ndarray:
        """Return the loss at ``params = (w, b)`` (shape ``(..., 2)``; broadcasts)."""
        p = np.asarray(params, dtype=float)
        pred = p[..., :1] * self.x + p[..., 1:2]
        return 0.5 * np.mean((pred - self.y) ** 2, axis=-1)

    def grad(self, params: np.ndarray, *, idx: np.ndarray | None = None) -> np.ndarray:
        """Return ``(dL/dw, dL/db)``, on the examples ``idx`` only if given (a mini-batch)."""
        w, b = np.asarray(params, dtype=float)
        x, y = (self.x, self.y) if idx is None else (self.x[idx], self.y[idx])
        residual = w * x + b - y
        return np.array([np.mean(residual * x), np.mean(residual)])

    def solution(self) -> np.ndarray:
        """Return the exact minimiser ``(w*, b*)`` from ``numpy.linalg.lstsq``."""
        design = np.stack([self.x, np.ones_like(self.x)], axis=1)
        return np.linalg.lstsq(design, self.y, rcond=None)[0]


def minibatch_sgd(
    problem: LineFit,
    params0: object,
    *,
    lr: float,
    epochs: int,
    batch_size: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Run (mini-batch) stochastic gradient descent on a :class:`LineFit` and return the path.

    Each epoch shuffles the examples and takes one step per batch of ``batch_size``;
    ``batch_size=None`` uses all examples (full-batch gradient descent, one step per epoch).

    Args:
        problem: The least-squares problem.
        params0: Starting ``(w, b)``.
        lr: Learning rate (> 0).
        epochs: Passes over the data.
        batch_size: Examples per step (None: the whole data set).
        seed: Seed of the shuffling generator.

    Returns:
        Array of shape ``(steps + 1, 2)`` with the parameters before and after every step.

    Used in: "Gradient descent".
    """
    lr = check_positive("lr", lr)
    epochs = check_int("epochs", epochs, minimum=0)
    n = problem.x.size
    batch_size = n if batch_size is None else check_int("batch_size", batch_size)
    rng = make_rng(seed)
    p = np.asarray(params0, dtype=float).reshape(2).copy()
    path = [p.copy()]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            p = p - lr * problem.grad(p, idx=order[start : start + batch_size])
            path.append(p.copy())
    return np.stack(path)


def plot_descent_1d(
    loss_fn: LossFn,
    trajectories: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    xlim: tuple[float, float] = (-2.0, 2.0),
    xlabel: str = "weight w",
    max_points: int = 12,
) -> Axes:
    """Draw a 1-D loss curve and, on it, the first iterates of each trajectory.

    Args:
        loss_fn: Loss of a weight array of shape ``(..., 1)``.
        trajectories: ``{label: iterates of shape (steps + 1, 1)}``.
        ax: Axes to draw on (a new figure if None).
        xlim: Range of weights drawn.
        xlabel: Label of the x axis.
        max_points: Draw at most this many iterates per trajectory.

    Returns:
        The Axes drawn on.

    Used in: "Gradient descent".
    """
    if ax is None:
        _, ax = plt.subplots()
    grid = np.linspace(*xlim, 400)[:, None]
    ax.plot(grid[:, 0], loss_fn(grid), color=GREY, linewidth=1, label="loss")
    for label, path in trajectories.items():
        w = np.asarray(path, dtype=float)[:max_points, :1]
        keep = np.isfinite(w[:, 0]) & (w[:, 0] >= xlim[0]) & (w[:, 0] <= xlim[1])
        ax.plot(w[keep, 0], loss_fn(w[keep]), marker="o", markersize=4, label=label)
    ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss L(w)")
    ax.legend()
    return ax


def plot_contours(
    loss_fn: LossFn,
    trajectories: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    xlim: tuple[float, float] = (-2.0, 2.0),
    ylim: tuple[float, float] = (-2.0, 2.0),
    levels: int = 15,
    labels: tuple[str, str] = ("$w_1$", "$w_2$"),
    marker_size: float = 3.0,
) -> Axes:
    """Draw the contour lines of a 2-D loss and gradient-descent paths on top of them.

    Args:
        loss_fn: Loss of parameters of shape ``(..., 2)``.
        trajectories: ``{label: iterates of shape (steps + 1, 2)}``.
        ax: Axes to draw on (a new figure if None).
        xlim: Range of the first parameter.
        ylim: Range of the second parameter.
        levels: Number of contour levels (spaced evenly in log-loss).
        labels: Names of the two parameters (axis labels).
        marker_size: Size of the markers at each iterate (0 for lines only).

    Returns:
        The Axes drawn on.

    Used in: "Gradient descent".
    """
    if ax is None:
        _, ax = plt.subplots()
    g1, g2 = np.meshgrid(np.linspace(*xlim, 200), np.linspace(*ylim, 200))
    values = loss_fn(np.stack([g1, g2], axis=-1))
    low = max(float(values.min()), 1e-6 * float(values.max()))
    ax.contour(g1, g2, values, levels=np.geomspace(low, values.max(), levels), cmap="Greys_r")
    for label, path in trajectories.items():
        p = np.asarray(path, dtype=float)
        p = p[np.all(np.isfinite(p), axis=1)]
        ax.plot(p[:, 0], p[:, 1], marker="o", markersize=marker_size, linewidth=1.2, label=label)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.legend(loc="upper right", fontsize=8)
    return ax
