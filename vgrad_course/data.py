"""Small synthetic data sets, generated offline and seeded (no downloads at run time)."""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from vgrad_course.seeds import effective_seed, make_rng
from vgrad_course.validation import check_int


def adding_problem(n: int, seq_len: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate the adding problem of Le, Jaitly & Hinton (2015).

    Each sequence has two channels: a value drawn from U[0, 1] and a marker. Exactly two
    markers are 1, one in each half of the sequence; the target is the sum of the two
    marked values. Predicting the mean (1.0) gives an MSE of 1/6, the baseline to beat.

    Args:
        n: Number of sequences.
        seq_len: Length of each sequence (at least 2).
        seed: Seed of the NumPy generator.

    Returns:
        ``(x, y)``: ``x`` float32 of shape ``(n, seq_len, 2)``, ``y`` float32 of shape ``(n, 1)``.

    Used in: "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)".
    """
    n = check_int("n", n)
    seq_len = check_int("seq_len", seq_len, minimum=2)  # one marker in each half
    rng = make_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(n, seq_len))
    half = seq_len // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, seq_len, size=n)
    markers = np.zeros((n, seq_len))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)[:, None]
    return x, y


def sign_recall(
    n: int, seq_len: int, *, noise: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Generate a latching task: remember the sign of the first input across noise.

    In the spirit of Bengio, Simard & Frasconi (1994): the first step carries +1 or -1,
    every later step is Gaussian noise with standard deviation ``noise``; the label is 1
    when the first step was positive. Only information carried across all ``seq_len``
    steps solves it, so chance (0.5 accuracy) is what a network without memory gets.

    Args:
        n: Number of sequences.
        seq_len: Length of each sequence.
        noise: Standard deviation of the distractor noise.
        seed: Seed of the NumPy generator.

    Returns:
        ``(x, y)``: ``x`` float32 ``(n, seq_len, 1)``, ``y`` float32 ``(n, 1)`` in {0, 1}.

    Used in: "Recurrent networks and backpropagation through time".
    """
    n = check_int("n", n)
    seq_len = check_int("seq_len", seq_len)
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    rng = make_rng(seed)
    sign = rng.choice([-1.0, 1.0], size=n)
    x = rng.normal(0.0, noise, size=(n, seq_len, 1))
    x[:, 0, 0] = sign
    y = (sign > 0).astype(np.float32)[:, None]
    return x.astype(np.float32), y


def _cache_dir() -> Path:
    """Return the folder for locally generated data (``$VGRAD_CACHE`` or ``~/.cache``)."""
    root = os.environ.get("VGRAD_CACHE") or Path.home() / ".cache" / "vgrad_course"
    return Path(root)


@lru_cache(maxsize=4)
def _mnist1d_arrays(num_samples: int, seed: int) -> tuple[np.ndarray, ...]:
    """Generate MNIST-1D with the reference generator, memoised in memory and on disk.

    Generation takes a few seconds; the arrays are cached as ``.npz`` so later notebooks
    reuse them. The file is written atomically, so parallel notebooks never read half a file.
    """
    keys = ("x", "y", "x_test", "y_test")
    path = _cache_dir() / f"mnist1d_n{num_samples}_seed{seed}.npz"
    try:
        with np.load(path) as cached:
            return tuple(cached[k] for k in keys)
    except (OSError, KeyError, ValueError):
        pass  # not cached yet (or unreadable): generate below
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = num_samples
    args.seed = seed
    data = make_dataset(args)
    arrays = (
        data["x"].astype(np.float32),
        data["y"].astype(np.int64),
        data["x_test"].astype(np.float32),
        data["y_test"].astype(np.int64),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as tmp:
            np.savez(tmp, **dict(zip(keys, arrays, strict=True)))
        os.replace(tmp.name, path)
    except OSError:
        pass  # a read-only home only costs speed, never correctness
    return arrays


def mnist1d(
    *, num_samples: int = 5000, seed: int = 42, standardize: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Generate MNIST-1D (Greydanus 2020) locally: 10 classes of length-40 signals.

    The reference generator (the ``mnist1d`` package) builds the data from ten templates,
    so nothing is downloaded. 80% of the samples are for training.

    Args:
        num_samples: Total number of samples (train + test).
        seed: Seed of the generator (42 reproduces the paper's default split).
        standardize: Scale inputs to zero mean and unit variance using training statistics.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` with float32 inputs of shape ``(m, 40)``
        and int64 labels in ``0..9``.

    Used in: the deep-MLP chapters (vanishing gradients, initialisation, residual connections).
    """
    num_samples = check_int("num_samples", num_samples)
    x, y, x_test, y_test = _mnist1d_arrays(num_samples, effective_seed(int(seed)))
    x, x_test = x.copy(), x_test.copy()
    if standardize:
        mean, std = x.mean(), x.std()
        x = (x - mean) / std
        x_test = (x_test - mean) / std
    return (x, y.copy()), (x_test, y_test.copy())


def regression_line(
    n: int, *, slope: float = 2.0, intercept: float = -1.0, noise: float = 0.3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Generate points on a noisy line ``y = slope * x + intercept`` with ``x ~ U[-1, 1]``.

    Args:
        n: Number of points.
        slope: True slope.
        intercept: True intercept.
        noise: Standard deviation of Gaussian noise added to ``y``.
        seed: Seed of the NumPy generator.

    Returns:
        ``(x, y)``, both float32 of shape ``(n, 1)``.

    Used in: "Gradient descent".
    """
    n = check_int("n", n)
    rng = make_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, 1))
    y = slope * x + intercept + rng.normal(0.0, noise, size=(n, 1))
    return x.astype(np.float32), y.astype(np.float32)
