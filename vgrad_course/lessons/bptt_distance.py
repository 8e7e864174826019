"""The full BPTT sum with a loss at every step, term by term: by pair of steps and by distance.

With ``L = sum_t L_t``, a weight's gradient is a double sum over loss steps ``t`` and the
steps ``k <= t`` they reach through the Jacobian ``dh_t/dh_k``::

    dL/dU = sum_t sum_{k<=t} (dL_t/dh_t) (dh_t/dh_k) (d+h_k/dU),

``d+h_k/dU`` the *immediate* partial (``h_{k-1}`` held fixed). For a tanh RNN in Keras'
convention, ``h_t = tanh(x_t W + h_{t-1} U + b)`` (row vectors), the term of the pair ``(t, k)``
is ``h_{k-1}^T delta_k^(t)``, ``delta_k^(t)`` the gradient of ``L_t`` at step ``k``'s
pre-activation. :func:`pair_terms` computes every term in NumPy; :func:`by_distance` adds up
those of equal distance ``t - k``. Chapter 17's ``bptt_contributions`` splits the gradient by
``k`` alone; its ``step_shares`` and ``contribution_norms`` read these sums too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from vgrad_course import data, training
from vgrad_course.seeds import effective_seed
from vgrad_course.validation import check_choice, check_int, check_positive

#: The SimpleRNN weights :func:`pair_terms` splits (Keras' names: W, U, b).
RNN_WEIGHTS: tuple[str, ...] = ("kernel", "recurrent_kernel", "bias")


def running_sums(n: int, seq_len: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem answered at every step: the sum of the marked values seen so far.

    The inputs are :func:`vgrad_course.data.adding_problem`'s; from the second marker on, the
    target is the adding problem's.

    Args:
        n: Number of sequences.
        seq_len: Length of each sequence (at least 2).
        seed: Seed of the data.

    Returns:
        ``(x, y)``: ``x`` float32 ``(n, seq_len, 2)``, ``y`` float32 ``(n, seq_len, 1)``.

    Used in: "The full BPTT sum, and truncating it".
    """
    x, _ = data.adding_problem(n, seq_len, seed=seed)
    y = np.cumsum(x[..., 0] * x[..., 1], axis=1)
    return x, y[..., None].astype(np.float32)


def build_per_step_rnn(
    units: int, *, input_dim: int = 2, recurrent_scale: float = 1.0, seed: int = 0
) -> keras.Model:
    """Build a tanh SimpleRNN that predicts at every step: ``y_t = h_t v + c``.

    Initialised like :func:`vgrad_course.models.build_rnn` (``"simple"``): Glorot-uniform
    kernel, orthogonal recurrent kernel of gain ``recurrent_scale``, zero bias.

    Args:
        units: Hidden units.
        input_dim: Features per step.
        recurrent_scale: Gain of the orthogonal recurrent kernel (its singular values).
        seed: Seed of the initializers.

    Returns:
        An uncompiled model; its recurrent layer is ``rnn`` (``return_sequences=True``), its
        per-step linear read-out ``head``.

    Used in: "The full BPTT sum, and truncating it".
    """
    seed = effective_seed(seed)
    layer = keras.layers.SimpleRNN(
        check_int("units", units),
        return_sequences=True,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(
            gain=check_positive("recurrent_scale", recurrent_scale), seed=seed + 1
        ),
        name="rnn",
    )
    inputs = keras.Input(shape=(None, check_int("input_dim", input_dim)), name="x")
    head = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2), name="head"
    )
    return keras.Model(inputs, head(layer(inputs)), name="per_step_rnn")


def _weights(model: keras.Model) -> tuple[np.ndarray, ...]:
    """``(W, U, b, v, c)`` of a per-step model, float64, or a clear error."""
    names = [layer.name for layer in model.layers]
    if "rnn" not in names or "head" not in names:
        raise ValueError(f"model needs layers 'rnn' and 'head' (build_per_step_rnn), got {names}")
    rnn = model.get_layer("rnn")
    if not isinstance(rnn, keras.layers.SimpleRNN) or rnn.activation is not keras.activations.tanh:
        raise ValueError("layer 'rnn' must be a tanh SimpleRNN")
    if not rnn.return_sequences:
        raise ValueError("layer 'rnn' must return every state (return_sequences=True)")
    return tuple(
        np.asarray(w, dtype=np.float64)
        for w in rnn.get_weights() + model.get_layer("head").get_weights()
    )


def pair_terms(
    model: keras.Model, x: np.ndarray, y: np.ndarray, *, weight: str = "recurrent_kernel"
) -> np.ndarray:
    """Return every term of the BPTT sum of one weight, one per (loss step, reached step).

    The loss is Keras' mean squared error over batch and steps, ``L_t`` the part of step
    ``t``. The backward pass walks back one distance ``t - k`` at a time for all ``t`` at once.

    Args:
        model: A per-step tanh RNN from :func:`build_per_step_rnn` (any weights).
        x: Inputs, shape ``(batch, seq_len, features)``.
        y: Targets, shape ``(batch, seq_len, 1)``.
        weight: ``"recurrent_kernel"`` (U), ``"kernel"`` (W) or ``"bias"`` (b).

    Returns:
        float64 ``(seq_len, seq_len, *weight.shape)``: entry ``[t - 1, k - 1]`` is
        ``(dL_t/dh_t)(dh_t/dh_k)(d+h_k/dweight)`` summed over the batch (0 for ``k > t``).

    Raises:
        ValueError: For a model that is not a per-step tanh RNN, a bad ``weight`` or shapes
            that do not match.

    Used in: "The full BPTT sum, and truncating it".
    """
    check_choice("weight", weight, RNN_WEIGHTS)
    w_x, w_h, b, v, c = _weights(model)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != w_x.shape[0] or y.shape != (*x.shape[:2], 1):
        raise ValueError(
            f"x must be (batch, seq_len, {w_x.shape[0]}) and y (batch, seq_len, 1), "
            f"got {x.shape} and {y.shape}"
        )
    batch, seq_len = x.shape[:2]
    xs = x.transpose(1, 0, 2)  # (seq_len, batch, features): step first
    states = np.zeros((seq_len + 1, batch, w_h.shape[0]))  # states[k] = h_k, h_0 = 0
    for k in range(seq_len):
        states[k + 1] = np.tanh(xs[k] @ w_x + states[k] @ w_h + b)
    error = states[1:] @ v + c - y.transpose(1, 0, 2)  # (seq_len, batch, 1)
    upstream = 2.0 * error @ v.T / (batch * seq_len)  # dL_t/dh_t, (seq_len, batch, units)
    slope = 1.0 - states[1:] ** 2  # tanh' at each step
    reads = {"kernel": xs, "recurrent_kernel": states[:-1], "bias": np.ones((seq_len, batch, 1))}
    read = reads[weight]  # what step k multiplies the weight with: x_k, h_{k-1} or 1
    pairs = np.zeros((seq_len, seq_len, read.shape[2], w_h.shape[0]))
    delta = upstream * slope  # row j: gradient of L_{j+1+d} at step j+1's pre-activation
    for d in range(seq_len):
        span = np.arange(seq_len - d)  # steps k = 1..T-d, reached from t = k + d
        pairs[span + d, span] = np.einsum("kbi,kbj->kij", read[: span.size], delta)
        delta = (delta[1:] @ w_h.T) * slope[: span.size - 1]
    return pairs[:, :, 0] if weight == "bias" else pairs


def by_distance(pairs: np.ndarray) -> np.ndarray:
    """Add up the terms of equal distance ``d = t - k``.

    Args:
        pairs: Terms ``[t - 1, k - 1, ...]`` from :func:`pair_terms` (or their norms).

    Returns:
        float64 ``(seq_len, ...)``: entry ``d`` is ``sum_t pairs[t, t - d]``, what the loss
        terms send to the steps ``d`` behind them.

    Used in: "The full BPTT sum, and truncating it".
    """
    p = np.asarray(pairs, dtype=np.float64)
    if p.ndim < 2 or p.shape[0] != p.shape[1]:
        raise ValueError(f"pairs must be (seq_len, seq_len, ...), got shape {p.shape}")
    return np.stack([np.diagonal(p, -d).sum(axis=-1) for d in range(p.shape[0])])


def schedule(seq_len: int, *, k1: int, k2: int) -> list[tuple[int, int, int]]:
    """List the updates of BPTT(k1, k2) over ``seq_len`` steps (1-based).

    Args:
        seq_len: Steps in the sequence.
        k1: Steps between two updates (and an update at the last step).
        k2: Steps each update reaches back (``k2 >= k1``).

    Returns:
        ``[(start, first, end), ...]``: the update at step ``end`` backpropagates the losses of
        steps ``first..end`` through steps ``start + 1..end``; ``h_start`` enters as a constant.

    Used in: "The full BPTT sum, and truncating it".
    """
    seq_len, k1, k2 = check_int("seq_len", seq_len), check_int("k1", k1), check_int("k2", k2)
    if k2 < k1:
        raise ValueError(f"k2 must be >= k1 (each loss needs its own step), got k1={k1}, k2={k2}")
    ends = [*range(k1, seq_len + 1, k1)] + ([seq_len] if seq_len % k1 else [])
    return [(max(end - k2, 0), (end - 1) // k1 * k1 + 1, end) for end in ends]


def kept_pairs(seq_len: int, *, k1: int, k2: int) -> np.ndarray:
    """Mark the terms of the full BPTT sum that BPTT(k1, k2) keeps.

    Args:
        seq_len: Steps in the sequence.
        k1: Steps between updates.
        k2: Steps each update reaches back.

    Returns:
        bool ``(seq_len, seq_len)``: ``[t - 1, k - 1]`` is True when the loss of step ``t``
        reaches step ``k`` (the layout of :func:`pair_terms`).

    Used in: "The full BPTT sum, and truncating it".
    """
    kept = np.zeros((seq_len, seq_len), dtype=bool)
    for start, first, end in schedule(seq_len, k1=k1, k2=k2):
        kept[first - 1 : end, start:end] = True
    return np.tril(kept)


def split_before_after(
    scales: Mapping[str, float],
    probe: tuple[np.ndarray, np.ndarray],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    units: int = 32,
    steps: int = 100,
    batch_size: int = 64,
    lr: float = 1e-2,
) -> dict[tuple[str, str], list[np.ndarray]]:
    """Split the recurrent kernel's gradient into pair terms, at initialisation and trained.

    Each :func:`build_per_step_rnn` run is split on the probe batch, trained for ``steps`` Adam
    steps on fresh :func:`running_sums` batches of its seed, and split again. One compiled
    model serves all runs (weights and optimizer state reset between them).

    Args:
        scales: ``{label: recurrent_scale}``.
        probe: ``(x, y)`` of :func:`running_sums`, the batch the gradient is split on.
        seeds: One run per seed (initialisation and training data).
        units: Hidden units.
        steps: Adam steps of the "little training".
        batch_size: Sequences per step.
        lr: Adam's learning rate.

    Returns:
        ``{(label, "at init" | "trained"): [pair_terms per seed]}``.

    Used in: "The full BPTT sum, and truncating it".
    """
    x, y = probe
    seq_len, steps = x.shape[1], check_int("steps", steps)
    model = training.compile_model(build_per_step_rnn(units), loss="mse", lr=lr)
    model.optimizer.build(model.trainable_variables)
    fresh = [v.numpy() for v in model.optimizer.variables]
    out: dict[tuple[str, str], list[np.ndarray]] = {}
    for label, scale in scales.items():
        for seed in seeds:
            start = build_per_step_rnn(units, recurrent_scale=scale, seed=seed)
            model.set_weights(start.get_weights())
            for variable, value in zip(model.optimizer.variables, fresh, strict=True):
                variable.assign(value)
            out.setdefault((label, "at init"), []).append(pair_terms(model, x, y))
            x_train, y_train = running_sums(steps * batch_size, seq_len, seed=seed)
            for i in range(0, len(x_train), batch_size):
                model.train_on_batch(x_train[i : i + batch_size], y_train[i : i + batch_size])
            out.setdefault((label, "trained"), []).append(pair_terms(model, x, y))
    return out


def plot_pairs(
    pairs: np.ndarray, *, kept: np.ndarray | None = None, ax: Axes | None = None, title: str = ""
) -> Axes:
    """Draw ``log10`` of every term's norm on the (loss step t, reached step k) grid.

    Args:
        pairs: Terms from :func:`pair_terms` (or their norms).
        kept: Optional bool mask of the grid (e.g. a truncation's): the rest is left blank,
            the colour scale stays that of all terms.
        ax: Where to draw (default: a new figure).
        title: The panel's title.

    Returns:
        The Axes.

    Used in: "The full BPTT sum, and truncating it".
    """
    p = np.asarray(pairs, dtype=np.float64)
    norms = np.sqrt(np.square(p.reshape(*p.shape[:2], -1)).sum(axis=2))
    image = np.log10(np.where(norms > 0, norms, np.nan))
    scale = {"vmin": np.nanmin(image), "vmax": np.nanmax(image), "cmap": "viridis"}
    if kept is not None:
        image = np.where(kept, image, np.nan)
    if ax is None:
        _, ax = plt.subplots()
    steps = np.arange(1, p.shape[0] + 1)
    mesh = ax.pcolormesh(steps, steps, image, shading="nearest", **scale)
    ax.set(xlabel="reached step k", ylabel="loss step t", title=title, aspect="equal")
    ax.grid(False)
    ax.figure.colorbar(mesh, ax=ax, label="log10 ‖term(t, k)‖")
    return ax
