"""The cliff of Pascanu, Mikolov & Bengio (2013, Fig. 6): one recurrent unit, two weights.

The network has one unit, no input and two parameters, a recurrent weight ``w`` and a bias
``b``: ``x_t = w * sigmoid(x_{t-1}) + b`` from ``x_0 = 0.5``; the error after 50 steps is
``E = (sigmoid(x_50) - 0.7) ** 2`` (the paper's section 2.3, equation 8: the error is on
``sigmoid(x_50)``). Only for ``w > 4`` can the map have two stable fixed points; then a small
change of ``(w, b)`` decides which one ``x_0`` falls into, and across that boundary ``E`` jumps:
a thin wall of huge gradient. Everything here is plain
NumPy; the gradient is exact, carried forward through the 50 steps with the state
(forward-mode differentiation), and the tests check it against finite differences and
TensorFlow's autodiff.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullLocator

from vgrad_course.animation import to_html
from vgrad_course.palette import BAD, BLUE
from vgrad_course.validation import check_int, check_positive

#: The paper's setting: initial state, target of ``sigmoid(x_T)`` and number of steps.
X0, TARGET, STEPS = 0.5, 0.7, 50
#: Colours of the runs in :func:`animate_descent`, by label (others cycle through the palette).
COLOURS = {"no clipping": BAD, "clipped": BLUE}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, written with tanh so that no ``exp`` can overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def loss_and_grad(
    w: float | np.ndarray,
    b: float | np.ndarray,
    *,
    steps: int = STEPS,
    x0: float = X0,
    target: float = TARGET,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the error ``(sigmoid(x_T) - target)^2`` and its exact gradient over ``(w, b)``.

    The derivatives of the state travel with it: ``d x_t/d w = s_{t-1} + w s'_{t-1} d x_{t-1}/d w``
    and ``d x_t/d b = 1 + w s'_{t-1} d x_{t-1}/d b``, with ``s = sigmoid(x)``.

    Args:
        w: Recurrent weight(s); broadcast against ``b`` (a grid of both gives a surface).
        b: Bias(es).
        steps: Number of steps ``T`` (the paper: 50).
        x0: Initial state (the paper: 0.5).
        target: Target of ``sigmoid(x_T)`` (the paper: 0.7).

    Returns:
        ``(loss, grad)``: ``loss`` has the broadcast shape of ``w`` and ``b``; ``grad`` has one
        more axis of length 2 holding ``dE/dw`` and ``dE/db``.

    Used in: "Gradient clipping".
    """
    steps = check_int("steps", steps)
    w, b = np.broadcast_arrays(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
    x = np.full(w.shape, float(x0))
    dx_dw, dx_db = np.zeros(w.shape), np.zeros(w.shape)
    for _ in range(steps):
        s = _sigmoid(x)
        slope = w * s * (1.0 - s)  # d x_t / d x_{t-1}
        dx_dw, dx_db = s + slope * dx_dw, 1.0 + slope * dx_db
        x = w * s + b
    s = _sigmoid(x)
    loss = (s - target) ** 2
    outer = 2.0 * (s - target) * s * (1.0 - s)  # dE / dx_T
    return loss, np.stack([outer * dx_dw, outer * dx_db], axis=-1)


def descend(
    start: object, *, lr: float, steps: int, clip_norm: float | None = None
) -> dict[str, np.ndarray]:
    """Run gradient descent on the error from one or many starting points ``(w, b)``.

    With ``clip_norm`` the gradient is rescaled to that norm whenever it is longer, the rule
    of Pascanu et al. (their Algorithm 1, Keras' ``global_clipnorm``).

    Args:
        start: One point ``(w, b)`` or an array of points of shape ``(..., 2)``.
        lr: Learning rate (> 0).
        steps: Number of steps.
        clip_norm: The largest gradient norm a step may use (None: no clipping).

    Returns:
        ``{"path": (steps + 1, ..., 2), "loss": (steps + 1, ...), "grad_norm": (steps, ...)}``:
        every iterate, the error there and the norm of the raw (unclipped) gradient each
        step saw.

    Used in: "Gradient clipping".
    """
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps)
    if clip_norm is not None:
        clip_norm = check_positive("clip_norm", clip_norm)
    p = np.array(start, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"start must be (w, b) or an array of shape (..., 2), got {p.shape}")
    path, losses, norms = [p], [], []
    for _ in range(steps):
        loss, grad = loss_and_grad(p[..., 0], p[..., 1])
        norm = np.linalg.norm(grad, axis=-1)
        if clip_norm is not None:
            grad = grad * np.minimum(1.0, clip_norm / np.maximum(norm, 1e-300))[..., None]
        p = p - lr * grad
        path.append(p)
        losses.append(loss)
        norms.append(norm)
    losses.append(loss_and_grad(p[..., 0], p[..., 1])[0])
    return {"path": np.stack(path), "loss": np.stack(losses), "grad_norm": np.stack(norms)}


def neighbourhood(center: tuple[float, float], *, radius: float, n: int = 7) -> np.ndarray:
    """Return an ``n`` by ``n`` grid of points ``(w, b)`` within ``radius`` of ``center``.

    Args:
        center: The point ``(w, b)`` in the middle.
        radius: Half the side of the square grid (> 0).
        n: Points per side (at least 2).

    Returns:
        An array of shape ``(n * n, 2)``.

    Used in: "Gradient clipping".
    """
    radius = check_positive("radius", radius)
    offsets = np.linspace(-radius, radius, check_int("n", n, minimum=2))
    dw, db = np.meshgrid(offsets, offsets, indexing="ij")
    return np.stack([center[0] + dw.ravel(), center[1] + db.ravel()], axis=-1)


def step_lengths(path: np.ndarray) -> np.ndarray:
    """Return the length of every step of a path.

    Args:
        path: Iterates of shape ``(steps + 1, ..., 2)``, e.g. ``descend(...)["path"]``.

    Returns:
        The distance between consecutive iterates, shape ``(steps, ...)``.

    Used in: "Gradient clipping".
    """
    return np.linalg.norm(np.diff(np.asarray(path), axis=0), axis=-1)


def plot_surface(
    *,
    w_range: tuple[float, float],
    b_range: tuple[float, float],
    resolution: int = 200,
    colorbar: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Draw ``log10`` of the error over a window of ``(w, b)`` as a heat map of a few bands.

    Args:
        w_range: ``(low, high)`` of the recurrent weight (x axis).
        b_range: ``(low, high)`` of the bias (y axis).
        resolution: Grid points per axis.
        colorbar: Draw a colour bar beside the axes.
        ax: Axes to draw on (a new figure if None).

    Returns:
        The Axes drawn on.

    Used in: "Gradient clipping".
    """
    n = check_int("resolution", resolution, minimum=2)
    w, b = np.meshgrid(np.linspace(*w_range, n), np.linspace(*b_range, n))
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    # Few flat colour bands: quick to draw, and the frames of an animation compress well.
    image = ax.imshow(
        np.log10(loss_and_grad(w, b)[0] + 1e-12),
        origin="lower",
        extent=(*w_range, *b_range),
        aspect="auto",
        cmap=plt.get_cmap("viridis", 12),
        interpolation="nearest",
    )
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="log10 error E")
    ax.set(xlabel="recurrent weight w", ylabel="bias b", xlim=w_range, ylim=b_range)
    return ax


def _edge_note(point: np.ndarray, box: np.ndarray) -> tuple[str, np.ndarray]:
    """The note for a point outside the window ``box`` (rows: low and high corner), and where.

    Inside the window the text is empty; outside it names the point, and it is placed just
    inside the window's edge (3% of its size from the border) so that it stays readable.
    """
    outside = bool(np.any(point < box[0]) or np.any(point > box[1]))
    text = f"thrown to ({point[0]:.0f}, {point[1]:.0f})" if outside else ""
    margin = 0.03 * (box[1] - box[0])
    return text, np.clip(point, box[0] + margin, box[1] - margin)


def animate_descent(
    runs: Mapping[str, Mapping[str, np.ndarray]],
    *,
    frames: int,
    w_range: tuple[float, float],
    b_range: tuple[float, float],
    dpi: int = 60,
) -> HTML:
    """Animate gradient-descent runs on the error surface and their error per step.

    Frame ``i`` shows every run up to step ``i * steps // (frames - 1)``. A run that leaves the
    window is marked at the window's edge with the point it was thrown to.

    Args:
        runs: ``{label: result of descend}`` for one start each (paths of shape ``(steps+1, 2)``).
        frames: Number of frames (at least 2, at most ``steps + 1``).
        w_range: The window's range of ``w``.
        b_range: The window's range of ``b``.
        dpi: Resolution of each frame.

    Returns:
        The player from :func:`vgrad_course.animation.to_html`.

    Used in: "Gradient clipping".
    """
    steps = len(next(iter(runs.values()))["grad_norm"])
    frames = check_int("frames", frames, minimum=2)
    if frames > steps + 1:
        raise ValueError(f"frames must be at most steps + 1 = {steps + 1}, got {frames}")
    # Drawn at the frames' dpi, with few fixed ticks and no colour bar (the static plot has
    # one): every frame redraws all text, and text layout is most of a frame's cost.
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 2.9), dpi=dpi)
    plot_surface(w_range=w_range, b_range=b_range, resolution=120, ax=left, colorbar=False)
    left.set_title("log10 E (dark: low, yellow: high)", fontsize=9)
    right.set(xlabel="step", ylabel="error E", yscale="log", xlim=(0, steps))
    losses = np.concatenate([np.ravel(r["loss"]) for r in runs.values()])
    low = 10.0 ** np.floor(np.log10(max(losses.min(), 1e-8)))
    right.set_ylim(low, 10.0)  # headroom above E <= 0.49 for the step counter
    right.set_yticks(np.logspace(np.log10(low), 0, 4), minor=False)
    right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    right.yaxis.set_minor_locator(NullLocator())
    counter = right.text(0.98, 0.92, "", transform=right.transAxes, fontsize=9, ha="right")
    artists = {}
    # Lines without antialiasing: fewer distinct colours, so every frame's PNG stays small.
    # The first run is drawn on top of the others (it is thrown off; they may oscillate).
    for i, label in enumerate(runs):
        colour, z = COLOURS.get(label, f"C{i}"), 3 - i / len(runs)
        kw = {"color": colour, "lw": 1, "aa": False, "zorder": z}
        (line,) = left.plot([], [], ".-", ms=2, label=label, **kw)
        (curve,) = right.plot([], [], **kw)
        style = {"color": colour, "fontsize": 8, "ha": "right", "va": "top"}
        note = left.text(0, 0, "", bbox={"fc": "white", "ec": "none", "pad": 1}, **style)
        artists[label] = (line, curve, note)
    left.legend(loc="lower left", fontsize=8)
    fig.tight_layout()  # once: a layout engine would run again for every frame
    box = np.array([[w_range[0], b_range[0]], [w_range[1], b_range[1]]])

    def update(i: int) -> None:
        t = i * steps // (frames - 1)
        counter.set_text(f"step {t}")
        for label, run in runs.items():
            line, curve, note = artists[label]
            path = run["path"][: t + 1]
            line.set_data(path[:, 0], path[:, 1])
            curve.set_data(np.arange(t + 1), run["loss"][: t + 1])
            text, xy = _edge_note(path[-1], box)
            note.set_text(text)
            note.set_position(xy)

    return to_html(fig, update, frames, dpi=dpi)
