"""Small NumPy experiments that exercises ask you to run (and that checks re-run).

They are deterministic given ``seed`` and take milliseconds, so a check can repeat the
experiment with your chosen setting instead of trusting a number you typed. Their seeds are
used as given (``VGRAD_SEED_OFFSET`` does not shift them): the check and your notebook must
run the very same experiment. The activation maths is the course's one home for it,
:mod:`vgrad_course.activations`.
"""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import activate, derivative
from vgrad_course.validation import check_int, check_positive


def orthogonal(n: int, *, seed: int = 0) -> np.ndarray:
    """Draw a random ``n x n`` orthogonal matrix (QR of a Gaussian matrix, signs fixed).

    Args:
        n: Size.
        seed: Random seed.

    Returns:
        An orthogonal matrix.

    Used in: "Graded exercises".
    """
    n = check_int("n", n)
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def mlp_probe(
    depth: int,
    width: int,
    *,
    activation: str = "tanh",
    weight_std: float = 1.0,
    residual: bool = False,
    batch: int = 64,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Run one forward and backward pass through a random square MLP and measure it per layer.

    Layer ``k`` computes ``h <- act(h @ W_k)`` (plus ``h`` itself when ``residual``), weights
    ``N(0, weight_std^2)``, inputs ``N(0, 1)``; the loss is ``mean_batch(h_L . c)`` for a fixed
    random direction ``c``.

    Args:
        depth: Number of layers.
        width: Units per layer (also the input size).
        activation: A name in :data:`vgrad_course.activations.ACTIVATIONS`, e.g. ``"tanh"``.
        weight_std: Standard deviation of every weight.
        residual: Add a skip connection around every layer.
        batch: Number of inputs.
        seed: Random seed.

    Returns:
        ``act_std`` (std of each layer's output), ``weight_grad_norm`` (norm of dL/dW_k),
        ``weight_norm`` (norm of W_k) and ``input_grad_norm`` (norm of dL/dh at each layer's
        input, averaged over the batch), each of shape ``(depth,)``.

    Used in: "Graded exercises".
    """
    depth, width = check_int("depth", depth), check_int("width", width)
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.0, weight_std, size=(width, width)) for _ in range(depth)]
    h = rng.normal(size=(batch, width))
    inputs, derivs, stds = [], [], []
    for w in weights:
        z = h @ w
        a = activate(activation, z)
        inputs.append(h)
        derivs.append(derivative(activation, z))
        h = h + a if residual else a
        stds.append(h.std())
    g = np.broadcast_to(rng.normal(size=width), h.shape) / batch
    wgrad, igrad = np.zeros(depth), np.zeros(depth)
    for k in reversed(range(depth)):
        gz = g * derivs[k]
        wgrad[k] = np.linalg.norm(inputs[k].T @ gz)
        g = gz @ weights[k].T + (g if residual else 0.0)
        igrad[k] = np.linalg.norm(g) / np.sqrt(batch)
    return {
        "act_std": np.array(stds),
        "weight_grad_norm": wgrad,
        "weight_norm": np.array([np.linalg.norm(w) for w in weights]),
        "input_grad_norm": igrad,
    }


def linear_rnn_gain(scale: float, *, n: int = 32, steps: int = 100, seed: int = 0) -> float:
    """Spectral norm of ``dh_T/dh_0`` for the linear RNN ``h_t = (scale * Q) h_{t-1}``.

    Args:
        scale: Multiplies a random orthogonal recurrent matrix ``Q``.
        n: State size.
        steps: Number of time steps ``T``.
        seed: Seed of ``Q``.

    Returns:
        ``||(scale Q)^T||_2``.

    Used in: "Graded exercises".
    """
    w = float(scale) * orthogonal(n, seed=seed)
    return float(np.linalg.norm(np.linalg.matrix_power(w, steps), 2))


def bptt_decay_problem(
    input_std: float, *, n: int = 8, n_in: int = 3, steps: int = 50, seed: int = 0
) -> tuple[np.ndarray, ...]:
    """The tanh RNN of the lab "Backprop through time by hand", whose decay the last part measures.

    The lab runs ``h_t = tanh(x_t W_x + h_{t-1} (rho Q) + b)`` from ``h_0 = 0`` with ``b = 0``:
    ``Q`` is a random orthogonal matrix (each step keeps norms, times ``rho``) and the inputs
    ``x_t ~ N(0, input_std^2)`` (the same draws, scaled, for every ``input_std``).

    Args:
        input_std: Standard deviation of every input.
        n: State size.
        n_in: Input size.
        steps: Number of time steps ``T``.
        seed: Seed of ``Q`` (``W_x`` and the inputs use ``seed + 1``).

    Returns:
        ``(xs, h0, W_x, Q, b)`` of shapes ``(T, n_in)``, ``(n,)``, ``(n_in, n)``, ``(n, n)``,
        ``(n,)``.

    Used in: "Graded exercises".
    """
    input_std = check_positive("input_std", input_std)
    n, n_in, steps = check_int("n", n), check_int("n_in", n_in), check_int("steps", steps)
    rng = np.random.default_rng(seed + 1)
    w_x = rng.normal(size=(n_in, n)) / np.sqrt(n_in)
    xs = input_std * rng.normal(size=(steps, n_in))
    return xs, np.zeros(n), w_x, orthogonal(n, seed=seed), np.zeros(n)


def quartic_descent(
    threshold: float | None,
    *,
    lr: float = 0.1,
    steps: int = 100,
    w0: tuple[float, float] = (5.0, -3.0),
    curvature: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Gradient descent on ``f(w) = sum(c w**2 / 2 + w**4)``, clipping the gradient norm.

    Far from the minimum the gradient ``c w + 4 w**3`` is huge, like at a cliff; near it,
    small: there the curvatures ``c`` (zero by default) decide which rates are stable.

    Args:
        threshold: Maximum gradient norm (``None``: no clipping).
        lr: Learning rate.
        steps: Number of steps.
        w0: Starting point.
        curvature: The curvatures ``c`` of the two coordinates at the minimum.

    Returns:
        The trajectory, shape ``(steps + 1, 2)`` (it may overflow to inf/NaN without clipping).

    Used in: "Graded exercises".
    """
    if threshold is not None:
        threshold = check_positive("threshold", threshold)
    w, c = np.array(w0, dtype=np.float64), np.array(curvature, dtype=np.float64)
    path = [w.copy()]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            g = c * w + 4.0 * w**3
            norm = np.linalg.norm(g)
            if threshold is not None and norm > threshold:
                g = g * (threshold / norm)
            w = w - lr * g
            path.append(w.copy())
    return np.array(path)


def lstm_vs_rnn(
    forget_bias: float = 1.0,
    *,
    n_in: int = 3,
    units: int = 8,
    steps: int = 50,
    input_std: float = 0.25,
    seed: int = 1,
) -> dict[str, object]:
    """The LSTM and the tanh RNN of the LSTM lab's last part, as Keras initialises them.

    Both layers get Keras' default initialisers: ``glorot_uniform`` kernels, ``orthogonal``
    recurrent kernels (the LSTM's, shape ``(units, 4 units)``, has orthonormal rows) and zero
    biases, except the LSTM's forget-gate block (columns ``units:2 units``, gate order
    i, f, c~, o), which holds ``forget_bias``. Both read the same batch of one sequence
    ``x_t ~ N(0, input_std^2)`` from zero states; only the bias changes with ``forget_bias``.
    The defaults are the lab's experiment.

    Args:
        forget_bias: The LSTM's forget-gate bias (Keras' ``unit_forget_bias`` sets 1).
        n_in: Input size.
        units: State size of both layers.
        steps: Sequence length ``T``.
        input_std: Standard deviation of every input.
        seed: Random seed.

    Returns:
        ``xs`` (shape ``(1, T, n_in)``), ``h0`` and ``c0`` (zeros, ``(1, units)``), and
        ``lstm`` and ``rnn``: each a tuple ``(kernel, recurrent_kernel, bias)``.

    Used in: "Graded exercises".
    """
    n_in, units = check_int("n_in", n_in), check_int("units", units)
    steps, input_std = check_int("steps", steps), check_positive("input_std", input_std)
    rng = np.random.default_rng(seed)

    def glorot(fan_in: int, fan_out: int) -> np.ndarray:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=(fan_in, fan_out))

    def orthogonal_rows(rows: int, cols: int) -> np.ndarray:
        q, r = np.linalg.qr(rng.normal(size=(cols, rows)))  # cols >= rows
        return (q * np.sign(np.diag(r))).T

    bias = np.zeros(4 * units)
    bias[units : 2 * units] = float(forget_bias)
    lstm = (glorot(n_in, 4 * units), orthogonal_rows(units, 4 * units), bias)
    rnn = (glorot(n_in, units), orthogonal_rows(units, units), np.zeros(units))
    zeros = np.zeros((1, units))
    xs = input_std * rng.normal(size=(1, steps, n_in))
    return {"xs": xs, "h0": zeros, "c0": zeros.copy(), "lstm": lstm, "rnn": rnn}
