"""Backpropagation through time by hand: Jacobian products of a recurrence and their norms.

A vanilla recurrence ``h_t = phi(W h_{t-1} + u_t)`` sends gradients back through the product
``dh_T/dh_t = prod_{k=t+1..T} diag(phi'(a_k)) W``. These NumPy functions build ``W`` with a
chosen spectral radius, run the recurrence and return the norm of that product for every
distance ``T - t``, the quantity whose decay or growth Pascanu, Mikolov & Bengio (2013) bound.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_choice, check_int, check_positive

#: Recurrence non-linearities understood by :func:`jacobian_norms`.
RECURRENCES: tuple[str, ...] = ("linear", "tanh")


def spectral_radius(w: np.ndarray) -> float:
    """Return the spectral radius (largest eigenvalue modulus) of a square matrix.

    Args:
        w: A square matrix.

    Returns:
        ``max |lambda_i(w)|``.

    Used in: "Recurrent networks and backpropagation through time".
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"w must be a square matrix, got shape {w.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(w))))


def recurrent_matrix(units: int, rho: float, *, seed: int = 0) -> np.ndarray:
    """Return a random Gaussian ``units x units`` matrix rescaled to spectral radius ``rho``.

    Args:
        units: Size of the hidden state.
        rho: Target spectral radius (> 0).
        seed: Seed of the NumPy generator (the same seed gives the same direction for every rho).

    Returns:
        float64 array of shape ``(units, units)`` with ``spectral_radius == rho``.

    Used in: "Recurrent networks and backpropagation through time".
    """
    units = check_int("units", units)
    rho = check_positive("rho", rho)
    rng = make_rng(seed)
    w = rng.normal(0.0, 1.0 / np.sqrt(units), size=(units, units))
    return w * (rho / spectral_radius(w))


def run_recurrence(
    w: np.ndarray,
    inputs: np.ndarray,
    *,
    activation: str = "tanh",
    h0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``h_t = phi(W h_{t-1} + u_t)`` and return the pre-activations and states.

    Args:
        w: Recurrent matrix, shape ``(units, units)``.
        inputs: Input drive ``u_t``, shape ``(seq_len, units)``.
        activation: ``"linear"`` or ``"tanh"``.
        h0: Initial state (zeros if None).

    Returns:
        ``(a, h)``: pre-activations and states, each of shape ``(seq_len, units)``.

    Used in: "Recurrent networks and backpropagation through time".
    """
    check_choice("activation", activation, RECURRENCES)
    w = np.asarray(w, dtype=np.float64)
    u = np.asarray(inputs, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] != w.shape[0]:
        raise ValueError(f"inputs must have shape (seq_len, {w.shape[0]}), got {u.shape}")
    h = np.zeros(w.shape[0]) if h0 is None else np.asarray(h0, dtype=np.float64)
    pre, states = np.empty_like(u), np.empty_like(u)
    for t in range(u.shape[0]):
        a = w @ h + u[t]
        h = np.tanh(a) if activation == "tanh" else a
        pre[t], states[t] = a, h
    return pre, states


def jacobian_norms(
    w: np.ndarray,
    inputs: np.ndarray,
    *,
    activation: str = "tanh",
    h0: np.ndarray | None = None,
) -> np.ndarray:
    """Return ``||dh_T/dh_{T-k}||_2`` (spectral norm) for ``k = 0 .. seq_len``.

    The product is accumulated backwards, ``J_k = J_{k-1} diag(phi'(a_{T-k+1})) W``, exactly
    as backpropagation through time multiplies it; ``J_0`` is the identity.

    Args:
        w: The recurrent matrix ``W`` whose products are measured.
        inputs: The drive ``u_t`` that sets each step's slopes, one row per step.
        activation: The non-linearity ``phi``, one of :data:`RECURRENCES`.
        h0: The state before the first step (None: zeros).

    Returns:
        float64 array of shape ``(seq_len + 1,)``; entry ``k`` is ``||dh_T/dh_{T-k}||``.

    Used in: "Recurrent networks and backpropagation through time".
    """
    pre, _ = run_recurrence(w, inputs, activation=activation, h0=h0)
    w = np.asarray(w, dtype=np.float64)
    jac = np.eye(w.shape[0])
    norms = [1.0]
    for a in pre[::-1]:
        slope = 1.0 - np.tanh(a) ** 2 if activation == "tanh" else np.ones_like(a)
        jac = jac @ (slope[:, None] * w)
        norms.append(float(np.linalg.norm(jac, ord=2)))
    return np.asarray(norms)


def spectral_radius_sweep(
    rhos: Sequence[float],
    *,
    seq_len: int = 50,
    units: int = 32,
    activation: str = "tanh",
    input_scale: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Return ``||dh_T/dh_0||`` after ``seq_len`` steps for each spectral radius in ``rhos``.

    Every rho uses the same random direction of ``W`` and the same inputs (Gaussian with std
    ``input_scale``), so the sweep isolates the effect of the scale.

    Args:
        rhos: Spectral radii of the recurrent matrix.
        seq_len: Number of steps ``T``.
        units: Size of the hidden state.
        activation: ``"linear"`` or ``"tanh"``.
        input_scale: Standard deviation of the input drive.
        seed: Seed of the matrix and the inputs.

    Returns:
        float64 array with one norm per rho.

    Used in: "Recurrent networks and backpropagation through time".
    """
    seq_len = check_int("seq_len", seq_len)
    rng = make_rng(seed + 1)
    inputs = rng.normal(0.0, input_scale, size=(seq_len, units))
    return np.array(
        [
            jacobian_norms(recurrent_matrix(units, rho, seed=seed), inputs, activation=activation)[
                -1
            ]
            for rho in rhos
        ]
    )


def spectral_radius_sweeps(
    rhos: Sequence[float], *, n_matrices: int = 5, seed: int = 0, **sweep: float | str
) -> np.ndarray:
    """Repeat :func:`spectral_radius_sweep` for several random matrices and input sequences.

    One random direction of ``W`` says little about a chaotic recurrence (a tanh network with
    ``rho > 1``): row ``i`` is the sweep with ``seed + i``, so statistics over rows (a median,
    a range) describe the family of random matrices rather than one draw.

    Args:
        rhos: Spectral radii of the recurrent matrix.
        n_matrices: Number of random matrices (and input sequences), one per row.
        seed: Seed of the first matrix; matrix ``i`` uses ``seed + i``.
        **sweep: The other options of :func:`spectral_radius_sweep` (``seq_len``, ``units``,
            ``activation``, ``input_scale``), the same for every row.

    Returns:
        float64 array of shape ``(n_matrices, len(rhos))`` of norms ``||dh_T/dh_0||``.

    Used in: "Recurrent networks and backpropagation through time".
    """
    n_matrices = check_int("n_matrices", n_matrices)
    return np.stack(
        [spectral_radius_sweep(rhos, seed=seed + i, **sweep) for i in range(n_matrices)]
    )
